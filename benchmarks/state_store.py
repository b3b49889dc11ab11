"""Save and load times of the JSON state store for long-running executors.

States with 1,000 / 10,000 / 100,000 closed positions, each a buy and a sell with one mined
swap transaction each (hash, nonce, gas, block...) and six ledger rows. For each size:

- first save: `create()` of a new file (full integrity check + encode + write + fsync);
- save: a later save of the same in-memory state (incremental integrity check);
- 1-trade save: one new trade planned, executed and settled on an open position, then saved;
- load: a fresh process (`python benchmarks/state_store.py --load FILE`) reading, decoding and
  checking the file, as an executor does at start. Archived closed positions (all but the
  newest 1,000-2,000) stay bytes until something reads them: their checksums and summaries
  are checked, their positions are not built;
- read all: in that process, after the load, the time to build every archived position, which
  whatever first reads the whole history pays once (dashboards, audits, exports);
- size of the file, peak memory of the loading process before and after reading everything
  (VmHWM: ru_maxrss would include the parent's memory, which the child shares until exec) and
  the peak of Python allocations during a save (tracemalloc, in a separate untimed run).

Targets (2-core machine): 100,000 positions save < 1.5 s and load < 2 s; 10,000 < 0.15 s each.
Times are the median of 3 runs. Run: .venv/bin/python benchmarks/state_store.py [sizes...]
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # for tests.state.factories (the state builder)

from tests.state.factories import T0, WETH, WETH_USDC, hours, many_closed_positions  # noqa: E402
from tradeexecutor.state.state import State  # noqa: E402
from tradeexecutor.state.store import JSONFileStore  # noqa: E402

SIZES = (1_000, 10_000, 100_000)
RUNS = 3


def _median(f) -> float:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def change_one_trade(state: State, step: int) -> None:
    """What a cycle does: one buy on a new position, executed and settled."""
    at = T0 + hours(10_000 + step)
    trade = state.plan_trade(at, WETH_USDC, price=Decimal(2000), reserve=Decimal(100))
    state.start_trade(trade, at)
    state.settle_trade_success(
        trade,
        at,
        executed_quantity_raw=WETH.to_raw(Decimal("0.05")),
        executed_reserve_raw=100 * 10**6,
        executed_price=Decimal(2000),
    )


def load_in_fresh_process(path: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--load", str(path)], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(out)


def measure(count: int, directory: Path) -> dict[str, float]:
    state = many_closed_positions(count)
    path = directory / f"state-{count}.json"
    with JSONFileStore(path, backups=3) as store:
        start = time.perf_counter()
        store.create(state)
        first_save = time.perf_counter() - start
        save = _median(lambda: store.save(state))
        steps = iter(range(RUNS))
        one_trade = statistics.median(
            _timed(lambda: change_one_trade(state, next(steps)), lambda: store.save(state))
            for _ in range(RUNS)
        )
        tracemalloc.start()
        store.save(state)
        save_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    loads = [load_in_fresh_process(path) for _ in range(RUNS)]
    return {
        "first_save": first_save,
        "save": save,
        "one_trade_save": one_trade,
        "load": statistics.median(r["load"] for r in loads),
        "read_all": statistics.median(r["read_all"] for r in loads),
        "size": path.stat().st_size,
        "load_rss": statistics.median(r["load_rss"] for r in loads),
        "all_rss": statistics.median(r["all_rss"] for r in loads),
        "save_peak": save_peak,
    }


def _timed(prepare, action) -> float:
    prepare()
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def main(sizes: tuple[int, ...]) -> None:
    print(f"load average at start: {os.getloadavg()[0]:.2f} (2 cores; other processes slow every figure)")
    header = (
        f"{'positions':>10}{'file MB':>9}{'1st save s':>11}{'save s':>8}{'1-trade s':>10}"
        f"{'load s':>8}{'load RSS MB':>12}{'read all s':>11}{'then RSS MB':>12}{'save peak MB':>13}"
    )
    print(header)
    with tempfile.TemporaryDirectory(prefix="state-bench-") as tmp:
        for count in sizes:
            r = measure(count, Path(tmp))
            print(
                f"{count:>10,}{r['size'] / 1e6:>9.1f}{r['first_save']:>11.3f}{r['save']:>8.3f}"
                f"{r['one_trade_save']:>10.3f}{r['load']:>8.3f}{r['load_rss'] / 1024:>12.0f}"
                f"{r['read_all']:>11.3f}{r['all_rss'] / 1024:>12.0f}{r['save_peak'] / 1e6:>13.0f}",
                flush=True,
            )
    print(f"load average at end: {os.getloadavg()[0]:.2f}")
    print("targets: 100,000 save < 1.5 s, load < 2 s; 10,000 save and load < 0.15 s (medians of 3 runs)")


def _peak_rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # not Linux: may include the parent


def _load_only(path: str) -> None:
    start = time.perf_counter()
    state = JSONFileStore(path, read_only=True).load()
    load = time.perf_counter() - start
    load_rss = _peak_rss_kib()
    start = time.perf_counter()
    positions = sum(1 for _ in state.portfolio.closed_positions.values())
    read_all = time.perf_counter() - start
    assert positions == len(state.portfolio.closed_positions)
    print(json.dumps({"load": load, "load_rss": load_rss, "read_all": read_all, "all_rss": _peak_rss_kib()}))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--load"]:
        _load_only(sys.argv[2])
    else:
        main(tuple(int(a) for a in sys.argv[1:]) or SIZES)
