"""`run_backtest`: one backtest from a notebook, and the core every sweep run calls.

    result = run_backtest("strategies/sma_crossover.py", parameters={"fast": 10},
                          start=datetime(2024, 1, 1, tzinfo=UTC), end=datetime(2024, 4, 1, tzinfo=UTC))
    result.summary["sharpe"], result.trades, result.equity, result.figure()

It is the same backtest `trade-executor backtest` runs (`prepare_backtest` + `Backtest.run` +
`calculate_summary`), without a state file: the state is in `result.state`.
"""

from __future__ import annotations

import datetime
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tradeexecutor.analysis.summary import calculate_summary
from tradeexecutor.backtest.engine import BacktestConfig, prepare_backtest
from tradeexecutor.backtest.pricing import ConstantProductSlippage, FixedSlippage, SlippageModel
from tradeexecutor.errors import UserError
from tradeexecutor.research.data import CandleSet, load_candle_set
from tradeexecutor.research.result import BacktestResult
from tradeexecutor.research.strategies import StrategySpec, strategy_spec
from tradeexecutor.strategy.module import StrategyModule
from tradeexecutor.strategy.parameters import with_parameters

DEFAULT_START = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)


@dataclass(frozen=True, kw_only=True)
class RunConfig:
    """The backtest settings besides strategy, parameters and candles (as `trade-executor backtest`)."""

    initial_cash: Decimal = Decimal(10_000)
    slippage_bps: Decimal = Decimal(0)
    pool_liquidity: Decimal | None = None
    statistics_every: datetime.timedelta | None = datetime.timedelta(days=1)

    def slippage(self) -> SlippageModel | None:
        if self.pool_liquidity is not None:
            return ConstantProductSlippage(self.pool_liquidity)
        return FixedSlippage(self.slippage_bps) if self.slippage_bps else None

    def key(self) -> str:
        return f"cash={self.initial_cash}|bps={self.slippage_bps}|pool={self.pool_liquidity}|stats={self.statistics_every}"


def _utc(value: datetime.datetime | str | None, what: str) -> datetime.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)
    return value.astimezone(datetime.UTC)


def backtest_module(
    module: StrategyModule,
    candles: CandleSet,
    start: datetime.datetime,
    end: datetime.datetime,
    config: RunConfig,
) -> BacktestResult:
    """Run `module` (parameters applied) over `candles`: the core of every research run."""
    began = time.perf_counter()
    backtest = prepare_backtest(
        module,
        candles.market_data(start, end),
        BacktestConfig(
            start=start,
            end=end,
            initial_cash=config.initial_cash,
            slippage=config.slippage(),
            strategy_id=module.path.stem,
            statistics_every=config.statistics_every,
        ),
    )
    state = backtest.run()
    summary = calculate_summary(state, start=start, end=end)
    return BacktestResult(
        state=state,
        report=summary,
        module=module,
        universe=backtest.universe,
        parameters=dict(module.parameters),
        start=start,
        end=end,
        seconds=time.perf_counter() - began,
    )


def resolve_range(
    candles: Any, start: datetime.datetime | str | None, end: datetime.datetime | str | None
) -> tuple[datetime.datetime | None, datetime.datetime | None]:
    """Start and end in UTC; a synthetic market defaults to the year 2024."""
    start_utc, end_utc = _utc(start, "start"), _utc(end, "end")
    if candles is None:
        start_utc = start_utc or DEFAULT_START
        end_utc = end_utc or start_utc + datetime.timedelta(days=365)
    if start_utc is not None and end_utc is not None and end_utc <= start_utc:
        raise UserError(
            f"The end {end_utc:%Y-%m-%d %H:%M} is not after the start {start_utc:%Y-%m-%d %H:%M}."
        )
    return start_utc, end_utc


def run_backtest(
    strategy: Any,
    parameters: dict[str, Any] | None = None,
    start: datetime.datetime | str | None = None,
    end: datetime.datetime | str | None = None,
    candles: Any = None,
    *,
    initial_cash: float | Decimal = 10_000,
    synthetic_seed: int = 0,
    config: RunConfig | None = None,
    **functions: Any,
) -> BacktestResult:
    """Backtest `strategy` (a path, a module, a decide_trades function or a dict of settings and
    functions; extra keyword functions such as `create_indicators=` join it) with `parameters`
    overriding its PARAMETERS, over `candles` (None: a synthetic market; a path; a DataFrame; a
    dict of ticker -> DataFrame; a `CandleSet`) from `start` to `end` (UTC)."""
    spec: StrategySpec = strategy_spec(strategy, **functions)
    module = with_parameters(spec.load(), values=parameters or {})
    start_utc, end_utc = resolve_range(candles, start, end)
    candle_set = load_candle_set(
        module, candles=candles, start=start_utc, end=end_utc, synthetic_seed=synthetic_seed
    )
    run_config = config or RunConfig(initial_cash=Decimal(str(initial_cash)))
    return backtest_module(
        module, candle_set, start_utc or candle_set.start, end_utc or candle_set.end, run_config
    )
