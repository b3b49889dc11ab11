"""Crash consistency: finish, from the chain, every trade a previous run left unfinished.

Runs on start and at every sync, before balances are read. For each trade that is still
planned, started or broadcast:

1. every recorded transaction that is not final is resolved with `resolve_transaction`:
   mined -> its receipt (success or revert) and its gas is booked; unknown to the node with
   its nonce still free -> the recorded signed bytes are rebroadcast (never re-signed) and
   waited for; nonce used by another transaction -> marked dropped; still pending after the
   bounded wait -> left as it is and reported. Where a nonce has several attempts (a stuck
   transaction and the cancellation `repair --yes` sent for it), the newest is resolved
   first and, once one of them is mined, the others are dropped as replaced;
2. then the trade itself: a successful swap is settled from the pools' Swap events in its
   receipt; a reverted or dropped swap (or approval) fails the trade, releasing its reserve;
   a trade that never got as far as a saved swap transaction (the process died before
   signing or saving it) failed with a note, as nothing of it can be on chain; a trade with
   a transaction still pending stays as it is.

Everything is decided from the chain and from what the state recorded before broadcasting;
no balance is ever invented. The cases this cannot settle are listed in
docs/troubleshooting.md together with `trade-executor repair`.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from web3 import Web3

from tradeexecutor.errors import UserError
from tradeexecutor.ethereum.recovery import ResolutionStatus, resolve_transaction
from tradeexecutor.ethereum.revert import explain
from tradeexecutor.ethereum.tx import get_receipt
from tradeexecutor.ethereum.uniswap_v2.routing import TradeSide
from tradeexecutor.execution.live.routes import LiveRouting
from tradeexecutor.execution.live.transactions import (
    APPROVE_FUNCTION,
    SWAP_FUNCTION,
    apply_confirmation,
    settle_swap,
)
from tradeexecutor.state.state import State
from tradeexecutor.state.time import utcnow
from tradeexecutor.state.trade import TradeExecution, TradeStatus
from tradeexecutor.state.transaction import BlockchainTransaction, TxStatus

logger = logging.getLogger(__name__)

DEFAULT_RECOVERY_TIMEOUT = 30.0  # seconds to wait for each still-pending transaction


class RecoveryOutcome(StrEnum):
    settled = "settled"  # the swap was mined and booked
    failed = "failed"  # nothing (or only a reverted/dropped transaction) reached the chain
    unresolved = "unresolved"  # a transaction is still pending, or the node could not be asked


@dataclass(frozen=True, slots=True)
class RecoveredTrade:
    trade_id: int
    ticker: str
    outcome: RecoveryOutcome
    detail: str
    rebroadcast: tuple[str, ...] = ()
    pending: bool = False  # unresolved because a transaction is still waiting to be mined

    def __str__(self) -> str:
        again = (
            f" (rebroadcast {', '.join(self.rebroadcast)} from the recorded signed bytes)"
            if self.rebroadcast
            else ""
        )
        return f"Trade #{self.trade_id} {self.ticker}: {self.outcome.value}: {self.detail}{again}"


@dataclass(slots=True)
class RecoveryReport:
    trades: list[RecoveredTrade] = field(default_factory=list)

    @property
    def unresolved(self) -> list[RecoveredTrade]:
        return [t for t in self.trades if t.outcome == RecoveryOutcome.unresolved]

    @property
    def pending(self) -> list[RecoveredTrade]:
        """Unresolved because a transaction is still waiting to be mined (`repair --yes` cancels those)."""
        return [t for t in self.unresolved if t.pending]

    @property
    def rebroadcast(self) -> list[str]:
        return [h for t in self.trades for h in t.rebroadcast]

    def lines(self) -> list[str]:
        return [str(t) for t in self.trades]


class TradeRecovery:
    """Resolves unfinished trades from the chain (see the module docstring)."""

    def __init__(
        self,
        web3: Web3,
        routing: LiveRouting,
        *,
        confirmation_block_count: int = 1,
        timeout: float = DEFAULT_RECOVERY_TIMEOUT,
        clock: Callable[[], datetime.datetime] = utcnow,
    ) -> None:
        self.web3 = web3
        self.routing = routing
        self.confirmation_block_count = confirmation_block_count
        self.timeout = timeout
        self.clock = clock

    @staticmethod
    def unfinished_trades(state: State) -> list[TradeExecution]:
        return sorted(state.portfolio.pending_trades(), key=lambda t: t.trade_id)

    def recover(self, state: State, checkpoint: Callable[[], None] | None = None) -> RecoveryReport:
        """Resolve every unfinished trade; save after each one that changed (when given a checkpoint)."""
        report = RecoveryReport()
        trades = self.unfinished_trades(state)
        if not trades:
            return report
        native_price: Decimal | None = None
        if any(t.blockchain_transactions for t in trades):
            native_price = self.routing.native_price_in_reserve()
        for trade in trades:
            result = self.recover_trade(state, trade, native_price)
            report.trades.append(result)
            log = logger.warning if result.outcome == RecoveryOutcome.unresolved else logger.info
            log("Recovery: %s", result)
            if checkpoint is not None:
                checkpoint()
        return report

    def recover_trade(
        self, state: State, trade: TradeExecution, native_price: Decimal | None = None
    ) -> RecoveredTrade:
        rebroadcast: list[str] = []
        for tx in _newest_attempt_first(trade):
            if tx.is_final:
                continue
            winner = _mined_at_same_nonce(trade, tx)
            if winner is not None:  # only one transaction per nonce can ever be mined
                tx.mark_dropped(
                    self.clock(), f"replaced: nonce {tx.nonce} was used by {winner.function} {winner.tx_hash}"
                )
                continue
            problem = self._resolve_tx(state, trade, tx, native_price, rebroadcast)
            if problem is not None:
                detail, pending = problem
                return RecoveredTrade(
                    trade.trade_id,
                    trade.pair.ticker,
                    RecoveryOutcome.unresolved,
                    detail,
                    tuple(rebroadcast),
                    pending=pending,
                )
        outcome, detail = self._finish_trade(state, trade)
        return RecoveredTrade(trade.trade_id, trade.pair.ticker, outcome, detail, tuple(rebroadcast))

    def _resolve_tx(
        self,
        state: State,
        trade: TradeExecution,
        tx: BlockchainTransaction,
        native_price: Decimal | None,
        rebroadcast: list[str],
    ) -> tuple[str, bool] | None:
        """Bring one transaction to a final status; when that is not possible now, a sentence
        saying why and whether it is because the transaction is still pending."""
        if tx.signed_bytes is None:
            return f"transaction {tx.tx_hash} is {tx.status} but its signed bytes are not in the state", False
        try:
            resolution = resolve_transaction(
                self.web3,
                tx.tx_hash,
                tx.signed_bytes,
                tx.nonce,
                confirmation_block_count=self.confirmation_block_count,
                timeout=self.timeout,
                description=tx.details.get("description", tx.function),
            )
        except UserError as e:  # node unreachable: try again at the next sync
            return f"the node could not be asked about transaction {tx.tx_hash}: {e}", False
        now = self.clock()
        if resolution.rebroadcast:
            rebroadcast.append(tx.tx_hash)
        if resolution.status == ResolutionStatus.pending:
            if tx.status == TxStatus.signed and resolution.rebroadcast:
                tx.mark_broadcast(now)
            state.mark_broadcast(trade, now)
            return f"transaction {tx.tx_hash} (nonce {tx.nonce}) is still pending: {resolution.detail}", True
        if resolution.status == ResolutionStatus.dropped:
            tx.mark_dropped(now, resolution.detail)
            return None
        assert resolution.confirmed is not None
        apply_confirmation(tx, resolution.confirmed, now)
        state.mark_broadcast(trade, now)
        state.book_gas_fee(tx, now, trade=trade, native_price_in_reserve=native_price)
        if tx.function == SWAP_FUNCTION and resolution.confirmed.succeeded:
            settle_swap(
                state,
                trade,
                self.routing.route(TradeSide.buy if trade.is_buy else TradeSide.sell, trade.pair),
                resolution.confirmed.receipt,
                now,
            )
        return None

    def _finish_trade(self, state: State, trade: TradeExecution) -> tuple[RecoveryOutcome, str]:
        """Every transaction of the trade is final: settle or fail it accordingly."""
        now = self.clock()
        mined_swap = next(
            (
                tx
                for tx in trade.blockchain_transactions
                if tx.function == SWAP_FUNCTION and tx.status == TxStatus.success
            ),
            None,
        )
        if mined_swap is not None and trade.status != TradeStatus.success:
            # mined and recorded, but the run stopped before booking it: book it from the receipt
            receipt = get_receipt(self.web3, mined_swap.tx_hash)
            if receipt is None:
                return (
                    RecoveryOutcome.unresolved,
                    f"the receipt of swap {mined_swap.tx_hash} is not available",
                )
            side = TradeSide.buy if trade.is_buy else TradeSide.sell
            settle_swap(state, trade, self.routing.route(side, trade.pair), receipt, now)
        if trade.status == TradeStatus.success:
            return (
                RecoveryOutcome.settled,
                f"swap mined, {trade.executed_quantity} {trade.pair.base.symbol} booked",
            )
        failure = next(
            (
                tx
                for tx in trade.blockchain_transactions
                if tx.status in (TxStatus.reverted, TxStatus.dropped)
                and tx.function in (APPROVE_FUNCTION, SWAP_FUNCTION)
            ),
            None,
        )
        swap_sent = any(tx.function == SWAP_FUNCTION for tx in trade.blockchain_transactions)
        if failure is not None:
            what = "approval" if failure.function == APPROVE_FUNCTION else "swap"
            why = (
                f"reverted: {explain(failure.revert_reason or 'no reason')}"
                if failure.status == TxStatus.reverted
                else f"was dropped: {failure.drop_reason}"
            )
            reason = f"the {what} {failure.tx_hash} {why}"
        elif not trade.blockchain_transactions:
            reason = (
                "execution was interrupted before this trade sent anything (found unfinished at the next "
                "sync); nothing of it is on chain, the strategy decides again"
            )
        elif not swap_sent:
            reason = (
                "execution was interrupted before this trade's swap was sent (found unfinished at the next "
                "sync); only its approval is on chain, the strategy decides again"
            )
        else:  # a successful swap would have settled the trade above
            reason = "its swap transaction ended without a result"
        state.settle_trade_failure(trade, now, reason)
        return RecoveryOutcome.failed, reason


def _newest_attempt_first(trade: TradeExecution) -> list[BlockchainTransaction]:
    """In nonce order; where a nonce has several attempts (a cancellation replacing a stuck
    transaction), the newest first: asking the node about the older one first would
    rebroadcast bytes that were deliberately replaced."""
    indexed = list(enumerate(trade.blockchain_transactions))
    return [tx for _, tx in sorted(indexed, key=lambda item: (item[1].nonce, -item[0]))]


def _mined_at_same_nonce(trade: TradeExecution, tx: BlockchainTransaction) -> BlockchainTransaction | None:
    return next(
        (
            other
            for other in trade.blockchain_transactions
            if other is not tx
            and other.nonce == tx.nonce
            and other.status in (TxStatus.success, TxStatus.reverted)
        ),
        None,
    )
