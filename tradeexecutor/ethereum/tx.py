"""The transaction pipeline: build -> sign -> on_signed -> broadcast -> confirm -> receipt.

The order is the product's safety net. A transaction is signed first, then handed to the
caller's mandatory `on_signed` hook, which records hash, nonce and signed bytes in the
state and saves it; only then is it broadcast. Whatever crashes afterwards, the state
knows what may be on chain and `resolve_transaction` (recovery.py) can find out what
became of it, rebroadcasting the very same bytes if the node forgot it.

Gas is estimated before a nonce is taken, so a transaction that would revert (too tight
slippage, missing allowance) fails here, unsigned, without using a nonce or gas money.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import TransactionNotFound, Web3RPCError

from tradeexecutor.errors import UserError
from tradeexecutor.ethereum.batch import BatchCallError, batch_rpc
from tradeexecutor.ethereum.connection import RPCUnavailable
from tradeexecutor.ethereum.gas import (
    GasPriceMethod,
    GasPricing,
    human,
    native_symbol,
    pad_gas_limit,
    pricing_calls,
    pricing_from_results,
)
from tradeexecutor.ethereum.revert import (
    explain,
    reason_from_error,
    reason_from_message,
    replay_revert_reason,
)
from tradeexecutor.ethereum.wallet import HotWallet

logger = logging.getLogger(__name__)

DEFAULT_CONFIRMATION_BLOCK_COUNT = 1
DEFAULT_CONFIRMATION_TIMEOUT = 300.0
MIN_POLL, MAX_POLL = 0.02, 2.0

_ALREADY_KNOWN = ("already known", "already imported", "known transaction", "alreadyknown", "already exists")
_NONCE_TOO_LOW = ("nonce too low", "oldnonce", "nonce is too low", "invalid nonce")


@dataclass(frozen=True, slots=True)
class TransactionRequest:
    """What to call: the pipeline adds nonce, gas and fees."""

    to: str
    data: str
    value: int = 0
    gas_limit: int | None = None  # None: estimate and pad
    description: str = ""


@dataclass(frozen=True, slots=True)
class SignedTransactionInfo:
    """Everything the state must hold before broadcast to recover the transaction after a crash."""

    tx_hash: str
    nonce: int
    from_address: str
    to: str
    chain_id: int
    data: str
    value: int
    gas_limit: int
    raw_transaction: str  # 0x-hex signed bytes: rebroadcast these, never re-sign
    description: str
    signed_at: datetime
    max_fee_per_gas: int | None = None
    max_priority_fee_per_gas: int | None = None
    gas_price: int | None = None

    def as_call(self) -> dict[str, Any]:
        return {
            "from": self.from_address,
            "to": self.to,
            "data": self.data,
            "value": self.value,
            "gas": self.gas_limit,
        }


@dataclass(frozen=True, slots=True)
class ConfirmedTransaction:
    """A mined transaction with enough confirmations, and what it cost."""

    signed: SignedTransactionInfo
    receipt: Any = field(repr=False)
    succeeded: bool
    block_number: int
    block_hash: str
    gas_used: int
    effective_gas_price: int
    revert_reason: str | None = None

    @property
    def tx_hash(self) -> str:
        return self.signed.tx_hash

    @property
    def gas_cost(self) -> int:
        return self.gas_used * self.effective_gas_price

    @property
    def gas_cost_native(self) -> Decimal:
        return Decimal(self.gas_cost).scaleb(-18)


class TransactionWouldRevert(Exception):
    """Gas estimation reverted: nothing was signed or sent."""

    def __init__(self, request: TransactionRequest, reason: str) -> None:
        super().__init__(f"{request.description or 'Transaction'} would revert: {explain(reason)}.")
        self.request = request
        self.reason = reason


class BroadcastError(Exception):
    """The node did not accept the signed transaction (or could not be asked)."""

    def __init__(self, signed: SignedTransactionInfo, reason: str) -> None:
        super().__init__(f"Broadcasting {signed.tx_hash} (nonce {signed.nonce}) failed: {reason}.")
        self.signed = signed
        self.reason = reason


class ConfirmationTimeout(Exception):
    """Not mined/confirmed in time. It may still be mined: resolve it later, never re-sign it."""

    def __init__(self, signed: SignedTransactionInfo, timeout: float, mined_in: int | None) -> None:
        where = f"mined in block {mined_in} but not yet confirmed" if mined_in else "not mined"
        super().__init__(f"Transaction {signed.tx_hash} (nonce {signed.nonce}) {where} after {timeout:g} s.")
        self.signed = signed
        self.mined_in = mined_in


def _matches(error: BaseException, needles: tuple[str, ...]) -> bool:
    text = str(error).lower().replace(" ", "")
    return any(n.replace(" ", "") in text for n in needles)


def is_already_known(error: BaseException) -> bool:
    return _matches(error, _ALREADY_KNOWN)


def is_nonce_too_low(error: BaseException) -> bool:
    return _matches(error, _NONCE_TOO_LOW)


def get_receipt(web3: Web3, tx_hash: str) -> Any | None:
    try:
        return web3.eth.get_transaction_receipt(HexBytes(tx_hash))
    except TransactionNotFound:
        return None


def is_known_to_node(web3: Web3, tx_hash: str) -> bool:
    try:
        web3.eth.get_transaction(HexBytes(tx_hash))
    except TransactionNotFound:
        return False
    return True


def send_raw(web3: Web3, signed: SignedTransactionInfo) -> None:
    """Broadcast signed bytes; a node that has (or mined) this very transaction is a success."""
    try:
        web3.eth.send_raw_transaction(HexBytes(signed.raw_transaction))
    except Web3RPCError as e:
        if is_already_known(e):
            return
        if is_nonce_too_low(e) and (
            get_receipt(web3, signed.tx_hash) or is_known_to_node(web3, signed.tx_hash)
        ):
            return  # our own earlier send got through (a retried POST, a rebroadcast)
        raise BroadcastError(signed, reason_from_error(e)) from None
    except RPCUnavailable as e:
        raise BroadcastError(signed, str(e)) from None


class TransactionPipeline:
    """Signs from the hot wallet and drives transactions to confirmation."""

    def __init__(
        self,
        web3: Web3,
        wallet: HotWallet,
        gas_price_method: GasPriceMethod | str = GasPriceMethod.auto,
        confirmation_block_count: int = DEFAULT_CONFIRMATION_BLOCK_COUNT,
        confirmation_timeout: float = DEFAULT_CONFIRMATION_TIMEOUT,
        chain_id: int | None = None,
    ) -> None:
        if confirmation_block_count < 1:
            raise UserError("--confirmation-block-count must be 1 or more.")
        self.web3 = web3
        self.wallet = wallet
        self.gas_price_method = GasPriceMethod(gas_price_method)
        self.confirmation_block_count = confirmation_block_count
        self.confirmation_timeout = confirmation_timeout
        self.chain_id = chain_id if chain_id is not None else web3.eth.chain_id

    # --- build and sign ---------------------------------------------------------------------

    def estimate_gas(self, request: TransactionRequest) -> int:
        result = batch_rpc(self.web3, [self._estimate_call(request)], raise_errors=False)[0]
        return self._padded_estimate(request, result)

    def _estimate_call(self, request: TransactionRequest) -> tuple[str, list[Any]]:
        call = {
            "from": self.wallet.address,
            "to": request.to,
            "data": request.data,
            "value": hex(request.value),
        }
        return "eth_estimateGas", [call]

    def _padded_estimate(self, request: TransactionRequest, result: Any) -> int:
        if not isinstance(result, BatchCallError):
            return pad_gas_limit(int(result, 16))
        error = result.error if isinstance(result.error, dict) else {"message": str(result.error)}
        message = str(error.get("message", ""))
        if "insufficient funds" in message.lower():
            self._no_gas_money()
        if error.get("code") == 3 or "revert" in message.lower():
            raise TransactionWouldRevert(request, reason_from_message(message))
        raise result

    def _no_gas_money(self, balance: int | None = None, needed: int | None = None) -> None:
        symbol = native_symbol(self.chain_id)
        detail = ""
        if balance is not None and needed is not None:
            detail = f" (it has {human(Decimal(balance).scaleb(-18))}, this transaction may cost {human(Decimal(needed).scaleb(-18))})"
        raise UserError(
            f"Hot wallet {self.wallet.address} has not enough {symbol} to pay for gas{detail}: send {symbol} to it."
        )

    def build(self, request: TransactionRequest, gas_pricing: GasPricing | None = None) -> dict[str, Any]:
        """A complete unsigned transaction, from one batched round trip to the node.

        Estimate, balance, fees and (when not yet known) the nonce are asked together; the
        nonce is taken last, once estimation and the balance check passed, so a refused
        transaction uses no nonce.
        """
        calls = [("eth_getBalance", [self.wallet.address, "pending"])]
        if request.gas_limit is None:
            calls.append(self._estimate_call(request))
        sync_nonce = self.wallet.next_nonce is None
        if sync_nonce:
            calls.append(("eth_getTransactionCount", [self.wallet.address, "pending"]))
        pricing_at = len(calls)
        if gas_pricing is None:
            calls += pricing_calls(self.gas_price_method)
        results = batch_rpc(self.web3, calls, raise_errors=False)
        if isinstance(results[0], BatchCallError):
            raise results[0]
        balance = int(results[0], 16)
        gas_limit = request.gas_limit or self._padded_estimate(request, results[1])
        pricing = gas_pricing or pricing_from_results(self.gas_price_method, results[pricing_at:])
        needed = gas_limit * pricing.max_price() + request.value
        if balance < needed:
            self._no_gas_money(balance, needed)
        if sync_nonce:
            count = results[pricing_at - 1]
            if isinstance(count, BatchCallError):
                raise count
            self.wallet.adopt_nonce(int(count, 16))
        return {
            "chainId": self.chain_id,
            "from": self.wallet.address,
            "to": Web3.to_checksum_address(request.to),
            "data": request.data,
            "value": request.value,
            "gas": gas_limit,
            **pricing.tx_fields(),
            "nonce": self.wallet.allocate_nonce(self.web3),
        }

    def sign(self, tx: dict[str, Any], description: str = "") -> SignedTransactionInfo:
        unsigned = {k: v for k, v in tx.items() if k != "from"}
        signed = self.wallet.sign(unsigned)
        return SignedTransactionInfo(
            tx_hash=signed.hash.to_0x_hex(),
            nonce=tx["nonce"],
            from_address=self.wallet.address,
            to=tx["to"],
            chain_id=tx["chainId"],
            data=tx["data"],
            value=tx["value"],
            gas_limit=tx["gas"],
            raw_transaction=signed.raw_transaction.to_0x_hex(),
            description=description,
            signed_at=datetime.now(UTC),
            max_fee_per_gas=tx.get("maxFeePerGas"),
            max_priority_fee_per_gas=tx.get("maxPriorityFeePerGas"),
            gas_price=tx.get("gasPrice"),
        )

    # --- the whole round trip ---------------------------------------------------------------

    def execute(
        self,
        request: TransactionRequest,
        *,
        on_signed: Callable[[SignedTransactionInfo], None],
        gas_pricing: GasPricing | None = None,
    ) -> ConfirmedTransaction:
        """Build, sign, record (on_signed), broadcast and wait for confirmations.

        `on_signed` must persist the transaction before returning; if it raises, nothing
        is broadcast and the nonce is given back.
        """
        if not callable(on_signed):
            raise TypeError("on_signed is mandatory: record the signed transaction before it is broadcast")
        signed = self.sign(self.build(request, gas_pricing), request.description)
        try:
            on_signed(signed)
        except BaseException:
            self.wallet.forget_nonce()
            raise
        self.broadcast(signed)
        return self.wait(signed)

    def broadcast(self, signed: SignedTransactionInfo) -> None:
        try:
            send_raw(self.web3, signed)
        except BroadcastError:
            self.wallet.forget_nonce()  # re-read the chain before the next transaction
            raise
        logger.info("Broadcast %s: %s (nonce %d)", signed.tx_hash, signed.description, signed.nonce)

    def wait(self, signed: SignedTransactionInfo, timeout: float | None = None) -> ConfirmedTransaction:
        return wait_for_confirmation(
            self.web3,
            signed,
            self.confirmation_block_count,
            self.confirmation_timeout if timeout is None else timeout,
        )


def wait_for_confirmation(
    web3: Web3,
    signed: SignedTransactionInfo,
    block_count: int,
    timeout: float,
    presence_check: float = 10.0,
) -> ConfirmedTransaction:
    """Poll until mined with `block_count` confirmations; ride out node outages until `timeout`.

    A node that restarted (or dropped the transaction from its mempool) no longer knows the
    transaction, and waiting for it would only run into the timeout: when the node is back
    from an outage, and every `presence_check` seconds without a receipt, the node is asked
    whether it still has the transaction, and the very same signed bytes are sent again if
    not (never re-signed: the hash stays the one the state recorded).
    """
    deadline = time.monotonic() + timeout
    poll = MIN_POLL
    receipt = None
    node_failed = False
    next_presence_check = time.monotonic() + presence_check
    while True:
        try:
            if receipt is None:
                receipt = get_receipt(web3, signed.tx_hash)
                if receipt is None and (node_failed or time.monotonic() >= next_presence_check):
                    node_failed = False
                    next_presence_check = time.monotonic() + presence_check
                    _send_again_if_lost(web3, signed, timeout)
            if receipt is not None:
                if block_count == 1:
                    return _confirmed(web3, signed, receipt)
                if web3.eth.block_number - receipt["blockNumber"] + 1 >= block_count:
                    again = get_receipt(web3, signed.tx_hash)  # still in the same block? (reorgs)
                    if again is not None and again["blockHash"] == receipt["blockHash"]:
                        return _confirmed(web3, signed, again)
                    logger.warning(
                        "Transaction %s moved out of block %s", signed.tx_hash, receipt["blockNumber"]
                    )
                    receipt = again
        except RPCUnavailable as e:
            (logger.debug if node_failed else logger.warning)(
                "Node unreachable while waiting for %s, will retry: %s", signed.tx_hash, e
            )
            node_failed = True
        if time.monotonic() >= deadline:
            raise ConfirmationTimeout(signed, timeout, receipt["blockNumber"] if receipt else None)
        time.sleep(min(poll, max(0.0, deadline - time.monotonic())))
        poll = min(poll * 2, MAX_POLL)


def _send_again_if_lost(web3: Web3, signed: SignedTransactionInfo, timeout: float) -> None:
    """Rebroadcast a transaction the node forgot; give up waiting if its nonce went to another one."""
    if is_known_to_node(web3, signed.tx_hash):
        return
    logger.warning(
        "Transaction %s (nonce %d) is unknown to the node (restarted, or dropped from its mempool): "
        "sending the recorded signed bytes again",
        signed.tx_hash,
        signed.nonce,
    )
    try:
        send_raw(web3, signed)
    except BroadcastError as e:
        if is_nonce_too_low(e):  # another transaction took the nonce: this one can never be mined
            raise ConfirmationTimeout(signed, timeout, None) from None
        logger.warning("The node refused it for now (%s); still waiting", e.reason)


def _confirmed(web3: Web3, signed: SignedTransactionInfo, receipt: Any) -> ConfirmedTransaction:
    succeeded = receipt["status"] == 1
    reason = None
    if not succeeded:
        reason = replay_revert_reason(web3, signed.as_call(), receipt["blockNumber"], receipt["gasUsed"])
        logger.warning("Transaction %s reverted: %s", signed.tx_hash, reason)
    return ConfirmedTransaction(
        signed=signed,
        receipt=receipt,
        succeeded=succeeded,
        block_number=receipt["blockNumber"],
        block_hash=receipt["blockHash"].to_0x_hex(),
        gas_used=receipt["gasUsed"],
        effective_gas_price=receipt.get("effectiveGasPrice") or signed.gas_price or 0,
        revert_reason=reason,
    )
