"""Start-up wall times: `hello`, `--help`, `version`, and the first `/ping` after `start`.

Each figure stands beside `python -c pass`, the floor every Python command pays, measured in
the same run, interleaved (pass, hello, --help, version, start, pass, ...) so machine load
hits all alike; the table shows medians. "start: first /ping" launches `trade-executor start
--execution-type uniswap_v2_hot_wallet` against a local devchain (anvil + Uniswap v2) and
polls `/ping` every 5 ms until the webhook answers; the process is then stopped.

Targets (issue 17): `hello` < 0.2 s, first `/ping` after `start` < 0.3 s, on a 2-core machine
with the bytecode compiled (`make deps` does). Wall time is what a user waits, and it inflates
when other work shares the cores; the table also shows the CPU time (user + system) the
command itself used up to that moment, and the ratio to `python -c pass` measured alongside:
on a busy machine these say more than the wall time alone. Run:

    .venv/bin/python benchmarks/startup.py [--runs N] [--json]

With --json the last line is one JSON object: python_c_pass, hello, help, version,
first_ping_after_start (median wall seconds each), and the same keys with a `_cpu` suffix.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXECUTABLE = Path(sys.executable).with_name("trade-executor")
STRATEGY = ROOT / "strategies" / "sma_crossover.py"
TARGETS = {"hello": 0.2, "first_ping_after_start": 0.3}


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(args: list[str]) -> tuple[float, float]:
    """(wall, cpu) seconds of one run of `args`."""
    cpu, start = children_cpu(), time.perf_counter()
    subprocess.run(args, check=True, capture_output=True)
    return time.perf_counter() - start, children_cpu() - cpu


def process_cpu(pid: int) -> float:
    """User + system CPU seconds a running process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ping(port: int) -> bool:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        connection.request("GET", "/ping")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


class LiveStart:
    """`trade-executor start` on a devchain, timed from spawn to the first answered /ping."""

    def __init__(self, work: Path) -> None:
        from tradeexecutor.devchain.chain import start_devchain

        self.work = work
        self.chain = start_devchain()
        self.deployment = work / "devchain.json"
        self.chain.deployment.write(self.deployment)
        self.env = {
            **os.environ,
            "PRIVATE_KEY": self.chain.hot_wallet.key.to_0x_hex(),
            "JSON_RPC_ANVIL": self.chain.rpc_url,
        }
        self.runs = 0

    def __call__(self) -> tuple[float, float]:
        self.runs += 1
        port = free_port()
        run_dir = self.work / f"run-{self.runs}"
        run_dir.mkdir()
        # the time-out ends a run that never answers: the benchmark then fails rather than hangs
        deadline = 30.0
        start = time.perf_counter()
        process = subprocess.Popen(
            [
                str(EXECUTABLE),
                "start",
                "--execution-type",
                "uniswap_v2_hot_wallet",
                "--strategy-file",
                str(STRATEGY),
                "--deployment-file",
                str(self.deployment),
                "--state-file",
                str(run_dir / "state.json"),
                "--cache-path",
                str(run_dir / "cache"),
                "--http-port",
                str(port),
                "--heartbeat",
                "none",
                "--file-log-level",
                "none",
            ],
            cwd=run_dir,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            while not ping(port):
                if process.poll() is not None or time.perf_counter() - start > deadline:
                    raise RuntimeError(f"start never answered /ping: {process.stderr.read().decode()[-800:]}")
                time.sleep(0.005)
            return time.perf_counter() - start, process_cpu(process.pid)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()

    def close(self) -> None:
        self.chain.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="rounds of every command (default 10)")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="te-startup-") as work:
        live = LiveStart(Path(work))
        try:
            variants: dict[str, tuple[str, Callable[[], tuple[float, float]]]] = {
                "python_c_pass": ("python -c pass", lambda: timed([sys.executable, "-c", "pass"])),
                "hello": ("trade-executor hello", lambda: timed([str(EXECUTABLE), "hello"])),
                "help": ("trade-executor --help", lambda: timed([str(EXECUTABLE), "--help"])),
                "version": ("trade-executor version", lambda: timed([str(EXECUTABLE), "version"])),
                "first_ping_after_start": ("start: first /ping", live),
            }
            for _, measure in variants.values():  # warm the page cache once, unrecorded
                measure()
            samples: dict[str, list[tuple[float, float]]] = {key: [] for key in variants}
            for _ in range(args.runs):
                for key, (_, measure) in variants.items():
                    samples[key].append(measure())
        finally:
            live.close()

    wall = {key: statistics.median(w for w, _ in values) for key, values in samples.items()}
    cpu = {key: statistics.median(c for _, c in values) for key, values in samples.items()}
    floor = wall["python_c_pass"]
    print(f"{'command':<26}{'median s':>10}{'min s':>8}{'max s':>8}{'cpu s':>8}{'x pass':>8}   target")
    for key, (label, _) in variants.items():
        walls = [w for w, _ in samples[key]]
        target = f"< {TARGETS[key]:.3f}" if key in TARGETS else ""
        print(
            f"{label:<26}{wall[key]:>10.3f}{min(walls):>8.3f}{max(walls):>8.3f}{cpu[key]:>8.3f}"
            f"{wall[key] / floor:>8.1f}   {target}"
        )
    if args.json:
        figures = {**wall, **{f"{key}_cpu": value for key, value in cpu.items()}}
        print(json.dumps({key: round(value, 4) for key, value in figures.items()}))


if __name__ == "__main__":
    main()
