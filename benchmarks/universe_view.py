"""Cost of the per-cycle universe view: one year of hourly candles, 8,760 cycles.

Target: one year of hourly candles end to end (generate, build the universe, run every
cycle reading the view) in under 1 s for one pair. Also shown: 10 pairs (87,600 pair-cycles)
and the DataFrame accessors, which cost more than the numpy ones.

Run: .venv/bin/python benchmarks/universe_view.py
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from tradeexecutor.data.synthetic import SyntheticCandleSource, synthetic_pairs
from tradeexecutor.data.time_bucket import TimeBucket
from tradeexecutor.strategy.cycle import CycleDuration
from tradeexecutor.strategy.market_data import MarketData
from tradeexecutor.strategy.universe import TradingUniverse
from tradeexecutor.strategy.universe_view import UniverseView

START = datetime(2024, 1, 1, tzinfo=UTC)
END = datetime(2025, 1, 1, tzinfo=UTC)


def numpy_strategy(view: UniverseView) -> int:
    """What a typical indicator strategy reads: the latest candle and two moving averages."""
    signals = 0
    for pair in view.pairs:
        closes = view.closes(pair)
        view.latest_candle(pair)
        if len(closes) >= 50:
            signals += bool(closes[-20:].mean() > closes[-50:].mean())
    return signals


def pandas_strategy(view: UniverseView) -> int:
    """The same through DataFrame / Series slices."""
    signals = 0
    for pair in view.pairs:
        view.candles(pair)
        series = view.close_series(pair)
        if len(series) >= 50:
            signals += bool(series.iloc[-20:].mean() > series.iloc[-50:].mean())
    return signals


def run(pairs_count: int, strategy: Callable[[UniverseView], int]) -> tuple[float, float, float, int]:
    t0 = time.perf_counter()
    pairs = synthetic_pairs(pairs_count)
    data = MarketData(SyntheticCandleSource(pairs, start=START, end=END, seed=1), pairs, start=START, end=END)
    universe: TradingUniverse = data.create_universe(reserve_currency="USDC", time_bucket=TimeBucket.h1)
    t1 = time.perf_counter()
    cycles = list(CycleDuration.cycle_1h.iterate(START, END))
    for view in universe.views(cycles):
        strategy(view)
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, t2 - t0, len(cycles)


def main() -> None:
    print(
        f"{'case':<34}{'cycles':>8}{'data+universe s':>17}{'cycles s':>10}{'total s':>9}{'us/pair-cycle':>15}   target"
    )
    for pairs_count, strategy, label in (
        (1, numpy_strategy, "1 pair, numpy accessors"),
        (1, pandas_strategy, "1 pair, DataFrame accessors"),
        (10, numpy_strategy, "10 pairs, numpy accessors"),
        (10, pandas_strategy, "10 pairs, DataFrame accessors"),
    ):
        run(1, strategy)  # warm imports and caches
        build, loop, total, cycles = run(pairs_count, strategy)
        per = loop / (cycles * pairs_count) * 1e6
        target = "< 1.000 total" if pairs_count == 1 else ""
        print(f"{label:<34}{cycles:>8}{build:>17.3f}{loop:>10.3f}{total:>9.3f}{per:>15.1f}   {target}")


if __name__ == "__main__":
    main()
