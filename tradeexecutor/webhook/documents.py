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

from tradeexecutor.execution.run_state import ExceptionInfo, RunSnapshot

encoder = msgspec.json.Encoder(decimal_format="string")

MIN_HEALTH_GRACE = 60.0  # seconds of slack however short the cycle
HEALTH_GRACE_FRACTION = 0.25  # of the cycle period


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


def status_document(s: RunSnapshot) -> dict[str, Any]:
    return {
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
    """Healthy = trading is running and cycles complete on time (period + grace).

    Catches the reference executor's worst failure mode: the process is up, the webhook
    answers, but no cycle has run for hours (hung RPC call, deadlock).
    """
    details: dict[str, Any] = {
        "executor_running": s.executor_running,
        "checked_at": now.timestamp(),
        "last_cycle_at": unix(s.last_cycle_at),
        "current_cycle": s.current_cycle,
    }
    if not s.executor_running:
        return HealthReport(False, f"trading is halted: {s.halted_reason or 'stopped'}", details)
    if s.exception is not None:
        # a cycle failed and no cycle has completed since: trading is retrying, not healthy
        return HealthReport(
            False, f"the last cycle failed and will be retried: {s.exception.message}", details
        )
    period = s.expected_cycle_duration
    if period is None:
        return HealthReport(True, "running; waiting for the first cycle to report its period", details)
    grace = (
        s.cycle_grace if s.cycle_grace is not None else max(MIN_HEALTH_GRACE, HEALTH_GRACE_FRACTION * period)
    )
    allowed = period + grace
    details["allowed_seconds"] = allowed
    if s.cycle_started_at is not None:
        running_for = (now - s.cycle_started_at).total_seconds()
        if running_for > allowed:
            return HealthReport(
                False,
                f"cycle {s.current_cycle} has been running for {running_for:.0f}s, longer than the {allowed:.0f}s allowed",
                details,
            )
    reference = s.last_cycle_at or s.started_at
    age = (now - reference).total_seconds()
    details["seconds_since_last_cycle"] = age
    if age > allowed and s.cycle_started_at is None:
        what = "no cycle has completed" if s.last_cycle_at is None else "no cycle completed"
        return HealthReport(
            False, f"{what} for {age:.0f}s; expected one every {period:.0f}s (+{grace:.0f}s grace)", details
        )
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
