"""Where a backtest reads prices from candles, and the one rule for "the price at time t".

Fill rule: a trade decided at cycle t fills at the **open of the candle that starts at t**,
the first candle the strategy could not see yet. On a DEX a bucket without swaps has no
candle and the pool price did not move, so when no candle starts at t the price at t is the
close of the latest candle closed by t. Valuation uses the latest visible close.

Candle prices are floats; they enter the accounting as `Decimal(repr(x))`, the shortest
decimal that round-trips, so 2281.5 in a file is exactly 2281.5 in the state.

Look-ups happen several times per cycle, so each series is kept as plain Python lists:
`bisect` on a list of ints costs a fraction of a numpy search for one value.

Every price these look-ups return is in the **reserve currency** per base token. A pair
quoted in another token (DEV-WETH with a USDC reserve) is priced through the pool the live
executor routes it through (WETH-USDC, see `tradeexecutor.backtest.routes`): its own price
times the intermediate token's price in the reserve at the same instant. `pool_price_at`
gives one pool's own price, for the hop-by-hop fills in `BacktestPricing`.
"""

from __future__ import annotations

import datetime
from bisect import bisect_left, bisect_right
from decimal import Decimal

import numpy as np

from tradeexecutor.backtest.routes import BacktestRoutes
from tradeexecutor.errors import UserError
from tradeexecutor.state.identifiers import TradingPairIdentifier
from tradeexecutor.strategy.candle_series import CandleSeries
from tradeexecutor.strategy.universe import TradingUniverse

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_MICROSECOND = datetime.timedelta(microseconds=1)


_last: tuple[datetime.datetime | None, int] = (None, 0)


def to_ns(ts: datetime.datetime) -> int:
    """Exact nanoseconds since the epoch for a tz-aware datetime (pandas Timestamps included).

    One cycle asks for the same timestamp many times; the last answer is remembered."""
    global _last
    if ts is _last[0]:
        return _last[1]
    value = getattr(ts, "value", None)  # pd.Timestamp carries its nanoseconds
    if not isinstance(value, int):
        if ts.tzinfo is None:
            raise ValueError(f"Timestamp {ts} has no timezone; use a timezone-aware UTC timestamp.")
        value = ((ts - _EPOCH) // _MICROSECOND) * 1000
    _last = (ts, value)
    return value


def remember_ns(ts: datetime.datetime, ns: int) -> None:
    """Tell `to_ns` the answer for `ts` before anyone asks: the backtester knows every cycle's
    nanoseconds from its grid, and computing them from a datetime costs more than a look-up."""
    global _last
    _last = (ts, ns)


def to_decimal_price(value: float) -> Decimal:
    return Decimal(repr(float(value)))


class PriceSeries:
    """One candle series: close times (ns), opens and closes as lists (looked up every cycle),
    highs and lows as arrays (read only when a stop-loss candidate is checked)."""

    __slots__ = ("bucket_ns", "close_ns", "opens", "highs", "lows", "closes")

    def __init__(
        self,
        bucket_ns: int,
        close_ns: np.ndarray,
        opens: np.ndarray,
        highs: np.ndarray,
        lows: np.ndarray,
        closes: np.ndarray,
    ) -> None:
        self.bucket_ns = bucket_ns
        self.close_ns: list[int] = close_ns.tolist()
        self.opens: list[float] = opens.tolist()
        self.highs: np.ndarray = np.asarray(highs, dtype="float64")
        self.lows: np.ndarray = np.asarray(lows, dtype="float64")
        self.closes: list[float] = closes.tolist()

    @classmethod
    def of(cls, series: CandleSeries) -> PriceSeries:
        return cls(series.bucket_ns, series.close_ns, series.opens, series.highs, series.lows, series.closes)

    @classmethod
    def routed(cls, pair: CandleSeries, via: CandleSeries, via_inverted: bool) -> PriceSeries:
        """`pair`'s candles in the reserve currency: each of its prices times the intermediate
        token's price at the same candle (its candle of that open time; across a gap in the
        intermediate's candles, its last close). Highs and lows multiply extremes that need
        not have happened at the same moment: for stop-loss checks only, never for fills."""
        opens_ns = pair.close_ns - pair.bucket_ns
        via_opens_ns = via.close_ns - via.bucket_ns
        at = np.searchsorted(via_opens_ns, opens_ns, side="right") - 1  # via candle opened at or before
        j = np.clip(at, 0, None)
        known = at >= 0
        exact = known & (via_opens_ns[j] == opens_ns)
        via_close = np.where(known, via.closes[j], np.nan)
        via_open = np.where(exact, via.opens[j], via_close)
        via_high = np.where(exact, via.highs[j], via_close)
        via_low = np.where(exact, via.lows[j], via_close)
        if via_inverted:  # the pool is RESERVE-TOKEN: one token costs 1 / its price
            via_open, via_close, via_high, via_low = 1 / via_open, 1 / via_close, 1 / via_low, 1 / via_high
        return cls(
            pair.bucket_ns,
            pair.close_ns,
            pair.opens * via_open,
            pair.highs * via_high,
            pair.lows * via_low,
            pair.closes * via_close,
        )

    def open_at(self, ns: int) -> float | None:
        """The open of the candle stamped `ns`, if there is one."""
        close = ns + self.bucket_ns
        i = bisect_left(self.close_ns, close)
        if i < len(self.close_ns) and self.close_ns[i] == close:
            return self.opens[i]
        return None

    def visible_count(self, ns: int) -> int:
        """How many candles had closed at `ns`."""
        return bisect_right(self.close_ns, ns)


class CandlePrices:
    """Price look-ups on a universe's candles for the backtest models, in the reserve currency."""

    def __init__(self, universe: TradingUniverse, routes: BacktestRoutes | None = None) -> None:
        self.universe = universe
        self.routes = routes or BacktestRoutes.direct(universe)
        self._series: dict[str, tuple[PriceSeries, ...]] = {}
        self._trigger_series: dict[str, PriceSeries] = {}
        # direct pairs with only their strategy candles: valued from this one series
        self._single: dict[str, PriceSeries] = {}
        for key, candles in self.routes.candles.items():
            self._series[key] = tuple(PriceSeries.of(c) for c in candles)
        for pair in universe.pairs:
            if self.routes.intermediate(pair) is None and len(self._series[pair.key]) == 1:
                self._single[pair.key] = self._series[pair.key][0]
        for pair in universe.pairs:
            via = self.routes.intermediate(pair)
            finest = self.routes.candles[pair.key][-1]
            if via is None:
                self._trigger_series[pair.key] = self._series[pair.key][-1]
            else:
                via_finest = self.routes.candles[via.key][-1]
                self._trigger_series[pair.key] = PriceSeries.routed(
                    finest, via_finest, self.routes.inverted(via)
                )

    def series(self, pair: TradingPairIdentifier) -> tuple[PriceSeries, ...]:
        """The pool's own candles: (strategy candles, stop-loss candles if the universe has them)."""
        found = self._series.get(pair.key)
        if found is None:
            self.universe.key_of(pair)  # raises the universe's error for an unknown pair
            raise KeyError(pair.key)
        return found

    def trigger_series(self, pair: TradingPairIdentifier) -> PriceSeries:
        """The finest candles of `pair` in the reserve currency, for stop-loss checks."""
        found = self._trigger_series.get(pair.key)
        if found is None:
            self.universe.key_of(pair)
            raise KeyError(pair.key)
        return found

    def pool_price_at(self, ts: datetime.datetime, pool: TradingPairIdentifier) -> Decimal:
        """One pool's own fill price at `ts` (quote per base): the open of a candle starting
        at `ts` (the strategy's candles first, then the stop-loss candles), else the latest
        close at or before `ts`."""
        ns = to_ns(ts)
        for series in self.series(pool):
            price = series.open_at(ns)
            if price is not None:
                return to_decimal_price(price)
        return self._pool_latest_close(ts, pool)

    def via_price_at(self, ts: datetime.datetime, pair: TradingPairIdentifier) -> Decimal:
        """What one of `pair`'s quote tokens is worth in the reserve at `ts` (1 for a direct pair)."""
        via = self.routes.intermediate(pair)
        if via is None:
            return Decimal(1)
        price = self.pool_price_at(ts, via)
        return 1 / price if self.routes.inverted(via) else price

    def price_at(self, ts: datetime.datetime, pair: TradingPairIdentifier) -> Decimal:
        """The fill mid price at `ts` in the reserve currency (see `pool_price_at`)."""
        price = self.pool_price_at(ts, pair)
        if self.routes.intermediate(pair) is None:
            return price
        return price * self.via_price_at(ts, pair)

    def valuation_price(self, ts: datetime.datetime, pair: TradingPairIdentifier) -> Decimal:
        """The latest close at or before `ts`, in the reserve currency; before any candle has
        closed (a position bought at the very first cycle), the open it was bought at.

        Every open position is valued every cycle, so a pair quoted in the reserve with one
        candle series (the common case) takes a short path."""
        key = pair.key
        single = self._single.get(key)
        if single is not None:
            ns = _last[1] if ts is _last[0] else to_ns(ts)
            n = bisect_right(single.close_ns, ns)
            if n:
                return Decimal(repr(single.closes[n - 1]))
            return self.pool_price_at(ts, pair)
        via = self.routes.intermediates.get(key)
        price = self._pool_valuation(ts, pair)
        if via is not None:
            via_price = self._pool_valuation(ts, via)
            price = price * (1 / via_price if self.routes.inverted(via) else via_price)
        return price

    def _pool_valuation(self, ts: datetime.datetime, pool: TradingPairIdentifier) -> Decimal:
        close = self._latest_close(to_ns(ts), pool)
        if close is not None:
            return to_decimal_price(close)
        return self.pool_price_at(ts, pool)

    def latest_close(self, ts: datetime.datetime, pair: TradingPairIdentifier) -> Decimal:
        """The close of the most recent candle closed at or before `ts` (finest series wins),
        in the reserve currency."""
        price = self._pool_latest_close(ts, pair)
        via = self.routes.intermediate(pair)
        if via is None:
            return price
        via_price = self._pool_latest_close(ts, via)
        return price * (1 / via_price if self.routes.inverted(via) else via_price)

    def _pool_latest_close(self, ts: datetime.datetime, pair: TradingPairIdentifier) -> Decimal:
        close = self._latest_close(to_ns(ts), pair)
        if close is None:
            raise UserError(
                f"There is no price for {pair.ticker} at {ts:%Y-%m-%d %H:%M} UTC: none of its candles "
                "had closed by then; start the backtest later or trade it only once it has candles."
            )
        return to_decimal_price(close)

    def _latest_close(self, ns: int, pair: TradingPairIdentifier) -> float | None:
        best_ns, best = -1, None
        for series in self.series(pair):
            n = series.visible_count(ns)
            if n and series.close_ns[n - 1] > best_ns:
                best_ns, best = series.close_ns[n - 1], series.closes[n - 1]
        return best
