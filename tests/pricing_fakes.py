"""Deterministic pricing for unit tests: the constant-product maths of a Uniswap v2 pool."""

from __future__ import annotations

import datetime
from decimal import Decimal

from tradeexecutor.state.identifiers import TradingPairIdentifier
from tradeexecutor.strategy.pricing import TradePricing


class ConstantProductPricing:
    """A pricing model over fixed pool reserves: the same maths as a Uniswap v2 pool."""

    def __init__(
        self, base_reserve: Decimal, quote_reserve: Decimal, fee: Decimal = Decimal("0.003")
    ) -> None:
        self.x, self.y, self.fee = base_reserve, quote_reserve, fee

    def get_mid_price(self, ts: datetime.datetime, pair: TradingPairIdentifier) -> Decimal:
        return self.y / self.x

    def get_buy_price(self, ts, pair, reserve: Decimal) -> TradePricing:
        out = self.x * reserve * (1 - self.fee) / (self.y + reserve * (1 - self.fee))
        return TradePricing(price=reserve / out, mid_price=self.y / self.x, lp_fee=reserve * self.fee)

    def get_sell_price(self, ts, pair, quantity: Decimal) -> TradePricing:
        out = self.y * quantity * (1 - self.fee) / (self.x + quantity * (1 - self.fee))
        return TradePricing(
            price=out / quantity, mid_price=self.y / self.x, lp_fee=out * self.fee / (1 - self.fee)
        )
