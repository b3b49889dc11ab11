"""Backtest speed against idiomatic backtesting.py, on the same strategy and candles.

The strategy is strategies/sma_crossover.py with 20- and 50-candle windows, run on hourly
candles (candle override 1h, one decision per hour): enter when the fast SMA of closes
crosses above the slow one, exit when it is below, stop loss at 97 % of the entry price. Its
moving averages come from the indicators stage (`create_indicators`, computed once per run),
and it draws them on the charts with `input.plots.record` every cycle, as users' strategies do
(about a quarter of our time for one pair: docs/backtesting.md#speed).
The peer is backtesting.py written the way its documentation teaches, indicators precomputed
with `self.I` (`SmaCross` below). Cases: 8,760 and 87,600 hourly candles of one pair, and
8,760 candles of each of 10 pairs (a per-pair copy of the same rules; 10 separate
backtesting.py runs, since it backtests one instrument at a time).

Both engines get the same synthetic candles (generated before timing) and are configured
alike: orders fill at the next candle's open, 0.30 % fee on both sides, the stop checked
against each candle's low (the entry candle included) and a gap through it filled at the
open. The script checks that every closed trade has the same entry and exit time in both.
Known residual differences, none of which changes a decision:
- our stop-loss exits are booked at the close of the candle that hit the stop (when it is
  known), backtesting.py stamps the candle's open: we compare with that one-candle shift;
- sizes differ slightly (backtesting.py adds commission on top of the order value, we take
  the LP fee out of the input like Uniswap; it trades whole units, so FractionalBacktest
  with a 1e-9 unit is used), and so do the stop levels by rounding in the last digits;
- a position still open at the end is ignored by both comparisons.

"ours" is end to end after imports: load the strategy, build the universe, compute the
indicators, run every cycle, compute the summary and encode the state file.
backtesting.py: Backtest() + run() (its run includes its statistics). Times are wall-clock
seconds (`time.perf_counter`); the two engines run interleaved (A, B, A, B, ...) and each
figure is the median of the runs, so load from other users of a shared machine hits both
alike. The ratio is ours / theirs: below 1 means we are faster.

Run: .venv/bin/python benchmarks/backtest.py [--quick] [--json]
(--json prints one JSON object on the last line: ratio_vs_backtesting_py_8760,
ratio_vs_backtesting_py_87600, ratio_vs_backtesting_py_10_pairs, trades_identical, ...)
"""

from __future__ import annotations

import atexit
import json
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
from backtesting import Strategy
from backtesting.lib import FractionalBacktest

from tradeexecutor.analysis.summary import calculate_summary
from tradeexecutor.backtest.engine import BacktestConfig, prepare_backtest
from tradeexecutor.backtest.market import make_pair
from tradeexecutor.backtest.run import apply_time_frame_overrides
from tradeexecutor.data.candles import select_range
from tradeexecutor.data.synthetic import BASE_SYMBOLS, generate_candles
from tradeexecutor.data.time_bucket import TimeBucket
from tradeexecutor.state.serialisation import encode_state
from tradeexecutor.state.state import State
from tradeexecutor.state.trade import TradeType
from tradeexecutor.strategy.loader import load_strategy_module
from tradeexecutor.strategy.market_data import MarketData

ROOT = Path(__file__).resolve().parents[1]
SMA_SOURCE = (ROOT / "strategies" / "sma_crossover.py").read_text()
# The case: 20- and 50-candle windows instead of the demo's 3 and 8, which trade so
# often that fees eat the account within a few years.
WINDOWS = ('"fast": 3,', '"fast": 20,'), ('"slow": 8,', '"slow": 50,')
START = datetime(2024, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)
FEE = 0.003

SMA = SMA_SOURCE
for old, new in WINDOWS:
    assert old in SMA, f"strategies/sma_crossover.py no longer has {old}"
    SMA = SMA.replace(old, new)

# The same rules for every pair of the universe, a tenth of the cash each.
_ONE_PAIR = "    pair = input.universe.get_pair_by_ticker(TRADING_PAIRS[0])\n"
assert _ONE_PAIR in SMA, "strategies/sma_crossover.py no longer picks its pair this way"
MULTI_PAIR = (
    SMA.replace('TRADING_PAIRS = ["WETH-USDC"]', "TRADING_PAIRS = []")
    .replace(_ONE_PAIR, "")
    .replace(
        "def decide_trades(input):",
        "def decide_trades(input):\n    trades = []\n    for pair in input.universe.pairs:\n"
        "        trades += decide_pair(input, pair)\n    return trades\n\n\ndef decide_pair(input, pair):",
    )
    .replace('"allocation": 0.9,', '"allocation": 0.09,')
)

TEMP = Path(tempfile.mkdtemp(prefix="backtest-bench-"))
atexit.register(shutil.rmtree, TEMP, ignore_errors=True)
SMA_FILE = TEMP / "sma_crossover.py"
SMA_FILE.write_text(SMA)
MULTI_FILE = TEMP / "sma_multi.py"
MULTI_FILE.write_text(MULTI_PAIR)
PARAMETERS = load_strategy_module(SMA_FILE).parameters  # both engines use the strategy's settings


class FrameSource:
    """Serves pre-generated candles, so data generation stays out of both timings."""

    def __init__(self, frames: dict[str, pd.DataFrame]) -> None:
        self.frames = frames

    def load_candles(self, pair, bucket, start=None, end=None) -> pd.DataFrame:  # noqa: ANN001
        return select_range(self.frames[pair.ticker], start, end)


class SmaCross(Strategy):
    """Idiomatic backtesting.py: the moving averages precomputed with self.I, the same rules."""

    fast = PARAMETERS["fast"]
    slow = PARAMETERS["slow"]
    stop_loss_pct = PARAMETERS["stop_loss_pct"]
    allocation = PARAMETERS["allocation"]

    def init(self) -> None:
        close = pd.Series(self.data.Close)
        self.fast_ma = self.I(lambda: close.rolling(self.fast).mean().to_numpy())
        self.slow_ma = self.I(lambda: close.rolling(self.slow).mean().to_numpy())

    def next(self) -> None:
        fast_before, slow_before = self.fast_ma[-2], self.slow_ma[-2]
        fast_now, slow_now = self.fast_ma[-1], self.slow_ma[-1]
        if not self.position and fast_before <= slow_before and fast_now > slow_now:
            # our stop is 97 % of the fee-inclusive entry price, entry = next open = this close
            self.buy(size=self.allocation, sl=self.data.Close[-1] / (1 - FEE) * self.stop_loss_pct)
        elif self.position and fast_now < slow_now:
            self.position.close()


def market(candles: int, pairs: int, seed: int = 1) -> dict[str, pd.DataFrame]:
    end = START + candles * HOUR
    return {
        f"{BASE_SYMBOLS[i]}-USDC": generate_candles(
            start=START, end=end, bucket=TimeBucket.h1, seed=seed + i, start_price=2000.0 / (i + 1)
        )
        for i in range(pairs)
    }


def run_ours(frames: dict[str, pd.DataFrame], strategy_file: Path) -> tuple[float, State]:
    end = START + len(next(iter(frames.values()))) * HOUR
    t0 = time.perf_counter()
    module = apply_time_frame_overrides(load_strategy_module(strategy_file), TimeBucket.h1, None)
    pairs = [make_pair(module.chain_id, ticker, "synthetic") for ticker in frames]
    data = MarketData(FrameSource(frames), pairs, start=START, end=end)
    backtest = prepare_backtest(module, data, BacktestConfig(start=START, end=end))
    state = backtest.run()
    calculate_summary(state, start=START, end=end)
    encode_state(state)
    return time.perf_counter() - t0, state


def run_backtesting_py(frames: dict[str, pd.DataFrame], cash: float) -> tuple[float, dict[str, pd.DataFrame]]:
    """One backtesting.py run per pair (it backtests one instrument at a time)."""
    inputs = {}
    for ticker, frame in frames.items():
        data = frame.rename(columns=str.capitalize)
        data.index = data.index.tz_localize(None)
        inputs[ticker] = data
    trades = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        for ticker, data in inputs.items():
            bt = FractionalBacktest(data, SmaCross, cash=cash, commission=FEE, fractional_unit=1e-9)
            trades[ticker] = bt.run()["_trades"]
        return time.perf_counter() - t0, trades


def our_round_trips(state: State, ticker: str) -> list[tuple[pd.Timestamp, pd.Timestamp, bool]]:
    trips = []
    for p in state.portfolio.closed_positions.values():
        if p.pair.ticker != ticker:
            continue
        trades = p.successful_trades()
        if not trades:  # a buy too small to fill: nothing was traded
            continue
        exit_trade = trades[-1]
        trips.append(
            (
                pd.Timestamp(trades[0].executed_at).tz_localize(None),
                pd.Timestamp(exit_trade.executed_at).tz_localize(None),
                exit_trade.trade_type == TradeType.stop_loss,
            )
        )
    return sorted(trips)


def compare(state: State, ticker: str, trades: pd.DataFrame) -> tuple[int, int, int]:
    """(our closed trades, theirs, how many match on entry and exit time)."""
    ours = our_round_trips(state, ticker)
    theirs = list(zip(trades["EntryTime"], trades["ExitTime"], strict=True))
    matched = 0
    for (entry, exit_, stopped), (their_entry, their_exit) in zip(ours, theirs, strict=False):
        expected_exit = their_exit + HOUR if stopped else their_exit
        matched += entry == their_entry and exit_ == expected_exit
    return len(ours), len(theirs), matched


def row(label: str, candles: int, seconds: float, trades: str) -> None:
    print(f"{label:<44}{candles:>9,}{seconds:>10.3f}{candles / seconds:>14,.0f}   {trades}")


def main() -> None:
    quick = "--quick" in sys.argv
    as_json = "--json" in sys.argv
    print(f"{'case':<44}{'candles':>9}{'wall s':>10}{'candles/s':>14}   trades (closed; matching)")
    run_ours(market(200, 1), SMA_FILE)  # warm imports and caches
    run_backtesting_py(market(200, 1), 10_000.0)
    cases = [(8_760, 1), (8_760, 10)] if quick else [(8_760, 1), (87_600, 1), (8_760, 10)]
    result: dict[str, object] = {}
    identical = True
    for candles, pairs in cases:
        frames = market(candles, pairs)
        total = candles * pairs
        repeat = 3 if quick else (7 if total <= 10_000 else 5)
        ours_times, theirs_times = [], []
        for _ in range(repeat):  # interleaved: A, B, A, B, ...
            seconds, state = run_ours(frames, SMA_FILE if pairs == 1 else MULTI_FILE)
            ours_times.append(seconds)
            seconds, trades = run_backtesting_py(frames, 10_000.0 / pairs)
            theirs_times.append(seconds)
        ours_s, theirs_s = statistics.median(ours_times), statistics.median(theirs_times)
        matched = ours_n = theirs_n = 0
        for ticker in frames:
            o, t, m = compare(state, ticker, trades[ticker])
            ours_n, theirs_n, matched = ours_n + o, theirs_n + t, matched + m
        same = matched == ours_n == theirs_n
        identical = identical and same
        name = f"{pairs} pair{'s' if pairs > 1 else ''} x {candles:,} h"
        row(f"trade-executor, {name}", total, ours_s, f"{ours_n}")
        row(f"backtesting.py (self.I), {name}", total, theirs_s, f"{theirs_n}; {matched} identical")
        ratio = ours_s / theirs_s
        print(
            f"  -> same trades: {'OK' if same else 'MISMATCH'}; ours / backtesting.py = {ratio:.2f} "
            f"(median of {repeat} interleaved runs)"
        )
        key = f"{candles}" if pairs == 1 else f"{pairs}_pairs"
        result[f"ratio_vs_backtesting_py_{key}"] = round(ratio, 3)
        result[f"ours_s_{key}"] = round(ours_s, 4)
        result[f"backtesting_py_s_{key}"] = round(theirs_s, 4)
        result[f"trades_{key}"] = ours_n
    result["trades_identical"] = identical
    if as_json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
