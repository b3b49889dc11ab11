"""Candle time buckets and the one calendar grid every duration is aligned to.

Candles, strategy cycles and the live scheduler must agree on where a bucket starts,
otherwise a 4h strategy would see candles that do not line up with its cycles. All of them
align to the same grid: multiples of the duration counted from `GRID_ORIGIN`, Monday
1970-01-05 00:00 UTC. Every duration below 1 day divides 4 days, so for them this is the
same as aligning to the Unix epoch; the Monday origin only matters for 7d, which then
starts on Mondays like conventional weekly candles.

This module is pure standard library so that the CLI can import it without pandas.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum

GRID_ORIGIN = datetime(1970, 1, 5, tzinfo=UTC)

_DURATIONS: dict[str, timedelta] = {
    "1m": timedelta(minutes=1),
    "5m": timedelta(minutes=5),
    "15m": timedelta(minutes=15),
    "30m": timedelta(minutes=30),
    "1h": timedelta(hours=1),
    "4h": timedelta(hours=4),
    "8h": timedelta(hours=8),
    "12h": timedelta(hours=12),
    "1d": timedelta(days=1),
    "7d": timedelta(days=7),
}

VALID_DURATIONS: tuple[str, ...] = tuple(_DURATIONS)


def parse_duration_value(value: object, what: str) -> str:
    """Normalise `value` ('1h', ' 1H ', an enum member) to its canonical string, or raise
    ValueError with one sentence listing the valid values."""
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _DURATIONS:
            return text
    valid = ", ".join(VALID_DURATIONS)
    raise ValueError(f"{what} {value!r} is not one of {valid}.")


def require_utc(ts: datetime) -> datetime:
    """Refuse naive timestamps: guessing their timezone is how off-by-hours bugs start."""
    if ts.tzinfo is None or ts.utcoffset() is None:
        raise ValueError(f"Timestamp {ts} has no timezone; use a timezone-aware UTC timestamp.")
    return ts.astimezone(UTC)


class OnTheGrid:
    """The grid arithmetic of a duration enum (`TimeBucket`, `CycleDuration`), written once.

    A mix-in for a StrEnum whose values are the duration strings ('1m' ... '7d')."""

    value: str

    def floor(self, ts: datetime) -> datetime:
        """The grid point at or before `ts`: the start of the candle or cycle containing it."""
        step = self.timedelta
        return GRID_ORIGIN + ((require_utc(ts) - GRID_ORIGIN) // step) * step

    def ceil(self, ts: datetime) -> datetime:
        """The grid point at or after `ts`."""
        floor = self.floor(ts)
        return floor if floor == require_utc(ts) else floor + self.timedelta

    def is_aligned(self, ts: datetime) -> bool:
        return self.floor(ts) == require_utc(ts)

    # last in the class body, so the annotations above never read this name as the type
    @property
    def timedelta(self) -> timedelta:
        return _DURATIONS[self.value]


class TimeBucket(OnTheGrid, StrEnum):
    """The width of one candle. Values are the strings users write: '1m' ... '7d'."""

    m1 = "1m"
    m5 = "5m"
    m15 = "15m"
    m30 = "30m"
    h1 = "1h"
    h4 = "4h"
    h8 = "8h"
    h12 = "12h"
    d1 = "1d"
    d7 = "7d"

    @classmethod
    def parse(cls, value: object) -> TimeBucket:
        """'1h' / TimeBucket.h1 / CycleDuration.cycle_1h -> TimeBucket.h1; ValueError lists valid values."""
        return cls(parse_duration_value(value, "Time bucket"))

    @property
    def nanoseconds(self) -> int:
        return (self.timedelta // timedelta(microseconds=1)) * 1000
