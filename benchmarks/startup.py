"""Median wall time of `trade-executor hello` and `trade-executor --help` over 10 runs.

Target: under 0.4 s each on a 2-core machine. Run: .venv/bin/python benchmarks/startup.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

RUNS = 10
EXECUTABLE = Path(sys.executable).with_name("trade-executor")
COMMANDS = (["hello"], ["--help"], ["version"])


def measure(args: list[str]) -> list[float]:
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run([str(EXECUTABLE), *args], check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    print(f"{'command':<28}{'median s':>10}{'min s':>10}{'max s':>10}   target")
    for args in COMMANDS:
        t = measure(args)
        label = "trade-executor " + " ".join(args)
        print(f"{label:<28}{statistics.median(t):>10.3f}{min(t):>10.3f}{max(t):>10.3f}   < 0.400")


if __name__ == "__main__":
    main()
