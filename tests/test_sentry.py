"""Sentry error tracking against a local HTTP listener standing in for sentry.io.

Each case runs in a subprocess: sentry_sdk.init() patches process-wide hooks (excepthook,
logging, threading) that must not leak into the rest of the test session.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from standins import RecordingHttpServer, Reply, wait_until

SCRIPT = r"""
import sys
from tradeexecutor.config.redaction import redactor
from tradeexecutor.execution.run_state import RunState, StrategyMetadata
from tradeexecutor.reporting.metrics import MetricsRegistry
from tradeexecutor.reporting.reporter import Reporter, ReportingConfig

redactor.register("SeCrEtApIkEy123")
dsn = sys.argv[1] or None
state = RunState(StrategyMetadata("sma-live", "SMA"), version="7.7.7")
reporter = Reporter.create(ReportingConfig(sentry_dsn=dsn), state, MetricsRegistry())
print("SENTRY_IMPORTED", "sentry_sdk" in sys.modules)
try:
    raise ConnectionError("RPC https://rpc.example/v1/SeCrEtApIkEy123 refused, key " + "ab" * 32)
except ConnectionError as e:
    reporter.cycle_failed(e, cycle=42)
reporter.close(timeout=5)
print("FAILED_CYCLES", state.snapshot.cycles_failed)
"""


@pytest.fixture()
def sentry() -> Iterator[RecordingHttpServer]:
    server = RecordingHttpServer(Reply(200, b'{"id": "x"}', {"Content-Type": "application/json"}))
    yield server
    server.close()


def run(dsn: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SENTRY_DSN"}
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, dsn], capture_output=True, text=True, timeout=60, env=env
    )


def envelope_items(body: bytes, encoding: str) -> list[dict]:
    if encoding == "gzip":
        body = gzip.decompress(body)
    lines = body.split(b"\n")
    return [json.loads(line) for line in lines if line.strip()]


def test_exception_reaches_sentry_with_strategy_and_cycle_and_no_secrets(sentry: RecordingHttpServer) -> None:
    port = sentry.server.server_address[1]
    result = run(f"http://publickey123@127.0.0.1:{port}/42")
    assert result.returncode == 0, result.stderr
    assert "SENTRY_IMPORTED True" in result.stdout and "FAILED_CYCLES 1" in result.stdout
    assert wait_until(lambda: len(sentry.requests) >= 1)
    request = sentry.requests[0]
    assert request.path == "/api/42/envelope/"
    raw = gzip.decompress(request.body) if request.headers.get("Content-Encoding") == "gzip" else request.body
    assert b"SeCrEtApIkEy123" not in raw and b"ab" * 32 not in raw
    items = envelope_items(request.body, request.headers.get("Content-Encoding", ""))
    event = next(i for i in items if "exception" in i)
    assert event["tags"]["strategy_id"] == "sma-live" and event["tags"]["cycle"] == "42"
    assert event["release"] == "7.7.7"
    [exception] = event["exception"]["values"]
    assert exception["type"] == "ConnectionError" and "***" in exception["value"]
    frames = exception["stacktrace"]["frames"]
    assert all("vars" not in frame for frame in frames)  # no local variables leave the process


def test_sentry_is_not_imported_without_a_dsn() -> None:
    result = run("")
    assert result.returncode == 0, result.stderr
    assert "SENTRY_IMPORTED False" in result.stdout and "FAILED_CYCLES 1" in result.stdout


def test_bad_dsn_is_a_user_error() -> None:
    result = run("not a dsn")
    assert result.returncode != 0
    assert "UserError: --sentry-dsn / SENTRY_DSN is not a valid Sentry DSN" in result.stderr
    assert "not a dsn" not in result.stderr.split("UserError:")[-1]
