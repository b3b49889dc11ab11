"""A backtest small enough to check by hand: ten candles, three positions, every cent known.

Candles (tests/backtest/helpers.py, hourly from 2024-01-01 00:00 UTC; O/H/L/C):

    00:00 100/101/99/100   01:00 100/102/99/101   02:00 101/106/100/105   03:00 105/111/104/110
    04:00 110/112/108/111  05:00 100/101/95/96    06:00 96/98/95/97       07:00 97/99/96/98
    08:00 98/100/90/92     09:00 92/93/91/92

Rules: a trade decided at cycle t fills at the open of the candle stamped t; the LP fee is
0.30 % of the input token; stop losses are checked on each candle after the fill and are
booked at the candle's close time. Initial cash 10,000 USDC. Cycle n runs at (n-1):00.

Position 1 (no stop):
  cycle 2 (01:00) buys for 1,000 USDC at open 100: fee 3, 997 / 100 = 9.97 WETH.
  cycle 4 (03:00) sells 9.97 WETH at open 105: 9.97 x 0.997 x 105 = 1,043.70945 USDC.
  profit = 43.70945 -> +4.37 %.
Position 2 (stop 95 % of the entry price):
  cycle 5 (04:00) buys for 2,200 at open 110: fee 6.6, 2,193.4 / 110 = 19.94 WETH;
  entry price incl. fee 2,200 / 19.94 = 110.3309...; stop = 104.8144...
  candle 05:00 opens at 100, below the stop: the stop fills at the open (the worse price),
  booked at 06:00: 19.94 x 0.997 x 100 = 1,988.018. profit = -211.982 -> -9.64 %.
Position 3 (stop 95 %):
  cycle 8 (07:00) buys for 1,000 at open 97: 997 / 97 = 10.278350515463917525 WETH
  (rounded down to 18 decimals); entry price 1,000 / that = 97.2918...; stop = 92.4272...
  candle 08:00 opens at 98 and its low 90 crosses the stop: fill at the stop, booked at 09:00:
  q x 0.997 x 0.95 x 1,000 / q = 947.15. profit = -52.85 -> -5.285 %.
Cash at the end: 10,000 + 43.70945 - 211.982 - 52.85 = 9,778.87745 -> 9,778.877450 USDC.
Max drawdown: equity peaks at 05:00 at 7,843.70945 + 19.94 x 111 (the 04:00 close)
= 10,057.04945 and ends at 9,778.87745: 1 - 9,778.87745 / 10,057.04945 = 2.766 %.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tests.backtest.helpers import START, hand_files
from tests.state.factories import ledger_matches_holdings
from tradeexecutor.analysis.summary import calculate_summary, summary_rows
from tradeexecutor.backtest.engine import BacktestConfig, prepare_backtest
from tradeexecutor.backtest.market import file_market
from tradeexecutor.state.trade import TradeType
from tradeexecutor.strategy.loader import load_strategy_module

END = START + timedelta(hours=10)


def hours(n: int):
    return START + timedelta(hours=n)


@pytest.fixture()
def backtest(tmp_path: Path):
    strategy, candles = hand_files(tmp_path)
    module = load_strategy_module(strategy)
    data = file_market(candles, chain_id=31337, start=START, end=END)
    # statistics every cycle (a backtest records one point a day unless told otherwise)
    bt = prepare_backtest(module, data, BacktestConfig(start=START, end=END, statistics_every=None))
    bt.run()
    return bt


def test_every_fill_matches_the_hand_calculation(backtest) -> None:
    state = backtest.state
    trades = sorted(state.portfolio.all_trades(), key=lambda t: t.trade_id)
    got = [
        (t.trade_type, t.executed_at, t.executed_quantity, t.executed_reserve, t.lp_fees_reserve)
        for t in trades
    ]
    assert got == [
        (TradeType.rebalance, hours(1), Decimal("9.97"), Decimal("1000"), Decimal("3")),
        (TradeType.rebalance, hours(3), Decimal("-9.97"), Decimal("1043.70945"), Decimal("3.14055")),
        (TradeType.rebalance, hours(4), Decimal("19.94"), Decimal("2200"), Decimal("6.6")),
        (TradeType.stop_loss, hours(6), Decimal("-19.94"), Decimal("1988.018"), Decimal("5.982")),
        (TradeType.rebalance, hours(7), Decimal("10.278350515463917525"), Decimal("1000"), Decimal("3")),
        (
            TradeType.stop_loss,
            hours(9),
            Decimal("-10.278350515463917525"),
            Decimal("947.15"),
            Decimal("2.85"),
        ),
    ]
    profits = [p.realised_profit() for p in state.portfolio.closed_positions.values()]
    assert profits == [Decimal("43.70945"), Decimal("-211.982"), Decimal("-52.85")]
    assert state.portfolio.cash() == Decimal("9778.87745")
    assert not state.portfolio.open_positions
    assert ledger_matches_holdings(state)


def test_strategy_saw_only_closed_candles(backtest) -> None:
    # At cycle n (time n-1:00) exactly n-1 candles had closed.
    seen = backtest.module.module.SEEN
    assert seen == [(n, n - 1) for n in range(1, 11)]


def test_statistics_cover_every_cycle_and_the_end(backtest) -> None:
    points = backtest.state.stats.portfolio
    assert [p.at for p in points] == [hours(n) for n in range(11)]
    # 05:00: cash 7,843.70945 plus 19.94 WETH at the 04:00 close of 111
    assert points[5].total_equity == Decimal("7843.70945") + Decimal("19.94") * 111
    assert points[-1].total_equity == Decimal("9778.87745")


def test_statistics_are_recorded_once_a_day_by_default(tmp_path: Path) -> None:
    strategy, candles = hand_files(tmp_path)
    data = file_market(candles, chain_id=31337, start=START, end=END)
    bt = prepare_backtest(load_strategy_module(strategy), data, BacktestConfig(start=START, end=END))
    state = bt.run()
    # the first cycle of the day, then the end; the trades are the same
    assert [p.at for p in state.stats.portfolio] == [hours(0), hours(10)]
    assert state.stats.portfolio[-1].total_equity == Decimal("9778.87745")
    assert len(list(state.portfolio.all_trades())) == 6


def test_the_daily_schedule_takes_the_first_cycle_of_each_utc_day() -> None:
    from datetime import datetime

    from tradeexecutor.backtest.engine import statistics_schedule

    cycles = [datetime(2024, 1, 1, 22, tzinfo=START.tzinfo) + timedelta(hours=n) for n in range(52)]
    due = [c for c, d in zip(cycles, statistics_schedule(cycles, timedelta(days=1)), strict=True) if d]
    assert due == [cycles[0], hours(24), hours(48), hours(72)]
    assert statistics_schedule(cycles, None) == [True] * 52


def test_summary_values_for_the_hand_checked_case(backtest) -> None:
    summary = calculate_summary(backtest.state, start=START, end=END)
    rows = dict(summary_rows(summary))
    assert rows == {
        "Trading period length": "10 hours",
        "Return %": "-2.21%",
        "Annualised return %": "n/a (needs ≥ 30 days)",  # was -1937.03 %, extrapolated from 10 hours
        "Cash at start": "$10,000.00",
        "Value at end": "$9,778.88",
        "Trades executed": "6",
        "Round trips": "3",
        "Round trip win percent": "33.33%",
        "Won round trips": "1",
        "Lost round trips": "2",
        "Zero profit round trips": "0",
        "Stop losses triggered": "2",
        "Stop loss % of round trips": "66.67%",
        "Stop loss % of lost": "100.00%",
        "Positions open at the end": "0",
        "Realised profit and loss": "$-221.12",
        "Portfolio unrealised value": "$0.00",
        "Cash left at the end": "$9,778.88",
        "Average winning round trip profit %": "4.37%",
        "Average losing round trip loss %": "-7.46%",  # (-9.6355 % - 5.285 %) / 2
        "Biggest winning round trip %": "4.37%",
        "Biggest losing round trip %": "-9.64%",
        "Average duration of winning round trips": "2 hours",
        "Average duration of losing round trips": "2 hours",
        "Max drawdown": "-2.77%",
        "Sharpe": "n/a (needs ≥ 30 days)",
        "Sortino": "n/a (needs ≥ 30 days)",
    }
    assert summary.realised_profit == Decimal("-221.12255")
    assert abs(summary.max_drawdown - (1 - 9778.87745 / 10057.04945)) < 1e-12
