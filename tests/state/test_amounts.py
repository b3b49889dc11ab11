"""Raw <-> human amount conversion is exact for every uint256 and never rounds up."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from tradeexecutor.state.identifiers import AssetIdentifier


def _token(decimals: int) -> AssetIdentifier:
    return AssetIdentifier(chain_id=1, address="0x" + "ab" * 20, symbol="T", decimals=decimals)


@given(raw=st.integers(min_value=0, max_value=2**256 - 1), decimals=st.integers(min_value=0, max_value=36))
def test_raw_round_trip_is_exact(raw: int, decimals: int) -> None:
    token = _token(decimals)
    assert token.to_raw(token.to_decimal(raw)) == raw


def test_to_raw_rounds_towards_zero() -> None:
    usdc = _token(6)
    assert usdc.to_raw(Decimal("1.0000009")) == 1_000_000
    assert usdc.to_raw(Decimal("-1.0000009")) == -1_000_000
