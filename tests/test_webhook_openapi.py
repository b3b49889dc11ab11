"""Every route answers what /openapi.json says it answers (fetched from a real server)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from schema_check import errors
from webhook_client import Answer, basic, get

from tradeexecutor.execution.run_state import PortfolioSummary, RunState, StrategyMetadata
from tradeexecutor.reporting.log_buffer import LogRingBuffer
from tradeexecutor.reporting.log_context import log_context
from tradeexecutor.reporting.metrics import MetricsRegistry
from tradeexecutor.webhook.openapi import SCHEMAS
from tradeexecutor.webhook.routes import ROUTES
from tradeexecutor.webhook.server import WebhookConfig, WebhookServer

AUTH = basic("ops", "pw-123456")


def audit_summary() -> dict:
    """A report with every kind of section, as the AuditHook publishes it."""
    from datetime import UTC, datetime

    from tests.state.factories import WETH
    from tradeexecutor.audit.model import AuditReport, AuditSection, AuditType, PlannedDrift

    balance = AuditSection(AuditType.balance, skipped="1 trade(s) are unfinished")
    ledger = AuditSection(AuditType.ledger, checked=["WETH: ledger sum 5 = held"], notes=["a note"])
    order = AuditSection(AuditType.order)
    order.fail(
        "nonce 7 of the hot wallet was used by transaction 0xab, which the state does not know",
        tx_hash="0xab",
    )
    report = AuditReport(
        at=datetime(2024, 1, 1, tzinfo=UTC),
        wallet_address="0x" + "12" * 20,
        block=123,
        sections=[balance, ledger, order],
        drift=[PlannedDrift(WETH, 5, "audit at block 123: within tolerance")],
        cycle=4,
    )
    return report.summary()


@pytest.fixture()
def server() -> Iterator[WebhookServer]:
    state = RunState(StrategyMetadata("sma", "SMA"), version="1", source="x = 1\n")
    state.cycle_started(1, expected_duration=60)
    state.cycle_completed(1, duration=1.5, trades_succeeded=1)
    state.cycle_failed(RuntimeError("second cycle broke"), cycle=2)
    state.record_reporter_failures("discord", 2)
    state.publish(
        positions=[{"position_id": 1, "pair": "WETH-USDC", "status": "open", "quantity": "0.1"}],
        trades=[{"trade_id": 1, "position_id": 1, "side": "buy", "status": "success", "tx_hash": "0xab"}],
        summary=PortfolioSummary(total_equity=None, cash=None, open_positions=1),
        market_data_lag=12.0,
    )
    state.publish(audit=audit_summary())
    state.update_state_bytes(b'{"schema": 1}')
    buffer = LogRingBuffer()
    logger = logging.getLogger("tradeexecutor.openapitest")
    logger.addHandler(buffer)
    with log_context(cycle=2, trade_id=1):
        logger.warning("a warning with context")
    s = WebhookServer(
        WebhookConfig.from_options(port=0, username="ops", password="pw-123456"),
        state,
        logs=buffer,
        metrics=MetricsRegistry(),
    )
    s.start()
    yield s
    s.stop()
    logger.removeHandler(buffer)


def check(document: dict, path: str, answer: Answer) -> None:
    operation = document["paths"][path.split("?")[0]]["get"]
    declared = operation["responses"]
    assert str(answer.status) in declared, f"{path} answered {answer.status}, not declared"
    content = declared[str(answer.status)].get("content")
    if content is None:
        assert answer.body == b"", path
        return
    media = answer.content_type.split(";")[0]
    assert media in content, f"{path}: {media} not declared"
    if media == "application/json":
        problems = errors(answer.json(), content[media]["schema"], document)
        assert not problems, f"{path}: {problems}"
    else:
        assert isinstance(answer.body.decode("utf-8"), str)


def test_every_route_matches_the_document(server: WebhookServer) -> None:
    document = get(server.port, "/openapi.json", AUTH).json()
    assert document["openapi"] == "3.1.0"
    assert set(document["paths"]) == {r.path for r in ROUTES}
    for route in ROUTES:
        answer = get(server.port, route.path, AUTH)
        assert answer.status == 200 or route.name == "health", (route.path, answer.status)
        check(document, route.path, answer)
        if not route.public:
            unauthenticated = get(server.port, route.path)
            assert unauthenticated.status == 401
            check(document, route.path, unauthenticated)
    # the other declared answers
    for path in ("/trades?limit=0", "/positions?order=up", "/logs?level=nope"):
        check(document, path, get(server.port, path, AUTH))
    etag = get(server.port, "/state", AUTH).headers["ETag"]
    check(document, "/state", get(server.port, "/state", {**AUTH, "If-None-Match": etag}))
    server.context.run_state.halted("stopped by operator")
    unhealthy = get(server.port, "/health")
    assert unhealthy.status == 503
    check(document, "/health", unhealthy)


def test_status_schema_lists_every_key() -> None:
    """additionalProperties is false: a key added to /status must be documented too."""
    assert SCHEMAS["Status"]["additionalProperties"] is False
    assert set(SCHEMAS["Status"]["required"]) == set(SCHEMAS["Status"]["properties"])


def test_checker_catches_mismatches() -> None:
    doc = {"components": {"schemas": SCHEMAS}}
    status_ref = {"$ref": "#/components/schemas/Ping"}
    assert errors({"ping": "pong"}, status_ref, doc) == []
    assert errors({"ping": "PONG"}, status_ref, doc)
    assert errors({"ping": "pong", "extra": 1}, status_ref, doc)
    assert errors({}, status_ref, doc)
    assert errors(
        {"records": [{"at": "yesterday"}], "buffered": 1, "capacity": 2},
        {"$ref": "#/components/schemas/Logs"},
        doc,
    )
    assert errors(True, {"type": "integer"}, doc)
    assert errors(5, {"type": "integer", "maximum": 4}, doc)
    assert errors(1, {"type": "integer", "pattern": "x"}, doc)  # unsupported keyword is an error


def test_status_shows_the_last_audit(server: WebhookServer) -> None:
    audit = get(server.port, "/status", AUTH).json()["audit"]
    assert not audit["ok"] and not audit["complete"] and audit["cycle"] == 4
    assert audit["audits"]["order"]["problems"][0]["tx_hash"] == "0xab"
    assert audit["audits"]["balance"] == {
        "status": "skipped",
        "checks": 0,
        "skipped_reason": "1 trade(s) are unfinished",
        "notes": [],
        "problems": [],
    }
    assert audit["drift"] == [
        {"asset": "WETH", "amount": "0.000000000000000005", "reason": "audit at block 123: within tolerance"}
    ]


def test_schemathesis_finds_no_disagreement_between_the_server_and_its_document(
    server: WebhookServer, tmp_path
) -> None:
    """Schemathesis (a dev dependency) fuzzes every route of the real server from /openapi.json:
    schema-valid and invalid queries, unknown parameters, methods the document does not list
    (TRACE once answered 404, not 405), and every answer against its declared schema."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    st = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert st is not None, "schemathesis is a dev dependency: run make deps"
    # a healthy executor: /health's 503 is documented, but any 5xx counts as a server error
    server.context.run_state.cycle_completed(3, duration=1.0)
    result = subprocess.run(
        [
            st,
            "run",
            f"{server.url}/openapi.json",
            "--header",
            f"Authorization:{AUTH['Authorization']}",
            "--checks",
            "all",
            "--max-examples",
            "25",
            "--seed",
            "20",
            "--generation-database",
            "none",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "No issues found" in result.stdout


def test_unknown_query_parameters_and_other_methods_are_refused(server: WebhookServer) -> None:
    answer = get(server.port, "/trades?limt=5", AUTH)
    assert answer.status == 400
    assert answer.json()["error"] == "unknown query parameter 'limt': /trades takes limit, offset, order"
    assert get(server.port, "/status?verbose=1", AUTH).json()["error"] == (
        "unknown query parameter 'verbose': /status takes no query parameters"
    )
    assert get(server.port, "/trades?limit=5&order=desc", AUTH).status == 200
    # credentials are checked first: an anonymous caller learns nothing about parameters
    assert get(server.port, "/trades?limt=5").status == 401
    for method in ("TRACE", "POST", "DELETE", "PUT"):
        answer = get(server.port, "/status", AUTH, method=method)
        assert answer.status == 405 and answer.headers["Allow"] == "GET, HEAD", method
        assert answer.json() == {"error": f"method {method} not allowed", "status": 405, "path": "/status"}
    assert get(server.port, "/nowhere", AUTH, method="TRACE").status == 404
