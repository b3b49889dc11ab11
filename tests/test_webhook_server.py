"""The webhook on a real waitress server over loopback HTTP."""

from __future__ import annotations

import gzip
import logging
import re
import socket
import sys
import threading
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest
from webhook_client import basic, get

from tradeexecutor.errors import UserError
from tradeexecutor.execution.run_state import PortfolioSummary, RunState, StrategyMetadata
from tradeexecutor.reporting.log_buffer import LogRingBuffer
from tradeexecutor.reporting.metrics import MetricsRegistry
from tradeexecutor.webhook.server import WebhookConfig, WebhookServer

STATE_BYTES = b'{"schema": 1, "portfolio": {"positions": {}}}' * 50


def populated_state() -> RunState:
    state = RunState(
        StrategyMetadata("sma", "SMA demo", "Short", "Long text", "https://example.com/i.png"),
        version="1.0.0",
        git_revision="abc123",
        source="def decide_trades():\n    return []\n",
    )
    state.publish(
        positions=[{"position_id": i, "pair": "WETH-USDC", "status": "open"} for i in range(1, 4)],
        trades=[{"trade_id": i, "side": "buy", "status": "success", "tx_hash": None} for i in range(1, 251)],
        summary=PortfolioSummary(Decimal("10000.123456789"), Decimal("500"), 3),
    )
    state.update_state_bytes(STATE_BYTES)
    return state


@pytest.fixture()
def buffer() -> Iterator[LogRingBuffer]:
    handler = LogRingBuffer(capacity=50)
    logger = logging.getLogger("tradeexecutor.webhooktest")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)


def start(config: WebhookConfig, state: RunState | None = None, **kwargs) -> WebhookServer:
    server = WebhookServer(config, state or populated_state(), **kwargs)
    server.start()
    return server


@pytest.fixture()
def server(buffer: LogRingBuffer) -> Iterator[WebhookServer]:
    s = start(WebhookConfig(port=0), logs=buffer, metrics=MetricsRegistry())
    yield s
    s.stop()


def test_ping(server: WebhookServer) -> None:
    answer = get(server.port, "/ping")
    assert (answer.status, answer.json()) == (200, {"ping": "pong"})
    assert answer.content_type == "application/json"
    assert answer.headers["Server"] == "trade-executor"


def test_status_has_the_reference_fields_and_more(server: WebhookServer) -> None:
    doc = get(server.port, "/status").json()
    snapshot = server.context.run_state.snapshot
    assert doc["last_refreshed_at"] == snapshot.last_refreshed_at.timestamp()
    assert doc["executor_running"] is True and doc["completed_cycle"] is None and doc["exception"] is None
    assert doc["version"] == "1.0.0" and doc["git_revision"] == "abc123" and doc["strategy_id"] == "sma"
    for key in (
        "started_at",
        "cycles_completed",
        "cycles_failed",
        "last_trade_at",
        "market_data_lag",
        "reporter_failures",
    ):
        assert key in doc

    server.context.run_state.cycle_failed(RuntimeError("boom"), cycle=3, halt=True)
    server.context.run_state.record_reporter_failures("discord", 4)
    doc = get(server.port, "/status").json()
    assert doc["executor_running"] is False and doc["cycles_failed"] == 1
    assert doc["exception"]["message"] == "boom" and doc["exception"]["exception_type"] == "RuntimeError"
    assert doc["reporter_failures"] == {"discord": 4}


def test_health_turns_503_when_cycles_are_overdue(server: WebhookServer) -> None:
    state = server.context.run_state
    assert get(server.port, "/health").status == 200
    state.cycle_started(1, expected_duration=60)
    state.cycle_completed(1, at=state.now() - timedelta(seconds=600), duration=1)
    answer = get(server.port, "/health")
    assert answer.status == 503 and answer.json()["healthy"] is False
    assert "no cycle completed for" in answer.json()["reason"]
    state.cycle_completed(2, duration=1)
    assert get(server.port, "/health").status == 200
    state.halted("Ctrl-C")
    answer = get(server.port, "/health")
    assert answer.status == 503 and answer.json()["reason"] == "trading is halted: Ctrl-C"


def test_metadata(server: WebhookServer) -> None:
    doc = get(server.port, "/metadata").json()
    assert doc["name"] == "SMA demo" and doc["icon_url"] == "https://example.com/i.png"
    assert doc["summary"] == {
        "currency": None,
        "total_equity": "10000.123456789",
        "cash": "500",
        "profit": None,
        "open_positions": 3,
        "frozen_positions": 0,
    }


def test_state_etag_304_and_gzip(server: WebhookServer) -> None:
    plain = get(server.port, "/state")
    assert plain.status == 200 and plain.body == STATE_BYTES
    assert plain.content_type == "application/json" and "Content-Encoding" not in plain.headers
    etag = plain.headers["ETag"]
    assert get(server.port, "/state", {"If-None-Match": etag}).status == 304
    assert get(server.port, "/state", {"If-None-Match": f'W/{etag}, "other"'}).status == 304
    assert get(server.port, "/state", {"If-None-Match": '"stale"'}).status == 200

    zipped = get(server.port, "/state", {"Accept-Encoding": "br, gzip;q=0.8"})
    assert zipped.headers["Content-Encoding"] == "gzip" and zipped.headers["ETag"] != etag
    assert gzip.decompress(zipped.body) == STATE_BYTES and len(zipped.body) < len(STATE_BYTES)
    assert "Accept-Encoding" in zipped.headers["Vary"]
    assert "Content-Encoding" not in get(server.port, "/state", {"Accept-Encoding": "gzip;q=0"}).headers

    server.context.run_state.update_state_bytes(b'{"schema": 2}')
    assert get(server.port, "/state", {"If-None-Match": etag}).body == b'{"schema": 2}'


def test_state_before_first_save_is_404() -> None:
    s = start(WebhookConfig(port=0), RunState(StrategyMetadata("x", "X"), version="1"))
    try:
        answer = get(s.port, "/state")
        assert answer.status == 404 and answer.json()["error"] == "no state has been saved yet"
        assert get(s.port, "/source").status == 404
    finally:
        s.stop()


def test_trades_and_positions_are_paginated(server: WebhookServer) -> None:
    doc = get(server.port, "/trades").json()
    assert doc["total"] == 250 and doc["limit"] == 100 and len(doc["trades"]) == 100
    assert doc["trades"][0]["trade_id"] == 1
    doc = get(server.port, "/trades?offset=240&limit=50").json()
    assert [t["trade_id"] for t in doc["trades"]] == list(range(241, 251))
    doc = get(server.port, "/trades?limit=3&order=desc").json()
    assert [t["trade_id"] for t in doc["trades"]] == [250, 249, 248]
    assert get(server.port, "/positions").json()["total"] == 3
    for bad in ("limit=0", "limit=1001", "offset=-1", "limit=ten", "order=random"):
        answer = get(server.port, f"/trades?{bad}")
        assert answer.status == 400 and answer.json()["status"] == 400, bad


def test_logs_filter_by_level(server: WebhookServer) -> None:
    log = logging.getLogger("tradeexecutor.webhooktest")
    log.debug("debug line")
    log.info("info line")
    log.error("error line")
    assert [r["message"] for r in get(server.port, "/logs").json()["records"]] == ["info line", "error line"]
    doc = get(server.port, "/logs?level=error").json()
    assert [r["message"] for r in doc["records"]] == ["error line"] and doc["capacity"] == 50
    assert [r["message"] for r in get(server.port, "/logs?level=debug&limit=1").json()["records"]] == [
        "error line"
    ]
    assert get(server.port, "/logs?level=loud").status == 400


def test_source_and_metrics(server: WebhookServer) -> None:
    source = get(server.port, "/source")
    assert source.content_type == "text/plain; charset=utf-8"
    assert source.body.decode() == "def decide_trades():\n    return []\n"
    for _ in range(3):
        get(server.port, "/ping")
    metrics = get(server.port, "/metrics")
    assert metrics.content_type.startswith("text/plain") and "version=0.0.4" in metrics.content_type
    count = next(
        line
        for line in metrics.body.decode().splitlines()
        if line.startswith("trade_executor_webhook_requests_total")
    )
    assert int(count.split()[1]) >= 4


def test_unknown_path_is_json_404_and_unknown_method_json_405(server: WebhookServer) -> None:
    for method, path in (("GET", "/nope"), ("POST", "/nope"), ("GET", "/status/extra")):
        answer = get(server.port, path, method=method)
        assert answer.status == 404 and answer.content_type == "application/json"
        assert answer.json()["error"] == "not found"
    answer = get(server.port, "/status", method="POST")
    assert answer.status == 405 and answer.content_type == "application/json"
    assert answer.headers["Allow"] == "GET, HEAD"


def test_head_request(server: WebhookServer) -> None:
    answer = get(server.port, "/status", method="HEAD")
    assert answer.status == 200 and answer.body == b""


def test_basic_auth_protects_all_but_ping_and_health(caplog) -> None:
    caplog.set_level(logging.DEBUG)
    config = WebhookConfig.from_options(port=0, username="ops", password="s3cret-Pa55")
    assert "s3cret-Pa55" not in repr(config)
    s = start(config)
    try:
        for path in ("/status", "/state", "/metrics", "/openapi.json", "/nope"):
            answer = get(s.port, path)
            assert answer.status == 401, path
            assert answer.headers["WWW-Authenticate"].startswith('Basic realm="trade-executor"')
            assert answer.json()["error"] == "authentication required"
        assert get(s.port, "/ping").status == 200 and get(s.port, "/health").status == 200
        assert get(s.port, "/status", basic("ops", "s3cret-Pa55")).status == 200
        for user, password in (("ops", "wrong"), ("nobody", "s3cret-Pa55"), ("ops", "")):
            assert get(s.port, "/status", basic(user, password)).status == 401
        assert get(s.port, "/status", {"Authorization": "Basic !!!notbase64"}).status == 401
        assert get(s.port, "/status", {"Authorization": "Bearer s3cret-Pa55"}).status == 401
    finally:
        s.stop()
    assert "s3cret-Pa55" not in caplog.text


def test_auth_options_must_come_in_pairs() -> None:
    with pytest.raises(UserError, match="--http-username and --http-password"):
        WebhookConfig.from_options(username="ops")
    with pytest.raises(UserError, match="--http-port"):
        WebhookConfig.from_options(port=70000)


def test_cors_origins() -> None:
    s = start(
        WebhookConfig.from_options(port=0, cors_origins="https://app.example.com, https://b.example.com/")
    )
    try:
        allowed = get(s.port, "/status", {"Origin": "https://b.example.com"})
        assert allowed.headers["Access-Control-Allow-Origin"] == "https://b.example.com"
        denied = get(s.port, "/status", {"Origin": "https://evil.example.com"})
        assert "Access-Control-Allow-Origin" not in denied.headers
        preflight = get(
            s.port,
            "/status",
            {"Origin": "https://app.example.com", "Access-Control-Request-Method": "GET"},
            method="OPTIONS",
        )
        assert preflight.status == 204
        assert "GET" in preflight.headers["Access-Control-Allow-Methods"]
        assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    finally:
        s.stop()
    s = start(WebhookConfig.from_options(port=0, cors_origins="*"))
    try:
        assert (
            get(s.port, "/ping", {"Origin": "https://any.example"}).headers["Access-Control-Allow-Origin"]
            == "*"
        )
    finally:
        s.stop()


def test_port_in_use_is_one_sentence() -> None:
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    port = blocker.getsockname()[1]
    try:
        with pytest.raises(UserError) as error:
            start(WebhookConfig(port=port))
        assert str(error.value) == (
            f"Port {port} on 127.0.0.1 is already in use: stop the other process or choose another port with "
            "--http-port."
        )
    finally:
        blocker.close()


def test_stop_joins_the_thread_and_frees_the_port() -> None:
    default_interval = sys.getswitchinterval()
    s = start(WebhookConfig(port=0))
    port = s.port
    assert get(port, "/ping").status == 200
    assert sys.getswitchinterval() == min(default_interval, 0.001)
    s.stop()
    assert sys.getswitchinterval() == default_interval
    assert not any(t.name == "webhook" or t.name.startswith("webhook-worker-") for t in threading.enumerate())
    again = start(WebhookConfig(port=port))  # the port can be bound again at once
    try:
        assert get(port, "/ping").status == 200
    finally:
        again.stop()
    with pytest.raises(OSError):
        get(port, "/ping")


def test_webhook_keeps_serving_while_the_loop_is_busy(server: WebhookServer) -> None:
    """Readers never take the writer lock: a writer holding it cannot stall a request."""
    state = server.context.run_state
    with state._write_lock:  # a publish in progress, e.g. encoding a huge trade list
        assert get(server.port, "/status").status == 200
        assert get(server.port, "/trades?limit=1").status == 200


class BrokenLogs:
    capacity = 1

    def entries(self, min_level: int = 0, limit: int | None = None) -> list:
        raise RuntimeError("log source broke with key " + "ef" * 32)

    def __len__(self) -> int:
        return 0


def test_a_failing_view_answers_json_500_and_logs_it(caplog) -> None:
    s = start(WebhookConfig(port=0), logs=BrokenLogs())
    try:
        answer = get(s.port, "/logs")
        assert answer.status == 500 and answer.content_type == "application/json"
        assert answer.json() == {"error": "internal error; the executor log has the details", "status": 500}
        assert b"ef" * 32 not in answer.body and b"Traceback" not in answer.body
        assert get(s.port, "/ping").status == 200  # the server carries on
    finally:
        s.stop()
    assert any("webhook request /logs failed" in r.getMessage() and r.exc_info for r in caplog.records)


def test_pipelined_requests_mixing_inline_and_pool_routes_are_answered_in_order(
    server: WebhookServer,
) -> None:
    """/status and /trades are served by the loop thread itself, /state and /logs by the worker
    pool: one connection sending them back to back gets every answer, in order."""
    paths = ["/status", "/state", "/trades?limit=2", "/logs", "/ping", "/state", "/metadata"]
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"".join(f"GET {p} HTTP/1.1\r\nHost: x\r\n\r\n".encode() for p in paths))
        sock.sendall(b"GET /ping HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    answers = []  # (status line, body), read by Content-Length
    while received:
        head, _, rest = received.partition(b"\r\n\r\n")
        length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
        answers.append((head.split(b"\r\n")[0], rest[:length]))
        received = rest[length:]
    assert [status for status, _ in answers] == [b"HTTP/1.1 200 OK"] * (len(paths) + 1)
    bodies = [body for _, body in answers]
    assert b'"last_refreshed_at"' in bodies[0]
    assert bodies[1] == bodies[5] == STATE_BYTES
    assert bodies[2].startswith(b'{"total":250,"offset":0,"limit":2,"order":"asc","trades":[{"trade_id":1')
    assert bodies[3].startswith(b'{"records":')
    assert bodies[4] == bodies[7] == b'{"ping":"pong"}'  # the connection closed after the last
    assert bodies[6].startswith(b'{"id":"sma"')


def test_a_malformed_request_gets_waitress_400_and_the_server_keeps_serving(server: WebhookServer) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"GARBAGE\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.0 400 Bad Request")
    assert get(server.port, "/status").status == 200
