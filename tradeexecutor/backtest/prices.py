"""Where a backtest reads prices from candles, and the one rule for "the price at time t".

Fill rule: a trade decided at cycle t fills at the **open of the candle that starts at t**,
the first candle the strategy could not see yet. On a DEX a bucket without swaps has no
candle and the pool price did not move, so when no candle starts at t the price at t is the
close of the latest candle closed by t. Valuation uses the latest visible close.

Candle prices are floats; they enter the accounting as `Decimal(repr(x))`, the shortest
decimal that round-trips, so 2281.5 in a file is exactly 2281.5 in the state.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from tradeexecutor.errors import UserError
from tradeexecutor.state.identifiers import TradingPairIdentifier
from tradeexecutor.strategy.candle_series import CandleSeries
from tradeexecutor.strategy.universe import TradingUniverse

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_MICROSECOND = datetime.timedelta(microseconds=1)


def to_ns(ts: datetime.datetime) -> int:
    """Exact nanoseconds since the epoch for a tz-aware datetime (pandas Timestamps included)."""
    value = getattr(ts, "value", None)  # pd.Timestamp carries its nanoseconds
    if isinstance(value, int):
        return value
    if ts.tzinfo is None:
        raise ValueError(f"Timestamp {ts} has no timezone; use a timezone-aware UTC timestamp.")
    return ((ts - _EPOCH) // _MICROSECOND) * 1000


def to_decimal_price(value: float) -> Decimal:
    return Decimal(repr(float(value)))


class CandlePrices:
    """Price look-ups on a universe's candles for the backtest models."""

    def __init__(self, universe: TradingUniverse) -> None:
        self.universe = universe
        self._stop_loss = universe.stop_loss_time_bucket is not None

    def _series(self, pair: TradingPairIdentifier) -> tuple[CandleSeries, CandleSeries | None]:
        key = self.universe.key_of(pair)
        fine = self.universe.series_by_key(key, stop_loss=True) if self._stop_loss else None
        return self.universe.series_by_key(key), fine

    def price_at(self, ts: datetime.datetime, pair: TradingPairIdentifier) -> Decimal:
        """The fill price at `ts`: the open of a candle starting at `ts` (the strategy's
        candles first, then the stop-loss candles), else the latest close at or before `ts`."""
        price = self._open_at(ts, pair)
        return price if price is not None else self.latest_close(ts, pair)

    def valuation_price(self, ts: datetime.datetime, pair: TradingPairIdentifier) -> Decimal:
        """The latest close at or before `ts`; before any candle has closed (a position bought
        at the very first cycle), the open it was bought at."""
        close = self._latest_close(ts, pair)
        if close is not None:
            return close
        return self.price_at(ts, pair)

    def latest_close(self, ts: datetime.datetime, pair: TradingPairIdentifier) -> Decimal:
        """The close of the most recent candle closed at or before `ts` (finest series wins)."""
        close = self._latest_close(ts, pair)
        if close is None:
            raise UserError(
                f"There is no price for {pair.ticker} at {ts:%Y-%m-%d %H:%M} UTC: none of its candles "
                "had closed by then; start the backtest later or trade it only once it has candles."
            )
        return close

    def _open_at(self, ts: datetime.datetime, pair: TradingPairIdentifier) -> Decimal | None:
        ns = to_ns(ts)
        for series in self._series(pair):
            if series is None or not len(series):
                continue
            close = ns + series.bucket_ns
            i = int(series.close_ns.searchsorted(close, side="left"))
            if i < len(series) and series.close_ns[i] == close:
                return to_decimal_price(series.opens[i])
        return None

    def _latest_close(self, ts: datetime.datetime, pair: TradingPairIdentifier) -> Decimal | None:
        ns = to_ns(ts)
        best: tuple[int, float] | None = None
        for series in self._series(pair):
            if series is None or not len(series):
                continue
            n = series.visible_count(ns)
            if n and (best is None or series.close_ns[n - 1] > best[0]):
                best = (int(series.close_ns[n - 1]), float(series.closes[n - 1]))
        return None if best is None else to_decimal_price(best[1])
