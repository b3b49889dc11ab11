"""Push the metrics registry to a statsd server.

The `statsd` package formats the lines (prefix, `|c`, `|g`, `|ms`); our `UdpSender`
transports them, so an unresolvable or dead statsd host never blocks the loop: the stock
`StatsClient` resolves the host in its constructor and would raise on a bad name.
"""

from __future__ import annotations

from statsd.client.base import StatsClientBase
from statsd.client.udp import Pipeline

from tradeexecutor.reporting.channel import ChannelHealth
from tradeexecutor.reporting.metrics import Labels
from tradeexecutor.reporting.udp import UdpSender

DEFAULT_PORT = 8125
DEFAULT_PREFIX = "trade_executor"


class QueuedStatsClient(StatsClientBase):
    """A statsd client whose datagrams go through a background UdpSender."""

    def __init__(self, sender: UdpSender, prefix: str | None) -> None:
        self._sender = sender
        self._prefix = prefix or None
        self._maxudpsize = 512

    def _send(self, data: str) -> None:
        self._sender.submit(data.encode("ascii", "replace"))

    def pipeline(self) -> Pipeline:
        return Pipeline(self)

    def close(self) -> None:
        self._sender.close()


def statsd_name(name: str, labels: Labels) -> str:
    """`reporter_failures` + channel=discord -> `reporter_failures.discord` (statsd has no labels)."""
    safe = [v.replace(".", "_").replace(":", "_").replace("|", "_") for _, v in labels]
    return ".".join([name, *safe])


class StatsdSink:
    """A MetricsRegistry listener: every counter, gauge and timing goes to statsd too."""

    def __init__(self, host: str, port: int = DEFAULT_PORT, prefix: str = DEFAULT_PREFIX) -> None:
        self.health = ChannelHealth("statsd")
        self.sender = UdpSender(host, port, self.health)
        self.client = QueuedStatsClient(self.sender, prefix)

    def on_counter(self, name: str, value: float, labels: Labels) -> None:
        self.client.incr(statsd_name(name, labels), int(value) if float(value).is_integer() else value)

    def on_gauge(self, name: str, value: float, labels: Labels) -> None:
        self.client.gauge(statsd_name(name, labels), value)

    def on_timing(self, name: str, seconds: float, labels: Labels) -> None:
        self.client.timing(statsd_name(name, labels), seconds * 1000.0)

    def flush(self, timeout: float = 2.0) -> bool:
        return self.sender.flush(timeout)

    def close(self, timeout: float = 2.0) -> None:
        self.sender.close(timeout)
