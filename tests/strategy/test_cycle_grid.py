"""CycleDuration.grid is iterate(), built faster."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tradeexecutor.strategy.cycle import CycleDuration


@pytest.mark.parametrize("cycle", ["1m", "15m", "1h", "4h", "1d", "7d"])
@pytest.mark.parametrize(
    ("start", "length"),
    [
        (datetime(2024, 1, 1, 0, 30, tzinfo=UTC), timedelta(days=64, hours=7)),
        (datetime(2024, 1, 1, tzinfo=UTC), timedelta(seconds=1)),
        (datetime(2024, 1, 1, tzinfo=UTC), timedelta(0)),
        (datetime(2024, 1, 3, 23, 59, tzinfo=UTC), timedelta(days=15)),
    ],
)
def test_grid_is_the_same_as_iterate(cycle: str, start: datetime, length: timedelta) -> None:
    duration = CycleDuration.parse(cycle)
    assert duration.grid(start, start + length) == list(duration.iterate(start, start + length))
