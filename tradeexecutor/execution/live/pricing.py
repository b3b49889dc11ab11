"""`PricingModel` for live trading: what a trade of a given size would cost now, from pool reserves.

Prices are reserve currency per base token, with the LP fee and the price impact of the
size included, computed with the pools' own integer formula along the pair's route (one
hop, or two through the pool between the pair's quote token and the reserve). The cycle
timestamp is not used: a live price is always the latest block's.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from tradeexecutor.errors import UserError
from tradeexecutor.ethereum.uniswap_v2.pricing import PoolReserves
from tradeexecutor.ethereum.uniswap_v2.routing import SwapRoute, TradeSide
from tradeexecutor.execution.live.routes import LiveRouting
from tradeexecutor.state.identifiers import TradingPairIdentifier
from tradeexecutor.strategy.pricing import TradePricing


def route_fee_fraction(pools: tuple[TradingPairIdentifier, ...]) -> Decimal:
    """The share of the input all LP fees along a route take: 1 - prod(1 - fee)."""
    kept = Decimal(1)
    for pool in pools:
        kept *= 1 - pool.fee
    return 1 - kept


class UniswapV2LivePricing:
    """Prices from the latest reserves of the pools each pair routes through."""

    def __init__(self, routing: LiveRouting) -> None:
        self.routing = routing

    def get_mid_price(self, ts: datetime.datetime, pair: TradingPairIdentifier) -> Decimal:
        route = self.routing.route(TradeSide.sell, pair)
        reserves = self.routing.fetch([pair])
        return self.routing.mid_rate(route, reserves)

    def get_buy_price(
        self, ts: datetime.datetime, pair: TradingPairIdentifier, reserve: Decimal
    ) -> TradePricing:
        """Spend `reserve` (human units of the reserve currency) on the pair's base token."""
        route = self.routing.route(TradeSide.buy, pair)
        reserves = self.routing.fetch([pair])
        amount_in = self.routing.reserve.to_raw(reserve)
        base_out = self._amount_out(
            pair, route, reserves, amount_in, f"buy {reserve} {self.routing.reserve.symbol} of"
        )
        mid = 1 / self.routing.mid_rate(route, reserves)
        return TradePricing(
            price=reserve / pair.base.to_decimal(base_out),
            mid_price=mid,
            lp_fee=reserve * route_fee_fraction(route.pools),
            block_number=next(iter(reserves.values())).block_number,
        )

    def get_sell_price(
        self, ts: datetime.datetime, pair: TradingPairIdentifier, quantity: Decimal
    ) -> TradePricing:
        """Sell `quantity` (positive, human units) of the pair's base token for the reserve."""
        route = self.routing.route(TradeSide.sell, pair)
        reserves = self.routing.fetch([pair])
        reserve_out = self._amount_out(
            pair, route, reserves, pair.base.to_raw(quantity), f"sell {quantity} of"
        )
        mid = self.routing.mid_rate(route, reserves)
        return TradePricing(
            price=self.routing.reserve.to_decimal(reserve_out) / quantity,
            mid_price=mid,
            lp_fee=quantity * mid * route_fee_fraction(route.pools),
            block_number=next(iter(reserves.values())).block_number,
        )

    def _amount_out(
        self,
        pair: TradingPairIdentifier,
        route: SwapRoute,
        reserves: dict[str, PoolReserves],
        amount_in: int,
        what: str,
    ) -> int:
        try:
            out = self.routing.amounts_out(route, reserves, amount_in)[-1] if amount_in > 0 else 0
        except ValueError as e:
            raise UserError(f"Cannot price a trade to {what} {pair.ticker}: {e}.") from None
        if out <= 0:
            raise UserError(
                f"A trade to {what} {pair.ticker} would get nothing back from its pools: trade a larger amount."
            )
        return out
