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
import math
from collections.abc import Iterable, Sequence
from decimal import Decimal

import numpy as np

from tradeexecutor.backtest.prices import CandlePrices, PriceSeries, to_decimal_price, to_ns
from tradeexecutor.backtest.pricing import BacktestPricing
from tradeexecutor.execution.runner import CycleRunner
from tradeexecutor.state.position import TradingPosition
from tradeexecutor.state.trade import TradeExecution
from tradeexecutor.strategy.universe import TradingUniverse

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_TOLERANCE = 1e-9  # float prefilter margin; the decision itself is made in Decimal
_SCALAR_WINDOW = 8


def from_ns(ns: int) -> datetime.datetime:
    return _EPOCH + datetime.timedelta(microseconds=ns // 1000)


def trigger_price(
    series: PriceSeries, j: int, stop: Decimal | None, take_profit: Decimal | None
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
        boundaries = np.array([to_ns(t) for t in cycles] + [to_ns(end)], dtype="int64")
        self._series: dict[str, PriceSeries] = {}
        self._bounds: dict[str, list[int]] = {}
        self._lows: dict[str, np.ndarray] = {}
        self._highs: dict[str, np.ndarray] = {}
        # position id -> (stop, take profit, their float prefilter values); Decimal to float is slow
        self._levels: dict[int, tuple[Decimal | None, Decimal | None, float, float]] = {}
        for pair in universe.pairs:
            series = prices.trigger_series(pair)  # the finest candles, in the reserve currency
            opens_ns = np.asarray(series.close_ns, dtype="int64") - series.bucket_ns
            self._series[pair.key] = series
            self._bounds[pair.key] = opens_ns.searchsorted(boundaries, side="left").tolist()
            self._lows[pair.key] = np.asarray(series.lows)
            self._highs[pair.key] = np.asarray(series.highs)

    def _first_trigger(self, position: TradingPosition, cycle_index: int) -> tuple[int, Decimal] | None:
        key = position.pair.key
        bounds = self._bounds[key]
        a, b = bounds[cycle_index], bounds[cycle_index + 1]
        if a >= b:
            return None
        series = self._series[key]
        stop, take_profit = position.stop_loss, position.take_profit
        cached = self._levels.get(position.position_id)
        if cached is None or cached[0] is not stop or cached[1] is not take_profit:
            cached = (
                stop,
                take_profit,
                float(stop) * (1 + _TOLERANCE) if stop is not None else -math.inf,
                float(take_profit) * (1 - _TOLERANCE) if take_profit is not None else math.inf,
            )
            self._levels[position.position_id] = cached
        stop_f, take_f = cached[2], cached[3]
        candidates: Iterable[int]
        if b - a <= _SCALAR_WINDOW:  # one or a few candles per cycle: plain floats beat numpy
            lows, highs = series.lows, series.highs
            candidates = [j for j in range(a, b) if lows[j] <= stop_f or highs[j] >= take_f]
        else:
            mask = (self._lows[key][a:b] <= stop_f) | (self._highs[key][a:b] >= take_f)
            candidates = (a + int(offset) for offset in np.flatnonzero(mask))
        for j in candidates:
            price = trigger_price(series, j, stop, take_profit)
            if price is not None:
                return series.close_ns[j], price
        return None

    def check(self, runner: CycleRunner, cycle_index: int) -> list[TradeExecution]:
        """Close what triggers in the window after cycle `cycle_index`; return the trades."""
        open_positions = runner.state.portfolio.open_positions
        if not open_positions:
            return []
        watched = [
            p
            for p in open_positions.values()
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
