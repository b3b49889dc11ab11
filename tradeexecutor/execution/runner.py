"""One strategy cycle, identical for backtests and live trading.

    sync ─► revalue ─► decide_trades ─► execute ─► statistics ─► save

A trade the strategy planned but did not return is failed with a note (its reserve is
released) rather than silently executed or left dangling. If decide_trades raises, the
cycle's plans are unwound the same way and the state is saved before the error goes up.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from tradeexecutor.execution.failures import TransientFault
from tradeexecutor.execution.models import Checkpoint, DecideTrades, ExecutionModel, SyncModel, ValuationModel
from tradeexecutor.state.state import State
from tradeexecutor.state.trade import TradeExecution, TradeStatus, TradeType
from tradeexecutor.strategy.position_manager import PositionManager
from tradeexecutor.strategy.pricing import PricingModel


class StrategyReturnError(TypeError):
    """decide_trades() returned something other than a list of trades."""


class CycleReport(NamedTuple):
    """What one cycle did. A named tuple: a backtest makes one per cycle, and a tuple is
    several times cheaper to build than a frozen dataclass."""

    timestamp: datetime.datetime
    trades: list[TradeExecution]
    duration: float = 0.0

    @property
    def succeeded(self) -> list[TradeExecution]:
        return [t for t in self.trades if t.status == TradeStatus.success]

    @property
    def failed(self) -> list[TradeExecution]:
        return [t for t in self.trades if t.status == TradeStatus.failed]


class CycleInterrupted(TransientFault):
    """Execution stopped short: a trade's transaction has an outcome nobody knows yet (the node
    went away after it was sent, or it is not mined in time). The cycle is not marked completed,
    so it is retried within its window: the retry's sync resolves that trade from the chain and
    the strategy decides again on what actually happened, instead of its plan being lost."""

    def __init__(self, report: CycleReport) -> None:
        names = ", ".join(f"#{t.trade_id} {t.pair.ticker}" for t in report.trades if t.is_pending)
        super().__init__(
            f"the outcome of trade(s) {names} is not known yet (sent, then the node did not answer or the "
            "transaction is not mined yet): the cycle is retried once the next sync has resolved them"
        )
        self.report = report


class CycleNotSaved(TransientFault):
    """The cycle completed (its trades are booked in the state in memory), but saving the state
    failed: the caller reports the cycle and saves again later. The cause is chained."""

    def __init__(self, report: CycleReport) -> None:
        super().__init__(f"the cycle at {report.timestamp.isoformat()} completed but the state was not saved")
        self.report = report


@dataclass
class CycleRunner:
    state: State
    pricing_model: PricingModel
    execution_model: ExecutionModel
    sync_model: SyncModel
    valuation_model: ValuationModel
    decide: DecideTrades
    checkpoint: Checkpoint
    slippage_bps: int | None = None
    # None: record statistics every cycle (live). A backtest records them at a coarser
    # interval: they cost more than the rest of a cycle and its summary needs no more.
    statistics_due: Callable[[datetime.datetime], bool] | None = None
    # True once a cycle of this runner completed: every trade planned before it was then
    # executed or unwound, so a later cycle that plans nothing has nothing to unwind.
    _settled: bool = field(default=False, init=False)
    _pm: PositionManager | None = field(default=None, init=False)

    def _position_manager(self, ts: datetime.datetime) -> PositionManager:
        return PositionManager(ts, self.state, self.pricing_model, self.slippage_bps)

    def _cycle_position_manager(self, ts: datetime.datetime) -> PositionManager:
        """One position manager per runner, moved to each cycle's timestamp: a backtest asks
        for one every cycle."""
        pm = self._pm
        if pm is None or pm.state is not self.state:
            pm = self._pm = self._position_manager(ts)
        pm.timestamp = ts
        return pm

    def _unwind_unreturned(self, ts: datetime.datetime, returned: list[TradeExecution], why: str) -> None:
        portfolio = self.state.portfolio
        if not portfolio.open_positions and not portfolio.frozen_positions:
            return  # pending trades live only there; backtests run this every cycle
        pending = portfolio.pending_trades()
        if not pending:
            return
        returned_ids = {t.trade_id for t in returned}
        for trade in pending:
            if trade.status == TradeStatus.planned and trade.trade_id not in returned_ids:
                self.state.settle_trade_failure(trade, ts, why)

    def run_cycle(self, ts: datetime.datetime) -> CycleReport:
        started = time.perf_counter()
        state = self.state
        self.sync_model.sync(ts, state)
        portfolio = state.portfolio
        if portfolio.open_positions or portfolio.frozen_positions:  # nothing to value otherwise
            self.valuation_model.revalue(ts, state)
        # After a completed cycle only trades planned during this one can be left unreturned:
        # when the strategy planned none there is nothing to unwind (checked for free; a
        # backtest's common case). The first cycle always looks (a crash may have left plans).
        first_new_id = portfolio.next_trade_id if self._settled else -1
        self._settled = False
        try:
            trades = self.decide(ts, self._cycle_position_manager(ts))
        except BaseException:
            self._unwind_unreturned(ts, [], "decide_trades() raised before returning this plan")
            self.checkpoint()
            raise
        if trades is None:
            trades = []
        if type(trades) is not list or (trades and not all(isinstance(t, TradeExecution) for t in trades)):
            self._unwind_unreturned(ts, [], "decide_trades() returned an invalid value")
            self.checkpoint()
            raise StrategyReturnError(
                f"decide_trades() must return a list of trades from the position manager, got {type(trades).__name__}."
            )
        if portfolio.next_trade_id != first_new_id:
            self._unwind_unreturned(
                ts, trades, "planned by decide_trades() but not returned, so not executed"
            )
        if trades:
            self.execution_model.execute_trades(ts, state, trades, self.checkpoint)
            if portfolio.open_positions or portfolio.frozen_positions:
                self.valuation_model.revalue(ts, state)
            if any(t.is_pending for t in trades):
                self.checkpoint()
                raise CycleInterrupted(CycleReport(ts, trades, time.perf_counter() - started))
        if self.statistics_due is None or self.statistics_due(ts):
            state.record_statistics(ts)
        state.mark_cycle_completed(ts)
        self._settled = True
        report = CycleReport(ts, trades, time.perf_counter() - started)
        try:
            self.checkpoint()
        except Exception as exc:
            raise CycleNotSaved(report) from exc
        return report

    def check_triggers(self, ts: datetime.datetime) -> list[TradeExecution]:
        """Close positions whose price crossed their stop loss or take profit; execute at once.

        A position with an unfinished trade cannot be closed until that trade is resolved; the
        sync resolves it from the chain (live) first, so a trade a failed cycle left behind does
        not leave its position unprotected until the next cycle, or for good after a halt."""
        protected = [
            p
            for p in self.state.portfolio.open_positions.values()
            if p.stop_loss is not None or p.take_profit is not None
        ]
        if not protected:
            return []
        if self.state.portfolio.pending_trades():
            self.sync_model.sync(ts, self.state)
            self.checkpoint()
        else:
            self.sync_model.check_node(self.state)  # no selling on a stale (lagging) or foreign node's prices
        pm = self._position_manager(ts)
        trades: list[TradeExecution] = []
        for position in protected:
            if position.pending_trades() or position.status != "open":
                continue
            price: Decimal = self.pricing_model.get_mid_price(ts, position.pair)
            self.state.revalue_position(position, ts, price)
            if position.stop_loss is not None and price <= position.stop_loss:
                trades += pm.close_position(position, TradeType.stop_loss, f"stop loss hit at {price}")
            elif position.take_profit is not None and price >= position.take_profit:
                trades += pm.close_position(position, TradeType.take_profit, f"take profit hit at {price}")
        if trades:
            self.execution_model.execute_trades(ts, self.state, trades, self.checkpoint)
            self.checkpoint()
        return trades
