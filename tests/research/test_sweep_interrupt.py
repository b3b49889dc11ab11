"""Ctrl-C during `trade-executor sweep` on the embedded cluster: finished runs are kept, the
cluster is shut down, no process is left behind, and running it again does the rest."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pandas as pd
import pytest

from tests.backtest.helpers import EXECUTABLE, write
from tests.research.test_sweep_cluster import SWEEP_STRATEGY

# long enough that Ctrl-C lands while runs are still going: 2 x 195 runs of two months
RANGE = ["--backtest-start", "2024-01-01", "--backtest-end", "2024-03-01", "--synthetic-data"]
COMBOS = 2 * 195

pytestmark = pytest.mark.slow


def processes_with(marker: str) -> list[int]:
    """Processes whose environment carries `marker` (the command and everything it started)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_ctrl_c_keeps_finished_runs_and_leaves_no_process(tmp_path: Path) -> None:
    strategy = write(tmp_path / "sweep_me.py", SWEEP_STRATEGY)
    results = tmp_path / "results"
    marker = f"SWEEP_TEST_MARKER={uuid.uuid4()}"
    key, value = marker.split("=")
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("BACKTEST_", "DASK_", "GRID"))}
    environment[key] = value
    args = [
        str(EXECUTABLE),
        "sweep",
        "--strategy-file",
        str(strategy),
        "--grid",
        "fast=2:3:1",
        "--grid",
        "slow=6:200:1",
        *RANGE,
        "--dask-workers",
        "1",
        "--results-dir",
        str(results),
    ]
    process = subprocess.Popen(
        args,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if (results / "results.parquet").exists() and len(pd.read_parquet(results / "results.parquet")):
                break
            assert process.poll() is None, process.communicate()
            time.sleep(0.5)
        else:
            pytest.fail("no results were written within 180 s")
        os.killpg(process.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole foreground group
        _, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 130, err
    assert "Sweep interrupted:" in err and f"kept in {results / 'results.parquet'}" in err
    kept = pd.read_parquet(results / "results.parquet")
    assert 1 <= len(kept) < COMBOS
    deadline = time.monotonic() + 15
    while processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert processes_with(marker) == []

    # the rest, without repeating what was kept
    environment.pop(key)
    finished = subprocess.run(args, env=environment, capture_output=True, text=True, timeout=600)
    assert finished.returncode == 0, finished.stderr
    assert f"skipped {len(kept)} already in" in finished.stderr
    assert len(pd.read_parquet(results / "results.parquet")) == COMBOS
