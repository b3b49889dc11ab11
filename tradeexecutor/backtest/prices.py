"""Where a backtest reads prices from candles, and the one rule for "the price at time t".

Fill rule: a trade decided at cycle t fills at the **open of the candle that starts at t**,
the first candle the strategy could not see yet. On a DEX a bucket without swaps has no
candle and the pool price did not move, so when no candle starts at t the price at t is the
close of the latest candle closed by t. Valuation uses the latest visible close.

Candle prices are floats; they enter the accounting as `Decimal(repr(x))`, the shortest
decimal that round-trips, so 2281.5 in a file is exactly 2281.5 in the state.

Look-ups happen several times per cycle, so each series is kept as plain Python lists:
`bisect` on a list of ints costs a fraction of a numpy search for one value.
"""

from __future__ import annotations

import datetime
from bisect import bisect_left, bisect_right
from decimal import Decimal

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


def to_decimal_price(value: float) -> Decimal:
    return Decimal(repr(float(value)))


class PriceSeries:
    """One candle series as lists: close times (ns), opens, highs, lows, closes."""

    __slots__ = ("bucket_ns", "close_ns", "opens", "highs", "lows", "closes")

    def __init__(self, series: CandleSeries) -> None:
        self.bucket_ns = series.bucket_ns
        self.close_ns: list[int] = series.close_ns.tolist()
        self.opens: list[float] = series.opens.tolist()
        self.highs: list[float] = series.highs.tolist()
        self.lows: list[float] = series.lows.tolist()
        self.closes: list[float] = series.closes.tolist()

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
    """Price look-ups on a universe's candles for the backtest models."""

    def __init__(self, universe: TradingUniverse) -> None:
        self.universe = universe
        fine = universe.stop_loss_time_bucket is not None
        self._series: dict[str, tuple[PriceSeries, ...]] = {}
        for pair in universe.pairs:
            main = PriceSeries(universe.series_by_key(pair.key))
            self._series[pair.key] = (
                (main, PriceSeries(universe.series_by_key(pair.key, stop_loss=True))) if fine else (main,)
            )

    def series(self, pair: TradingPairIdentifier) -> tuple[PriceSeries, ...]:
        """(strategy candles, stop-loss candles if the universe has them)."""
        found = self._series.get(pair.key)
        if found is None:
            self.universe.key_of(pair)  # raises the universe's error for an unknown pair
            raise KeyError(pair.key)
        return found

    def price_at(self, ts: datetime.datetime, pair: TradingPairIdentifier) -> Decimal:
        """The fill price at `ts`: the open of a candle starting at `ts` (the strategy's
        candles first, then the stop-loss candles), else the latest close at or before `ts`."""
        ns = to_ns(ts)
        for series in self.series(pair):
            price = series.open_at(ns)
            if price is not None:
                return to_decimal_price(price)
        return self.latest_close(ts, pair)

    def valuation_price(self, ts: datetime.datetime, pair: TradingPairIdentifier) -> Decimal:
        """The latest close at or before `ts`; before any candle has closed (a position bought
        at the very first cycle), the open it was bought at."""
        close = self._latest_close(to_ns(ts), pair)
        if close is not None:
            return to_decimal_price(close)
        return self.price_at(ts, pair)

    def latest_close(self, ts: datetime.datetime, pair: TradingPairIdentifier) -> Decimal:
        """The close of the most recent candle closed at or before `ts` (finest series wins)."""
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
