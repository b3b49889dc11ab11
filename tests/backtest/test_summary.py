"""Summary statistics from a State: row set, formulas, formatting, and the empty case."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tests.state.factories import T0, USDC, WETH_USDC, funded_state
from tradeexecutor.analysis.summary import (
    MIN_DAYS,
    calculate_summary,
    compounded_annual_return,
    daily_returns,
    format_duration,
    format_money,
    format_table,
    growth_index,
    max_drawdown,
    sharpe_ratio,
    sortino_ratio,
    summary_rows,
)
from tradeexecutor.state.state import State
from tradeexecutor.state.statistics import PortfolioSnapshot

ROWS = [
    "Trading period length",
    "Return %",
    "Annualised return %",
    "Cash at start",
    "Value at end",
    "Trades executed",
    "Round trips",
    "Round trip win percent",
    "Won round trips",
    "Lost round trips",
    "Zero profit round trips",
    "Stop losses triggered",
    "Stop loss % of round trips",
    "Stop loss % of lost",
    "Positions open at the end",
    "Realised profit and loss",
    "Portfolio unrealised value",
    "Cash left at the end",
    "Average winning round trip profit %",
    "Average losing round trip loss %",
    "Biggest winning round trip %",
    "Biggest losing round trip %",
    "Average duration of winning round trips",
    "Average duration of losing round trips",
    "Max drawdown",
    "Sharpe",
    "Sortino",
]
TOO_SHORT = f"n/a (needs ≥ {MIN_DAYS} days)"


def test_max_drawdown_is_the_deepest_fall_from_a_running_peak() -> None:
    assert max_drawdown([100, 120, 90, 130, 117]) == 1 - 90 / 120
    assert max_drawdown([100, 101, 102]) == 0
    assert max_drawdown([100]) is None


def test_sharpe_and_sortino_from_daily_returns_annualised_over_365_days() -> None:
    returns = [0.01, -0.02, 0.03, 0.0, -0.01]
    mean = sum(returns) / 5
    stdev = math.sqrt(sum((r - mean) ** 2 for r in returns) / 4)
    downside = math.sqrt(sum(min(r, 0) ** 2 for r in returns) / 5)
    assert math.isclose(sharpe_ratio(returns), mean / stdev * math.sqrt(365))
    assert math.isclose(sortino_ratio(returns), mean / downside * math.sqrt(365))
    assert sharpe_ratio([0.01, 0.01, 0.01]) is None  # no variation: undefined
    assert sortino_ratio([0.01, 0.02, 0.0]) is None  # no losing day: undefined
    assert sharpe_ratio([0.01]) is None


def test_annualised_return_is_compounded_and_never_below_minus_100_percent() -> None:
    year = timedelta(days=365)
    assert math.isclose(compounded_annual_return(0.21, 2 * year), 0.1)  # 1.1 x 1.1
    assert math.isclose(compounded_annual_return(-0.5, year / 2), -0.75)
    # What the linear formula turned into -2605.93 %: a 14-day loss of 99.9 % is -100 % a year at worst.
    assert -1.0 <= compounded_annual_return(-0.999, timedelta(days=14)) < -0.99999
    assert compounded_annual_return(-1.0, timedelta(days=2)) == -1.0
    assert compounded_annual_return(0.1, timedelta(0)) is None


def test_daily_returns_sample_every_24_hours_from_the_start_and_drop_a_partial_day() -> None:
    times = [T0 + timedelta(hours=12 * i) for i in range(6)]  # 0h .. 60h
    index = [1.0, 1.5, 1.1, 0.8, 0.88, 2.0]
    # days end at 24h (1.1) and 48h (0.88); the 60h point is in the partial third day
    returns = daily_returns(times, index, T0, T0 + timedelta(hours=60))
    assert returns == pytest.approx((0.1, 0.88 / 1.1 - 1))
    assert daily_returns(times, index, T0, T0 + timedelta(hours=23)) == ()


def test_growth_index_takes_deposits_and_withdrawals_out_of_the_returns() -> None:
    days = [T0 + timedelta(days=i) for i in range(4)]
    # 1,000 grows 10 % a day twice; 1,100 deposited at day 1.5 counts from the day 2 point on (it
    # arrived after day 1); then the 2,310 fall 50 % and 1,000 is withdrawn.
    curve = [(days[0], 1000.0), (days[1], 1100.0), (days[2], 2310.0), (days[3], 155.0)]
    flows = [(days[1] + timedelta(hours=12), 1100.0), (days[3], -1000.0)]
    assert growth_index(curve, flows) == pytest.approx([1.0, 1.1, 1.21, 0.605])
    assert growth_index(curve[:2], []) == pytest.approx([1.0, 1.1])
    assert growth_index([(days[0], 0.0), (days[1], 500.0)], [(days[1], 500.0)]) == [1.0, 1.0]


def test_formatting() -> None:
    assert format_duration(timedelta(days=440, hours=3)) == "440 days 3 hours"
    assert format_duration(timedelta(days=1)) == "1 day"
    assert format_duration(timedelta(minutes=45)) == "45 minutes"
    assert format_duration(timedelta(0)) == "0 minutes"
    assert format_money(Decimal("-3267.834")) == "$-3,267.83"
    assert format_money(Decimal("10000")) == "$10,000.00"
    table = format_table([("Return %", "-32.68%"), ("Trades executed", "35")])
    assert table.splitlines() == ["Return %         -32.68%", "Trades executed       35"]


def test_a_state_without_trades_has_every_row() -> None:
    state = funded_state(Decimal(5000))
    end = T0 + timedelta(days=2)
    for i in range(3):
        state.record_statistics(T0 + timedelta(days=i))
    rows = summary_rows(calculate_summary(state, end=end))
    assert [label for label, _ in rows] == ROWS
    values = dict(rows)
    assert values["Trading period length"] == "2 days"
    assert values["Cash at start"] == "$5,000.00"
    assert values["Return %"] == "0.00%"
    assert values["Trades executed"] == "0"
    assert values["Round trips"] == "0"
    assert values["Round trip win percent"] == "-"
    assert values["Average duration of winning round trips"] == "-"
    # two days are too few to annualise anything
    assert values["Annualised return %"] == values["Sharpe"] == values["Sortino"] == TOO_SHORT


def test_equity_curve_starts_from_the_deposit() -> None:
    state = State(strategy_id="x", created_at=T0, last_updated_at=T0)
    state.record_deposit(USDC, USDC.to_raw(Decimal(1000)), T0)
    at = datetime(2024, 1, 1, 1, tzinfo=UTC)
    state.stats.record(
        PortfolioSnapshot(
            at=at,
            total_equity=Decimal(900),
            free_cash=Decimal(900),
            open_positions=0,
            realised_pnl=Decimal(0),
            unrealised_pnl=Decimal(0),
        )
    )
    summary = calculate_summary(state)
    assert summary.start == T0 and summary.end == at
    assert math.isclose(summary.max_drawdown, 0.1)  # 1,000 deposited, 900 after the first cycle


def test_a_buy_that_never_filled_is_not_a_trade() -> None:
    state = funded_state(Decimal(1000))
    trade = state.plan_trade(T0, WETH_USDC, price=Decimal(2000), reserve=Decimal("0.0000001"))
    state.start_trade(trade, T0)
    state.settle_trade_failure(trade, T0, "too small to fill")
    assert len(state.portfolio.closed_positions) == 1  # closed, holding nothing
    state.record_statistics(T0 + timedelta(hours=1))
    values = dict(summary_rows(calculate_summary(state)))
    assert values["Trades executed"] == "0"
    assert values["Round trips"] == "0"
    assert values["Zero profit round trips"] == "0"
