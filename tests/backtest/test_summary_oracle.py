"""Every summary statistic cross-checked against empyrical (empyrical-reloaded, maintained, works
with pandas 3) on the same equity curves.

The oracle side is written with pandas as an analyst would: the equity series as recorded in the
state, sampled once a day with `Series.asof`, deposits taken out with `shift`, and the returns
handed to empyrical with `annualization=365`. quantstats (0.0.86) gives the same figures to 1e-12
on these definitions; it is not a dependency because it pulls in matplotlib, seaborn and yfinance.
"""

from __future__ import annotations

import math
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import empyrical
import numpy as np
import pandas as pd
import pytest

from tests.state.factories import T0, USDC, funded_state
from tradeexecutor.analysis.summary import (
    MIN_DAYS,
    BacktestSummary,
    calculate_summary,
    equity_curve,
    reserve_flows,
    summary_rows,
)
from tradeexecutor.backtest.engine import BacktestConfig, prepare_backtest
from tradeexecutor.backtest.market import synthetic_market
from tradeexecutor.backtest.run import apply_time_frame_overrides
from tradeexecutor.data.time_bucket import TimeBucket
from tradeexecutor.state.state import State
from tradeexecutor.state.statistics import PortfolioSnapshot
from tradeexecutor.strategy.loader import load_strategy_module

STRATEGIES = Path(__file__).resolve().parents[2] / "strategies"
ANNUAL = 365


def record_curve(state: State, times: list, equity: list[float]) -> None:
    for at, value in zip(times, equity, strict=True):
        amount = Decimal(repr(round(value, 6)))
        state.stats.record(
            PortfolioSnapshot(
                at=at,
                total_equity=amount,
                free_cash=amount,
                open_positions=0,
                realised_pnl=Decimal(0),
                unrealised_pnl=Decimal(0),
            )
        )


def random_walk_state(days: int, *, seed: int, drift: float, vol: float, step: timedelta) -> State:
    state = funded_state(Decimal(10_000))
    rng = np.random.default_rng(seed)
    n = int(timedelta(days=days) / step)
    equity = 10_000 * np.cumprod(1 + rng.normal(drift, vol, n))
    record_curve(state, [T0 + step * (i + 1) for i in range(n)], equity.tolist())
    return state


def oracle(state: State) -> dict[str, float]:
    """The figures from empyrical, computed from the state's equity and flows with pandas."""
    curve = equity_curve(state)
    equity = pd.Series([float(v) for _, v in curve], index=pd.DatetimeIndex([t for t, _ in curve]))
    flows = pd.Series(
        [float(a) for _, a in reserve_flows(state)],
        index=pd.DatetimeIndex([t for t, _ in reserve_flows(state)]),
    )
    start, end = equity.index[0], equity.index[-1]
    # deposits after the start, summed into the interval that ends at the first point at or after them
    later = flows[flows.index > start]
    bucket = equity.index.searchsorted(later.index, side="left")
    moved = pd.Series(0.0, index=equity.index)
    for i, amount in zip(bucket, later, strict=True):
        moved.iloc[i] += amount
    point_returns = ((equity - moved) / equity.shift(1) - 1).iloc[1:]
    growth = (1 + point_returns).cumprod()
    growth = pd.concat([pd.Series([1.0], index=[start]), growth])
    days = pd.date_range(start, end, freq="D")
    daily = growth.asof(days).pct_change().dropna()
    return {
        "return": float(empyrical.cum_returns_final(point_returns)),
        "max_drawdown": -float(empyrical.max_drawdown(point_returns)),
        "annual": float(empyrical.annual_return(daily, annualization=ANNUAL)),
        "sharpe": float(empyrical.sharpe_ratio(daily, annualization=ANNUAL)),
        "sortino": float(empyrical.sortino_ratio(daily, annualization=ANNUAL)),
        "days": len(daily),
    }


def assert_matches(summary: BacktestSummary, expected: dict[str, float]) -> None:
    assert summary.period == timedelta(days=expected["days"]), "the oracle's daily returns cover the run"
    assert len(summary.daily_returns) == expected["days"]
    assert summary.return_pct == pytest.approx(expected["return"], rel=1e-9, abs=1e-12)
    assert summary.max_drawdown == pytest.approx(expected["max_drawdown"], rel=1e-9, abs=1e-12)
    assert summary.annualised_return_pct == pytest.approx(expected["annual"], rel=1e-9)
    assert summary.sharpe == pytest.approx(expected["sharpe"], rel=1e-9)
    assert summary.sortino == pytest.approx(expected["sortino"], rel=1e-9)


@pytest.mark.parametrize(
    ("seed", "drift", "vol", "step"),
    [
        (1, 0.0002, 0.01, timedelta(hours=1)),  # hourly cycles, a quarter of a year
        (2, -0.001, 0.03, timedelta(hours=4)),  # a losing, volatile strategy
        (3, 0.004, 0.02, timedelta(days=1)),  # daily cycles
    ],
)
def test_figures_match_empyrical_on_random_equity_curves(seed: int, drift: float, vol: float, step) -> None:
    state = random_walk_state(90, seed=seed, drift=drift, vol=vol, step=step)
    summary = calculate_summary(state)
    assert_matches(summary, oracle(state))


def test_a_run_that_lost_almost_everything_annualises_to_no_worse_than_minus_100_percent() -> None:
    state = funded_state(Decimal(10_000))
    days = [T0 + timedelta(days=i + 1) for i in range(40)]
    record_curve(state, days, [10_000 * 0.84**i for i in range(1, 41)])  # -99.9 % in 40 days
    summary = calculate_summary(state)
    assert summary.return_pct == pytest.approx(0.84**40 - 1)
    assert -1.0 <= summary.annualised_return_pct < -0.99
    assert_matches(summary, oracle(state))
    assert dict(summary_rows(summary))["Annualised return %"] == "-100.00%"


def test_deposits_and_withdrawals_are_not_returns() -> None:
    state = random_walk_state(60, seed=4, drift=0.0005, vol=0.01, step=timedelta(hours=6))
    # Money moved in and out between cycles. It earns nothing until the next statistics point,
    # then it grows with the rest: the curve after it is scaled by (equity + amount) / equity.
    snapshots = state.stats.portfolio
    for day, amount in ((10, Decimal(5_000)), (30, Decimal(-8_000))):
        at = T0 + timedelta(days=day, hours=3)
        if amount > 0:
            state.record_deposit(USDC, USDC.to_raw(amount), at, reason="top-up")
        else:
            state.record_withdrawal(USDC, USDC.to_raw(-amount), at, reason="payout")
        first = next(i for i, s in enumerate(snapshots) if s.at > at)
        scale = (snapshots[first].total_equity + amount) / snapshots[first].total_equity
        for i in range(first, len(snapshots)):
            value = (snapshots[i].total_equity * scale).quantize(Decimal("0.000001"))
            snapshots[i] = PortfolioSnapshot(
                at=snapshots[i].at,
                total_equity=value,
                free_cash=value,
                open_positions=0,
                realised_pnl=Decimal(0),
                unrealised_pnl=Decimal(0),
            )
    with_flows = calculate_summary(state)
    assert_matches(with_flows, oracle(state))
    # the same strategy without the money moving: the same return, drawdown and ratios
    plain = calculate_summary(random_walk_state(60, seed=4, drift=0.0005, vol=0.01, step=timedelta(hours=6)))
    assert with_flows.return_pct == pytest.approx(plain.return_pct, rel=1e-6)
    assert with_flows.max_drawdown == pytest.approx(plain.max_drawdown, rel=1e-6)
    assert with_flows.sharpe == pytest.approx(plain.sharpe, rel=1e-6)


def test_a_short_run_gets_no_annualised_figure_sharpe_or_sortino() -> None:
    state = random_walk_state(MIN_DAYS - 1, seed=5, drift=0.01, vol=0.05, step=timedelta(hours=1))
    summary = calculate_summary(state)
    assert summary.return_pct is not None and summary.max_drawdown is not None
    assert summary.annualised_return_pct is None and summary.sharpe is None and summary.sortino is None
    rows = dict(summary_rows(summary))
    too_short = f"n/a (needs ≥ {MIN_DAYS} days)"
    assert rows["Annualised return %"] == rows["Sharpe"] == rows["Sortino"] == too_short
    # one more day and they are there, and right
    longer = random_walk_state(MIN_DAYS, seed=5, drift=0.01, vol=0.05, step=timedelta(hours=1))
    assert_matches(calculate_summary(longer), oracle(longer))


def test_a_real_backtest_matches_empyrical_and_counts_trades_and_round_trips() -> None:
    module = apply_time_frame_overrides(
        load_strategy_module(STRATEGIES / "sma_crossover.py"), TimeBucket.h1, None
    )
    end = T0 + timedelta(days=60)
    data = synthetic_market(
        ["WETH-USDC"], chain_id=31337, start=T0, end=end, base_bucket=TimeBucket.h1, seed=11
    )
    state = prepare_backtest(module, data, BacktestConfig(start=T0, end=end)).run()
    summary = calculate_summary(state, start=T0, end=end)
    assert_matches(summary, oracle(state))
    filled = [t for t in state.portfolio.all_trades() if t.is_success]
    closed = [p for p in state.portfolio.closed_positions.values() if p.has_executed_trades()]
    assert summary.total_trades == len(filled) > 0
    assert summary.round_trips == len(closed) > 0
    rows = dict(summary_rows(summary))
    assert rows["Trades executed"] == str(len(filled))
    assert rows["Round trips"] == str(len(closed))
    assert math.isfinite(summary.sharpe) and rows["Sharpe"] == f"{summary.sharpe:.2f}"
