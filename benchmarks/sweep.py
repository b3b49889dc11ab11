"""Sweep speed: a 1,000-combination grid on one pair x 8,760 hourly candles, three ways.

The strategy is strategies/sma_crossover.py on hourly candles (as in benchmarks/backtest.py)
over a synthetic year; the grid is fast = 5..44 x slow = 50..74 (40 x 25 = 1,000 runs).

- serial: a plain loop in this process, `run_backtest`-style, over candles loaded once: what a
  user would write without a sweep tool (no Dask at all);
- workers_1 / workers_2: `tradeexecutor.research.sweep` on the embedded LocalCluster with one
  and with two worker processes, wall time including the cluster's start and shutdown, the
  candles' scatter and writing the results.

The three are run in turn (serial, 1, 2; repeated with --repeat, reporting medians), each
sweep into a fresh results directory so nothing is skipped. speedup_2_workers is serial /
workers_2. The 10,000-combination projection scales the 2-worker run's per-run time and adds
its fixed start-up once.

The machine is shared: "cores the workers got" is the workers' CPU seconds over the wall time.
Two workers can only be twice as fast as one when they get two cores; when other work holds a
core, that column shows it.

Run: .venv/bin/python benchmarks/sweep.py [--combos N] [--repeat R] [--json]
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
START, END = datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)
SMA = (
    (ROOT / "strategies" / "sma_crossover.py")
    .read_text()
    .replace(
        "TRADING_STRATEGY_CYCLE = CycleDuration.cycle_1m", "TRADING_STRATEGY_CYCLE = CycleDuration.cycle_1h"
    )
)


def _arg(name: str, default: int) -> int:
    if name in sys.argv:
        return int(sys.argv[sys.argv.index(name) + 1])
    return default


def grid(combos: int) -> dict[str, list[int]]:
    slows = list(range(50, 75))
    fasts = list(range(5, 5 + max(1, -(-combos // len(slows)))))
    return {"fast": fasts, "slow": slows}


def serial(strategy: Path, combos: list[dict[str, int]]) -> float:
    from tradeexecutor.research.backtest import RunConfig, backtest_module
    from tradeexecutor.research.data import load_candle_set
    from tradeexecutor.strategy.loader import load_strategy_module
    from tradeexecutor.strategy.parameters import with_parameters

    began = time.perf_counter()
    base = load_strategy_module(strategy)
    candles = load_candle_set(base, start=START, end=END)
    for combo in combos:
        module = with_parameters(load_strategy_module(strategy), values=combo)
        backtest_module(module, candles, START, END, RunConfig())
    return time.perf_counter() - began


def children_cpu() -> float:
    """CPU seconds of this process's finished children (the embedded cluster's workers)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def on_cluster(
    strategy: Path, space: dict[str, list[int]], workers: int, combos: int, out: Path
) -> tuple[float, float]:
    """(wall seconds, cores the workers got on average: their CPU seconds / wall seconds)."""
    from tradeexecutor.research import sweep

    cpu_before = children_cpu()
    began = time.perf_counter()
    result = sweep(
        strategy,
        space,
        samples=combos if combos < len(space["fast"]) * len(space["slow"]) else None,
        start=START,
        end=END,
        output=out,
        workers=workers,
        report=False,
    )
    seconds = time.perf_counter() - began
    assert result.ran == combos and result.failed == 0, (result.ran, result.failed)
    return seconds, (children_cpu() - cpu_before) / seconds


def main() -> None:
    combos = _arg("--combos", 1000)
    repeat = _arg("--repeat", 1)
    temp = Path(tempfile.mkdtemp(prefix="sweep-bench-"))
    try:
        strategy = temp / "sma_hourly.py"
        strategy.write_text(SMA)
        space = grid(combos)
        from tradeexecutor.research.grid import Dimension, SearchSpace

        picked = SearchSpace(tuple(Dimension(n, tuple(v)) for n, v in space.items())).sample(combos, 0)
        times: dict[str, list[float]] = {"serial": [], "workers_1": [], "workers_2": []}
        cores: dict[str, list[float]] = {"workers_1": [], "workers_2": []}
        load = os.getloadavg()[0]
        for r in range(repeat):
            times["serial"].append(serial(strategy, picked))
            for n in (1, 2):
                seconds, used = on_cluster(strategy, space, n, combos, temp / f"out-{r}-{n}")
                times[f"workers_{n}"].append(seconds)
                cores[f"workers_{n}"].append(used)
        med = {k: statistics.median(v) for k, v in times.items()}
        per_run = med["workers_2"] / combos
        print(
            f"{combos:,} combinations, 1 pair x 8,760 hourly candles (load average at start {load:.1f}, "
            f"{os.cpu_count()} cores; median of {repeat})"
        )
        used = {k: statistics.median(v) for k, v in cores.items()}
        print(f"{'how':<32}{'wall s':>10}{'runs/s':>10}{'cores the workers got':>24}")
        for label, key in (
            ("plain serial loop", "serial"),
            ("embedded cluster, 1 worker", "workers_1"),
            ("embedded cluster, 2 workers", "workers_2"),
        ):
            got = f"{used[key]:.2f}" if key in used else ""
            print(f"{label:<32}{med[key]:>10.1f}{combos / med[key]:>10.1f}{got:>24}")
        speedup = med["serial"] / med["workers_2"]
        projection = per_run * 10_000
        print(
            f"speed-up on 2 workers vs the serial loop: {speedup:.2f}x "
            f"(2 workers vs 1: {med['workers_1'] / med['workers_2']:.2f}x)"
        )
        print(f"projected 10,000 combinations on 2 workers: {projection / 60:.1f} min")
        if "--json" in sys.argv:
            print(
                json.dumps(
                    {
                        "combos": combos,
                        "serial_s": round(med["serial"], 2),
                        "workers_1_s": round(med["workers_1"], 2),
                        "workers_2_s": round(med["workers_2"], 2),
                        "speedup_2_workers": round(speedup, 3),
                        "projected_10000_s": round(projection, 1),
                        "load_average": round(load, 2),
                        "cores_used_2_workers": round(used["workers_2"], 2),
                    }
                )
            )
    finally:
        shutil.rmtree(temp, ignore_errors=True)


if __name__ == "__main__":
    main()
