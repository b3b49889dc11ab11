"""Chaos: kill -9 a live executor at every seam of a trade and starve it of its node; count
what the chain says was lost, duplicated or left halted.

Drives real `trade-executor start` processes on local devchains (anvil + Uniswap v2), each
behind a fault proxy (tradeexecutor/devchain/rpc_proxy.py), and verifies every wallet's swaps
on chain against its state file, trade by trade (tradeexecutor/devchain/chaos.py explains
the scenarios and the checks). Prints one table, a summary line and, with --json, one JSON
object on the last line:

    kill_points, outage_scenarios, lost, duplicated, permanent_halts, max_recovery_s, late_stops

Targets (issue 18): >= 50 kill points and >= 12 outage scenarios in one run; 0 lost, 0
duplicated, 0 permanent halts; the next cycle completes within one cycle period (60 s) of the
node's return; a crossed stop is acted on within --stop-loss-check-frequency (5 s) + 10 s.

The default run (3 lanes, 52 kill points, 24 outages: refuse / black-hole / 5 s per call /
node restart x universe build / reserve sync / broadcast / confirmation / stop-loss check /
save) takes about 15 minutes on 2 cores.

    .venv/bin/python benchmarks/chaos.py [--json] [--lanes 3] [--kill-points 50]
        [--modes refuse,blackhole,slow,restart] [--phases "universe build,save"] [--outage-seconds 12]
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from tradeexecutor.devchain.chaos import OUTAGE_MODES, PHASES, ChaosPlan, format_table, run_chaos


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print the summary as JSON on the last line")
    parser.add_argument("--lanes", type=int, default=3, help="parallel devchains (default 3)")
    parser.add_argument("--kill-points", type=int, default=52, help="kills to deliver (default 52)")
    parser.add_argument("--modes", default=",".join(OUTAGE_MODES), help="outage modes, comma separated")
    parser.add_argument(
        "--phases", default=",".join(PHASES), help="phases to time outages to, comma separated"
    )
    parser.add_argument("--outage-seconds", type=float, default=12.0, help="how long each outage lasts")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--workdir", type=Path, default=None, help="keep the lanes' files here (logs, states)"
    )
    args = parser.parse_args(argv)
    modes = tuple(m.strip() for m in args.modes.split(",") if m.strip())
    phases = tuple(p.strip() for p in args.phases.split(",") if p.strip())
    for value, known, what in ((modes, OUTAGE_MODES, "--modes"), (phases, PHASES, "--phases")):
        unknown = [v for v in value if v not in known]
        if unknown:
            parser.error(f"{what}: unknown {', '.join(unknown)}; use {', '.join(known)}")
    plan = ChaosPlan(
        lanes=args.lanes,
        kill_points=args.kill_points,
        modes=modes,
        phases=phases,
        outage_seconds=args.outage_seconds,
        seed=args.seed,
    )
    logging.basicConfig(level=logging.WARNING)

    def progress(result) -> None:  # noqa: ANN001
        verdict = "ok" if result.ok else "FAILED"
        print(f"  {verdict:6} {result.name} ({result.seconds:.0f} s)", file=sys.stderr, flush=True)

    report = run_chaos(plan, args.workdir, progress)
    print(format_table(report))
    summary = report.summary()
    if args.json:
        print(json.dumps(summary))
    failed = summary["lost"] or summary["duplicated"] or summary["permanent_halts"] or summary["late_stops"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
