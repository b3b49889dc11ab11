"""Everything wired together as `start` will: one simulated run seen through every channel."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from standins import RecordingHttpServer, UdpListener, wait_until
from webhook_client import basic, get

from tradeexecutor.cli.monitoring import MonitoringOptions, start_monitoring
from tradeexecutor.errors import UserError
from tradeexecutor.execution.run_state import PortfolioSummary, StrategyMetadata
from tradeexecutor.reporting.log_context import log_context
from tradeexecutor.reporting.messages import TradeSummary

META = StrategyMetadata("wired", "Wired strategy", "short", "long")
AUTH = basic("ops", "wired-pass-1")
KEY = "8da4ef21b864d2cc526dbdb2a120bd2874c36c9d0a1fb7f8c63d7f7a8b41de8f"


@pytest.fixture()
def root_restored() -> Iterator[None]:
    level = logging.getLogger().level
    yield
    logging.getLogger().setLevel(level)


TX_HASH = "0x" + "5e" * 32


def test_a_run_is_visible_everywhere(tmp_path: Path, root_restored: None, monkeypatch) -> None:
    monkeypatch.setenv("PRIVATE_KEY", KEY)
    discord, statsd, logstash = RecordingHttpServer(), UdpListener(), UdpListener()
    options = MonitoringOptions(
        file_log_level="info",
        log_file_dir=tmp_path / "logs",
        http_port=0,
        http_username="ops",
        http_password="wired-pass-1",
        discord_webhook_url=discord.url + "/api/webhooks/1/t",
        logstash_server=f"127.0.0.1:{logstash.port}",
        statsd_host="127.0.0.1",
        statsd_port=statsd.port,
        heartbeat=str(tmp_path / "hb.txt"),
    )
    monitoring = start_monitoring(options, META, source="# strategy\n", chain_id=56)  # BNB Chain
    reporter, state, port = monitoring.reporter, monitoring.run_state, monitoring.webhook.port  # type: ignore[union-attr]
    log = logging.getLogger("tradeexecutor.execution.loop")
    try:
        reporter.startup()
        with log_context(cycle=1):
            reporter.cycle_started(1, expected_duration=3600)
            log.info("signing with %s", KEY)
            state.update_state_bytes(b'{"cycle": 1}')
            reporter.cycle_completed(
                1,
                duration=1.0,
                cycle_trades=[
                    TradeSummary(1, "WETH-USDC", "buy", Decimal("0.1"), Decimal("2000"), tx_hash=TX_HASH)
                ],
                summary=PortfolioSummary(Decimal("1000"), Decimal("800"), 1),
                trades=[{"trade_id": 1, "side": "buy", "status": "success"}],
            )
        status = get(port, "/status", AUTH).json()
        assert status["completed_cycle"] == 1 and status["executor_running"] is True
        assert get(port, "/health").status == 200
        assert get(port, "/state", AUTH).body == b'{"cycle": 1}'
        assert get(port, "/trades", AUTH).json()["total"] == 1
        assert get(port, "/source", AUTH).body == b"# strategy\n"
        logs = get(port, "/logs", AUTH).json()["records"]
        signing = next(r for r in logs if r["message"].startswith("signing with"))
        assert signing["message"] == "signing with ***" and signing["cycle"] == 1
        assert "trade_executor_cycles_completed_total 1" in get(port, "/metrics", AUTH).body.decode()

        with log_context(cycle=2):
            reporter.cycle_failed(RuntimeError(f"nonce too low for {KEY}"), cycle=2, halt=True)
        unhealthy = get(port, "/health")
        assert unhealthy.status == 503 and "trading is halted" in unhealthy.json()["reason"]
        status = get(port, "/status", AUTH).json()
        assert status["executor_running"] is False and KEY not in str(status["exception"])

        assert wait_until(lambda: len(discord.requests) >= 3)
        assert wait_until(lambda: "trade_executor.cycles_completed:1|c" in statsd.lines())
        assert wait_until(lambda: any(e.get("cycle") == 1 for e in logstash.events()))
        assert (tmp_path / "hb.txt").read_text().endswith(" cycle 1\n")
    finally:
        monitoring.close(timeout=2)
        for stand_in in (discord, statsd, logstash):
            stand_in.close()
    file_text = (tmp_path / "logs" / "wired.log").read_text()
    assert "signing with ***" in file_text and KEY not in file_text
    assert all(KEY not in c for c in discord.contents())
    # no --explorer-url: the chain's own explorer links the transaction
    assert any(f"https://bscscan.com/tx/{TX_HASH}" in c for c in discord.contents())
    assert all(KEY not in str(e) for e in logstash.events())


def test_bad_options_fail_before_anything_starts(root_restored: None) -> None:
    handlers = list(logging.getLogger().handlers)
    with pytest.raises(UserError, match="--http-username and --http-password"):
        start_monitoring(MonitoringOptions(http_username="ops", file_log_level="none"), META)
    with pytest.raises(UserError, match="--discord-webhook-url must be a webhook URL"):
        start_monitoring(MonitoringOptions(discord_webhook_url="discord.com/x", file_log_level="none"), META)
    assert logging.getLogger().handlers == handlers


def test_port_in_use_leaves_no_handlers_behind(root_restored: None) -> None:
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    handlers = list(logging.getLogger().handlers)
    try:
        with pytest.raises(UserError, match="already in use"):
            start_monitoring(
                MonitoringOptions(
                    http_port=blocker.getsockname()[1], file_log_level="none", heartbeat="none"
                ),
                META,
            )
    finally:
        blocker.close()
    assert logging.getLogger().handlers == handlers
