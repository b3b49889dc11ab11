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
from collections.abc import Sequence
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
_CHUNK = 64  # candles searched ahead at first; each further search looks 4 times as far


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
    if stop is not None and to_decimal_price(float(series.lows[j])) <= stop:
        return stop
    if take_profit is not None and to_decimal_price(float(series.highs[j])) >= take_profit:
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
        cycles_ns: np.ndarray | None = None,
    ) -> None:
        self.pricing = pricing
        self.prices = prices
        if cycles_ns is None:
            cycles_ns = np.array([to_ns(t) for t in cycles], dtype="int64")
        boundaries = np.append(np.asarray(cycles_ns, dtype="int64"), np.int64(to_ns(end)))
        self._series: dict[str, PriceSeries] = {}
        self._bounds: dict[str, list[int]] = {}
        self._lows: dict[str, np.ndarray] = {}
        self._highs: dict[str, np.ndarray] = {}
        # position id -> [stop, take profit, their float prefilter values, searched from, next
        # candidate candle or -1]: the levels are searched ahead once, not candle by candle
        self._levels: dict[int, list] = {}
        for pair in universe.pairs:
            series = prices.trigger_series(pair)  # the finest candles, in the reserve currency
            opens_ns = np.asarray(series.close_ns, dtype="int64") - series.bucket_ns
            self._series[pair.key] = series
            self._bounds[pair.key] = opens_ns.searchsorted(boundaries, side="left").tolist()
            self._lows[pair.key] = series.lows
            self._highs[pair.key] = series.highs

    def _first_trigger(self, position: TradingPosition, cycle_index: int) -> tuple[int, Decimal] | None:
        key = position.pair.key
        bounds = self._bounds[key]
        b = bounds[cycle_index + 1]
        stop, take_profit = position.stop_loss, position.take_profit
        cached = self._levels.get(position.position_id)
        if cached is not None and cached[0] is stop and cached[1] is take_profit and cached[5] >= b:
            return None  # the common case: the next candidate candle is in a later window
        a = bounds[cycle_index]
        if a >= b:
            return None
        if cached is None or cached[0] is not stop or cached[1] is not take_profit:
            cached = [
                stop,
                take_profit,
                float(stop) * (1 + _TOLERANCE) if stop is not None else -math.inf,
                float(take_profit) * (1 - _TOLERANCE) if take_profit is not None else math.inf,
                a,  # candles before this index are known not to cross the levels
                -1,  # the first candle at or after it that may cross (float prefilter), -1: not searched
            ]
            self._levels[position.position_id] = cached
        if cached[5] < a and cached[4] < a:  # first look, or windows were skipped: search from here
            cached[4], cached[5] = a, -1
        series = self._series[key]
        while True:
            candidate = cached[5]
            if candidate < 0:
                candidate = self._search(key, cached)
            if candidate >= b:
                return None  # the next candidate is in a later window: O(1) per cycle until then
            price = trigger_price(series, candidate, stop, take_profit)
            if price is not None:
                return series.close_ns[candidate], price
            cached[4], cached[5] = candidate + 1, -1  # the float prefilter let a non-crossing through

    def _search(self, key: str, cached: list) -> int:
        """The first candle at or after cached[4] whose low or high passes the float prefilter,
        searching forward in growing chunks (most positions close within a few dozen candles),
        remembered in cached[5]; past the last candle when none does."""
        start, stop_f, take_f = cached[4], cached[2], cached[3]
        lows, highs = self._lows[key], self._highs[key]
        size, total = _CHUNK, len(lows)
        while start < total:
            end = min(total, start + size)
            hits = np.flatnonzero((lows[start:end] <= stop_f) | (highs[start:end] >= take_f))
            if len(hits):
                cached[5] = start + int(hits[0])
                return cached[5]
            start, size = end, size * 4
        cached[4] = cached[5] = total
        return total

    def check(self, runner: CycleRunner, cycle_index: int) -> list[TradeExecution]:
        """Close what triggers in the window after cycle `cycle_index`; return the trades.

        Runs after every cycle, so the common case (nothing crosses) touches each open
        position's cached next candidate only. A backtest executes every trade within its
        cycle, so no position has a pending trade here; one that did would be skipped."""
        open_positions = runner.state.portfolio.open_positions
        if not open_positions:
            return _NOTHING
        events: dict[int, dict[str, Decimal]] | None = None
        first_trigger = self._first_trigger
        for position in open_positions.values():
            if position.stop_loss is None and position.take_profit is None:
                continue
            found = first_trigger(position, cycle_index)
            if found is not None and not position.pending_trades():
                if events is None:
                    events = {}
                events.setdefault(found[0], {})[position.pair.key] = found[1]
        if events is None:
            return _NOTHING
        watched = [
            p
            for p in open_positions.values()
            if (p.stop_loss is not None or p.take_profit is not None) and not p.pending_trades()
        ]
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


_NOTHING: list[TradeExecution] = []  # returned, never appended to
