"""The whole chaos run: a plan of kill chains and outages spread over parallel lanes, the report and its table."""

from __future__ import annotations

import queue
import random
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tradeexecutor.devchain.chaos.lane import CYCLE_SECONDS, SEAMS, STOP_LOSS_CHECK_SECONDS, Lane
from tradeexecutor.devchain.chaos.scenarios import (
    OUTAGE_MODES,
    PHASES,
    KillPoint,
    ScenarioResult,
    run_kill_chain,
    run_outage,
)


@dataclass
class ChaosReport:
    results: list[ScenarioResult] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        kills = [r for r in self.results if r.kind == "kill"]
        outages = [r for r in self.results if r.kind == "outage"]
        recoveries = [r.recovery_s for r in outages if r.recovery_s is not None]
        return {
            "kill_points": sum(r.kills for r in kills),
            "outage_scenarios": len(outages),
            "lost": sum(r.verification.lost for r in self.results),
            "duplicated": sum(r.verification.duplicated for r in self.results),
            "permanent_halts": sum(r.permanent_halt for r in self.results),
            "max_recovery_s": round(max(recoveries), 1) if recoveries else None,
            "late_stops": sum(r.late_stop for r in self.results),
            "stop_loss_checks": sum(r.stop_delay_s is not None for r in outages),
            "swaps_verified": sum(r.verification.swaps_on_chain for r in self.results),
            "seconds": round(self.seconds, 1),
        }


@dataclass(frozen=True)
class ChaosPlan:
    lanes: int = 3
    kill_points: int = 50
    modes: tuple[str, ...] = OUTAGE_MODES
    phases: tuple[str, ...] = PHASES
    outage_seconds: float = 12.0
    seed: int = 1

    def kill_chains(self) -> list[tuple[str, list[KillPoint], int]]:
        """(name, points, clean cycles first): every seam of cycle 1's buys, of cycle 2's sells,
        then random moments, until `kill_points` kills are planned: a quarter in start-up (before
        the webhook answers), the rest in the first seconds after it (connect, recovery, sync,
        universe, decide, execute, save)."""
        rng = random.Random(self.seed)
        chains: list[tuple[str, list[KillPoint], int]] = []
        budget = self.kill_points
        for name, settle in (("seams of the buys", 0), ("seams of the sells", 1)):
            if budget <= 0:
                break
            points: list[KillPoint] = list((SEAMS * 2)[: min(budget, 2 * len(SEAMS))])
            chains.append((name, points, settle))
            budget -= len(points)
        while budget > 0:
            n = min(budget, 8)
            moments: list[KillPoint] = [
                round(rng.uniform(0.5, 3.0), 1)
                if i % 4 == 0
                else ("webhook", round(rng.uniform(0.0, 4.0), 2))
                for i in range(n)
            ]
            chains.append(("random moments", moments, len(chains) % 2))
            budget -= n
        return chains

    def outages(self) -> list[tuple[str, str]]:
        return [(m, p) for p in self.phases for m in self.modes]


def run_chaos(
    plan: ChaosPlan,
    workdir: Path | None = None,
    progress: Callable[[ScenarioResult], None] | None = None,
) -> ChaosReport:
    """Run every kill chain and outage scenario of `plan` over `plan.lanes` parallel lanes."""
    started = time.monotonic()
    root = Path(tempfile.mkdtemp(prefix="chaos-")) if workdir is None else workdir
    pycache = Path(tempfile.gettempdir()) / "trade-executor-chaos-pycache"
    work: queue.Queue[Callable[[Lane], ScenarioResult]] = queue.Queue()
    for name, points, settle in plan.kill_chains():
        work.put(lambda lane, n=name, p=points, s=settle: run_kill_chain(lane, n, p, s))
    for mode, phase in plan.outages():
        work.put(lambda lane, m=mode, ph=phase: run_outage(lane, m, ph, plan.outage_seconds))
    report = ChaosReport()
    lock = threading.Lock()

    def worker(index: int) -> None:
        lane = Lane(index, root, pycache).start()
        try:
            while True:
                try:
                    job = work.get_nowait()
                except queue.Empty:
                    return
                try:
                    result = job(lane)
                except Exception as e:  # a harness failure is reported, not hidden
                    result = ScenarioResult(name=f"harness error: {e!r}"[:200], kind="error")
                    result.permanent_halt = True
                with lock:
                    report.results.append(result)
                if progress is not None:
                    progress(result)
        finally:
            lane.close()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(plan.lanes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    report.seconds = time.monotonic() - started
    if workdir is None:
        shutil.rmtree(root, ignore_errors=True)
    return report


def _kill_summary(result: ScenarioResult) -> list[str]:
    counts: dict[str, int] = {}
    for point in result.kill_points:
        name = point.split(" +")[0]
        counts[name] = counts.get(name, 0) + 1
    return [", ".join(f"{k} x{v}" if v > 1 else k for k, v in counts.items())] if counts else []


def format_table(report: ChaosReport) -> str:
    rows = [("scenario", "kills", "swaps", "lost", "dup", "halt", "recovery s", "stop s", "notes")]
    for r in sorted(report.results, key=lambda r: (r.kind, r.name)):
        v = r.verification
        rows.append(
            (
                r.name,
                str(r.kills) if r.kind == "kill" else "",
                str(v.swaps_on_chain),
                str(v.lost),
                str(v.duplicated),
                "yes" if r.permanent_halt else "",
                f"{r.recovery_s:.1f}" if r.recovery_s is not None else "",
                f"{r.stop_delay_s:.1f}" if r.stop_delay_s is not None else "",
                "; ".join([*r.notes, *v.problems, *_kill_summary(r)])[:160],
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    s = report.summary()
    lines.append("")
    lines.append(
        f"kill points {s['kill_points']}, outage scenarios {s['outage_scenarios']}, lost {s['lost']}, "
        f"duplicated {s['duplicated']}, permanent halts {s['permanent_halts']}, max recovery "
        f"{s['max_recovery_s']} s (target <= {CYCLE_SECONDS:.0f} s), late stops {s['late_stops']} "
        f"(target: within {STOP_LOSS_CHECK_SECONDS:.0f} + 10 s), {s['swaps_verified']} swaps verified on chain "
        f"in {s['seconds']} s"
    )
    return "\n".join(lines)
