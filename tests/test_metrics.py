"""One metrics registry feeding /metrics (Prometheus text) and statsd (UDP lines)."""

from __future__ import annotations

import pytest
from standins import UdpListener, wait_until

from tradeexecutor.reporting.metrics import MetricsRegistry
from tradeexecutor.reporting.statsd_sink import StatsdSink


def test_prometheus_text_lists_every_declared_metric() -> None:
    m = MetricsRegistry()
    m.increment("cycles_completed")
    m.increment("cycles_completed")
    m.timing("cycle_duration", 1.5)
    m.timing("cycle_duration", 0.5)
    m.gauge("portfolio_value", 10500.25)
    m.increment("reporter_failures", 2, channel="discord")
    m.increment("reporter_failures", 1, channel='we"ird')
    text = m.prometheus_text()
    assert "# TYPE trade_executor_cycles_completed_total counter\n" in text
    assert "trade_executor_cycles_completed_total 2\n" in text
    assert "trade_executor_cycle_duration_seconds_sum 2\n" in text
    assert "trade_executor_cycle_duration_seconds_count 2\n" in text
    assert "trade_executor_portfolio_value 10500.25\n" in text
    assert 'trade_executor_reporter_failures_total{channel="discord"} 2\n' in text
    assert 'trade_executor_reporter_failures_total{channel="we\\"ird"} 1\n' in text
    assert "trade_executor_trades_failed_total 0\n" in text  # declared, never incremented
    assert text.count("# TYPE trade_executor_reporter_failures_total") == 1


def test_unknown_or_mistyped_metric_raises() -> None:
    m = MetricsRegistry()
    with pytest.raises(KeyError, match="cycles_complete"):
        m.increment("cycles_complete")
    with pytest.raises(TypeError, match="gauge"):
        m.increment("portfolio_value")


def test_observed_counter_is_read_on_scrape_and_pushed_as_delta() -> None:
    m = MetricsRegistry()
    seen: list[tuple[str, float]] = []

    class Listener:
        def on_counter(self, name, value, labels):
            seen.append((name, value))

        def on_gauge(self, *a):
            pass

        def on_timing(self, *a):
            pass

    m.add_listener(Listener())
    count = [0]
    m.observe_counter("webhook_requests", lambda: count[0])
    count[0] = 5
    assert "trade_executor_webhook_requests_total 5\n" in m.prometheus_text()
    m.push_observed()
    count[0] = 7
    m.push_observed()
    m.push_observed()
    assert seen == [("webhook_requests", 5.0), ("webhook_requests", 2.0)]


def test_statsd_receives_the_same_figures() -> None:
    listener = UdpListener()
    m = MetricsRegistry()
    sink = StatsdSink("127.0.0.1", listener.port, "executor.sma")
    m.add_listener(sink)
    try:
        m.increment("cycles_completed")
        m.timing("cycle_duration", 0.25)
        m.gauge("open_positions", 3)
        m.gauge("market_data_lag", 42.5)
        m.increment("reporter_failures", 1, channel="discord")
        m.increment("gas_spent", 0.0021)
        expected = {
            "executor.sma.cycles_completed:1|c",
            "executor.sma.cycle_duration:250.000000|ms",
            "executor.sma.open_positions:3.0|g",
            "executor.sma.market_data_lag:42.5|g",
            "executor.sma.reporter_failures.discord:1|c",
            "executor.sma.gas_spent:0.0021|c",
        }
        assert wait_until(lambda: expected <= set(listener.lines())), listener.lines()
    finally:
        sink.close()
        listener.close()


def test_unresolvable_statsd_host_costs_nothing_but_one_warning(caplog) -> None:
    m = MetricsRegistry()
    sink = StatsdSink("statsd.invalid", 8125)
    m.add_listener(sink)
    try:
        for _ in range(200):
            m.increment("cycles_completed")
        assert wait_until(lambda: sink.health.failures >= 1)
        assert sink.flush(5)
    finally:
        sink.close()
    assert m.value("cycles_completed") == 200
    warnings = [r for r in caplog.records if "statsd reporting failed" in r.getMessage()]
    assert len(warnings) == 1
    assert sink.sender.dropped == 200 and sink.sender.sent == 0
