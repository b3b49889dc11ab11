"""What each endpoint returns, as plain functions of a RunSnapshot (no HTTP, no pyramid).

Times are unix seconds (floats), as in the reference executor's `/status`; Decimal amounts
are JSON strings so no precision is lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec

from tradeexecutor.execution.run_state import (
    ExceptionInfo,
    RunSnapshot,
    TradingState,
    allowed_cycle_seconds,
    running_for,
    seconds_since_last_cycle,
    stall_bound,
    trading_state,
)

encoder = msgspec.json.Encoder(decimal_format="string")


def unix(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


def exception_document(info: ExceptionInfo | None) -> dict[str, Any] | None:
    if info is None:
        return None
    return {
        "message": info.message,
        "exception_type": info.exception_type,
        "traceback": info.traceback,
        "at": info.at.timestamp(),
    }


def degraded_document(s: RunSnapshot) -> dict[str, Any] | None:
    d = s.degraded
    if d is None:
        return None
    return {
        "since": d.since.timestamp(),
        "reason": d.reason,
        "component": d.component,
        "consecutive_failures": d.consecutive_failures,
        "next_attempt_at": unix(d.next_attempt_at),
    }


def halt_document(s: RunSnapshot) -> dict[str, Any] | None:
    h = s.halt
    if h is None:
        if s.executor_running:
            return None
        return {"kind": "stopped", "reason": s.halted_reason, "at": None, "stops_running": False}
    return {"kind": h.kind, "reason": h.reason, "at": h.at.timestamp(), "stops_running": h.stops_running}


def _current_step(s: RunSnapshot) -> str:
    return s.step or (f"cycle {s.current_cycle}" if s.current_cycle is not None else "the current step")


def stall_document(s: RunSnapshot, state: TradingState) -> dict[str, Any] | None:
    if state != TradingState.stalled:
        return None
    return {
        "step": _current_step(s),
        "started_at": unix(s.step_started_at or s.cycle_started_at),
        "bound": stall_bound(s),
    }


def state_sentence(s: RunSnapshot, state: TradingState) -> str:
    """One sentence saying what the executor is doing (the `reason` of `/health`, `state_reason` of
    `/status`); a function of the snapshot and its state only, so `/status` can be cached."""
    if state == TradingState.stalled:
        started = s.step_started_at or s.cycle_started_at
        since = f" (started {started:%Y-%m-%d %H:%M:%S} UTC)" if started is not None else ""
        by = " by --watchdog-timeout" if s.watchdog_timeout is not None else ""
        return (
            f"stalled: {_current_step(s)}{since} has been running longer than the {stall_bound(s):.0f}s "
            f"allowed{by}; no stop-loss check runs until it returns"
        )
    if state == TradingState.halted:
        reason = s.halt.reason if s.halt is not None else (s.halted_reason or "stopped")
        if s.halt is not None and s.halt.kind in ("strategy", "invariant"):
            protection = (
                "stop losses and take profits are still checked"
                if s.halt.stops_running
                else "stop-loss checks are stopped too"
            )
            return f"trading is halted: {reason}; {protection}"
        return f"trading is halted: {reason}"
    if state == TradingState.degraded:
        d = s.degraded
        assert d is not None
        return (
            f"degraded since {d.since:%Y-%m-%d %H:%M:%S} UTC: {d.reason} "
            f"({d.consecutive_failures} consecutive failure{'s' if d.consecutive_failures != 1 else ''}); retrying"
        )
    return "running"


def status_document(s: RunSnapshot, state: TradingState | None = None) -> dict[str, Any]:
    """`/status`. `state` is `trading_state(s, now)` (the only part that moves with the clock
    alone: a stuck loop publishes nothing new); by default as of the snapshot's last refresh."""
    state = state or trading_state(s, s.last_refreshed_at)
    return {
        "trading_state": state.value,
        "state_reason": state_sentence(s, state),
        "degraded": degraded_document(s),
        "halt": halt_document(s),
        "stall": stall_document(s, state),
        "cycles_skipped": s.cycles_skipped,
        "last_skipped_cycle": (
            {
                "cycle_at": s.last_skipped.cycle_at.timestamp(),
                "reason": s.last_skipped.reason,
                "at": s.last_skipped.at.timestamp(),
            }
            if s.last_skipped is not None
            else None
        ),
        "stop_loss_check_frequency": s.stop_loss_check_frequency,
        "last_trigger_check_at": unix(s.last_trigger_check_at),
        "watchdog_timeout": s.watchdog_timeout,
        "last_refreshed_at": s.last_refreshed_at.timestamp(),
        "executor_running": s.executor_running,
        "completed_cycle": s.completed_cycle,
        "exception": exception_document(s.exception),
        "strategy_id": s.metadata.id,
        "started_at": s.started_at.timestamp(),
        "halted_reason": s.halted_reason,
        "cycles_completed": s.cycles_completed,
        "cycles_failed": s.cycles_failed,
        "last_cycle_at": unix(s.last_cycle_at),
        "last_cycle_duration": s.last_cycle_duration,
        "current_cycle": s.current_cycle,
        "cycle_started_at": unix(s.cycle_started_at),
        "expected_cycle_duration": s.expected_cycle_duration,
        "last_trade_at": unix(s.last_trade_at),
        "trades_succeeded": s.trades_succeeded,
        "trades_failed": s.trades_failed,
        "frozen_positions": s.summary.frozen_positions,
        "market_data_lag": s.market_data_lag,
        "state_saved_at": unix(s.state.saved_at) if s.state is not None else None,
        "version": s.version,
        "git_revision": s.git_revision,
        "reporter_failures": dict(s.reporter_failures),
        "audit": dict(s.audit) if s.audit is not None else None,
    }


def plain_decimal(value: Decimal | None) -> str | None:
    """A Decimal as JSON text without an exponent or trailing zeros ("0.00000012", "1000")."""
    if value is None:
        return None
    if not value:
        return "0"
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def metadata_document(s: RunSnapshot) -> dict[str, Any]:
    m, summary = s.metadata, s.summary
    return {
        "id": m.id,
        "name": m.name,
        "short_description": m.short_description,
        "long_description": m.long_description,
        "icon_url": m.icon_url,
        "started_at": s.started_at.timestamp(),
        "executor_running": s.executor_running,
        "version": s.version,
        "summary": {
            "currency": summary.currency,
            "total_equity": plain_decimal(summary.total_equity),
            "cash": plain_decimal(summary.cash),
            "profit": plain_decimal(summary.profit),
            "open_positions": summary.open_positions,
            "frozen_positions": summary.frozen_positions,
        },
    }


@dataclass(frozen=True, slots=True)
class HealthReport:
    ok: bool
    reason: str
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def status_code(self) -> int:
        return 200 if self.ok else 503

    def document(self) -> dict[str, Any]:
        return {"healthy": self.ok, "reason": self.reason, **self.details}


def health(s: RunSnapshot, now: datetime) -> HealthReport:
    """Healthy = the executor does its job: `running`, or `degraded` (retrying a transient fault)
    while cycles still complete on time. Unhealthy (503): `halted`, `stalled` (a step ran past the
    watchdog bound, although the loop thread is alive), or no cycle completed within the cycle
    period plus grace (a degraded episode that lasts, a silent stall).

    Catches the reference executor's worst failure mode: the process is up, the webhook
    answers, but no cycle has run for hours (hung RPC call, deadlock).
    """
    state = trading_state(s, now)
    details: dict[str, Any] = {
        "state": state.value,
        "executor_running": s.executor_running,
        "checked_at": now.timestamp(),
        "last_cycle_at": unix(s.last_cycle_at),
        "current_cycle": s.current_cycle,
    }
    sentence = state_sentence(s, state)
    if state in (TradingState.halted, TradingState.stalled):
        if s.halt is not None:
            details["stops_running"] = s.halt.stops_running
        if state == TradingState.stalled:
            details["running_for"] = running_for(s, now)
        return HealthReport(False, sentence, details)
    allowed = allowed_cycle_seconds(s)
    if allowed is None:
        if state == TradingState.degraded:
            return HealthReport(True, sentence, details)
        return HealthReport(True, "running; waiting for the first cycle to report its period", details)
    period = s.expected_cycle_duration or 0.0
    details["allowed_seconds"] = allowed
    age = seconds_since_last_cycle(s, now)
    details["seconds_since_last_cycle"] = age
    if age > allowed and running_for(s, now) is None:
        what = "no cycle has completed" if s.last_cycle_at is None else "no cycle completed"
        overdue = f"{what} for {age:.0f}s; expected one every {period:.0f}s (+{allowed - period:.0f}s grace)"
        return HealthReport(
            False, f"{overdue}; {sentence}" if state == TradingState.degraded else overdue, details
        )
    if state == TradingState.degraded:
        return HealthReport(True, sentence, details)
    return HealthReport(True, "running; cycles complete on time", details)


class BadRequest(ValueError):
    """A query parameter is wrong; the message says which and what is allowed."""


def int_param(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f"{name} must be an integer from {low} to {high}, got {raw!r}") from None
    if not low <= value <= high:
        raise BadRequest(f"{name} must be an integer from {low} to {high}, got {value}")
    return value


DEFAULT_PAGE = 100
MAX_PAGE = 1000
MAX_OFFSET = 10**12


@dataclass(frozen=True, slots=True)
class Page:
    offset: int
    limit: int
    descending: bool


def parse_page(params: Mapping[str, str]) -> Page:
    offset = int_param(params, "offset", 0, 0, MAX_OFFSET)
    limit = int_param(params, "limit", DEFAULT_PAGE, 1, MAX_PAGE)
    order = params.get("order", "asc")
    if order not in ("asc", "desc"):
        raise BadRequest(f"order must be asc or desc, got {order!r}")
    return Page(offset, limit, order == "desc")


def page_body(items: tuple[bytes, ...], page: Page, key: str) -> bytes:
    """Assemble `{"total":..,"offset":..,"limit":..,key:[...]}` from pre-encoded items."""
    source = items[::-1] if page.descending else items
    chosen = source[page.offset : page.offset + page.limit]
    head = b'{"total":%d,"offset":%d,"limit":%d,"order":"%s","%s":[' % (
        len(items),
        page.offset,
        page.limit,
        b"desc" if page.descending else b"asc",
        key.encode("ascii"),
    )
    return head + b",".join(chosen) + b"]}"


LOG_LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40, "critical": 50}
DEFAULT_LOG_LIMIT = 100
MAX_LOG_LIMIT = 2000


def parse_log_query(params: Mapping[str, str]) -> tuple[int, int]:
    level = params.get("level", "info").lower()
    if level not in LOG_LEVELS:
        raise BadRequest(f"level must be one of {', '.join(LOG_LEVELS)}, got {level!r}")
    return LOG_LEVELS[level], int_param(params, "limit", DEFAULT_LOG_LIMIT, 1, MAX_LOG_LIMIT)
