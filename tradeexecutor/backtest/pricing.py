"""`BacktestPricing`: what a trade costs in a backtest, answered from candles.

The mid price at t comes from `CandlePrices.price_at` (the open of the candle starting at
t). On top of it, the same Uniswap v2 arithmetic as a real pool:

- the LP fee is taken from the **input** token (`pair.fee_bps`, 30 bps = 0.30 % unless the
  pair says otherwise): a buy pays it in reserve currency, a sell in base tokens;
- price impact comes from a `SlippageModel`: none, a fixed number of basis points, or a
  constant-product pool holding a configured amount of reserve currency per side.

`quote_buy`/`quote_sell` return the exact amounts a fill of that size produces, so the
PositionManager (planning) and BacktestExecution (filling) agree to the last unit.

A pair quoted in another token than the reserve (DEV-WETH, USDC reserve) is filled along
the live route, hop by hop (`tradeexecutor.backtest.routes`): a buy spends USDC on WETH in
the WETH-USDC pool, then that WETH (rounded down to its units, as the chain would) on DEV in
the DEV-WETH pool, each pool taking its own fee from its input. The fee reported is the sum
of both, valued in the reserve at the mid prices.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from tradeexecutor.backtest.prices import CandlePrices
from tradeexecutor.state.identifiers import AssetIdentifier, TradingPairIdentifier
from tradeexecutor.strategy.pricing import TradePricing

BPS = Decimal(10_000)


class SlippageModel(Protocol):
    """Price impact after the LP fee: how many tokens an input buys at a mid price."""

    def base_out(self, mid: Decimal, reserve_in: Decimal) -> Decimal: ...

    def reserve_out(self, mid: Decimal, base_in: Decimal) -> Decimal: ...

    def in_units_of(self, quote_price_in_reserve: Decimal) -> SlippageModel:
        """The model for a pool whose quote token is worth `quote_price_in_reserve` reserve."""
        ...


@dataclass(frozen=True, slots=True)
class FixedSlippage:
    """Every fill is `bps` basis points worse than the mid price (0 = fill at mid)."""

    bps: Decimal = Decimal(0)

    def base_out(self, mid: Decimal, reserve_in: Decimal) -> Decimal:
        return reserve_in / (mid * (1 + self.bps / BPS))

    def reserve_out(self, mid: Decimal, base_in: Decimal) -> Decimal:
        return base_in * mid * (1 - self.bps / BPS)

    def in_units_of(self, quote_price_in_reserve: Decimal) -> FixedSlippage:
        return self


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

    def in_units_of(self, quote_price_in_reserve: Decimal) -> ConstantProductSlippage:
        """The same pool depth for a pool quoted in another token (the hop of a routed pair)."""
        return ConstantProductSlippage(self.liquidity / quote_price_in_reserve)


@dataclass(frozen=True, slots=True)
class Fill:
    """The exact outcome of one simulated swap, in raw token units."""

    quantity_raw: int  # base tokens bought or sold (positive)
    reserve_raw: int  # reserve tokens spent or received (positive)
    mid_price: Decimal  # reserve per base token
    lp_fee: Decimal  # in reserve currency
    reserve: AssetIdentifier

    def price(self, pair: TradingPairIdentifier) -> Decimal:
        """Reserve per base token actually paid or received, fee and impact included."""
        return self.reserve.to_decimal(self.reserve_raw) / pair.base.to_decimal(self.quantity_raw)


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
        self._memo: tuple[tuple, Fill] | None = None

    def set_overrides(self, ts: datetime.datetime, prices: dict[str, Decimal]) -> None:
        self._overrides_at, self._overrides = ts, prices

    def clear_overrides(self) -> None:
        self._overrides_at, self._overrides = None, {}

    def get_mid_price(self, ts: datetime.datetime, pair: TradingPairIdentifier) -> Decimal:
        """Reserve per base token at `ts` (an override of the trigger walker wins)."""
        if self._overrides and ts == self._overrides_at and pair.key in self._overrides:
            return self._overrides[pair.key]
        return self.prices.price_at(ts, pair)

    @property
    def reserve(self) -> AssetIdentifier:
        return self.prices.routes.reserve

    # ---- exact fills ----------------------------------------------------------------------

    def _hops(self, ts: datetime.datetime, pair: TradingPairIdentifier) -> tuple[Decimal, Decimal]:
        """(mid in reserve per base, what one quote token of `pair` is worth in reserve)."""
        mid = self.get_mid_price(ts, pair)
        if self.prices.routes.intermediate(pair) is None:
            return mid, Decimal(1)
        return mid, self.prices.via_price_at(ts, pair)

    def _buy_hop(self, quote_in: Decimal, mid: Decimal, fee: Decimal, quote_value: Decimal) -> Decimal:
        """Base tokens a pool at `mid` (quote per base) gives for `quote_in`, its fee taken first."""
        return self.slippage.in_units_of(quote_value).base_out(mid, quote_in - quote_in * fee)

    def _sell_hop(
        self, base_in: Decimal, mid: Decimal, fee: Decimal, quote_value: Decimal
    ) -> tuple[Decimal, Decimal]:
        """(quote tokens out, the fee in quote tokens) for selling `base_in` in a pool at `mid`."""
        model = self.slippage.in_units_of(quote_value)
        out = model.reserve_out(mid, base_in * (1 - fee))
        return out, model.reserve_out(mid, base_in) - out

    def quote_buy(self, ts: datetime.datetime, pair: TradingPairIdentifier, reserve: Decimal) -> Fill:
        """Spend `reserve` (rounded down to the reserve token's units) on base tokens.

        Planning a trade and filling it ask the same question at the same instant: the last
        answer is remembered (a trigger override in between makes a different question)."""
        memo = (ts, pair.key, reserve, self._overrides_at)
        if self._memo is not None and self._memo[0] == memo:
            return self._memo[1]
        fill = self._quote_buy(ts, pair, reserve)
        self._memo = (memo, fill)
        return fill

    def _quote_buy(self, ts: datetime.datetime, pair: TradingPairIdentifier, reserve: Decimal) -> Fill:
        asset = self.reserve
        reserve_raw = asset.to_raw(reserve)
        spent = asset.to_decimal(reserve_raw)
        mid, via_value = self._hops(ts, pair)
        via = self.prices.routes.intermediate(pair)
        if via is None:
            fee = spent * pair.fee
            out = self._buy_hop(spent, mid, pair.fee, Decimal(1))
            return Fill(pair.base.to_raw(out), reserve_raw, mid, fee, asset)
        # reserve -> the pair's quote token in the intermediate pool, rounded to its units
        token = pair.quote
        if self.prices.routes.inverted(via):  # RESERVE-TOKEN pool: selling its base for its quote
            got, _ = self._sell_hop(spent, 1 / via_value, via.fee, via_value)
        else:
            got = self._buy_hop(spent, via_value, via.fee, Decimal(1))
        got = token.to_decimal(token.to_raw(got))
        out = self._buy_hop(got, mid / via_value, pair.fee, via_value)
        fee = spent * via.fee + got * pair.fee * via_value
        return Fill(pair.base.to_raw(out), reserve_raw, mid, fee, asset)

    def quote_sell(self, ts: datetime.datetime, pair: TradingPairIdentifier, quantity: Decimal) -> Fill:
        """Sell `quantity` base tokens (rounded down to the token's units); remembered like buys."""
        memo = (ts, pair.key, -quantity, self._overrides_at)
        if self._memo is not None and self._memo[0] == memo:
            return self._memo[1]
        fill = self._quote_sell(ts, pair, quantity)
        self._memo = (memo, fill)
        return fill

    def _quote_sell(self, ts: datetime.datetime, pair: TradingPairIdentifier, quantity: Decimal) -> Fill:
        asset = self.reserve
        quantity_raw = pair.base.to_raw(quantity)
        sold = pair.base.to_decimal(quantity_raw)
        mid, via_value = self._hops(ts, pair)
        via = self.prices.routes.intermediate(pair)
        if via is None:
            out, fee = self._sell_hop(sold, mid, pair.fee, Decimal(1))
            return Fill(quantity_raw, asset.to_raw(out), mid, fee, asset)
        # base -> the pair's quote token, rounded to its units, -> the reserve
        token = pair.quote
        got, fee_in_token = self._sell_hop(sold, mid / via_value, pair.fee, via_value)
        got = token.to_decimal(token.to_raw(got))
        if self.prices.routes.inverted(via):  # RESERVE-TOKEN pool: buying its base with its quote
            out = self._buy_hop(got, 1 / via_value, via.fee, via_value)
        else:
            out, _ = self._sell_hop(got, via_value, via.fee, Decimal(1))
        fee = fee_in_token * via_value + got * via.fee * via_value
        return Fill(quantity_raw, asset.to_raw(out), mid, fee, asset)

    # ---- PricingModel ---------------------------------------------------------------------

    def get_buy_price(
        self, ts: datetime.datetime, pair: TradingPairIdentifier, reserve: Decimal
    ) -> TradePricing:
        fill = self.quote_buy(ts, pair, reserve)
        # too small to buy one unit: report the marginal price
        price = fill.mid_price / (1 - pair.fee) if fill.quantity_raw == 0 else fill.price(pair)
        return TradePricing(price=price, mid_price=fill.mid_price, lp_fee=fill.lp_fee)

    def get_sell_price(
        self, ts: datetime.datetime, pair: TradingPairIdentifier, quantity: Decimal
    ) -> TradePricing:
        fill = self.quote_sell(ts, pair, quantity)
        if fill.quantity_raw == 0 or fill.reserve_raw == 0:
            price = fill.mid_price * (1 - pair.fee)
        else:
            price = fill.price(pair)
        return TradePricing(price=price, mid_price=fill.mid_price, lp_fee=fill.lp_fee)
