"""Cycle durations and time buckets: parsing, alignment and live scheduling arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradeexecutor.data.time_bucket import VALID_DURATIONS, TimeBucket
from tradeexecutor.strategy.cycle import CycleDuration


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_every_duration_parses_from_its_string() -> None:
    assert [c.value for c in CycleDuration] == list(VALID_DURATIONS)
    assert VALID_DURATIONS == ("1m", "5m", "15m", "30m", "1h", "4h", "8h", "12h", "1d", "7d")
    for value in VALID_DURATIONS:
        assert CycleDuration.parse(value).value == value
        assert TimeBucket.parse(value).value == value
    assert CycleDuration.parse(" 1H ") is CycleDuration.cycle_1h
    assert CycleDuration.parse(TimeBucket.h4) is CycleDuration.cycle_4h
    assert TimeBucket.parse(CycleDuration.cycle_1d) is TimeBucket.d1


@pytest.mark.parametrize("bad", ["2h", "", "1 hour", 3600, None])
def test_bad_duration_error_lists_every_valid_value(bad: object) -> None:
    with pytest.raises(ValueError) as e:
        CycleDuration.parse(bad)
    message = str(e.value)
    assert repr(bad) in message
    for value in VALID_DURATIONS:
        assert value in message


def test_timedeltas() -> None:
    assert CycleDuration.cycle_1m.timedelta == timedelta(minutes=1)
    assert CycleDuration.cycle_15m.timedelta == timedelta(minutes=15)
    assert CycleDuration.cycle_8h.timedelta == timedelta(hours=8)
    assert CycleDuration.cycle_7d.timedelta == timedelta(days=7)
    assert TimeBucket.h1.nanoseconds == 3_600_000_000_000
    assert CycleDuration.cycle_4h.to_time_bucket() is TimeBucket.h4


def test_floor_is_the_cycle_at_or_before_now() -> None:
    now = utc(2024, 3, 14, 10, 37, 12)
    assert CycleDuration.cycle_1h.floor(now) == utc(2024, 3, 14, 10)
    assert CycleDuration.cycle_15m.floor(now) == utc(2024, 3, 14, 10, 30)
    assert CycleDuration.cycle_4h.floor(now) == utc(2024, 3, 14, 8)
    assert CycleDuration.cycle_12h.floor(now) == utc(2024, 3, 14, 0)
    assert CycleDuration.cycle_1d.floor(now) == utc(2024, 3, 14)
    # Weekly cycles start on Mondays; 2024-03-11 is a Monday.
    assert CycleDuration.cycle_7d.floor(now) == utc(2024, 3, 11)
    assert CycleDuration.cycle_7d.floor(now).weekday() == 0
    # A timestamp on the grid is its own cycle.
    assert CycleDuration.cycle_1h.floor(utc(2024, 3, 14, 10)) == utc(2024, 3, 14, 10)
    assert CycleDuration.cycle_1h.next_cycle_after(utc(2024, 3, 14, 10)) == utc(2024, 3, 14, 11)


def test_other_timezones_are_converted_and_naive_ones_refused() -> None:
    helsinki = timezone(timedelta(hours=2))
    assert CycleDuration.cycle_1h.floor(datetime(2024, 1, 1, 12, 30, tzinfo=helsinki)) == utc(2024, 1, 1, 10)
    with pytest.raises(ValueError, match="no timezone"):
        CycleDuration.cycle_1h.floor(datetime(2024, 1, 1, 12, 30))


def test_next_run_with_offset() -> None:
    hourly = CycleDuration.cycle_1h
    assert hourly.next_run_at(utc(2024, 1, 1, 10, 1), offset_minutes=2) == utc(2024, 1, 1, 10, 2)
    assert hourly.next_run_at(utc(2024, 1, 1, 10, 2), offset_minutes=2) == utc(2024, 1, 1, 11, 2)
    assert hourly.next_run_at(utc(2024, 1, 1, 10, 30), offset_minutes=2) == utc(2024, 1, 1, 11, 2)
    assert hourly.next_run_at(utc(2024, 1, 1, 10, 0), offset_minutes=0) == utc(2024, 1, 1, 11, 0)
    assert CycleDuration.cycle_1d.next_run_at(utc(2024, 1, 1, 23, 59), offset_minutes=5) == utc(
        2024, 1, 2, 0, 5
    )
    # The run at 11:02 decides for 11:00, and a run woken late still decides for its own cycle.
    assert hourly.cycle_timestamp_for_run(utc(2024, 1, 1, 11, 2), offset_minutes=2) == utc(2024, 1, 1, 11)
    assert hourly.cycle_timestamp_for_run(utc(2024, 1, 1, 11, 50), offset_minutes=2) == utc(2024, 1, 1, 11)
    assert hourly.cycle_timestamp_for_run(utc(2024, 1, 1, 11, 1), offset_minutes=2) == utc(2024, 1, 1, 10)


@pytest.mark.parametrize("offset", [-1, 60, 90])
def test_offset_must_be_shorter_than_the_cycle(offset: int) -> None:
    with pytest.raises(ValueError, match="shorter than the 1h cycle"):
        CycleDuration.cycle_1h.next_run_at(utc(2024, 1, 1), offset_minutes=offset)


def test_iterate_gives_backtest_cycles_half_open() -> None:
    cycles = list(CycleDuration.cycle_4h.iterate(utc(2024, 1, 1, 1), utc(2024, 1, 2)))
    assert cycles == [utc(2024, 1, 1, h) for h in (4, 8, 12, 16, 20)]


moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC))


@given(now=moments, cycle=st.sampled_from(list(CycleDuration)), offset_fraction=st.floats(0, 0.999))
def test_scheduling_invariants(now: datetime, cycle: CycleDuration, offset_fraction: float) -> None:
    d = cycle.timedelta
    floor = cycle.floor(now)
    assert floor <= now < floor + d
    assert cycle.is_aligned(floor)
    offset_minutes = int(d.total_seconds() / 60 * offset_fraction)
    run_at = cycle.next_run_at(now, offset_minutes)
    offset = timedelta(minutes=offset_minutes)
    assert now < run_at <= now + d
    assert cycle.is_aligned(run_at - offset)
    assert cycle.cycle_timestamp_for_run(run_at, offset_minutes) == run_at - offset
