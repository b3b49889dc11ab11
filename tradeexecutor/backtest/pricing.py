"""`BacktestPricing`: what a trade costs in a backtest, answered from candles.

The mid price at t comes from `CandlePrices.price_at` (the open of the candle starting at
t). On top of it, the same Uniswap v2 arithmetic as a real pool:

- the LP fee is taken from the **input** token (`pair.fee_bps`, 30 bps = 0.30 % unless the
  pair says otherwise): a buy pays it in reserve currency, a sell in base tokens;
- price impact comes from a `SlippageModel`: none, a fixed number of basis points, or a
  constant-product pool holding a configured amount of reserve currency per side.

`quote_buy`/`quote_sell` return the exact amounts a fill of that size produces, so the
PositionManager (planning) and BacktestExecution (filling) agree to the last unit.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from tradeexecutor.backtest.prices import CandlePrices
from tradeexecutor.state.identifiers import TradingPairIdentifier
from tradeexecutor.strategy.pricing import TradePricing

BPS = Decimal(10_000)


class SlippageModel(Protocol):
    """Price impact after the LP fee: how many tokens an input buys at a mid price."""

    def base_out(self, mid: Decimal, reserve_in: Decimal) -> Decimal: ...

    def reserve_out(self, mid: Decimal, base_in: Decimal) -> Decimal: ...


@dataclass(frozen=True, slots=True)
class FixedSlippage:
    """Every fill is `bps` basis points worse than the mid price (0 = fill at mid)."""

    bps: Decimal = Decimal(0)

    def base_out(self, mid: Decimal, reserve_in: Decimal) -> Decimal:
        return reserve_in / (mid * (1 + self.bps / BPS))

    def reserve_out(self, mid: Decimal, base_in: Decimal) -> Decimal:
        return base_in * mid * (1 - self.bps / BPS)


@dataclass(frozen=True, slots=True)
class ConstantProductSlippage:
    """A Uniswap v2 pool at the mid price holding `liquidity` of reserve currency per side.

    Impact grows with the trade's share of the pool: spending 1 % of the liquidity moves the
    price about 1 %, the x*y=k curve exactly.
    """

    liquidity: Decimal

    def __post_init__(self) -> None:
        if self.liquidity <= 0:
            raise ValueError("Pool liquidity for the slippage model must be positive.")

    def base_out(self, mid: Decimal, reserve_in: Decimal) -> Decimal:
        base_reserve = self.liquidity / mid
        return base_reserve * reserve_in / (self.liquidity + reserve_in)

    def reserve_out(self, mid: Decimal, base_in: Decimal) -> Decimal:
        base_reserve = self.liquidity / mid
        return self.liquidity * base_in / (base_reserve + base_in)


@dataclass(frozen=True, slots=True)
class Fill:
    """The exact outcome of one simulated swap, in raw token units."""

    quantity_raw: int  # base tokens bought or sold (positive)
    reserve_raw: int  # reserve tokens spent or received (positive)
    mid_price: Decimal
    lp_fee: Decimal  # in reserve currency

    def price(self, pair: TradingPairIdentifier) -> Decimal:
        """Reserve per base token actually paid or received, fee and impact included."""
        return pair.quote.to_decimal(self.reserve_raw) / pair.base.to_decimal(self.quantity_raw)


class BacktestPricing:
    """A `PricingModel` over a universe's candles (see the module docstring).

    `overrides` lets the stop-loss walker say "at this instant the price of this pair was
    the stop level", so a triggered close fills there instead of at a candle open.
    """

    def __init__(self, prices: CandlePrices, slippage: SlippageModel | None = None) -> None:
        self.prices = prices
        self.slippage: SlippageModel = slippage or FixedSlippage()
        self._overrides_at: datetime.datetime | None = None
        self._overrides: dict[str, Decimal] = {}

    def set_overrides(self, ts: datetime.datetime, prices: dict[str, Decimal]) -> None:
        self._overrides_at, self._overrides = ts, prices

    def clear_overrides(self) -> None:
        self._overrides_at, self._overrides = None, {}

    def get_mid_price(self, ts: datetime.datetime, pair: TradingPairIdentifier) -> Decimal:
        if self._overrides and ts == self._overrides_at and pair.key in self._overrides:
            return self._overrides[pair.key]
        return self.prices.price_at(ts, pair)

    # ---- exact fills ----------------------------------------------------------------------

    def quote_buy(self, ts: datetime.datetime, pair: TradingPairIdentifier, reserve: Decimal) -> Fill:
        """Spend `reserve` (rounded down to the token's units) on base tokens."""
        reserve_raw = pair.quote.to_raw(reserve)
        spent = pair.quote.to_decimal(reserve_raw)
        mid = self.get_mid_price(ts, pair)
        fee = spent * pair.fee
        out = self.slippage.base_out(mid, spent - fee)
        return Fill(quantity_raw=pair.base.to_raw(out), reserve_raw=reserve_raw, mid_price=mid, lp_fee=fee)

    def quote_sell(self, ts: datetime.datetime, pair: TradingPairIdentifier, quantity: Decimal) -> Fill:
        """Sell `quantity` base tokens (rounded down to the token's units)."""
        quantity_raw = pair.base.to_raw(quantity)
        sold = pair.base.to_decimal(quantity_raw)
        mid = self.get_mid_price(ts, pair)
        after_fee = self.slippage.reserve_out(mid, sold * (1 - pair.fee))
        fee = self.slippage.reserve_out(mid, sold) - after_fee
        return Fill(
            quantity_raw=quantity_raw,
            reserve_raw=pair.quote.to_raw(after_fee),
            mid_price=mid,
            lp_fee=fee,
        )

    # ---- PricingModel ---------------------------------------------------------------------

    def get_buy_price(
        self, ts: datetime.datetime, pair: TradingPairIdentifier, reserve: Decimal
    ) -> TradePricing:
        fill = self.quote_buy(ts, pair, reserve)
        if fill.quantity_raw == 0:  # too small to buy one unit: report the marginal price
            price = fill.mid_price / (1 - pair.fee)
        else:
            price = pair.quote.to_decimal(fill.reserve_raw) / pair.base.to_decimal(fill.quantity_raw)
        return TradePricing(price=price, mid_price=fill.mid_price, lp_fee=fill.lp_fee)

    def get_sell_price(
        self, ts: datetime.datetime, pair: TradingPairIdentifier, quantity: Decimal
    ) -> TradePricing:
        fill = self.quote_sell(ts, pair, quantity)
        if fill.quantity_raw == 0 or fill.reserve_raw == 0:
            price = fill.mid_price * (1 - pair.fee)
        else:
            price = pair.quote.to_decimal(fill.reserve_raw) / pair.base.to_decimal(fill.quantity_raw)
        return TradePricing(price=price, mid_price=fill.mid_price, lp_fee=fill.lp_fee)
