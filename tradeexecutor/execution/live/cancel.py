"""Giving up on a stuck transaction safely: take its nonce away, never just forget it.

A transaction that is still pending can be mined at any later time, so failing its trade
while it waits would let the state and the chain disagree the moment it is mined. The only
safe way to give up is to use its nonce for something harmless: a 0-value transfer from the
hot wallet to itself at the same nonce, priced above the stuck one so nodes replace it.

The replacement is recorded on the trade before it is broadcast, like every transaction the
executor sends, and then the ordinary recovery decides from the chain (it resolves the
newest attempt at a nonce first): the replacement mined means the stuck transaction can
never be mined, so it is dropped and its trade fails, releasing its reserve, with the
replacement's gas booked on the trade; if the stuck transaction won the race after all, it
is booked as mined and the replacement as dropped. Either way the state follows the chain.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from tradeexecutor.ethereum.gas import fetch_gas_pricing, replacement_fees
from tradeexecutor.ethereum.tx import (
    BroadcastError,
    ConfirmationTimeout,
    TransactionPipeline,
    send_raw,
    wait_for_confirmation,
)
from tradeexecutor.execution.live.transactions import to_state_transaction
from tradeexecutor.state.state import State
from tradeexecutor.state.time import utcnow
from tradeexecutor.state.trade import TradeExecution
from tradeexecutor.state.transaction import BlockchainTransaction

logger = logging.getLogger(__name__)

CANCEL_FUNCTION = "cancel"
TRANSFER_GAS = 21_000  # a plain value transfer to an account without code


@dataclass(frozen=True, slots=True)
class Cancellation:
    """One replacement sent for a stuck nonce, and whether it was mined within the wait."""

    nonce: int
    replaces: str  # hash of the stuck transaction
    tx_hash: str | None  # None when the replacement could not be sent
    mined: bool
    detail: str

    def __str__(self) -> str:
        sent = f"replacement {self.tx_hash}" if self.tx_hash else "no replacement"
        return f"nonce {self.nonce} (stuck {self.replaces}): {sent}: {self.detail}"


def stuck_attempts(trade: TradeExecution) -> dict[int, list[BlockchainTransaction]]:
    """Per nonce without any final transaction, its attempts (oldest first)."""
    by_nonce: dict[int, list[BlockchainTransaction]] = {}
    for tx in trade.blockchain_transactions:
        by_nonce.setdefault(tx.nonce, []).append(tx)
    return {
        nonce: attempts
        for nonce, attempts in sorted(by_nonce.items())
        if not any(tx.is_final for tx in attempts)
    }


def foreign_sender(trade: TradeExecution, wallet_address: str) -> BlockchainTransaction | None:
    """A stuck transaction this wallet cannot replace (it was sent from another address)."""
    for attempts in stuck_attempts(trade).values():
        for tx in attempts:
            if tx.from_address.lower() != wallet_address.lower():
                return tx
    return None


def cancel_stuck_transactions(
    state: State,
    trade: TradeExecution,
    pipeline: TransactionPipeline,
    checkpoint: Callable[[], None],
    *,
    timeout: float,
    clock: Callable[[], datetime.datetime] = utcnow,
) -> list[Cancellation]:
    """Replace every stuck nonce of `trade` with a 0-value self-transfer and wait for it.

    Records each replacement on the trade and saves (checkpoint) before broadcasting it. Does
    not settle anything: run the recovery afterwards, it reads the outcome from the chain.
    """
    stuck = stuck_attempts(trade)
    if not stuck:
        return []
    pricing = fetch_gas_pricing(pipeline.web3, pipeline.gas_price_method)
    wallet = pipeline.wallet.address
    results: list[Cancellation] = []
    for nonce, attempts in stuck.items():
        newest = attempts[-1]
        fees = replacement_fees(
            pricing,
            max_fee=_highest(a.max_fee_per_gas for a in attempts),
            max_priority_fee=_highest(a.max_priority_fee_per_gas for a in attempts),
            gas_price=_highest(a.gas_price for a in attempts),
        )
        unsigned = {
            "chainId": pipeline.chain_id,
            "from": wallet,
            "to": wallet,
            "data": "0x",
            "value": 0,
            "gas": TRANSFER_GAS,
            "nonce": nonce,
            **fees,
        }
        signed = pipeline.sign(unsigned, f"cancel nonce {nonce} (replaces {newest.tx_hash})")
        record = to_state_transaction(signed, CANCEL_FUNCTION, {"replaces": newest.tx_hash})
        state.record_transaction(trade, record)
        checkpoint()  # recorded before it can reach the chain
        try:
            send_raw(pipeline.web3, signed)
        except BroadcastError as e:
            # Most often "nonce too low": the stuck transaction was mined meanwhile. The
            # recovery finds out which attempt used the nonce; nothing is guessed here.
            logger.warning("Cancellation of nonce %d was not accepted: %s", nonce, e.reason)
            results.append(
                Cancellation(nonce, newest.tx_hash, signed.tx_hash, False, f"not accepted: {e.reason}")
            )
            continue
        record.mark_broadcast(clock())
        checkpoint()
        logger.warning(
            "Sent %s to cancel stuck transaction %s (nonce %d)", signed.tx_hash, newest.tx_hash, nonce
        )
        try:
            wait_for_confirmation(pipeline.web3, signed, pipeline.confirmation_block_count, timeout)
        except ConfirmationTimeout as e:
            results.append(Cancellation(nonce, newest.tx_hash, signed.tx_hash, False, f"still pending: {e}"))
            continue
        results.append(Cancellation(nonce, newest.tx_hash, signed.tx_hash, True, "mined"))
    return results


def _highest(fees: Iterable[int | None]) -> int | None:
    """The highest fee any attempt at a nonce offered: the one a replacement must outbid."""
    return max((f for f in fees if f is not None), default=None)
