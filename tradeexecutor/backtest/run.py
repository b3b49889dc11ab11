"""One backtest from start to files: load the strategy, pick the data, run, save, report.

`run_backtest_from_options` is what `trade-executor backtest` and
`trade-executor start --execution-type backtest` both call (through
`tradeexecutor.cli.backtest_cli`). It always leaves a state file behind once the run has
started: on success, and also when the strategy raises or the run is interrupted, so the
trades made so far can be inspected.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from tradeexecutor.analysis.summary import BacktestSummary, calculate_summary
from tradeexecutor.backtest.engine import Backtest, BacktestConfig, Progress, check_range, prepare_backtest
from tradeexecutor.backtest.market import file_market, synthetic_market
from tradeexecutor.backtest.pricing import ConstantProductSlippage, FixedSlippage, SlippageModel
from tradeexecutor.backtest.state_file import write_file_atomically, write_state_file
from tradeexecutor.data.time_bucket import TimeBucket
from tradeexecutor.errors import UserError
from tradeexecutor.state.state import State
from tradeexecutor.strategy.cycle import CycleDuration
from tradeexecutor.strategy.loader import load_strategy_module
from tradeexecutor.strategy.market_data import MarketData
from tradeexecutor.strategy.module import StrategyModule
from tradeexecutor.strategy.universe import TradingUniverse


@dataclass(frozen=True, kw_only=True)
class BacktestOptions:
    """Everything a backtest run needs; the CLI builds it from options and env vars."""

    strategy_file: Path
    start: datetime.datetime
    end: datetime.datetime
    state_file: Path | None = None  # default: state/<id>-backtest.json
    strategy_id: str | None = None  # default: the strategy file's name
    candle_data: Path | None = None  # a candle file, or a directory in the cache layout
    synthetic_data: bool = False
    synthetic_seed: int = 0
    candle_time_frame_override: TimeBucket | None = None
    stop_loss_time_frame_override: TimeBucket | None = None
    initial_cash: Decimal = Decimal(10_000)
    slippage_bps: Decimal = Decimal(0)
    pool_liquidity: Decimal | None = None
    report_file: Path | None = None
    statistics_every: datetime.timedelta | None = datetime.timedelta(days=1)  # None: every cycle
    parameters: tuple[str, ...] = ()  # NAME=VALUE overrides of the strategy's PARAMETERS (--param)

    @property
    def id(self) -> str:
        return self.strategy_id or self.strategy_file.stem

    @property
    def state_path(self) -> Path:
        return self.state_file or Path("state") / f"{self.id}-backtest.json"


@dataclass(frozen=True, kw_only=True)
class BacktestOutcome:
    state: State
    summary: BacktestSummary
    universe: TradingUniverse
    module: StrategyModule
    cycles: int
    state_file: Path
    report_file: Path | None

    def document(self) -> dict[str, Any]:
        """The summary figures as numbers, for `backtest --json` (see docs/backtesting.md).

        The summary's own figures, in its vocabulary: `total_trades` counts the swaps that
        filled, `round_trips` the closed positions that traded. Percentages are percent (12.5
        means 12.5 %), money is in the reserve currency, rounded to its decimals; a figure the
        summary cannot give (a Sharpe ratio of a run shorter than 30 days, a win rate without
        round trips) is null."""
        s = self.summary
        scale = Decimal(1).scaleb(-self.universe.reserve_asset.decimals)

        def money(value: Decimal | None) -> Decimal | None:
            return None if value is None else value.quantize(scale)

        def pct(value: Decimal | float | None) -> float | None:
            return None if value is None else round(float(value) * 100, 6)

        def ratio(value: float | None) -> float | None:
            return None if value is None else round(value, 6)

        return {
            "strategy_id": self.state.strategy_id,
            "start": s.start,
            "end": s.end,
            "period_days": round(s.period.total_seconds() / 86_400, 6),
            "cycles": self.cycles,
            "reserve_currency": self.universe.reserve_asset.symbol,
            "return_pct": pct(s.return_pct),
            "annualised_return_pct": pct(s.annualised_return_pct),
            "sharpe": ratio(s.sharpe),
            "sortino": ratio(s.sortino),
            "max_drawdown_pct": None if s.max_drawdown is None else pct(-s.max_drawdown),
            "cash_at_start": money(s.cash_at_start),
            "value_at_end": money(s.value_at_end),
            "cash_at_end": money(s.cash_at_end),
            "realised_profit": money(s.realised_profit),
            "unrealised_value": money(s.open_positions_value),
            "total_trades": s.total_trades,
            "round_trips": s.round_trips,
            "won_round_trips": len(s.won),
            "lost_round_trips": len(s.lost),
            "zero_profit_round_trips": len(s.zero),
            "round_trip_win_pct": pct(s.round_trip_win_rate),
            "stop_losses": s.stop_losses,
            "positions_open_at_end": s.positions_open_at_end,
            "state_file": str(self.state_file),
            "report_file": None if self.report_file is None else str(self.report_file),
        }


class BacktestStopped(UserError):
    """The run failed part way; the state so far was saved. Wraps the original error."""

    def __init__(self, original: BaseException, message: str) -> None:
        self.original = original
        super().__init__(message)


def apply_time_frame_overrides(
    module: StrategyModule, candle: TimeBucket | None, stop_loss: TimeBucket | None
) -> StrategyModule:
    """The module as the overrides describe it.

    A candle override sets the candle width and the cycle to it (decide_trades runs once per
    candle). A stop-loss override at or above the candle width means "check stop losses on
    the strategy's own candles".
    """
    time_bucket = candle or module.time_bucket
    cycle = CycleDuration.parse(candle.value) if candle else module.cycle_duration
    fine = stop_loss or module.stop_loss_time_bucket
    if fine is not None and fine.timedelta >= time_bucket.timedelta:
        fine = None
    return dataclasses.replace(
        module, time_bucket=time_bucket, cycle_duration=cycle, stop_loss_time_bucket=fine
    )


def slippage_model(options: BacktestOptions) -> SlippageModel | None:
    if options.pool_liquidity is not None and options.slippage_bps:
        raise UserError(
            "Give either --backtest-slippage-bps or --backtest-pool-liquidity, not both: they are two slippage models."
        )
    if options.pool_liquidity is not None:
        if options.pool_liquidity <= 0:
            raise UserError(f"--backtest-pool-liquidity must be positive, got {options.pool_liquidity}.")
        return ConstantProductSlippage(options.pool_liquidity)
    if options.slippage_bps < 0:
        raise UserError(f"--backtest-slippage-bps must not be negative, got {options.slippage_bps}.")
    return FixedSlippage(options.slippage_bps) if options.slippage_bps else None


def market_for(module: StrategyModule, options: BacktestOptions) -> MarketData:
    """The candle source the options select: synthetic, a file or directory, or the cache."""
    if options.synthetic_data:
        if options.candle_data is not None:
            raise UserError("Give either --candle-data or --synthetic-data, not both.")
        tickers = module.trading_pairs or (f"WETH-{module.reserve_currency}",)
        finest = module.stop_loss_time_bucket or module.time_bucket
        return synthetic_market(
            tickers,
            chain_id=module.chain_id,
            start=options.start,
            end=options.end,
            base_bucket=finest,
            seed=options.synthetic_seed,
        )
    if options.candle_data is None:
        raise UserError(
            "No candle data given; pass --candle-data PATH (a candle file or a cache directory) "
            "or --synthetic-data for a generated market."
        )
    return file_market(options.candle_data, chain_id=module.chain_id, start=options.start, end=options.end)


def _stopped_message(error: BaseException, backtest: Backtest, path: Path) -> str:
    done = backtest.cycles_done
    last = f" (the last at {backtest.cycles[done - 1]:%Y-%m-%d %H:%M} UTC)" if done else ""
    note = (
        f"The backtest stopped after {done} of {len(backtest.cycles)} cycles{last}; "
        f"the state so far is saved in {path}."
    )
    return f"{error}\n{note}" if isinstance(error, UserError) else note


@contextlib.contextmanager
def _stop_on_interrupt(backtest: Backtest) -> Iterator[None]:
    """The first Ctrl-C stops the backtest between two cycles, so the state saved is
    consistent; a second one interrupts at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)

    def request_stop(signum: int, frame: object) -> None:
        backtest.stop_requested = True
        signal.signal(signal.SIGINT, previous)

    signal.signal(signal.SIGINT, request_stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def run_backtest_from_options(options: BacktestOptions, progress: Progress | None = None) -> BacktestOutcome:
    """Run one backtest and write its state file (and report, if asked). See the module docstring."""
    check_range(options.start, options.end)
    module = apply_time_frame_overrides(
        load_strategy_module(options.strategy_file, options.parameters),
        options.candle_time_frame_override,
        options.stop_loss_time_frame_override,
    )
    data = market_for(module, options)
    config = BacktestConfig(
        start=options.start,
        end=options.end,
        initial_cash=options.initial_cash,
        slippage=slippage_model(options),
        strategy_id=options.id,
        statistics_every=options.statistics_every,
    )
    backtest = prepare_backtest(module, data, config)
    path = options.state_path
    try:
        with _stop_on_interrupt(backtest):
            state = backtest.run(progress, progress_every=max(1, len(backtest.cycles) // 500))
    except (Exception, KeyboardInterrupt) as e:
        write_state_file(backtest.state, path)
        if isinstance(e, UserError):
            stopped = BacktestStopped(e, _stopped_message(e, backtest, path))
            stopped.exit_code = e.exit_code
            raise stopped from e
        e.add_note(_stopped_message(e, backtest, path))
        raise
    write_state_file(state, path)
    summary = calculate_summary(state, start=options.start, end=options.end)
    if options.report_file is not None:
        write_report(
            options.report_file, state, summary, backtest.universe, title=f"Backtest of {options.id}"
        )
    return BacktestOutcome(
        state=state,
        summary=summary,
        universe=backtest.universe,
        module=module,
        cycles=len(backtest.cycles),
        state_file=path,
        report_file=options.report_file,
    )


def write_report(
    path: Path, state: State, summary: BacktestSummary, universe: TradingUniverse, *, title: str
) -> None:
    from tradeexecutor.analysis.html_report import render_html_report

    candles = {pair: (universe.all_candles(pair), universe.time_bucket) for pair in universe.pairs}
    document = render_html_report(
        state, summary, title=title, candles=candles, currency=universe.reserve_asset.symbol
    )
    write_file_atomically(Path(path), document.encode(), "report", "--report")
