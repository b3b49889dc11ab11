"""Webhook throughput and latency on loopback: our server beside the plain pyramid app.

Two servers, each in its own process, serve the very same pyramid app over the same
published snapshot:

- **ours**: `WebhookServer`, exactly as the executor runs it (waitress on a background thread);
- **plain**: the same app under stock `waitress.serve(app)`, nothing tuned.

A load generator on loopback (wrk, a C program, so the client is never the bottleneck; without
it, Python client processes) keeps N keep-alive connections busy. Runs are interleaved (ours,
plain, plain, ours, ...) in short slices so the load that other users put on a shared machine hits
both alike; the table shows medians over the slices and the machine's load average.

"while a cycle runs": our server's process also runs a thread doing pure-Python CPU work (the
worst case for the GIL, like strategy code) and publishing a snapshot every 20 ms.

Targets (issue 20): ours >= 80 % of the plain app at 8 and 64 connections; /status p99 < 20 ms
at 8 connections while a cycle runs.

Run:  .venv/bin/python benchmarks/webhook.py [--seconds 2] [--rounds 5] [--json]
wrk:  apt-get install -y wrk  (Debian/Ubuntu); without it Python clients are used and the
      64-connection figures may measure the client rather than the server.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tradeexecutor.execution.run_state import PortfolioSummary, RunState, StrategyMetadata  # noqa: E402

PYTHON_LOAD = r"""
import http.client, json, sys, threading, time
port, path, seconds, clients = int(sys.argv[1]), sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
latencies, errors = [], [0]
lock = threading.Lock()
start = time.perf_counter()
deadline = start + seconds
def client():
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    mine = []
    while time.perf_counter() < deadline:
        t = time.perf_counter()
        try:
            conn.request("GET", path)
            r = conn.getresponse()
            r.read()
            if r.status != 200:
                errors[0] += 1
        except Exception:
            errors[0] += 1
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            continue
        mine.append(time.perf_counter() - t)
    conn.close()
    with lock:
        latencies.extend(mine)
threads = [threading.Thread(target=client) for _ in range(clients)]
for th in threads: th.start()
for th in threads: th.join()
print(json.dumps({"elapsed": time.perf_counter() - start, "errors": errors[0], "latencies": latencies}))
"""


def make_state() -> RunState:
    state = RunState(StrategyMetadata("bench", "Benchmark strategy", "short", "long"), version="bench")
    state.publish(
        positions=[
            {"position_id": i, "pair": "WETH-USDC", "status": "open", "quantity": Decimal("1.5")}
            for i in range(50)
        ],
        trades=[
            {"trade_id": i, "side": "buy", "price": Decimal("2000.1"), "tx_hash": "0x" + "ab" * 32}
            for i in range(2000)
        ],
        summary=PortfolioSummary(Decimal("10000"), Decimal("2500"), 50),
    )
    state.update_state_bytes(b'{"x": 1}' * 100_000)
    return state


class SimulatedCycle:
    """Pure-Python CPU work (holds the GIL like strategy code) plus a publish every 20 ms."""

    def __init__(self, state: RunState) -> None:
        self.state = state
        self.running = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self) -> None:
        n = 0
        next_publish = time.perf_counter()
        while True:
            self.running.wait()
            total = 0
            for i in range(20_000):  # ~ a few ms of interpreter work
                total += i * i % 7
            if time.perf_counter() >= next_publish:
                n += 1
                self.state.cycle_completed(n, duration=0.02, market_data_lag=float(total % 60))
                next_publish = time.perf_counter() + 0.02


# --- the servers (child processes) -----------------------------------------------------------------


def serve(kind: str) -> None:
    """Child process: serve on a free port, print it, then obey 'cycle on' / 'cycle off' on stdin."""
    state = make_state()
    if kind == "ours":
        from tradeexecutor.webhook.server import WebhookConfig, WebhookServer

        server = WebhookServer(WebhookConfig(port=0), state)
        server.start()
        port = server.port
    else:
        import waitress

        from tradeexecutor.webhook.app import make_app
        from tradeexecutor.webhook.context import WebhookContext

        app = make_app(WebhookContext(run_state=state))
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        threading.Thread(
            target=waitress.serve, args=(app,), kwargs={"host": "127.0.0.1", "port": port}, daemon=True
        ).start()
        wait_for_port(port)
    cycle = SimulatedCycle(state)
    print(port, flush=True)
    for line in sys.stdin:
        if line.strip() == "cycle on":
            cycle.running.set()
        elif line.strip() == "cycle off":
            cycle.running.clear()
        print("ok", flush=True)


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"The benchmark server on port {port} did not start within {timeout:.0f} s.")


class Child:
    def __init__(self, kind: str) -> None:
        # stderr to /dev/null: the plain server logs "Task queue depth" warnings, as stock waitress does
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve", kind],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.process.stdout is not None
        self.port = int(self.process.stdout.readline())
        wait_for_port(self.port)

    def cycle(self, on: bool) -> None:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("cycle on\n" if on else "cycle off\n")
        self.process.stdin.flush()
        self.process.stdout.readline()

    def close(self) -> None:
        self.process.kill()
        self.process.wait()


# --- the load --------------------------------------------------------------------------------------

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def run_wrk(wrk: str, port: int, path: str, seconds: float, connections: int) -> tuple[float, float, int]:
    """(requests/s, p99 ms, errors) from one wrk run."""
    out = subprocess.run(
        [
            wrk,
            f"-t{min(2, connections)}",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--latency",
            f"http://127.0.0.1:{port}{path}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    value, unit = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
    errors = sum(
        int(n) for n in re.findall(r"(?:Non-2xx or 3xx responses|errors: .*?timeout):?\s*(\d+)", out)
    )
    return rps, float(value) * _UNITS[unit], errors


def run_python(port: int, path: str, seconds: float, connections: int) -> tuple[float, float, int]:
    """Python client processes (2, each with half the connections), when wrk is missing."""
    per = [connections // 2 + connections % 2, connections // 2] if connections > 1 else [1]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", PYTHON_LOAD, str(port), path, str(seconds), str(n)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in per
        if n
    ]
    results = [json.loads(p.communicate()[0]) for p in procs]
    latencies = sorted(x for r in results for x in r["latencies"])
    rps = sum(len(r["latencies"]) / r["elapsed"] for r in results)
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))] * 1000 if latencies else float("nan")
    return rps, p99, sum(r["errors"] for r in results)


# --- the table -------------------------------------------------------------------------------------

# (key, server, path, connections, cycle running)
CASES = [
    ("ping_rps_8", "ours", "/ping", 8, False),
    ("status_rps_8", "ours", "/status", 8, False),
    ("pyramid_rps_8", "plain", "/status", 8, False),
    ("ping_rps_64", "ours", "/ping", 64, False),
    ("status_rps_64", "ours", "/status", 64, False),
    ("pyramid_rps_64", "plain", "/status", 64, False),
    ("status_rps_8_cycle", "ours", "/status", 8, True),
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=2.0, help="length of one slice")
    parser.add_argument("--rounds", type=int, default=5, help="slices per case (medians are reported)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object last")
    parser.add_argument("--serve", choices=["ours", "plain"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return

    wrk = shutil.which("wrk")
    load = (lambda *a: run_wrk(wrk, *a)) if wrk else run_python
    children = {"ours": Child("ours"), "plain": Child("plain")}
    samples: dict[str, list[tuple[float, float, int]]] = {key: [] for key, *_ in CASES}
    load_before = os.getloadavg()[0]
    try:
        for round_no in range(args.rounds):
            order = CASES if round_no % 2 == 0 else CASES[::-1]  # cancel order effects
            for key, server, path, connections, cycle in order:
                child = children[server]
                if cycle:
                    child.cycle(True)
                try:
                    samples[key].append(load(child.port, path, args.seconds, connections))
                finally:
                    if cycle:
                        child.cycle(False)
    finally:
        for child in children.values():
            child.close()
    load_after = os.getloadavg()[0]

    generator = "wrk" if wrk else "Python clients (install wrk: apt-get install -y wrk)"
    print(
        f"{generator} on loopback, {args.rounds} interleaved slices of {args.seconds:g} s per row, medians; "
        f"load average {load_before:.1f} -> {load_after:.1f} on {os.cpu_count()} CPUs"
    )
    print(f"{'server':<8}{'path':<9}{'conns':>6}{'cycle':>7}{'req/s':>9}{'p99 ms':>9}{'errors':>8}  key")
    figures: dict[str, float] = {}
    for key, server, path, connections, cycle in CASES:
        rps = statistics.median(s[0] for s in samples[key])
        p99 = statistics.median(s[1] for s in samples[key])
        errors = sum(s[2] for s in samples[key])
        figures[key] = round(rps, 1)
        if key == "status_rps_8_cycle":
            figures["status_p99_ms_8_cycle"] = round(p99, 2)
        print(
            f"{server:<8}{path:<9}{connections:>6}{'yes' if cycle else 'no':>7}{rps:>9.0f}{p99:>9.2f}{errors:>8}  {key}"
        )
    for n in (8, 64):
        figures[f"status_vs_pyramid_{n}"] = round(figures[f"status_rps_{n}"] / figures[f"pyramid_rps_{n}"], 3)
        figures[f"ping_vs_pyramid_{n}"] = round(figures[f"ping_rps_{n}"] / figures[f"pyramid_rps_{n}"], 3)
    print(
        f"ours / plain app, /status: {figures['status_vs_pyramid_8']:.0%} at 8, "
        f"{figures['status_vs_pyramid_64']:.0%} at 64 connections (target >= 80 %)"
    )
    print(
        f"/status p99 at 8 connections while a cycle runs: {figures['status_p99_ms_8_cycle']:.2f} ms (target < 20 ms)"
    )
    figures["load_average"] = round(max(load_before, load_after), 2)
    figures["load_generator"] = "wrk" if wrk else "python"
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
