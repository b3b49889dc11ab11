"""Saying the truth: the trading state in /health, /status, Prometheus, statsd and Discord.

running / degraded (since, reason, consecutive failures) / halted (reason, whether stops
still run) / stalled (a step outlived the watchdog bound: 503 although the loop is alive);
a degraded episode is announced once when it starts and once when it ends.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from standins import RecordingHttpServer, UdpListener, wait_until

from tradeexecutor.execution.run_state import PortfolioSummary, RunState, StrategyMetadata
from tradeexecutor.reporting.metrics import MetricsRegistry
from tradeexecutor.reporting.reporter import Reporter, ReportingConfig
from tradeexecutor.webhook.documents import health, status_document

T0 = datetime(2024, 1, 1, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now


@pytest.fixture()
def discord() -> Iterator[RecordingHttpServer]:
    server = RecordingHttpServer()
    yield server
    server.close()


def make(clock: Clock, **config) -> tuple[RunState, Reporter]:
    state = RunState(StrategyMetadata("sma", "SMA"), version="1", clock=clock)
    return state, Reporter.create(ReportingConfig(**config), state, MetricsRegistry())


def test_degraded_is_healthy_while_cycles_are_on_time_and_says_since_when_and_why() -> None:
    clock = Clock()
    state, reporter = make(clock)
    reporter.cycle_started(1, expected_duration=60)
    reporter.cycle_completed(1, duration=1.0)
    since = clock.advance(10)
    for n in (1, 2, 3):
        reporter.degraded(
            "cycle 2",
            "No JSON-RPC node answered (http://node:8545 connection failed)",
            since=since,
            failures=n,
        )
    s = state.snapshot
    doc = status_document(s)
    assert doc["trading_state"] == "degraded" and doc["halt"] is None
    assert doc["degraded"]["consecutive_failures"] == 3 and doc["degraded"]["since"] == since.timestamp()
    assert doc["state_reason"] == (
        "degraded since 2024-01-01 00:00:10 UTC: No JSON-RPC node answered (http://node:8545 connection failed) "
        "(3 consecutive failures); retrying"
    )
    ok = health(s, clock.advance(30))
    assert (
        ok.status_code == 200
        and ok.reason.startswith("degraded since")
        and ok.document()["state"] == "degraded"
    )
    late = health(s, clock.advance(200))  # the episode outlasts the cycle period + grace
    assert late.status_code == 503 and late.reason.startswith("no cycle completed for 240s")
    assert "No JSON-RPC node answered" in late.reason
    reporter.recovered(since=since, failures=3)
    assert status_document(state.snapshot)["trading_state"] == "running"


def test_halted_says_whether_the_stops_still_run() -> None:
    clock = Clock()
    state, reporter = make(clock)
    reporter.cycle_failed(
        ValueError("bad"),
        cycle=4,
        halt=True,
        kind="strategy",
        reason="decide_trades() raised ValueError",
        stops_running=True,
    )
    s = state.snapshot
    report = health(s, clock())
    assert report.status_code == 503 and report.document()["stops_running"] is True
    assert report.reason == (
        "trading is halted: strategy error in cycle 4: decide_trades() raised ValueError; "
        "stop losses and take profits are still checked"
    )
    doc = status_document(s)
    assert doc["halt"]["kind"] == "strategy" and doc["halt"]["stops_running"] is True
    assert not doc["executor_running"]


def test_stalled_is_503_although_the_loop_is_alive_and_only_on_the_clock() -> None:
    clock = Clock()
    state, reporter = make(clock)
    state.publish(watchdog_timeout=300.0)
    reporter.cycle_started(7, expected_duration=3600)
    snapshot = state.snapshot  # a stuck loop publishes nothing more
    assert health(snapshot, clock.advance(299)).ok
    report = health(snapshot, clock.advance(2))
    assert report.status_code == 503 and report.document()["state"] == "stalled"
    assert report.reason.startswith("stalled: cycle 7 (started 2024-01-01 00:00:00 UTC)")
    assert "longer than the 300s allowed by --watchdog-timeout" in report.reason
    assert report.document()["running_for"] == 301
    assert reporter.metrics.value("trading_state", strategy="sma", state="stalled") == 1
    assert reporter.metrics.value("trading_state", strategy="sma", state="running") == 0


def test_prometheus_gauges_carry_the_strategy_label() -> None:
    clock = Clock()
    state, reporter = make(clock)
    reporter.cycle_completed(
        1,
        duration=1.0,
        summary=PortfolioSummary(total_equity=Decimal(100), cash=Decimal(90), gas_balance=Decimal("0.25")),
    )
    clock.advance(42)
    reporter.degraded("stop-loss check", "node down", since=clock(), failures=1)
    text = reporter.metrics.prometheus_text()
    for state_name, value in (("running", 0), ("degraded", 1), ("halted", 0), ("stalled", 0)):
        assert f'trade_executor_trading_state{{state="{state_name}",strategy="sma"}} {value}\n' in text
    assert 'trade_executor_last_cycle_age_seconds{strategy="sma"} 42\n' in text
    assert 'trade_executor_gas_balance{strategy="sma"} 0.25\n' in text
    assert 'trade_executor_consecutive_failures{strategy="sma"} 1\n' in text
    assert "trade_executor_degraded_episodes_total 1\n" in text


def test_a_degraded_episode_is_announced_once_at_start_and_once_at_end(discord) -> None:
    statsd = UdpListener()
    clock = Clock()
    state, reporter = make(
        clock, discord_webhook_url=discord.url + "/w", statsd_host="127.0.0.1", statsd_port=statsd.port
    )
    try:
        since = clock()
        for n in range(1, 6):
            clock.advance(5)
            reporter.degraded("cycle 3", "No JSON-RPC node answered", since=since, failures=n)
        clock.advance(20)
        reporter.recovered(since=since, failures=5)
        reporter.close(5)
        contents = discord.contents()
        assert [c for c in contents if "is degraded" in c] == [
            "🟠 **SMA** (sma) is degraded: the cycle 3 failed on a transient fault: No JSON-RPC node answered\n"
            "Retrying with backoff; trading resumes by itself when it passes (no restart needed)."
        ]
        assert [c for c in contents if "recovered" in c] == [
            "🟢 **SMA** (sma) recovered after 45s degraded (5 failed attempts); trading goes on."
        ]
        assert wait_until(
            lambda: any(line.startswith("trade_executor.degraded_episodes:1|c") for line in statsd.lines())
        )
        assert sum(line.startswith("trade_executor.degraded_episodes") for line in statsd.lines()) == 1
        assert any(line.startswith("trade_executor.trading_state.degraded.sma:1") for line in statsd.lines())
    finally:
        statsd.close()
