"""The chaos scenarios: kill chains (SIGKILL at trade seams and random moments, restart, verify)
and outages (a node fault timed to a phase of the cycle, healed, recovery measured, verify)."""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from tradeexecutor.devchain.chaos.lane import (
    CYCLE_SECONDS,
    STOP_LOSS_CHECK_SECONDS,
    Executor,
    Lane,
    wait_until,
)
from tradeexecutor.devchain.chaos.verify import (
    Verification,
    closed_by_stop_loss,
    stop_loss_sold,
    verify_wallet,
)
from tradeexecutor.devchain.rpc_proxy import BLACKHOLE, REFUSE, SLOW, methods_of

RESTART = "restart"
OUTAGE_MODES = (REFUSE, BLACKHOLE, SLOW, RESTART)
PHASES = ("universe build", "reserve sync", "broadcast", "confirmation", "trigger check", "save")


@dataclass
class ScenarioResult:
    name: str
    kind: str  # "kill" | "outage"
    kills: int = 0
    kill_points: list[str] = field(default_factory=list)
    verification: Verification = field(default_factory=Verification)
    permanent_halt: bool = False
    recovery_s: float | None = None  # node back -> next completed cycle
    stop_delay_s: float | None = None  # node back -> stop-loss sell mined
    late_stop: bool = False
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        v = self.verification
        return not (v.lost or v.duplicated or self.permanent_halt or self.late_stop)


def _settle_and_stop(executor: Executor, since_cycle: int, timeout: float) -> tuple[bool, str]:
    """Wait for a cycle after `since_cycle` and no unfinished trade; then SIGTERM. (ok, why not)"""

    def settled() -> bool:
        s = executor.status()
        if not s or (s.get("completed_cycle") or 0) <= since_cycle:
            return False
        return executor.unfinished_trades() == []

    ok = bool(wait_until(settled, timeout, poll=0.5))
    status = executor.status() or {}
    why = "" if ok else f"not settled: {status.get('trading_state')}: {status.get('state_reason')}"
    code = executor.stop()
    if code not in (0, None):
        why = (why + f"; exit code {code}").strip("; ")
    return ok, why


def _seconds_to_next_cycle() -> float:
    return CYCLE_SECONDS - time.time() % CYCLE_SECONDS


KillPoint = str | float | tuple[str, float]
"""A seam (`swap.recorded`), seconds after spawn (start-up), or ("webhook", seconds) after the
webhook answers (connect, recovery, sync, the cycle, a save)."""


def run_kill_chain(
    lane: Lane, name: str, points: Iterable[KillPoint], settle_first: int = 0
) -> ScenarioResult:
    """Kill a fresh wallet's executor at each point in turn, restarting it each time; then let a
    clean run finish its cycle and verify.

    `settle_first` cycles are run cleanly first (so the seams of a later cycle's sells are reached)."""
    started = time.monotonic()
    result = ScenarioResult(name=name, kind="kill")
    wallet, workdir = lane.new_wallet()
    from_block = lane.web3.eth.block_number  # type: ignore[union-attr]
    for _ in range(settle_first):
        ex = lane.spawn(wallet, workdir, note=name)
        ok, why = _settle_and_stop(ex, 0, CYCLE_SECONDS * 2 + 60)
        if not ok:
            result.notes.append(f"clean run before the kills: {why}")
    for point in points:
        if isinstance(point, str):
            ex = lane.spawn(wallet, workdir, crash_at=point, note=name)
            # a seam of the next cycle may be a minute away
            wait_until(lambda ex=ex: not ex.alive(), _seconds_to_next_cycle() + 90, poll=0.1)
            if ex.alive():
                result.notes.append(f"{point}: not reached")
                ex.stop()
            elif ex.proc.returncode == -signal.SIGKILL:
                result.kills += 1
                result.kill_points.append(point)
            else:
                result.notes.append(f"{point}: exited {ex.proc.returncode}: {ex.tail(2)}")
        else:
            ex = lane.spawn(wallet, workdir, note=name)
            after_webhook = isinstance(point, tuple)
            delay = point[1] if isinstance(point, tuple) else point
            if after_webhook:  # a moment of connect, recovery, sync, the cycle or a save
                wait_until(lambda ex=ex: not ex.alive() or ex.get("/ping"), 120, poll=0.05)
            time.sleep(delay)
            label = f"+{delay:.1f}s" + (" after the webhook" if after_webhook else " after spawn")
            if ex.alive():
                phase = ex.phase()
                ex.kill()
                result.kills += 1
                result.kill_points.append(f"{phase} {label}")
            else:
                result.notes.append(f"{label}: exited {ex.proc.returncode} before the kill: {ex.tail(2)}")
    final = lane.spawn(wallet, workdir, note=name)
    ok, why = _settle_and_stop(final, 0, _seconds_to_next_cycle() + 120)
    if not ok:
        result.permanent_halt = True
        result.notes.append(why)
    result.verification = verify_wallet(lane, wallet.address, workdir / "state.json", from_block)
    result.seconds = time.monotonic() - started
    return result


def _trigger(phase: str) -> Callable[[Any], bool]:
    """The proxy predicate that marks the start of `phase` in the executor's traffic."""
    if phase == "universe build":
        return lambda p: "eth_getLogs" in methods_of(p)
    if phase == "reserve sync":
        return lambda p: sorted(methods_of(p)) == ["eth_call", "eth_getBalance"]
    if phase == "broadcast":
        return lambda p: "eth_sendRawTransaction" in methods_of(p)
    if phase == "confirmation":
        return lambda p: "eth_getTransactionReceipt" in methods_of(p)
    return lambda p: True  # trigger check: the next request of any kind (armed between cycles)


def run_outage(lane: Lane, mode: str, phase: str, down: float) -> ScenarioResult:
    """One transient fault (`mode`) while the executor is in `phase`; the node returns after `down` seconds."""
    assert lane.proxy is not None
    started = time.monotonic()
    result = ScenarioResult(name=f"{mode} during {phase}", kind="outage")
    wallet, workdir = lane.new_wallet()
    from_block = lane.web3.eth.block_number  # type: ignore[union-attr]
    proxy = lane.proxy
    fault_started = threading.Event()
    healed: list[float] = []
    crash_block: list[int] = []  # the block of the price crash: the stop-loss sell comes after it

    def heal() -> None:
        """Called from the lane's own thread: a node started from a short-lived thread would be
        killed with it (anvil runs with the parent-death signal, which follows the thread)."""
        try:
            if mode == RESTART:
                lane.start_node()
            else:
                proxy.heal()
        except Exception as e:  # shown in the table: the harness, not the executor, failed here
            result.notes.append(f"the node did not come back: {e}")
            return
        healed.append(time.monotonic())

    def begin(payload: Any = None) -> None:
        if fault_started.is_set():
            return
        fault_started.set()
        if phase == "trigger check":
            lane.move_price("WETH", 0.6)  # through the stop, while the node goes away
            crash_block.append(lane.web3.eth.block_number)  # type: ignore[union-attr]
        if mode == RESTART:
            lane.stop_node()
        else:
            proxy.slow_seconds = 5.0
            proxy.set_mode(mode)

    if mode == RESTART and phase == "confirmation":
        # the transaction sits in the mempool when the node restarts, and is lost with it
        proxy.arm(
            lambda p: "eth_sendRawTransaction" in methods_of(p),
            lambda p: lane.rpc("evm_setAutomine", [False]),
        )
    ex = None
    try:
        if phase not in ("trigger check", "save"):
            proxy.arm(_trigger(phase), begin)
        ex = lane.spawn(wallet, workdir, note=result.name)
        if phase == "save":
            state_file = workdir / "state.json"
            wait_until(state_file.exists, 120, poll=0.05)
            first = state_file.stat().st_mtime_ns
            wait_until(lambda: state_file.stat().st_mtime_ns != first, 120, poll=0.005)
            begin()
        if phase == "trigger check":
            # positions with stop losses (an odd cycle) first, then the fault between two cycles
            wait_until(lambda: _between_cycles_with_positions(ex), 240, poll=0.1)
            proxy.arm(_trigger(phase), begin)
        if not wait_until(fault_started.is_set, 180, poll=0.02):
            result.notes.append("the phase was never reached")
        else:
            time.sleep(down)
            heal()
        with contextlib.suppress(Exception):
            lane.rpc("evm_setAutomine", [True])
        proxy.disarm()
        back = healed[0] if healed else time.monotonic()
        cycles_at_heal = (ex.status() or {}).get("completed_cycle") or 0
        seen: dict[str, float] = {}

        def recovered() -> bool:
            s = ex.status() or {}
            if s.get("trading_state") == "halted":
                return False
            if "cycle" not in seen and (s.get("completed_cycle") or 0) > cycles_at_heal:
                seen["cycle"] = time.monotonic()
            return "cycle" in seen

        stop_sold: list[float] = []
        if phase == "trigger check":
            wait_until(
                lambda: (
                    stop_loss_sold(lane, wallet.address, crash_block[0] if crash_block else from_block)
                    and stop_sold.append(time.monotonic()) is None
                ),
                STOP_LOSS_CHECK_SECONDS + 40,
                poll=0.2,
            )
            if stop_sold:
                result.stop_delay_s = max(0.0, stop_sold[0] - back)
                result.late_stop = result.stop_delay_s > STOP_LOSS_CHECK_SECONDS + 10
            else:
                result.late_stop = True
                result.notes.append("the crossed stop was never acted on")
        if wait_until(recovered, CYCLE_SECONDS * 2 + 30, poll=0.2):
            result.recovery_s = seen["cycle"] - back
        else:
            status = ex.status() or {}
            result.permanent_halt = True
            result.notes.append(
                f"no cycle after the node returned: {status.get('trading_state')}: {status.get('state_reason')}"
            )
        ok, why = _settle_and_stop(ex, cycles_at_heal, CYCLE_SECONDS * 2 + 30)
        if not ok and not result.permanent_halt:
            result.notes.append(why)
        if phase == "trigger check":
            lane.move_price("WETH", 1 / 0.6)  # restore the market for the next scenario
            if stop_sold and not closed_by_stop_loss(workdir / "state.json", "WETH-USDC"):
                result.late_stop = True
                result.notes.append("WETH was sold by a cycle, not by the stop-loss check")
    finally:
        proxy.disarm()
        proxy.heal()
        if ex is not None and ex.alive():
            ex.kill()
        if mode == RESTART and not (lane.anvil and lane.anvil.is_running()):
            lane.start_node()
    result.verification = verify_wallet(lane, wallet.address, workdir / "state.json", from_block)
    result.seconds = time.monotonic() - started
    return result


def _between_cycles_with_positions(ex: Executor) -> bool:
    """An odd (buying) cycle completed in this minute, and the next one is at least 20 s away."""
    second = time.time() % CYCLE_SECONDS
    if not 5 <= second <= 35:
        return False
    status = ex.status() or {}
    cycle, last = status.get("completed_cycle"), status.get("last_cycle_at")
    return bool(cycle) and cycle % 2 == 1 and last is not None and time.time() - last < second
