"""The Reporter facade: fan-out to every channel, and each channel isolated from trading."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from standins import RecordingHttpServer, Reply, UdpListener, wait_until

from tradeexecutor.execution.run_state import PortfolioSummary, RunState, StrategyMetadata
from tradeexecutor.reporting.channel import ChannelHealth
from tradeexecutor.reporting.discord import RetryPolicy
from tradeexecutor.reporting.heartbeat import Heartbeat, resolve_heartbeat_path
from tradeexecutor.reporting.messages import TradeSummary
from tradeexecutor.reporting.metrics import MetricsRegistry
from tradeexecutor.reporting.reporter import Reporter, ReportingConfig
from tradeexecutor.reporting.udp import UdpSender

TX = "0x" + "5e" * 32
TRADES = [
    TradeSummary(1, "WETH-USDC", "buy", Decimal("0.25"), Decimal("2001.5"), Decimal("500.375"), TX),
    TradeSummary(
        2, "DEV-USDC", "sell", Decimal("10"), None, None, None, success=False, failure_reason="reverted"
    ),
]
SUMMARY = PortfolioSummary(total_equity=Decimal("10250.75"), cash=Decimal("9750.4"), open_positions=1)


@pytest.fixture()
def discord() -> Iterator[RecordingHttpServer]:
    server = RecordingHttpServer()
    yield server
    server.close()


def run_state() -> RunState:
    return RunState(StrategyMetadata("sma", "SMA demo"), version="9.9.9")


def closed_port_url() -> str:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}/api/webhooks/1/x"


def test_events_reach_every_channel(discord: RecordingHttpServer, tmp_path: Path) -> None:
    statsd = UdpListener()
    state, metrics = run_state(), MetricsRegistry()
    config = ReportingConfig(
        discord_webhook_url=discord.url + "/main",
        discord_error_webhook_url=discord.url + "/errors",
        explorer_url="https://bscscan.com/",
        statsd_host="127.0.0.1",
        statsd_port=statsd.port,
        statsd_prefix="te",
        heartbeat=tmp_path / "monit" / "heartbeat" / "sma.txt",
        discord_policy=RetryPolicy(timeout=5, attempts=2, backoff=0.01),
    )
    reporter = Reporter.create(config, state, metrics)
    try:
        reporter.startup()
        reporter.cycle_started(1, expected_duration=3600)
        reporter.cycle_completed(
            1,
            duration=2.5,
            cycle_trades=TRADES,
            summary=SUMMARY,
            gas_used=210_000,
            gas_spent=Decimal("0.00042"),
            market_data_lag=30.0,
            positions=[{"position_id": 1, "pair": "WETH-USDC", "status": "open"}],
        )
        heartbeat_after_cycle = config.heartbeat.read_text()  # type: ignore[union-attr]
        reporter.trigger_check()  # nothing triggered: no message
        reporter.trigger_check(executed=TRADES[:1], summary=SUMMARY)
        reporter.cycle_failed(RuntimeError("node returned 502"), cycle=2, halt=True)
        reporter.stopped("halted after a failed cycle")
        assert wait_until(lambda: len(discord.requests) == 5)
        assert wait_until(
            lambda: {"te.cycles_completed:1|c", "te.portfolio_value:10250.75|g"} <= set(statsd.lines())
        )
    finally:
        reporter.close()
        statsd.close()

    s = state.snapshot
    assert (s.cycles_completed, s.cycles_failed, s.trades_succeeded, s.trades_failed) == (1, 1, 2, 1)
    assert not s.executor_running and s.halted_reason == "cycle 2 failed: node returned 502"
    assert s.summary == SUMMARY and s.market_data_lag == 30.0 and len(s.positions_json) == 1

    paths = [r.path for r in discord.requests]
    contents = discord.contents()
    assert paths == [
        "/main",
        "/errors",
        "/main",
        "/errors",
        "/main",
    ]  # a cycle with a failed trade is an error too
    assert contents[0].startswith("🟢 **SMA demo** (sma) started") and "9.9.9" in contents[0]
    assert "cycle 1: 1 trade executed, 1 failed" in contents[1]
    assert (
        f"• BUY 0.25 WETH-USDC at 2,001.5 (value 500.38) [0x5e5e5e5e…](<https://bscscan.com/tx/{TX}>)"
        in contents[1]
    )
    assert "• SELL 10 DEV-USDC ❌ FAILED: reverted" in contents[1]
    assert "Equity 10,250.75, cash 9,750.4, 1 open position" in contents[1]
    assert (
        "stop loss / take profit: 1 trade executed" in contents[2] and "• BUY 0.25 WETH-USDC" in contents[2]
    )
    assert "failed in cycle 2: RuntimeError: node returned 502" in contents[3] and "halted" in contents[3]
    assert contents[4].startswith("⏹️ **SMA demo** (sma) stopped")

    lines = set(statsd.lines())
    for expected in (
        "te.cycle_duration:2500.000000|ms",
        "te.trades_succeeded:1|c",  # once from the cycle, once from the trigger check
        "te.trades_failed:1|c",
        "te.gas_used:210000|c",
        "te.gas_spent:0.00042|c",
        "te.open_positions:1.0|g",
        "te.reserve_balance:9750.4|g",
        "te.market_data_lag:30.0|g",
        "te.cycles_failed:1|c",
    ):
        assert expected in lines
    assert metrics.value("cycles_completed") == 1 and metrics.value("cycles_failed") == 1

    assert heartbeat_after_cycle.endswith(" cycle 1\n")
    assert config.heartbeat.read_text().endswith(" trigger check\n")  # type: ignore[union-attr]
    stamp = float(config.heartbeat.read_text().split()[1])  # type: ignore[union-attr]
    assert abs(stamp - datetime.now(UTC).timestamp()) < 600


def test_broken_channels_never_stop_trading_and_warn_once(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.INFO)
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    state, metrics = run_state(), MetricsRegistry()
    logstash_sender = UdpSender("logstash.invalid", 5959, ChannelHealth("logstash"), resolve_retry=0.0)
    config = ReportingConfig(
        discord_webhook_url=closed_port_url(),
        statsd_host="statsd.invalid",
        heartbeat=blocker / "heartbeat" / "sma.txt",
        discord_policy=RetryPolicy(timeout=2, attempts=1, backoff=0.01),
    )
    reporter = Reporter.create(config, state, metrics, extra_channels=[logstash_sender.health])
    try:
        reporter.startup()
        for cycle in range(1, 6):
            reporter.cycle_started(cycle, expected_duration=60)
            reporter.cycle_completed(cycle, duration=0.1, cycle_trades=TRADES[:1], summary=SUMMARY)
            logstash_sender.submit(b"{}")
        assert reporter.discord is not None and reporter.discord.flush(10)
        assert reporter.statsd is not None and wait_until(lambda: reporter.statsd.health.failures >= 1)
        assert wait_until(lambda: logstash_sender.health.failures >= 1)
    finally:
        reporter.close()
        logstash_sender.close()

    s = state.snapshot
    assert s.cycles_completed == 5 and s.completed_cycle == 5 and s.executor_running
    failures = dict(s.reporter_failures)
    assert failures["discord"] == 6  # startup + five cycles
    assert failures["heartbeat"] == 5
    assert failures["statsd"] >= 1 and failures["logstash"] >= 1
    assert metrics.value("reporter_failures", channel="discord") == 6
    for channel in ("discord", "heartbeat", "statsd", "logstash"):
        warnings = [r for r in caplog.records if r.getMessage().startswith(f"{channel} reporting failed")]
        assert len(warnings) == 1, (channel, [w.getMessage() for w in warnings])


def test_hanging_discord_does_not_slow_cycle_completed(discord: RecordingHttpServer) -> None:
    discord.default = Reply(hang=True)
    state, metrics = run_state(), MetricsRegistry()
    config = ReportingConfig(
        discord_webhook_url=discord.url + "/main", discord_policy=RetryPolicy(timeout=60, attempts=1)
    )
    reporter = Reporter.create(config, state, metrics)
    reporter.startup()
    assert wait_until(lambda: len(discord.requests) == 1)
    for cycle in range(1, 201):
        reporter.cycle_completed(cycle, duration=0.0, cycle_trades=TRADES)
    # 200 cycles with trades completed while Discord still holds the very first request.
    assert not discord.release.is_set() and len(discord.requests) == 1
    assert state.snapshot.cycles_completed == 200
    assert reporter.discord is not None and reporter.discord.dropped == 100  # queue of 100 kept the newest
    discord.default = Reply(204)
    discord.release.set()
    reporter.close(timeout=0.5)


def test_heartbeat_is_atomic_and_resolvable(tmp_path: Path) -> None:
    hb = Heartbeat(tmp_path / "hb" / "x.txt")
    at = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert hb.beat(at, "cycle 3")
    assert hb.path.read_text() == f"2024-05-01T12:00:00+00:00 {at.timestamp():.3f} cycle 3\n"
    assert [p.name for p in hb.path.parent.iterdir()] == ["x.txt"]  # no temp files left
    assert resolve_heartbeat_path(None, "sma") == Path("monit/heartbeat/sma.txt")
    assert resolve_heartbeat_path("none", "sma") is None
    assert resolve_heartbeat_path("/var/hb.txt", "sma") == Path("/var/hb.txt")
