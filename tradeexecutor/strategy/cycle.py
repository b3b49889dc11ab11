"""How often a strategy decides, and when the live scheduler wakes up for it.

A cycle with duration d has its *cycle timestamp* on the shared grid (multiples of d from
Monday 1970-01-05 00:00 UTC, see `tradeexecutor.data.time_bucket`). The strategy sees the
market as it was at that timestamp. Live, the executor runs the cycle a little later,
`offset` minutes after the cycle timestamp (`--cycle-offset-minutes`), so the data feed
has time to close and publish the candle that just ended: the 1h cycle stamped 11:00 with
a 2 minute offset runs at 11:02 and still decides as of 11:00.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import datetime, timedelta
from enum import StrEnum

from tradeexecutor.data.time_bucket import OnTheGrid, TimeBucket, parse_duration_value, require_utc


class CycleDuration(OnTheGrid, StrEnum):
    """How often `decide_trades` runs. Values are the strings users write: '1m' ... '7d'."""

    cycle_1m = "1m"
    cycle_5m = "5m"
    cycle_15m = "15m"
    cycle_30m = "30m"
    cycle_1h = "1h"
    cycle_4h = "4h"
    cycle_8h = "8h"
    cycle_12h = "12h"
    cycle_1d = "1d"
    cycle_7d = "7d"

    @classmethod
    def parse(cls, value: object) -> CycleDuration:
        """'1h' / CycleDuration.cycle_1h / TimeBucket.h1 -> CycleDuration.cycle_1h.

        Raises ValueError with one sentence listing the valid values.
        """
        return cls(parse_duration_value(value, "Cycle duration"))

    def to_time_bucket(self) -> TimeBucket:
        """The candle width matching this cycle (the default candle width of a strategy)."""
        return TimeBucket(self.value)

    def next_cycle_after(self, ts: datetime) -> datetime:
        """The first cycle timestamp strictly after `ts`."""
        return self.floor(ts) + self.timedelta

    def check_offset(self, offset_minutes: float) -> timedelta:
        """The offset as a timedelta; ValueError unless 0 <= offset < one cycle.

        An offset of a whole cycle or more would run a cycle after the next one is due.
        """
        offset = timedelta(minutes=offset_minutes)
        if not timedelta(0) <= offset < self.timedelta:
            raise ValueError(
                f"Cycle offset of {offset_minutes} minutes must be at least 0 and shorter than "
                f"the {self.value} cycle."
            )
        return offset

    def next_run_at(self, now: datetime, offset_minutes: float = 0) -> datetime:
        """When the live scheduler should next wake: the first `cycle timestamp + offset`
        strictly after `now`.

        1h cycle, 2 minute offset: at 10:01 -> 10:02; at 10:02 -> 11:02; at 10:30 -> 11:02.
        """
        offset = self.check_offset(offset_minutes)
        return self.floor(require_utc(now) - offset) + self.timedelta + offset

    def cycle_timestamp_for_run(self, run_at: datetime, offset_minutes: float = 0) -> datetime:
        """The cycle timestamp a run at `run_at` decides for: the latest one whose run time
        (`cycle timestamp + offset`) is at or before `run_at`. A run woken late still decides
        for the cycle it was due for, never for a future one.
        """
        offset = self.check_offset(offset_minutes)
        return self.floor(require_utc(run_at) - offset)

    def iterate(self, start: datetime, end: datetime) -> Iterator[datetime]:
        """Cycle timestamps t with start <= t < end (a backtest's cycles)."""
        ts = self.ceil(start)
        end = require_utc(end)
        step = self.timedelta
        while ts < end:
            yield ts
            ts += step

    def grid(self, start: datetime, end: datetime) -> list[datetime]:
        """`list(iterate(start, end))`, built four times faster (the grid is regular: each
        timestamp is the previous plus the duration), for a backtest's tens of thousands."""
        first = self.ceil(start)
        end = require_utc(end)
        if first >= end:
            return []
        step = self.timedelta
        count = -(-(end - first) // step)  # ceil
        return list(itertools.accumulate(itertools.repeat(step, count - 1), initial=first))
