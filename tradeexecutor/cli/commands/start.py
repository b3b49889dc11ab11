"""`trade-executor start`: run a strategy. For now only `--execution-type backtest`.

Live execution types are added here later; the backtest branch calls the same function as
`trade-executor backtest`, so the two runs are identical.
"""

from __future__ import annotations

from tradeexecutor.cli.options import (
    BacktestCandleTimeFrameOverride,
    BacktestEnd,
    BacktestPoolLiquidity,
    BacktestSlippageBps,
    BacktestStart,
    BacktestStopLossTimeFrameOverride,
    CachePath,
    CandleData,
    ExecutionType,
    Id,
    InitialCash,
    Report,
    StateFile,
    StrategyFile,
    SyntheticData,
    SyntheticSeed,
)
from tradeexecutor.errors import UserError


def start(
    execution_type: ExecutionType = None,
    strategy_file: StrategyFile = None,
    backtest_start: BacktestStart = None,
    backtest_end: BacktestEnd = None,
    state_file: StateFile = None,
    id: Id = None,
    candle_data: CandleData = None,
    cache_path: CachePath = None,  # type: ignore[assignment]
    synthetic_data: SyntheticData = False,
    synthetic_seed: SyntheticSeed = 0,
    backtest_candle_time_frame_override: BacktestCandleTimeFrameOverride = None,
    backtest_stop_loss_time_frame_override: BacktestStopLossTimeFrameOverride = None,
    initial_cash: InitialCash = "10000",
    backtest_slippage_bps: BacktestSlippageBps = "0",
    backtest_pool_liquidity: BacktestPoolLiquidity = None,
    report: Report = None,
) -> None:
    """Run a strategy module: --execution-type backtest runs it over historical or synthetic candles."""
    raw = dict(locals())
    kind = (execution_type or "").strip().lower()
    if not kind:
        raise UserError(
            "No --execution-type given; pass --execution-type backtest (live execution is not available yet)."
        )
    if kind != "backtest":
        raise UserError(
            f"Execution type {kind!r}: live execution is not available yet; use --execution-type backtest."
        )
    from tradeexecutor.cli.backtest_cli import BACKTEST_OPTION_NAMES, backtest_cli, build_options

    backtest_cli(build_options(**{name: raw[name] for name in BACKTEST_OPTION_NAMES}))
