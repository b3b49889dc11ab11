"""`trade-executor sweep`: backtest a strategy over a grid of parameters on Dask.

Parses and prints; the sweep itself is `tradeexecutor.research.parameter_sweep.sweep`.
"""

from __future__ import annotations

import sys

import typer

from tradeexecutor.cli.options import (
    BacktestEnd,
    BacktestSlippageBps,
    BacktestStart,
    CandleData,
    DaskScheduler,
    DaskWorkers,
    Grid,
    InitialCash,
    Objective,
    Param,
    ResultsDir,
    Samples,
    StrategyFile,
    SweepSeed,
    SyntheticData,
    SyntheticSeed,
    Trials,
)
from tradeexecutor.errors import UserError


def sweep(
    strategy_file: StrategyFile = None,
    grid: Grid = None,
    samples: Samples = None,
    trials: Trials = None,
    objective: Objective = "sharpe",
    param: Param = None,
    backtest_start: BacktestStart = None,
    backtest_end: BacktestEnd = None,
    candle_data: CandleData = None,
    synthetic_data: SyntheticData = False,
    synthetic_seed: SyntheticSeed = 0,
    initial_cash: InitialCash = "10000",
    backtest_slippage_bps: BacktestSlippageBps = "0",
    results_dir: ResultsDir = None,
    dask_scheduler: DaskScheduler = None,
    dask_workers: DaskWorkers = None,
    sweep_seed: SweepSeed = 0,
) -> None:
    """Backtest a strategy for every combination of --grid values (or --samples / --trials of them) on Dask."""
    if strategy_file is None:
        raise UserError("No strategy file given; pass --strategy-file PATH or set STRATEGY_FILE.")
    if not grid:
        raise UserError(
            "The grid is empty: give at least one parameter to sweep, e.g. --grid fast=5:50:5 --grid slow=20,50,100."
        )
    if candle_data is None and not synthetic_data:
        raise UserError(
            "No candle data given; pass --candle-data PATH or --synthetic-data for a generated market."
        )
    if candle_data is not None and synthetic_data:
        raise UserError("Give either --candle-data or --synthetic-data, not both.")
    from tradeexecutor.cli.backtest_cli import parse_decimal, parse_time
    from tradeexecutor.research.backtest import RunConfig
    from tradeexecutor.research.parameter_sweep import SweepInterrupted, sweep_with_progress

    config = RunConfig(
        initial_cash=parse_decimal(initial_cash, "--initial-cash"),
        slippage_bps=parse_decimal(backtest_slippage_bps, "--backtest-slippage-bps"),
    )
    try:
        result = sweep_with_progress(
            strategy_file,
            grid,
            samples=samples,
            trials=trials,
            objective=objective,
            texts=tuple(param or ()),
            start=parse_time(backtest_start, "--backtest-start"),
            end=parse_time(backtest_end, "--backtest-end"),
            candles=candle_data,
            synthetic_seed=synthetic_seed,
            config=config,
            output=results_dir,
            dask_scheduler=dask_scheduler,
            workers=dask_workers,
            seed=sweep_seed,
        )
    except SweepInterrupted as e:
        print(str(e), file=sys.stderr)
        raise typer.Exit(130) from None
    typer.echo(result.table())
    print(result.describe(), file=sys.stderr)
