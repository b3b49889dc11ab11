"""The time window a dashboard shows: a toggle (1d, 7d, 30d, all; all by default, fitted to the
data) or ISO 8601 `start`/`end`.

Query strings are typed by people, so every bad value is answered with one sentence that
names the parameter and shows a value that works (the view turns it into a 400 page).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass

UTC = datetime.UTC

WINDOWS: dict[str, datetime.timedelta | None] = {
    "1d": datetime.timedelta(days=1),
    "7d": datetime.timedelta(days=7),
    "30d": datetime.timedelta(days=30),
    "all": None,
}
DEFAULT_WINDOW = "all"  # the charts fit the data: a new executor is not a sliver at the right edge
EXAMPLE = "2024-05-01T12:30:00Z"


class BadQuery(ValueError):
    """A query parameter is wrong; the message says which and what is allowed."""


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """[start, end] inclusive; None means unbounded on that side."""

    start: datetime.datetime | None
    end: datetime.datetime | None
    label: str  # the toggle that is active, or "custom"

    def contains(self, at: datetime.datetime | None) -> bool:
        if at is None:
            return False
        if self.start is not None and at < self.start:
            return False
        return self.end is None or at <= self.end

    def describe(self) -> str:
        def show(at: datetime.datetime | None, missing: str) -> str:
            return at.strftime("%Y-%m-%d %H:%M:%S UTC") if at is not None else missing

        return f"{show(self.start, 'the beginning')} to {show(self.end, 'now')}"


def parse_time(name: str, raw: str) -> datetime.datetime:
    """ISO 8601 date or date-time, to the second; a time without an offset is UTC."""
    text = raw.strip()
    if not text:
        raise BadQuery(f"{name} is empty: give an ISO 8601 time such as {EXAMPLE}.")
    try:
        value = datetime.datetime.fromisoformat(text.replace(" ", "T", 1) if len(text) > 10 else text)
    except ValueError:
        raise BadQuery(
            f"{name}={raw!r} is not an ISO 8601 time: use a date such as 2024-05-01 or a time such as "
            f"{EXAMPLE}."
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:00-14:00 is past the last representable time
        raise BadQuery(f"{name}={raw!r} is out of range: use a time such as {EXAMPLE}.") from None


def parse_window(params: Mapping[str, str], now: datetime.datetime) -> TimeWindow:
    """`window` picks a toggle ending now; `start`/`end` override it (either one alone works)."""
    label = (params.get("window") or "").strip().lower()
    raw_start, raw_end = params.get("start"), params.get("end")
    if label and label not in WINDOWS:
        raise BadQuery(f"window={label!r} is not a known window: use one of {', '.join(WINDOWS)}.")
    start = parse_time("start", raw_start) if raw_start is not None else None
    end = parse_time("end", raw_end) if raw_end is not None else None
    if start is not None and end is not None and start >= end:
        raise BadQuery(f"start ({start.isoformat()}) must be before end ({end.isoformat()}).")
    if start is None and end is None:
        label = label or DEFAULT_WINDOW
        span = WINDOWS[label]
        return TimeWindow(now - span if span is not None else None, None, label)
    if start is None and label and WINDOWS[label] is not None:
        try:
            start = end - WINDOWS[label]  # type: ignore[operator]
        except OverflowError:
            raise BadQuery(
                f"end={raw_end!r} leaves no room for the {label} window before it: use a later end."
            ) from None
    return TimeWindow(start, end, "custom")
