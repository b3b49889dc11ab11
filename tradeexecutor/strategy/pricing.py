"""How a strategy learns what a trade would cost, in backtests and live alike.

A pricing model answers for a given time and size; the backtest answers from candles,
the live executor from pool reserves. Both return the same `TradePricing`, so the
PositionManager plans identical trades in either mode.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from tradeexecutor.state.identifiers import TradingPairIdentifier


@dataclass(frozen=True, slots=True)
class TradePricing:
    """Expected execution price for a size: reserve currency per base token, fee and impact included."""

    price: Decimal
    mid_price: Decimal
    lp_fee: Decimal  # in reserve currency, for this size
    block_number: int | None = None  # live pricing: the block the reserves were read at

    @property
    def price_impact(self) -> Decimal:
        """Relative distance from the mid price (positive = worse for us)."""
        return abs(self.price - self.mid_price) / self.mid_price


class PricingModel(Protocol):
    def get_mid_price(self, ts: datetime.datetime, pair: TradingPairIdentifier) -> Decimal: ...

    def get_buy_price(
        self, ts: datetime.datetime, pair: TradingPairIdentifier, reserve: Decimal
    ) -> TradePricing:
        """Price for spending `reserve` of the reserve currency on the base token."""
        ...

    def get_sell_price(
        self, ts: datetime.datetime, pair: TradingPairIdentifier, quantity: Decimal
    ) -> TradePricing:
        """Price for selling `quantity` (positive) base tokens."""
        ...
