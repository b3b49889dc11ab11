"""What became of a transaction recorded before a crash, from the chain's point of view.

The state holds every transaction's hash, nonce and signed bytes before broadcast. After a
restart, each unfinished one is resolved:

- mined: its receipt (succeeded or reverted) after the wanted confirmations;
- known to the node but not mined: keep waiting (up to the timeout, then `pending`);
- unknown to the node, nonce still free: rebroadcast the recorded bytes (same hash, so the
  state stays right) and wait;
- unknown to the node and the account's nonce moved past it: another transaction used the
  nonce, so this one can never be mined: `dropped`.

Re-signing is never done here: a new signature would be a second, different transaction.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from eth_account import Account
from eth_account._utils.legacy_transactions import Transaction
from eth_account.typed_transactions import TypedTransaction
from hexbytes import HexBytes
from web3 import Web3

from tradeexecutor.ethereum.tx import (
    BroadcastError,
    ConfirmationTimeout,
    ConfirmedTransaction,
    SignedTransactionInfo,
    get_receipt,
    is_known_to_node,
    is_nonce_too_low,
    send_raw,
    wait_for_confirmation,
)

logger = logging.getLogger(__name__)


class ResolutionStatus(StrEnum):
    mined = "mined"  # see confirmed.succeeded for the outcome
    pending = "pending"  # the node has it, not yet mined/confirmed
    dropped = "dropped"  # can never be mined: its nonce was used by another transaction


@dataclass(frozen=True, slots=True)
class Resolution:
    status: ResolutionStatus
    signed: SignedTransactionInfo
    confirmed: ConfirmedTransaction | None = None
    rebroadcast: bool = False
    detail: str = ""


def decode_signed_transaction(raw: str | bytes, description: str = "") -> SignedTransactionInfo:
    """Rebuild the transaction's fields from its signed bytes (all the state needs to keep)."""
    raw_bytes = HexBytes(raw)
    tx = TypedTransaction.from_bytes(raw_bytes) if raw_bytes[0] < 0x7F else Transaction.from_bytes(raw_bytes)
    fields = tx.as_dict()
    chain_id = fields.get("chainId")
    if chain_id is None:  # legacy EIP-155: v = chain_id * 2 + 35/36
        chain_id = (fields["v"] - 35) // 2 if fields["v"] >= 35 else 0
    return SignedTransactionInfo(
        tx_hash=Web3.keccak(raw_bytes).to_0x_hex(),
        nonce=fields["nonce"],
        from_address=Account.recover_transaction(raw_bytes),
        to=Web3.to_checksum_address(fields["to"]),
        chain_id=chain_id,
        data=HexBytes(fields["data"]).to_0x_hex(),
        value=fields["value"],
        gas_limit=fields["gas"],
        raw_transaction=raw_bytes.to_0x_hex(),
        description=description,
        signed_at=datetime.now(UTC),
        max_fee_per_gas=fields.get("maxFeePerGas"),
        max_priority_fee_per_gas=fields.get("maxPriorityFeePerGas"),
        gas_price=fields.get("gasPrice"),
    )


def resolve_transaction(
    web3: Web3,
    tx_hash: str,
    signed_raw: str | bytes,
    nonce: int,
    *,
    confirmation_block_count: int = 1,
    timeout: float = 60.0,
    description: str = "",
) -> Resolution:
    """Find out what happened to a recorded transaction, rebroadcasting it if the node lost it."""
    signed = decode_signed_transaction(signed_raw, description)
    if signed.tx_hash.lower() != tx_hash.lower() or signed.nonce != nonce:
        raise ValueError(f"The recorded signed bytes do not match transaction {tx_hash} with nonce {nonce}.")

    if get_receipt(web3, tx_hash) is not None or is_known_to_node(web3, tx_hash):
        return _wait(web3, signed, confirmation_block_count, timeout, rebroadcast=False)

    account_nonce = web3.eth.get_transaction_count(signed.from_address, "latest")
    if account_nonce > nonce:
        if get_receipt(web3, tx_hash) is not None:  # mined between our two looks
            return _wait(web3, signed, confirmation_block_count, timeout, rebroadcast=False)
        return Resolution(
            ResolutionStatus.dropped,
            signed,
            detail=f"dropped or replaced: nonce {nonce} of {signed.from_address} was used by another transaction",
        )

    logger.warning("Transaction %s (nonce %d) is unknown to the node: rebroadcasting it", tx_hash, nonce)
    try:
        send_raw(web3, signed)
    except BroadcastError as e:
        if is_nonce_too_low(e):
            return Resolution(
                ResolutionStatus.dropped,
                signed,
                detail=f"dropped or replaced: nonce {nonce} was used by another transaction",
            )
        # Refused for now (fee under the base fee, underpriced, not enough gas money) is not
        # "can never be mined": other nodes may still hold the transaction and its nonce is
        # free. It stays pending; the next sync tries again, `repair --yes` cancels it.
        return Resolution(
            ResolutionStatus.pending,
            signed,
            detail=f"it is not mined and the node refused to take it back ({e.reason}); it can still be "
            "mined while its nonce is free",
        )
    return _wait(web3, signed, confirmation_block_count, timeout, rebroadcast=True)


def _wait(
    web3: Web3, signed: SignedTransactionInfo, block_count: int, timeout: float, rebroadcast: bool
) -> Resolution:
    try:
        confirmed = wait_for_confirmation(web3, signed, block_count, timeout)
    except ConfirmationTimeout as e:
        return Resolution(ResolutionStatus.pending, signed, rebroadcast=rebroadcast, detail=str(e))
    return Resolution(
        ResolutionStatus.mined,
        signed,
        confirmed=confirmed,
        rebroadcast=rebroadcast,
        detail="succeeded" if confirmed.succeeded else f"reverted: {confirmed.revert_reason}",
    )
