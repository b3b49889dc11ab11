"""`trade-executor backtest`: run a strategy over historical or synthetic candles.

The same run is `trade-executor start --execution-type backtest`; both call
`tradeexecutor.cli.backtest_cli.backtest_cli(build_options(...))`.
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
    Id,
    InitialCash,
    JsonOutput,
    Param,
    Report,
    StateFile,
    StrategyFile,
    SyntheticData,
    SyntheticSeed,
)


def backtest(
    strategy_file: StrategyFile = None,
    param: Param = None,
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
    json_output: JsonOutput = False,
) -> None:
    """Backtest a strategy module and print its summary; the state goes to state/<id>-backtest.json."""
    raw = dict(locals())
    from tradeexecutor.cli.backtest_cli import backtest_cli, build_options

    as_json = raw.pop("json_output")
    backtest_cli(build_options(**raw), json_output=as_json)
