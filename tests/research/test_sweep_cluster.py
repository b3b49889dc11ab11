"""Sweeps on a real multi-process Dask cluster: a `dask scheduler` and two `dask worker`
processes on loopback (tests/research/conftest.py), driven through `trade-executor sweep` and
`tradeexecutor.research.sweep`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.backtest.helpers import STRATEGY_HEADER, cli, write
from tests.research.conftest import free_port
from tradeexecutor.errors import UserError
from tradeexecutor.research import sweep
from tradeexecutor.research.cluster import SchedulerUnreachable

pytestmark = pytest.mark.slow

# Hourly SMA crossover on a synthetic WETH-USDC market; raises for fast == 4 and kills its
# worker process for fast == 5 (every time, so the retry dies too).
SWEEP_STRATEGY = (
    STRATEGY_HEADER
    + """
import os

TRADING_PAIRS = ["WETH-USDC"]
PARAMETERS = {"fast": 3, "slow": 12, "allocation": 0.5}


def create_indicators(input):
    close = input.close
    return {"fast": close.rolling(input.parameters["fast"]).mean(), "slow": close.rolling(input.parameters["slow"]).mean()}


def decide_trades(input):
    p = input.parameters
    if p["fast"] == 4:
        raise ValueError("fast=4 is not supported")
    if p["fast"] == 5:
        os._exit(7)
    pair = input.universe.get_single_pair()
    ind = input.indicators
    fast, slow = ind.get("fast", pair), ind.get("slow", pair)
    if slow is None:
        return []
    pm = input.position_manager
    position = pm.get_current_position_for_pair(pair)
    if position is None and fast > slow:
        return pm.open_1x_long(pair, float(input.state.portfolio.free_cash()) * p["allocation"])
    if position is not None and fast < slow:
        return pm.close_position(position)
    return []
"""
)

RANGE = ["--backtest-start", "2024-01-01", "--backtest-end", "2024-01-15", "--synthetic-data"]


def test_a_grid_sweep_on_a_multi_process_cluster(tmp_path: Path, dask_cluster: str) -> None:
    strategy = write(tmp_path / "sweep_me.py", SWEEP_STRATEGY)
    results = tmp_path / "results"
    args = [
        "sweep",
        "--strategy-file",
        str(strategy),
        "--grid",
        "fast=2:5:1",
        "--grid",
        "slow=10,20",
        *RANGE,
        "--dask-scheduler",
        dask_cluster,
        "--results-dir",
        str(results),
        "--objective",
        "return",
    ]
    result = cli(args)
    assert result.returncode == 0, result.stderr
    assert "Ran 8 backtests (4 failed)" in result.stderr

    frame = pd.read_parquet(results / "results.parquet")
    assert len(frame) == 8 and frame["key"].is_unique
    assert list(pd.read_csv(results / "results.csv")["key"]) == list(frame["key"])
    ok, failed = frame[frame["status"] == "ok"], frame[frame["status"] == "failed"]
    assert sorted(map(tuple, ok[["param.fast", "param.slow"]].values.tolist())) == [
        (2, 10),
        (2, 20),
        (3, 10),
        (3, 20),
    ]
    # sorted by the objective, best first, failures last
    assert list(frame["status"][:4]) == ["ok"] * 4
    assert list(ok["return_pct"]) == sorted(ok["return_pct"], reverse=True)
    assert (ok["total_trades"] > 0).all()
    for column in ("sharpe", "max_drawdown", "cagr", "calmar", "win_rate", "value_at_end"):
        assert pd.api.types.is_float_dtype(frame[column])
    # the strategy's exception: its file and line, and its traceback from the strategy's frame
    raised = failed[failed["param.fast"] == 4]
    assert len(raised) == 2
    assert raised["error"].str.contains(r"decide_trades\(\) in .*sweep_me.py:\d+ raised ValueError").all()
    assert raised["traceback"].str.contains('raise ValueError("fast=4 is not supported")', regex=False).all()
    # the worker that died: retried once, then recorded failed
    died = failed[failed["param.fast"] == 5]
    assert len(died) == 2
    assert (
        died["error"]
        .str.contains("the worker running this run died, and again when it was retried", regex=False)
        .all()
    )
    assert (results / "report.html").read_text().count("Bokeh") > 0

    # resumable: the same sweep again runs nothing; a wider grid runs only the new combinations
    again = cli(args)
    assert again.returncode == 0, again.stderr
    assert "Ran 0 backtests (0 failed), skipped 8 already in" in again.stderr
    wider = cli([*args[:5], "--grid", "slow=10,20,30", *args[7:]])
    assert "Ran 4 backtests (2 failed), skipped 8" in wider.stderr
    assert len(pd.read_parquet(results / "results.parquet")) == 12


def test_an_optuna_search_on_the_cluster_from_python(tmp_path: Path, dask_cluster: str) -> None:
    strategy = write(tmp_path / "sweep_me.py", SWEEP_STRATEGY)
    result = sweep(
        strategy,
        {"fast": "2:3:1", "slow": "8:30:2"},
        trials=6,
        objective="sharpe",
        start="2024-01-01",
        end="2024-02-15",  # Sharpe needs 30 days (analysis/summary.py MIN_DAYS)
        output=tmp_path / "optuna",
        dask_scheduler=dask_cluster,
    )
    # a combination Optuna proposes twice is run once and told its score from the results
    assert result.ran + result.skipped == 6 and result.ran >= 3 and result.failed == 0
    frame = result.results
    assert set(frame["param.fast"]) <= {2, 3} and frame["param.slow"].between(8, 30).all()
    assert list(frame["sharpe"]) == sorted(frame["sharpe"], reverse=True)
    assert result.best is not None and result.best["sharpe"] == frame["sharpe"].max()


def test_a_scheduler_that_does_not_answer_is_one_sentence_within_ten_seconds(tmp_path: Path) -> None:
    strategy = write(tmp_path / "sweep_me.py", SWEEP_STRATEGY)
    address = f"tcp://127.0.0.1:{free_port()}"  # nobody listens there
    with pytest.raises(
        SchedulerUnreachable, match=f"The Dask scheduler at {address} did not answer within 8 s"
    ):
        sweep(
            strategy,
            {"fast": "2:3:1"},
            start="2024-01-01",
            end="2024-01-03",
            objective="return",
            output=tmp_path / "r",
            dask_scheduler=address,
        )
    assert (
        not (tmp_path / "r" / "results.parquet").exists()
        or len(pd.read_parquet(tmp_path / "r" / "results.parquet")) == 0
    )


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        (
            ["fast=2:5"],
            "--grid fast=2:5 is not a range LOW:HIGH:STEP (e.g. fast=5:50:5) nor a list (e.g. fast=5,10,20).",
        ),
        (["fast=5:2:1"], "--grid fast=5:2:1: the range ends before it starts; write LOW:HIGH:STEP."),
        (["fast=2:5:0"], "--grid fast=2:5:0: the step must be positive, e.g. fast=5:50:5."),
        (["fsat=2,3"], "has no parameter 'fsat'; did you mean 'fast'?"),
        (["fast=a,b"], "--grid fast='a' is not valid: fast is a whole number"),
        ([], "The grid is empty: give at least one parameter to sweep"),
    ],
)
def test_bad_grids_are_one_sentence_before_any_cluster_starts(
    tmp_path: Path, grid: list[str], message: str
) -> None:
    strategy = write(tmp_path / "sweep_me.py", SWEEP_STRATEGY)
    args = [
        "sweep",
        "--strategy-file",
        str(strategy),
        *RANGE,
        "--results-dir",
        str(tmp_path / "r"),
        "--dask-scheduler",
        "tcp://127.0.0.1:9",
    ]  # never reached
    for item in grid:
        args += ["--grid", item]
    result = cli(args)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr and "did not answer" not in result.stderr


def test_an_objective_that_needs_more_days_than_the_range_is_one_sentence(tmp_path: Path) -> None:
    strategy = write(tmp_path / "sweep_me.py", SWEEP_STRATEGY)
    args = ["sweep", "--strategy-file", str(strategy), *RANGE, "--grid", "fast=2,3", "--objective", "sharpe"]
    result = cli([*args, "--results-dir", str(tmp_path / "r"), "--dask-scheduler", "tcp://127.0.0.1:9"])
    assert result.returncode == 1
    assert (
        "--objective sharpe needs a backtest of at least 30 days (sharpe is n/a below that), but "
        "2024-01-01 00:00 to 2024-01-15 00:00 is 14.0 days" in result.stderr
    )
    assert "Traceback" not in result.stderr and "did not answer" not in result.stderr


def test_candles_missing_for_the_range_is_one_sentence(tmp_path: Path) -> None:
    strategy = write(tmp_path / "sweep_me.py", SWEEP_STRATEGY)
    rows = "".join(f"2024-01-01T{h:02d}:00:00Z,100,101,99,100,1\n" for h in range(24))
    candles = write(tmp_path / "WETH-USDC-1h.csv", "timestamp,open,high,low,close,volume\n" + rows)
    with pytest.raises(
        UserError,
        match="The backtest range 2024-01-01 00:00 UTC .. 2024-01-05 00:00 UTC is outside the candle data",
    ):
        sweep(
            strategy,
            {"fast": [2, 3]},
            start="2024-01-01",
            end="2024-01-05",
            candles=candles,
            output=tmp_path / "r",
            dask_scheduler="tcp://127.0.0.1:9",
        )
