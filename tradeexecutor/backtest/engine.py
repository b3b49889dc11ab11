"""The backtest loop: the live CycleRunner driven by a simulated clock over historical candles.

    prepare_backtest(module, data, config) -> Backtest      builds universe, state, models
    Backtest.run(progress)                                   every cycle, then a final valuation

For each cycle timestamp t (from `CycleDuration.iterate(start, end)`) the runner does
sync -> revalue -> decide_trades -> execute -> statistics, exactly as live; then the trigger
walker checks stop losses and take profits on the candles up to the next cycle. After the
last cycle the open positions are valued at the last close before `end` and a final
statistics point is recorded at `end`.

The runner's per-cycle checkpoint is a no-op here: a backtest's state is written once, by the
caller, when the run ends or fails (see `tradeexecutor.backtest.run`).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import pandas as pd

from tradeexecutor.backtest.execution import BacktestExecution, BacktestValuation
from tradeexecutor.backtest.prices import CandlePrices, remember_ns
from tradeexecutor.backtest.pricing import BacktestPricing, SlippageModel
from tradeexecutor.backtest.routes import BacktestRoutes
from tradeexecutor.backtest.triggers import TriggerWalker
from tradeexecutor.data.source import describe_range
from tradeexecutor.errors import UserError
from tradeexecutor.execution.models import NoSync
from tradeexecutor.execution.runner import CycleRunner
from tradeexecutor.state.state import State
from tradeexecutor.state.trade import TradeExecution
from tradeexecutor.strategy.cycle import CycleDuration
from tradeexecutor.strategy.indicators import CycleIndicators, IndicatorTable
from tradeexecutor.strategy.market_data import MarketData
from tradeexecutor.strategy.module import ExecutionMode, StrategyInput, StrategyModule
from tradeexecutor.strategy.position_manager import PositionManager
from tradeexecutor.strategy.universe import TradingUniverse
from tradeexecutor.strategy.universe_view import UniverseView

_BACKTEST = ExecutionMode.backtest
Progress = Callable[[int, int], None]
"""Called as progress(cycles_done, cycles_total) while the backtest runs."""


@dataclass(frozen=True, kw_only=True)
class BacktestConfig:
    start: datetime.datetime
    end: datetime.datetime
    initial_cash: Decimal = Decimal(10_000)
    slippage: SlippageModel | None = None  # None: fill at the mid price plus the LP fee
    strategy_id: str = ""
    # Portfolio statistics (equity, cash, profit) are recorded at the first cycle of each
    # interval and at the end; None records every cycle. A day is what the summary's daily
    # figures need, and recording costs more than the rest of an hourly cycle.
    statistics_every: datetime.timedelta | None = datetime.timedelta(days=1)


def check_range(start: datetime.datetime, end: datetime.datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise UserError("Backtest start and end must be timezone-aware (UTC).")
    if end <= start:
        raise UserError(
            f"The backtest end {end:%Y-%m-%d %H:%M} is not after its start {start:%Y-%m-%d %H:%M}; "
            "set --backtest-end later than --backtest-start."
        )


def _full_range(data: MarketData, universe: TradingUniverse) -> str:
    """What the data source has for the universe's pairs, for error messages."""
    firsts, lasts = [], []
    for pair in universe.pairs:
        try:
            frame = data.source.load_candles(pair, universe.time_bucket, None, None)
        except UserError:
            continue
        if len(frame):
            firsts.append(frame.index[0].to_pydatetime())
            lasts.append(frame.index[-1].to_pydatetime() + universe.time_bucket.timedelta)
    if not firsts:
        return "no candles at all"
    return describe_range(min(firsts), max(lasts))


def check_data(
    data: MarketData,
    universe: TradingUniverse,
    start: datetime.datetime,
    end: datetime.datetime,
    cycle: CycleDuration,
) -> None:
    """Refuse a universe whose candles do not cover the backtest range, in one sentence."""
    wanted = describe_range(start, end)
    span = universe.time_range()
    if span is None:
        raise UserError(
            f"The candle data has no {universe.time_bucket.value} candles for {universe.tickers()} in the "
            f"backtest range {wanted} (the source has {_full_range(data, universe)}); "
            "pick dates inside the data or load other data."
        )
    first, last = span
    # Trading starts at the first cycle (start rounded up to the cycle grid) and needs prices
    # up to the last candle that fits before `end`.
    first_needed = cycle.ceil(start)
    last_needed = universe.time_bucket.floor(end)
    if first > pd.Timestamp(first_needed) or last < pd.Timestamp(last_needed):
        raise UserError(
            f"The backtest range {wanted} is outside the candle data, which covers "
            f"{describe_range(first.to_pydatetime(), last.to_pydatetime())} for {universe.tickers()} "
            f"(the source has {_full_range(data, universe)}); pick --backtest-start and --backtest-end inside it."
        )
    for pair in universe.pairs:
        if not len(universe.series(pair)):
            raise UserError(
                f"The candle data has no candles for {pair.ticker} in the backtest range {wanted}; "
                "remove the pair from the strategy or load data for it."
            )


@dataclass
class Backtest:
    """One prepared run: everything is built, no cycle has run yet."""

    module: StrategyModule
    config: BacktestConfig
    universe: TradingUniverse
    state: State
    pricing: BacktestPricing
    cycles: list[datetime.datetime]
    indicators: IndicatorTable | None = None
    cycles_done: int = 0
    trigger_trades: list[TradeExecution] = field(default_factory=list)
    runner: CycleRunner = field(init=False)
    stop_requested: bool = False  # set from a signal handler: stop cleanly after the current cycle
    _view: UniverseView | None = None
    _input: StrategyInput | None = None

    def __post_init__(self) -> None:
        self.runner = CycleRunner(
            state=self.state,
            pricing_model=self.pricing,
            execution_model=BacktestExecution(self.pricing),
            sync_model=NoSync(),
            valuation_model=BacktestValuation(self.pricing.prices),
            decide=self._decide,
            checkpoint=_no_checkpoint,
            statistics_due=self._statistics_due,
        )
        first = pd.Timestamp(self.cycles[0]).value if self.cycles else 0
        step = self.module.cycle_duration.timedelta // datetime.timedelta(microseconds=1) * 1000
        self._cycles_ns = first + np.arange(len(self.cycles), dtype="int64") * step  # a regular grid
        assert not self.cycles or int(self._cycles_ns[-1]) == pd.Timestamp(self.cycles[-1]).value
        self._due = statistics_schedule(self._cycles_ns, self.config.statistics_every)

    def _statistics_due(self, ts: datetime.datetime) -> bool:
        return self._due[self.cycles_done]

    def _decide(self, ts: datetime.datetime, pm: PositionManager) -> list[TradeExecution]:
        """decide_trades for the current view. One `StrategyInput` (and its indicators reader)
        serves the whole run, moved from cycle to cycle: building ten attributes every cycle
        was 7 % of a cycle. A strategy reads it during its call (docs/strategy.md)."""
        view = self._view
        assert view is not None
        module = self.module
        input = self._input
        if input is None:
            input = self._input = StrategyInput(
                cycle=self.cycles_done + 1,
                universe=view,
                state=self.state,
                pricing_model=self.pricing,
                position_manager=pm,
                parameters=module.parameters,
                execution_mode=_BACKTEST,
                cycle_duration=module.cycle_duration,
                indicators=CycleIndicators(view, self.indicators),
            )
        else:
            input.cycle = self.cycles_done + 1
            input.universe = view
            input.position_manager = pm
            input.indicators.move_to(view)  # type: ignore[union-attr]
        return module.decide_trades(input)

    def run(self, progress: Progress | None = None, progress_every: int = 1) -> State:
        """Run every cycle, then value what is still open at the end; return the state."""
        total = len(self.cycles)
        cycles_ns = self._cycles_ns
        walker = TriggerWalker(
            self.universe, self.pricing, self.pricing.prices, self.cycles, self.config.end, cycles_ns
        )
        runner = self.runner
        run_cycle, check = runner.run_cycle, walker.check
        cycles, trigger_trades = self.cycles, self.trigger_trades
        for i, view in enumerate(self.universe.views(cycles, cycles_ns, reuse=True)):
            self._view = view
            ts = cycles[i]
            remember_ns(ts, view._ns)
            run_cycle(ts)
            self.cycles_done = done = i + 1
            triggered = check(runner, i)
            if triggered:
                trigger_trades += triggered
            if progress is not None and (done % progress_every == 0):
                progress(done, total)
            if self.stop_requested:
                raise KeyboardInterrupt(f"backtest stopped after cycle {done}")
        self._view = None
        end = self.config.end
        self.runner.valuation_model.revalue(end, self.state)
        self.state.record_statistics(end)
        self.state.last_updated_at = end
        if progress is not None:
            progress(total, total)
        return self.state


def statistics_schedule(
    cycles: list[datetime.datetime] | np.ndarray, every: datetime.timedelta | None
) -> list[bool]:
    """Per cycle (datetimes, or their nanoseconds): record statistics? The first cycle of each
    `every` interval (on the epoch grid)."""
    if every is None or not len(cycles):
        return [True] * len(cycles)
    ns = cycles if isinstance(cycles, np.ndarray) else pd.DatetimeIndex(cycles).as_unit("ns").asi8
    buckets = ns // int(every.total_seconds() * 1_000_000_000)
    due = np.ones(len(cycles), dtype=bool)
    due[1:] = buckets[1:] != buckets[:-1]
    return due.tolist()


def new_backtest_state(universe: TradingUniverse, config: BacktestConfig) -> State:
    """A fresh state holding the initial cash in the universe's reserve currency."""
    state = State(strategy_id=config.strategy_id, created_at=config.start, last_updated_at=config.start)
    reserve = universe.reserve_asset
    cash_raw = reserve.to_raw(config.initial_cash)
    if cash_raw <= 0:
        raise UserError(f"The initial cash must be positive, got {config.initial_cash} {reserve.symbol}.")
    state.record_deposit(reserve, cash_raw, config.start, reason="backtest initial cash")
    return state


def prepare_backtest(module: StrategyModule, data: MarketData, config: BacktestConfig) -> Backtest:
    """Build the universe through the strategy's own `create_trading_universe` and wire the models."""
    check_range(config.start, config.end)
    universe = module.create_trading_universe(
        module.universe_input(timestamp=config.start, execution_mode=ExecutionMode.backtest, data=data)
    )
    check_data(data, universe, config.start, config.end, module.cycle_duration)
    cycles = module.cycle_duration.grid(config.start, config.end)
    if not cycles:
        raise UserError(
            f"The backtest range {describe_range(config.start, config.end)} holds no "
            f"{module.cycle_duration.value} cycle; make it longer."
        )
    state = new_backtest_state(universe, config)
    pricing = BacktestPricing(CandlePrices(universe, BacktestRoutes.build(universe, data)), config.slippage)
    indicators = module.indicator_table(
        {pair: universe.all_candles(pair) for pair in universe.pairs}, _BACKTEST, check_lookahead=True
    )
    return Backtest(
        module=module,
        config=config,
        universe=universe,
        state=state,
        pricing=pricing,
        cycles=cycles,
        indicators=indicators,
    )


def _no_checkpoint() -> None:
    """Backtests write their state once, at the end (or when they fail), not every cycle."""
