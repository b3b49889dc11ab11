"""The dashboard's decoded copy of the saved state: once per save, history built once."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.state.factories import T0, WETH_USDC, hours, many_closed_positions
from tradeexecutor.dashboard.config import StateCache
from tradeexecutor.state import archive
from tradeexecutor.state.serialisation import encode_state
from tradeexecutor.state.snapshot import SavedSnapshot


def test_each_save_is_decoded_once_and_built_history_carries_over(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archive, "SEGMENT_SIZE", 5)
    monkeypatch.setattr(archive, "KEEP_RECENT", 3)
    state = many_closed_positions(22)
    cache = StateCache()
    assert cache.get(None) is None
    first_save = SavedSnapshot((encode_state(state),), saved_at=T0, generation=1)
    first = cache.get(first_save)
    assert cache.get(first_save) is first  # the same save: the same copy
    every = list(first.portfolio.closed_positions.values())  # a page lists the whole history

    state.plan_trade(T0 + hours(200), WETH_USDC, price=Decimal(2000), reserve=Decimal(10))
    second = cache.get(SavedSnapshot((encode_state(state),), saved_at=T0, generation=2))
    assert second is not first and len(second.portfolio.open_positions) == 1
    assert all(s.is_decoded for s in second.portfolio.closed.segments)  # taken over, not decoded
    assert list(second.portfolio.closed_positions.values()) == every
