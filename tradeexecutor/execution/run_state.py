"""What the executor is doing right now, published by the loop and read by the webhook.

The live loop runs in the main thread and publishes; webhook requests run in waitress
worker threads and read. Readers take `run_state.snapshot`: an immutable `RunSnapshot`
that the writer replaces as a whole (one attribute assignment, atomic in CPython), so

- a request never waits for a slow cycle (readers take no lock), and
- a request never sees a half-updated state (a snapshot is never modified).

Writers (the loop, and reporter threads recording their failures) serialise on one lock,
so read-modify-write updates like "one more completed cycle" never lose an increment.

Everything expensive that every request would otherwise redo is computed once per publish:
positions and trades are encoded to JSON bytes item by item (pagination slices bytes), the
saved state gets its ETag and a gzipped copy.

Expected keys of the JSON-ready lists the loop publishes (extra keys are passed through;
Decimals become JSON strings, datetimes ISO 8601):

    positions: position_id (int, required), pair (str, e.g. "WETH-USDC"), status ("open" |
        "closed" | "frozen"), opened_at, closed_at, quantity, value, entry_price,
        current_price, realised_profit, unrealised_profit, frozen_reason
    trades: trade_id (int, required), position_id, pair, side ("buy" | "sell"), status
        ("planned" | "broadcast" | "success" | "failed"), planned_at, executed_at,
        quantity, price, value, tx_hash, failure_reason
    price_series: {pair ticker: [(open time, close time, open, high, low, close), ...]}, the
        candles the strategy dashboard draws (tz-aware times; see `publish.price_series`)
"""

from __future__ import annotations

import dataclasses
import enum
import gzip
import hashlib
import threading
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any

import msgspec

from tradeexecutor.config.redaction import redact

Clock = Callable[[], datetime]

_EMPTY_MAPPING: Mapping[str, int] = MappingProxyType({})
_encoder = msgspec.json.Encoder(decimal_format="string")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class StrategyMetadata:
    """Shown by `/metadata` and in Discord messages; descriptions come from the strategy module."""

    id: str
    name: str
    short_description: str | None = None
    long_description: str | None = None
    icon_url: str | None = None


@dataclass(frozen=True, slots=True)
class PortfolioSummary:
    """Headline figures computed by the loop after revaluation (human amounts, Decimal)."""

    total_equity: Decimal | None = None
    cash: Decimal | None = None
    open_positions: int = 0
    frozen_positions: int = 0
    currency: str | None = None  # the reserve currency's symbol, which the amounts are in
    profit: Decimal | None = None  # realised plus unrealised profit of every position
    gas_balance: Decimal | None = None  # the hot wallet's native token as last synced; None for paper trading


class TradingState(enum.StrEnum):
    """What the executor is doing, as `/health`, `/status` and the metrics say it.

    `stalled` is not set by anyone: it is read off the clock, because a stuck loop cannot
    say that it is stuck (see `trading_state`)."""

    running = "running"
    degraded = "degraded"  # a transient fault: retrying, trading resumes by itself
    halted = "halted"  # a strategy error or an invariant violation: an operator must act
    stalled = "stalled"  # the current cycle (or check) has run longer than the watchdog allows


@dataclass(frozen=True, slots=True)
class Degradation:
    """An ongoing episode of transient faults (the node is down, the disk is full, ...)."""

    since: datetime
    reason: str  # the latest failure, one sentence
    component: str  # what failed: "cycle", "stop-loss check", "save", "start-up"
    consecutive_failures: int = 1
    next_attempt_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Halt:
    """Why trading stopped, and whether open positions are still protected."""

    kind: str  # "strategy" | "invariant" | "stopped"
    reason: str
    at: datetime
    stops_running: bool = False  # stop-loss / take-profit checks go on


@dataclass(frozen=True, slots=True)
class SkippedCycle:
    """A cycle whose window passed before it could complete."""

    cycle_at: datetime  # the cycle's scheduled timestamp
    reason: str
    at: datetime


@dataclass(frozen=True, slots=True)
class ExceptionInfo:
    """A failure as shown to operators: already redacted, no live exception object kept."""

    message: str
    traceback: str
    at: datetime
    exception_type: str

    @classmethod
    def from_exception(cls, exc: BaseException, at: datetime) -> ExceptionInfo:
        """A strategy's exception (anything with `summary` and `user_traceback`, see
        strategy/user_code.py) shows the strategy's frames only: the executor's frames that led
        into `decide_trades` are noise to its author. Anything else keeps its whole traceback."""
        user_traceback = getattr(exc, "user_traceback", None)
        summary = getattr(exc, "summary", None)
        if isinstance(user_traceback, str) and isinstance(summary, str):
            text = f"{summary}\n{user_traceback}".rstrip("\n")
            message = summary
        else:
            text = "".join(traceback.format_exception(exc)).rstrip("\n")
            message = str(exc)
        return cls(
            message=redact(message) or exc.__class__.__name__,
            traceback=redact(text),
            at=at,
            exception_type=exc.__class__.__name__,
        )


@dataclass(frozen=True, slots=True)
class SavedState:
    """The last state file the store wrote, as served by `/state`."""

    data: bytes
    gzipped: bytes
    etag: str
    saved_at: datetime

    @property
    def gzip_etag(self) -> str:
        """A different representation must have a different strong ETag (RFC 9110 8.8.3)."""
        return self.etag[:-1] + '-gzip"'

    @classmethod
    def from_bytes(cls, data: bytes, saved_at: datetime) -> SavedState:
        digest = hashlib.blake2b(data, digest_size=16).hexdigest()
        # mtime=0 makes the gzip bytes a pure function of the data.
        gzipped = gzip.compress(data, compresslevel=6, mtime=0)
        return cls(data=data, gzipped=gzipped, etag=f'"{digest}"', saved_at=saved_at)


@dataclass(frozen=True, slots=True)
class RunSnapshot:
    """One consistent picture of the executor. Never mutated: publish a new one instead."""

    started_at: datetime
    last_refreshed_at: datetime
    metadata: StrategyMetadata
    version: str = "0+unknown"
    git_revision: str | None = None
    executor_running: bool = True
    halted_reason: str | None = None
    # cycles
    completed_cycle: int | None = None
    last_cycle_at: datetime | None = None
    cycles_completed: int = 0
    cycles_failed: int = 0
    last_cycle_duration: float | None = None
    # watchdog: what is running now and how long a cycle may take
    current_cycle: int | None = None
    cycle_started_at: datetime | None = None
    expected_cycle_duration: float | None = None
    cycle_grace: float | None = None
    watchdog_timeout: float | None = None  # seconds a step may run before the executor counts as stalled
    step: str | None = None  # what the loop is doing now: "cycle 12", "stop-loss check"
    step_started_at: datetime | None = None
    # survival: transient faults, halts, skipped cycles, protection
    degraded: Degradation | None = None
    halt: Halt | None = None
    cycles_skipped: int = 0
    last_skipped: SkippedCycle | None = None
    stop_loss_check_frequency: float | None = None  # seconds; None when the checks are off
    last_trigger_check_at: datetime | None = None
    # trading
    last_trade_at: datetime | None = None
    trades_succeeded: int = 0
    trades_failed: int = 0
    market_data_lag: float | None = None
    exception: ExceptionInfo | None = None
    summary: PortfolioSummary = field(default_factory=PortfolioSummary)
    # the last account audit (AuditReport.summary(): JSON-ready, unix times), None before the first
    audit: Mapping[str, Any] | None = None
    # reporting
    reporter_failures: Mapping[str, int] = field(default_factory=lambda: _EMPTY_MAPPING)
    # served as-is by the webhook
    state: SavedState | None = None
    positions_json: tuple[bytes, ...] = ()
    trades_json: tuple[bytes, ...] = ()
    source: str | None = None
    # drawn by the strategy dashboard: pair ticker -> ((open time, close time, o, h, l, c), ...), oldest first
    price_series: Mapping[str, tuple[tuple[datetime, datetime, float, float, float, float], ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )


MIN_HEALTH_GRACE = 60.0  # seconds of slack however short the cycle
HEALTH_GRACE_FRACTION = 0.25  # of the cycle period


def allowed_cycle_seconds(s: RunSnapshot) -> float | None:
    """How long after the last completed cycle the next one must have completed: period + grace."""
    period = s.expected_cycle_duration
    if period is None:
        return None
    grace = (
        s.cycle_grace if s.cycle_grace is not None else max(MIN_HEALTH_GRACE, HEALTH_GRACE_FRACTION * period)
    )
    return period + grace


def stall_bound(s: RunSnapshot) -> float | None:
    """Seconds one step (a cycle, a stop-loss check) may run: the watchdog timeout, else period + grace."""
    return s.watchdog_timeout if s.watchdog_timeout is not None else allowed_cycle_seconds(s)


def running_for(s: RunSnapshot, now: datetime) -> float | None:
    """Seconds the current step has been running, None when the loop is between steps."""
    started = s.step_started_at or s.cycle_started_at
    return (now - started).total_seconds() if started is not None else None


def is_stalled(s: RunSnapshot, now: datetime) -> bool:
    bound, running = stall_bound(s), running_for(s, now)
    return bound is not None and running is not None and running > bound


def trading_state(s: RunSnapshot, now: datetime) -> TradingState:
    """stalled > halted > degraded > running: a stuck loop is the most urgent news, even after a halt
    (its stop-loss checks may be what is stuck)."""
    if is_stalled(s, now):
        return TradingState.stalled
    if not s.executor_running or s.halt is not None:
        return TradingState.halted
    if s.degraded is not None:
        return TradingState.degraded
    return TradingState.running


def seconds_since_last_cycle(s: RunSnapshot, now: datetime) -> float:
    """Since the last completed cycle, or since start when none has completed yet."""
    return (now - (s.last_cycle_at or s.started_at)).total_seconds()


# Fields the loop may set directly through publish(); the rest have dedicated methods.
_DERIVED = {"positions_json", "trades_json", "reporter_failures", "state"}
_PUBLISHABLE = {f.name for f in dataclasses.fields(RunSnapshot)} - _DERIVED | {"positions", "trades"}


def encode_items(items: Iterable[Mapping[str, Any]], id_key: str) -> tuple[bytes, ...]:
    """Encode each dict to JSON once, in ascending `id_key` order (the order the webhook's
    listings page through); fail early (in the loop, not in a request) on bad items."""
    checked = []
    for index, item in enumerate(items):
        if not isinstance(item, Mapping) or not isinstance(item.get(id_key), int):
            raise ValueError(f"item {index} must be a dict with an integer {id_key!r}, got {item!r:.80}")
        checked.append(item)
    return tuple(_encoder.encode(item) for item in sorted_by_id(checked, id_key))


def sorted_by_id(items: list[Mapping[str, Any]], id_key: str) -> list[Mapping[str, Any]]:
    """Ascending by id. Publishers hand lists already in that order, which costs one pass."""
    if all(a[id_key] < b[id_key] for a, b in zip(items, items[1:], strict=False)):
        return items
    return sorted(items, key=lambda item: item[id_key])


def freeze_price_series(series: Mapping[str, Iterable[tuple[Any, ...]]]) -> Mapping[str, Any]:
    """An immutable copy of the candles with float prices; naive times are refused like everywhere else."""
    frozen: dict[str, tuple[tuple[datetime, datetime, float, float, float, float], ...]] = {}
    for ticker, candles in series.items():
        rows = tuple(
            (start, end, float(o), float(h), float(lo), float(c)) for start, end, o, h, lo, c in candles
        )
        for start, end, *_ in rows[:1] + rows[-1:]:
            _check_aware(f"price_series[{ticker!r}] time", start)
            _check_aware(f"price_series[{ticker!r}] time", end)
        frozen[str(ticker)] = rows
    return MappingProxyType(frozen)


def _check_aware(name: str, value: Any) -> None:
    if isinstance(value, datetime) and value.tzinfo is None:
        raise ValueError(f"{name} must be a timezone-aware UTC datetime, got a naive one")


class RunState:
    """Holder of the current `RunSnapshot`: lock-free reads, serialised writes."""

    def __init__(
        self,
        metadata: StrategyMetadata,
        *,
        version: str | None = None,
        git_revision: str | None = None,
        source: str | None = None,
        clock: Clock = utc_now,
    ) -> None:
        if version is None:
            from tradeexecutor.version import get_git_revision, get_version

            version = get_version()
            git_revision = git_revision or get_git_revision()
        self._clock = clock
        self._write_lock = threading.Lock()
        now = clock()
        self._snapshot = RunSnapshot(
            started_at=now,
            last_refreshed_at=now,
            metadata=metadata,
            version=version,
            git_revision=git_revision,
            source=source,
        )

    @property
    def snapshot(self) -> RunSnapshot:
        """The current snapshot; keep a reference and read it as often as you like."""
        return self._snapshot

    def now(self) -> datetime:
        return self._clock()

    def publish(self, **changes: Any) -> RunSnapshot:
        """Replace the snapshot with these fields changed (and `last_refreshed_at` = now).

        Accepts any RunSnapshot field except the derived ones, plus `positions=` and
        `trades=` (lists of dicts, see the module docstring) and `exception=` as a live
        exception. Unknown names raise TypeError so a typo in the loop fails loudly.
        """
        unknown = set(changes) - _PUBLISHABLE
        if unknown:
            raise TypeError(f"RunState.publish() got unknown fields: {', '.join(sorted(unknown))}")
        prepared = self._prepare(changes)
        with self._write_lock:
            return self._replace_locked(prepared)

    def _prepare_publishable(self, changes: dict[str, Any], method: str) -> dict[str, Any]:
        unknown = set(changes) - _PUBLISHABLE
        if unknown:
            raise TypeError(f"RunState.{method}() got unknown fields: {', '.join(sorted(unknown))}")
        return self._prepare(changes)

    def _prepare(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Convert and encode outside the lock: the expensive part of a publish."""
        prepared: dict[str, Any] = {}
        for name, value in changes.items():
            _check_aware(name, value)
            if name == "positions":
                prepared["positions_json"] = encode_items(value, "position_id")
            elif name == "trades":
                prepared["trades_json"] = encode_items(value, "trade_id")
            elif name == "exception" and isinstance(value, BaseException):
                prepared["exception"] = ExceptionInfo.from_exception(value, self._clock())
            elif name == "metadata" and isinstance(value, Mapping):
                prepared["metadata"] = StrategyMetadata(**value)
            elif name == "summary" and isinstance(value, Mapping):
                prepared["summary"] = PortfolioSummary(**value)
            elif name == "audit" and value is not None:
                # frozen, so the snapshot stays immutable; encoded once here to fail early on bad values
                _encoder.encode(value)
                prepared["audit"] = MappingProxyType(dict(value))
            elif name == "price_series":
                prepared["price_series"] = freeze_price_series(value)
            else:
                prepared[name] = value
        return prepared

    def _replace_locked(self, fields: dict[str, Any]) -> RunSnapshot:
        fields.setdefault("last_refreshed_at", self._clock())
        snapshot = dataclasses.replace(self._snapshot, **fields)
        self._snapshot = snapshot
        return snapshot

    def _update(self, make_fields: Callable[[RunSnapshot], dict[str, Any]]) -> RunSnapshot:
        """Read-modify-write under the writer lock (for counters)."""
        with self._write_lock:
            return self._replace_locked(make_fields(self._snapshot))

    # --- the cycle lifecycle -----------------------------------------------------------------

    def cycle_started(
        self,
        cycle: int,
        *,
        expected_duration: float | None = None,
        grace: float | None = None,
        at: datetime | None = None,
    ) -> RunSnapshot:
        """Watchdog input: a cycle began; `expected_duration` is the cycle period in seconds."""
        _check_aware("at", at)
        when = at or self._clock()
        changes: dict[str, Any] = {
            "current_cycle": cycle,
            "cycle_started_at": when,
            "step": f"cycle {cycle}",
            "step_started_at": when,
        }
        if expected_duration is not None:
            changes["expected_cycle_duration"] = float(expected_duration)
        if grace is not None:
            changes["cycle_grace"] = float(grace)
        return self._update(lambda s: changes)

    def cycle_completed(
        self,
        cycle: int,
        *,
        at: datetime | None = None,
        duration: float | None = None,
        trades_succeeded: int = 0,
        trades_failed: int = 0,
        **changes: Any,
    ) -> RunSnapshot:
        """Count a completed cycle; extra keyword arguments are published in the same snapshot."""
        _check_aware("at", at)
        prepared = self._prepare_publishable(changes, "cycle_completed")
        when = at or self._clock()

        def fields(s: RunSnapshot) -> dict[str, Any]:
            return {
                **prepared,
                "completed_cycle": cycle,
                "last_cycle_at": when,
                "last_cycle_duration": duration,
                "cycles_completed": s.cycles_completed + 1,
                "current_cycle": None,
                "cycle_started_at": None,
                "step": None,
                "step_started_at": None,
                "exception": None,
                "trades_succeeded": s.trades_succeeded + trades_succeeded,
                "trades_failed": s.trades_failed + trades_failed,
                "last_trade_at": when if trades_succeeded else s.last_trade_at,
            }

        return self._update(fields)

    def trades_executed(
        self, *, succeeded: int, failed: int, at: datetime | None = None, **changes: Any
    ) -> RunSnapshot:
        """Count trades made between cycles (stop losses, take profits); extra keyword arguments
        are published in the same snapshot."""
        _check_aware("at", at)
        prepared = self._prepare_publishable(changes, "trades_executed")
        when = at or self._clock()

        def fields(s: RunSnapshot) -> dict[str, Any]:
            return {
                **prepared,
                "trades_succeeded": s.trades_succeeded + succeeded,
                "trades_failed": s.trades_failed + failed,
                "last_trade_at": when if succeeded else s.last_trade_at,
            }

        return self._update(fields)

    def cycle_failed(
        self, exc: BaseException, *, cycle: int | None = None, halt: bool = False, at: datetime | None = None
    ) -> RunSnapshot:
        """Count a failed cycle and show the (redacted) exception; `halt=True` marks trading stopped."""
        _check_aware("at", at)
        info = ExceptionInfo.from_exception(exc, at or self._clock())

        def fields(s: RunSnapshot) -> dict[str, Any]:
            changes: dict[str, Any] = {
                "cycles_failed": s.cycles_failed + 1,
                "exception": info,
                "current_cycle": None,
                "cycle_started_at": None,
                "step": None,
                "step_started_at": None,
            }
            if halt:
                label = f"cycle {cycle} failed" if cycle is not None else "cycle failed"
                reason = f"{label}: {info.message}"
                changes.update(
                    executor_running=False,
                    halted_reason=reason,
                    halt=s.halt or Halt(kind="strategy", reason=reason, at=info.at),
                )
            return changes

        return self._update(fields)

    def halted(self, reason: str, *, kind: str = "stopped", stops_running: bool = False) -> RunSnapshot:
        """Trading stopped (a strategy error, an invariant violation, Ctrl-C); the webhook stays up and
        says why, and whether stop losses are still checked."""
        text = redact(reason)
        halt = Halt(kind=kind, reason=text, at=self._clock(), stops_running=stops_running)
        return self.publish(
            executor_running=False,
            halted_reason=text,
            halt=halt,
            degraded=None,
            step=None,
            step_started_at=None,
            current_cycle=None,
            cycle_started_at=None,
        )

    # --- survival: steps, transient faults, skipped cycles ------------------------------------

    def step_started(self, step: str, at: datetime | None = None) -> RunSnapshot:
        """Watchdog input for work outside a cycle (a stop-loss check, the start-up audit)."""
        _check_aware("at", at)
        when = at or self._clock()
        return self._update(lambda s: {"step": step, "step_started_at": when})

    def step_finished(self) -> RunSnapshot:
        return self._update(lambda s: {"step": None, "step_started_at": None})

    def trigger_checked(self, at: datetime | None = None) -> RunSnapshot:
        _check_aware("at", at)
        when = at or self._clock()
        return self._update(lambda s: {"last_trigger_check_at": when, "step": None, "step_started_at": None})

    def degraded(
        self,
        component: str,
        reason: str,
        *,
        since: datetime,
        failures: int,
        next_attempt_at: datetime | None = None,
        exc: BaseException | None = None,
        failed_cycle: bool = False,
    ) -> RunSnapshot:
        """A transient fault: trading goes on by itself once it passes; `/status` says since when.
        `failed_cycle=True` when it was a cycle that failed (counted in `cycles_failed`)."""
        _check_aware("since", since)
        info = ExceptionInfo.from_exception(exc, self._clock()) if exc is not None else None
        episode = Degradation(
            since=since,
            reason=redact(reason),
            component=component,
            consecutive_failures=failures,
            next_attempt_at=next_attempt_at,
        )

        def fields(s: RunSnapshot) -> dict[str, Any]:
            changes: dict[str, Any] = {"degraded": episode, "step": None, "step_started_at": None}
            if failed_cycle:
                changes["cycles_failed"] = s.cycles_failed + 1
            if s.step is not None and s.step.startswith("cycle"):
                changes.update(current_cycle=None, cycle_started_at=None)
            if info is not None:
                changes["exception"] = info
            return changes

        return self._update(fields)

    def recovered(self) -> RunSnapshot:
        """The transient fault passed."""
        return self._update(lambda s: {"degraded": None})

    def cycle_skipped(self, cycle_at: datetime, reason: str) -> RunSnapshot:
        """A cycle's window passed while it could not run (the node was down all along)."""
        _check_aware("cycle_at", cycle_at)
        skipped = SkippedCycle(cycle_at=cycle_at, reason=redact(reason), at=self._clock())
        return self._update(lambda s: {"cycles_skipped": s.cycles_skipped + 1, "last_skipped": skipped})

    # --- data served by the webhook ------------------------------------------------------------

    def update_state_bytes(self, data: bytes, *, saved_at: datetime | None = None) -> SavedState:
        """Publish the bytes of the state file just saved; ETag and gzip are computed here, once."""
        _check_aware("saved_at", saved_at)
        saved = SavedState.from_bytes(bytes(data), saved_at or self._clock())
        with self._write_lock:
            self._replace_locked({"state": saved})
        return saved

    def record_reporter_failures(self, channel: str, total: int) -> None:
        """A reporting channel's failure count (a ChannelHealth listener)."""

        def fields(s: RunSnapshot) -> dict[str, Any]:
            failures = dict(s.reporter_failures)
            failures[channel] = max(total, failures.get(channel, 0))
            return {"reporter_failures": MappingProxyType(failures), "last_refreshed_at": s.last_refreshed_at}

        self._update(fields)
