"""Stop losses and take profits between cycles, on the finest candles the universe has.

After the cycle at t_i, the walker looks at every candle with open time in [t_i, t_(i+1))
(the stop-loss candles when the universe has them, otherwise the strategy's own candles)
and finds, per open position, the first candle that crosses a level. It then calls
`CycleRunner.check_triggers` at that candle's close time, the moment the candle is known,
with the pricing model told what the price was:

- the candle opens at or below the stop: the price gapped through it, fill at the open
  (the worse price);
- the candle opens at or above the take profit: the market is already there, fill at the open;
- the low reaches the stop: fill at the stop; if the same candle also reaches the take
  profit, the stop is assumed to come first (we cannot know, so we assume the worse);
- the high reaches the take profit: fill at the take profit.

Fees and slippage apply on top, as for any fill. Candles are scanned with numpy and the
runner is called only when something triggers, so checking costs little per cycle.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from decimal import Decimal

import numpy as np

from tradeexecutor.backtest.prices import CandlePrices, to_decimal_price, to_ns
from tradeexecutor.backtest.pricing import BacktestPricing
from tradeexecutor.execution.runner import CycleRunner
from tradeexecutor.state.position import TradingPosition
from tradeexecutor.state.trade import TradeExecution
from tradeexecutor.strategy.candle_series import CandleSeries
from tradeexecutor.strategy.universe import TradingUniverse

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_TOLERANCE = 1e-9  # float prefilter margin; the decision itself is made in Decimal


def from_ns(ns: int) -> datetime.datetime:
    return _EPOCH + datetime.timedelta(microseconds=ns // 1000)


def trigger_price(
    series: CandleSeries, j: int, stop: Decimal | None, take_profit: Decimal | None
) -> Decimal | None:
    """The price a position with these levels is closed at in candle `j`, or None."""
    o = to_decimal_price(series.opens[j])
    if stop is not None and o <= stop:
        return o
    if take_profit is not None and o >= take_profit:
        return o
    if stop is not None and to_decimal_price(series.lows[j]) <= stop:
        return stop
    if take_profit is not None and to_decimal_price(series.highs[j]) >= take_profit:
        return take_profit
    return None


class TriggerWalker:
    """Checks open positions' levels on the candles between consecutive cycles."""

    def __init__(
        self,
        universe: TradingUniverse,
        pricing: BacktestPricing,
        prices: CandlePrices,
        cycles: Sequence[datetime.datetime],
        end: datetime.datetime,
    ) -> None:
        self.pricing = pricing
        self.prices = prices
        fine = universe.stop_loss_time_bucket is not None
        boundaries = np.array([to_ns(t) for t in cycles] + [to_ns(end)], dtype="int64")
        self._series: dict[str, CandleSeries] = {}
        self._bounds: dict[str, np.ndarray] = {}
        for pair in universe.pairs:
            series = universe.series_by_key(pair.key, stop_loss=fine)
            opens_ns = series.close_ns - series.bucket_ns
            self._series[pair.key] = series
            self._bounds[pair.key] = opens_ns.searchsorted(boundaries, side="left")

    def _first_trigger(self, position: TradingPosition, cycle_index: int) -> tuple[int, Decimal] | None:
        key = position.pair.key
        series = self._series[key]
        bounds = self._bounds[key]
        a, b = int(bounds[cycle_index]), int(bounds[cycle_index + 1])
        if a >= b:
            return None
        stop, take_profit = position.stop_loss, position.take_profit
        mask = np.zeros(b - a, dtype=bool)
        if stop is not None:
            mask |= series.lows[a:b] <= float(stop) * (1 + _TOLERANCE)
        if take_profit is not None:
            mask |= series.highs[a:b] >= float(take_profit) * (1 - _TOLERANCE)
        for offset in np.flatnonzero(mask):
            j = a + int(offset)
            price = trigger_price(series, j, stop, take_profit)
            if price is not None:
                return int(series.close_ns[j]), price
        return None

    def check(self, runner: CycleRunner, cycle_index: int) -> list[TradeExecution]:
        """Close what triggers in the window after cycle `cycle_index`; return the trades."""
        watched = [
            p
            for p in runner.state.portfolio.open_positions.values()
            if (p.stop_loss is not None or p.take_profit is not None) and not p.pending_trades()
        ]
        if not watched:
            return []
        events: dict[int, dict[str, Decimal]] = {}
        for position in watched:
            found = self._first_trigger(position, cycle_index)
            if found is not None:
                events.setdefault(found[0], {})[position.pair.key] = found[1]
        trades: list[TradeExecution] = []
        for ns in sorted(events):
            ts = from_ns(ns)
            overrides = {
                p.pair.key: self.prices.valuation_price(ts, p.pair)
                for p in watched
                if p.is_open() and p.pair.key not in events[ns]
            }
            overrides.update(events[ns])
            self.pricing.set_overrides(ts, overrides)
            try:
                trades += runner.check_triggers(ts)
            finally:
                self.pricing.clear_overrides()
        return trades
