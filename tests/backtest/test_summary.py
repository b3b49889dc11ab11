"""Summary statistics from a State: row set, formulas, formatting, and the empty case."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tests.state.factories import T0, USDC, WETH_USDC, funded_state
from tradeexecutor.analysis.summary import (
    calculate_summary,
    cycles_per_year,
    format_duration,
    format_money,
    format_table,
    max_drawdown,
    sharpe_ratio,
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
    "Trade win percent",
    "Total trades done",
    "Won trades",
    "Lost trades",
    "Stop losses triggered",
    "Stop loss % of all",
    "Stop loss % of lost",
    "Zero profit trades",
    "Positions open at the end",
    "Realised profit and loss",
    "Portfolio unrealised value",
    "Cash left at the end",
    "Average winning trade profit %",
    "Average losing trade loss %",
    "Biggest winning trade %",
    "Biggest losing trade %",
    "Average duration of winning trades",
    "Average duration of losing trades",
    "Max drawdown",
    "Sharpe",
]


def test_max_drawdown_is_the_deepest_fall_from_a_running_peak() -> None:
    assert max_drawdown([100, 120, 90, 130, 117]) == 1 - 90 / 120
    assert max_drawdown([100, 101, 102]) == 0
    assert max_drawdown([100]) is None


def test_sharpe_is_mean_over_stdev_of_cycle_returns_annualised() -> None:
    equity = [100.0, 101.0, 100.0, 102.0, 103.0]
    returns = [0.01, 100 / 101 - 1, 0.02, 103 / 102 - 1]
    mean = sum(returns) / 4
    stdev = math.sqrt(sum((r - mean) ** 2 for r in returns) / 3)
    assert math.isclose(sharpe_ratio(equity, 8760), mean / stdev * math.sqrt(8760))
    assert sharpe_ratio([100.0, 100.0, 100.0], 8760) is None  # no variation: undefined
    hourly = [T0 + timedelta(hours=i) for i in range(5)] + [T0 + timedelta(hours=4, minutes=30)]
    assert cycles_per_year(hourly) == 8760


def test_formatting() -> None:
    assert format_duration(timedelta(days=440, hours=3)) == "440 days 3 hours"
    assert format_duration(timedelta(days=1)) == "1 day"
    assert format_duration(timedelta(minutes=45)) == "45 minutes"
    assert format_duration(timedelta(0)) == "0 minutes"
    assert format_money(Decimal("-3267.834")) == "$-3,267.83"
    assert format_money(Decimal("10000")) == "$10,000.00"
    table = format_table([("Return %", "-32.68%"), ("Total trades done", "35")])
    assert table.splitlines() == ["Return %           -32.68%", "Total trades done       35"]


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
    assert values["Total trades done"] == "0"
    assert values["Trade win percent"] == "-"
    assert values["Average duration of winning trades"] == "-"
    assert values["Sharpe"] == "-"


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
    assert values["Total trades done"] == "0"
    assert values["Zero profit trades"] == "0"
