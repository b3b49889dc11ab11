"""A disk that fills up while the executor runs: the previous state file stays intact, the
executor is degraded (not halted) and saves again by itself once there is room.

The loop, the cycle runner and the state store are the real ones, on a real file; only the
disk is simulated, at the operating system's boundary: `os.write` fails with ENOSPC for the
state file's temporary file while the "disk" is full.
"""

from __future__ import annotations

import errno
import os
import threading
from decimal import Decimal

from tests.execution.test_live_loop import MINUTE, START, FakeTime, FillAtPlan, Market, Revalue
from tests.pricing_fakes import ConstantProductPricing
from tests.state.factories import WETH_USDC, funded_state
from tradeexecutor.execution.live_loop import LiveLoop, LoopOutcome, LoopSettings
from tradeexecutor.execution.models import NoSync
from tradeexecutor.execution.persistence import StorePersistence
from tradeexecutor.execution.run_state import RunState, StrategyMetadata
from tradeexecutor.execution.runner import CycleRunner
from tradeexecutor.reporting.metrics import MetricsRegistry
from tradeexecutor.reporting.reporter import Reporter, ReportingConfig
from tradeexecutor.state.store import JSONFileStore
from tradeexecutor.strategy.cycle import CycleDuration


def test_disk_full_at_save_keeps_the_previous_state_degrades_and_retries(tmp_path, monkeypatch) -> None:
    path = tmp_path / "state.json"
    time = FakeTime(START)
    disk_full = threading.Event()
    real_write = os.write
    failed_writes: list[int] = []

    def write(fd: int, data) -> int:  # noqa: ANN001
        if disk_full.is_set() and os.readlink(f"/proc/self/fd/{fd}").endswith(".tmp"):
            failed_writes.append(fd)
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write)

    def decide(ts, pm):
        if ts == START.replace(second=0) + MINUTE:
            disk_full.set()  # the disk fills up during cycle 2, before it saves
            return pm.open_1x_long(WETH_USDC, 100)
        return []

    with JSONFileStore(path) as store:
        state = funded_state()
        store.create(state)
        persistence = StorePersistence(store, state)
        pricing = ConstantProductPricing(Decimal(1000), Decimal(2_000_000))
        runner = CycleRunner(
            state=state,
            pricing_model=pricing,
            execution_model=FillAtPlan(),
            sync_model=NoSync(),
            valuation_model=Revalue(pricing),
            decide=decide,
            checkpoint=persistence.save,
        )
        run_state = RunState(StrategyMetadata(id="t", name="t"), version="test", clock=time.clock)
        reporter = Reporter.create(ReportingConfig(), run_state, MetricsRegistry())
        seen: list = []

        def wait(seconds: float) -> bool:
            time.wait(seconds)
            snapshot = run_state.snapshot
            if snapshot.degraded is not None:
                seen.append((time.now, snapshot.degraded))
                on_disk = path.read_bytes()
                assert on_disk == saved_before, "the previous state file must stay intact"
                if len(seen) >= 3:
                    disk_full.clear()  # the operator frees space
            return False

        loop = LiveLoop(
            LoopSettings(cycle_duration=CycleDuration.cycle_1m, trade_immediately=True, max_cycles=3),
            runner,
            Market(time),
            persistence,
            run_state,
            reporter,
            clock=time.clock,
            wait=wait,
            stop=threading.Event(),
        )
        saved_before = path.read_bytes()
        original_save = persistence.save

        def save_and_remember() -> None:
            nonlocal saved_before
            original_save()
            saved_before = path.read_bytes()

        persistence.save = save_and_remember  # type: ignore[method-assign]
        runner.checkpoint = save_and_remember
        assert loop.run() == LoopOutcome.finished

    assert failed_writes and seen
    first = seen[0][1]
    assert first.reason.startswith(f"Cannot write the state file {path} (No space left on device)")
    assert first.reason.endswith("the previous version is intact.")
    assert run_state.snapshot.degraded is None and run_state.snapshot.executor_running  # recovered by itself
    assert reporter.metrics.value("degraded_episodes") == 1
    with JSONFileStore(path, read_only=True) as store:
        final = store.load()
    assert final.cycle.completed_count == 3  # every cycle done and written, the retried one included
    assert len(final.portfolio.open_positions) == 1
    assert not [t for t in tmp_path.iterdir() if t.name.endswith(".tmp")]  # no temp file left behind
