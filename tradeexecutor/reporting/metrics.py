"""One registry of operational figures, feeding both statsd (push) and `/metrics` (pull).

Every figure is declared once in `METRICS` with its kind and help text, so statsd and
Prometheus always carry the same names and an unknown name (a typo) raises at once.
Listeners (the statsd sink) are called after the registry is updated, outside its lock,
in the caller's thread: they must not block (the statsd sink only enqueues).
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Protocol


class Kind(Enum):
    COUNTER = "counter"
    GAUGE = "gauge"
    TIMER = "timer"


@dataclass(frozen=True, slots=True)
class MetricSpec:
    name: str
    kind: Kind
    help: str
    unit: str = ""


METRICS: tuple[MetricSpec, ...] = (
    MetricSpec("cycle_duration", Kind.TIMER, "Wall time of a completed strategy cycle.", "seconds"),
    MetricSpec("cycles_completed", Kind.COUNTER, "Strategy cycles that completed."),
    MetricSpec("cycles_failed", Kind.COUNTER, "Strategy cycles that raised."),
    MetricSpec("trades_succeeded", Kind.COUNTER, "Trades confirmed on chain."),
    MetricSpec("trades_failed", Kind.COUNTER, "Trades that failed or reverted."),
    MetricSpec("gas_used", Kind.COUNTER, "Gas units used by the executor's transactions."),
    MetricSpec("gas_spent", Kind.COUNTER, "Native token (ETH, BNB, MATIC) spent on gas.", "native"),
    MetricSpec("portfolio_value", Kind.GAUGE, "Total equity after the last revaluation.", "reserve"),
    MetricSpec("open_positions", Kind.GAUGE, "Open positions after the last cycle."),
    MetricSpec("reserve_balance", Kind.GAUGE, "Cash in the reserve currency.", "reserve"),
    MetricSpec("market_data_lag", Kind.GAUGE, "Age of the newest candle when the cycle ran.", "seconds"),
    MetricSpec("webhook_requests", Kind.COUNTER, "HTTP requests served by the webhook."),
    MetricSpec("reporter_failures", Kind.COUNTER, "Failed deliveries per reporting channel."),
    MetricSpec("discord_messages_dropped", Kind.COUNTER, "Discord messages dropped from a full queue."),
    MetricSpec(
        "trading_state",
        Kind.GAUGE,
        "1 for the executor's current state (label state: running, degraded, halted, stalled), 0 for the others.",
    ),
    MetricSpec(
        "last_cycle_age", Kind.GAUGE, "Time since the last completed cycle (or since start).", "seconds"
    ),
    MetricSpec(
        "gas_balance",
        Kind.GAUGE,
        "Native token (ETH, BNB, MATIC) in the hot wallet at the last sync.",
        "native",
    ),
    MetricSpec(
        "degraded_episodes", Kind.COUNTER, "Episodes of transient faults (node down, disk full, late data)."
    ),
    MetricSpec(
        "consecutive_failures", Kind.GAUGE, "Failed attempts in the current degraded episode, 0 when none."
    ),
    MetricSpec("cycles_skipped", Kind.COUNTER, "Cycles whose window passed before they could complete."),
)
SPECS: Mapping[str, MetricSpec] = {m.name: m for m in METRICS}

Labels = tuple[tuple[str, str], ...]
Number = int | float | Decimal
GaugeReading = Iterable[tuple[Mapping[str, str], Number]]
"""What an observed gauge reads at scrape time: (labels, value) pairs, e.g. one per state."""


class MetricsListener(Protocol):
    def on_counter(self, name: str, value: float, labels: Labels) -> None: ...
    def on_gauge(self, name: str, value: float, labels: Labels) -> None: ...
    def on_timing(self, name: str, seconds: float, labels: Labels) -> None: ...


@dataclass(frozen=True, slots=True)
class Sample:
    spec: MetricSpec
    labels: Labels
    value: float  # counter total, gauge value, or timer sum of seconds
    count: int = 0  # timer observations


class MetricsRegistry:
    def __init__(self, namespace: str = "trade_executor") -> None:
        self.namespace = namespace
        self._values: dict[tuple[str, Labels], float] = {}
        self._counts: dict[tuple[str, Labels], int] = {}
        self._listeners: list[MetricsListener] = []
        self._observed: dict[str, Callable[[], float]] = {}
        self._observed_gauges: dict[str, Callable[[], GaugeReading]] = {}
        self._pushed: dict[str, float] = {}
        self._lock = threading.Lock()

    def add_listener(self, listener: MetricsListener) -> None:
        self._listeners.append(listener)

    def remove_listener(self, listener: MetricsListener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def increment(self, name: str, value: Number = 1, **labels: str) -> None:
        key, number = self._key(name, Kind.COUNTER, labels), float(value)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + number
        self._notify(lambda listener: listener.on_counter(name, number, key[1]))

    def gauge(self, name: str, value: Number, **labels: str) -> None:
        key, number = self._key(name, Kind.GAUGE, labels), float(value)
        with self._lock:
            self._values[key] = number
        self._notify(lambda listener: listener.on_gauge(name, number, key[1]))

    def timing(self, name: str, seconds: Number, **labels: str) -> None:
        key, number = self._key(name, Kind.TIMER, labels), float(seconds)
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + number
            self._counts[key] = self._counts.get(key, 0) + 1
        self._notify(lambda listener: listener.on_timing(name, number, key[1]))

    def observe_counter(self, name: str, read: Callable[[], float]) -> None:
        """A counter kept elsewhere (e.g. the webhook's request count, bumped per request).

        Hot paths count with a plain integer; the registry reads it when `/metrics` is
        scraped and pushes the increase to listeners (statsd) on `push_observed()`, which the
        Reporter calls once per cycle, instead of one datagram per request.
        """
        self._key(name, Kind.COUNTER, {})
        with self._lock:
            self._observed[name] = read
            self._pushed.setdefault(name, 0.0)

    def observe_gauge(self, name: str, read: Callable[[], GaugeReading]) -> None:
        """A gauge computed when it is read (`/metrics` scrape, `push_observed()`), such as the
        time since the last cycle, which grows while nothing happens, or the trading state,
        which turns `stalled` on the clock alone."""
        self._key(name, Kind.GAUGE, {})
        with self._lock:
            self._observed_gauges[name] = read

    def _read_gauges(self) -> list[tuple[str, Labels, float]]:
        with self._lock:
            readers = dict(self._observed_gauges)
        out = []
        for name, read in readers.items():
            try:
                rows = list(read())
            except Exception:  # a reader must never break a scrape or the loop
                continue
            out += [
                (name, tuple(sorted((k, str(v)) for k, v in labels.items())), float(v)) for labels, v in rows
            ]
        return out

    def push_observed(self) -> None:
        with self._lock:
            readings = {name: float(read()) for name, read in self._observed.items()}
            deltas = {name: value - self._pushed.get(name, 0.0) for name, value in readings.items()}
            self._pushed.update(readings)
        for name, delta in deltas.items():
            if delta > 0:
                self._notify(lambda listener, n=name, d=delta: listener.on_counter(n, d, ()))
        for name, labels, value in self._read_gauges():
            self._notify(lambda listener, n=name, lb=labels, v=value: listener.on_gauge(n, v, lb))

    def value(self, name: str, **labels: str) -> float | None:
        if name in self._observed and not labels:
            return float(self._observed[name]())
        key = tuple(sorted(labels.items()))
        if name in self._observed_gauges:
            return next((v for n, lb, v in self._read_gauges() if n == name and lb == key), None)
        return self._values.get((name, key))

    def samples(self) -> list[Sample]:
        """A consistent copy of every figure, declared order, unlabelled zero for unseen ones."""
        with self._lock:
            values, counts = dict(self._values), dict(self._counts)
            for name, read in self._observed.items():
                values[(name, ())] = values.get((name, ()), 0.0) + float(read())
        for name, labels, value in self._read_gauges():
            values[(name, labels)] = value
        out: list[Sample] = []
        for spec in METRICS:
            keys = sorted(k for k in values if k[0] == spec.name)
            if not keys:
                out.append(Sample(spec, (), 0.0, 0))
            out += [Sample(spec, k[1], values[k], counts.get(k, 0)) for k in keys]
        return out

    def prometheus_text(self) -> str:
        return render_prometheus(self.samples(), self.namespace)

    def _key(self, name: str, kind: Kind, labels: Mapping[str, str]) -> tuple[str, Labels]:
        spec = SPECS.get(name)
        if spec is None:
            raise KeyError(f"unknown metric {name!r}: declare it in tradeexecutor.reporting.metrics.METRICS")
        if spec.kind is not kind:
            raise TypeError(f"metric {name!r} is a {spec.kind.value}, not a {kind.value}")
        return name, tuple(sorted((k, str(v)) for k, v in labels.items()))

    def _notify(self, call: Callable[[MetricsListener], None]) -> None:
        for listener in list(self._listeners):
            # A sink must never break the caller (the trading loop).
            with contextlib.suppress(Exception):
                call(listener)


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _format_number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(value)


def _label_text(labels: Labels) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape_label(v)}"' for k, v in labels) + "}"


def prometheus_name(spec: MetricSpec, namespace: str) -> str:
    base = f"{namespace}_{spec.name}" if namespace else spec.name
    if spec.kind is Kind.TIMER and spec.unit == "seconds":
        return base + "_seconds"
    if spec.kind is Kind.GAUGE and spec.unit == "seconds":
        return base + "_seconds"
    return base


def render_prometheus(samples: list[Sample], namespace: str = "trade_executor") -> str:
    """Prometheus text exposition format 0.0.4: counters as `_total`, timers as summaries."""
    lines: list[str] = []
    seen: set[str] = set()
    for sample in samples:
        spec = sample.spec
        name = prometheus_name(spec, namespace)
        if spec.name not in seen:
            seen.add(spec.name)
            kind = {Kind.COUNTER: "counter", Kind.GAUGE: "gauge", Kind.TIMER: "summary"}[spec.kind]
            family = name + "_total" if spec.kind is Kind.COUNTER else name
            lines.append(f"# HELP {family} {spec.help}")
            lines.append(f"# TYPE {family} {kind}")
        labels = _label_text(sample.labels)
        if spec.kind is Kind.COUNTER:
            lines.append(f"{name}_total{labels} {_format_number(sample.value)}")
        elif spec.kind is Kind.GAUGE:
            lines.append(f"{name}{labels} {_format_number(sample.value)}")
        else:
            lines.append(f"{name}_sum{labels} {_format_number(sample.value)}")
            lines.append(f"{name}_count{labels} {sample.count}")
    return "\n".join(lines) + "\n"
