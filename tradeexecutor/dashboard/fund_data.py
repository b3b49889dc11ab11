"""The fund dashboard's figures: where the equity change over a window came from.

All amounts are in the reserve currency. Over a window [start, end]:

    equity change = trading revenue - LP fees + deposits - withdrawals + reserve drift + other

- equity at a time: the last per-cycle statistics snapshot at or before it (before the
  first snapshot: the reserve deposited by then); equity is cash plus positions at their
  last valuation, so gas (paid in the chain's native token) is not in it;
- trading revenue: the change of realised plus unrealised profit between the two
  snapshots, with the LP fees of the trades executed in the window added back (fills
  already include them, so gross revenue minus fees is what the positions earned);
- LP fees: the pools' fees on the trades executed in the window;
- deposits and withdrawals, reserve drift: the ledger's entries of the reserve currency;
- other: what is left, such as trades executed after the last snapshot of the window; zero
  when the statistics cover the window.

Gas is listed beside the breakdown: the native token spent (from the ledger) and its value
in the reserve currency when it was paid (from the trades).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from tradeexecutor.analysis.summary import (
    calculate_summary,
    count_trades,
    equity_curve,
    net_deposited,
    reserve_flows,
    summary_rows,
)
from tradeexecutor.dashboard.timewindow import TimeWindow
from tradeexecutor.state.errors import StateError
from tradeexecutor.state.ledger import LedgerKind
from tradeexecutor.state.state import State
from tradeexecutor.state.statistics import PortfolioSnapshot
from tradeexecutor.state.trade import TradeStatus

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Breakdown:
    reserve_symbol: str
    equity_start: Decimal
    equity_end: Decimal
    trading_revenue: Decimal
    lp_fees: Decimal  # positive: what was paid
    deposits: Decimal
    withdrawals: Decimal  # positive: what left
    drift: Decimal
    gas_native: Decimal  # native token spent, positive
    gas_native_symbol: str
    gas_reserve: Decimal  # the same valued in the reserve currency, positive
    trades_executed: int

    @property
    def equity_change(self) -> Decimal:
        return self.equity_end - self.equity_start

    @property
    def other(self) -> Decimal:
        explained = self.trading_revenue - self.lp_fees + self.deposits - self.withdrawals + self.drift
        return self.equity_change - explained

    @property
    def net_result(self) -> Decimal:
        """What the fund earned: equity change less the money moved in and out."""
        return self.equity_change - self.deposits + self.withdrawals

    def rows(self) -> list[tuple[str, Decimal, str]]:
        """(label, signed amount, explanation) in the order of the formula."""
        return [
            ("Trading revenue", self.trading_revenue, "profit of the positions before LP fees"),
            ("LP fees", -self.lp_fees, "paid to the pools on the window's trades"),
            ("Deposits", self.deposits, "reserve currency arrived from outside"),
            ("Withdrawals", -self.withdrawals, "reserve currency sent out"),
            ("Drift", self.drift, "corrections booked by balance audits"),
            ("Other", self.other, "not covered by the statistics (e.g. trades after the last cycle)"),
        ]


def _snapshot_at(state: State, at: datetime.datetime | None) -> PortfolioSnapshot | None:
    snapshots = state.stats.portfolio
    if at is None:
        return snapshots[-1] if snapshots else None
    found = None
    for s in snapshots:
        if s.at > at:
            break
        found = s
    return found


def _equity_and_pnl(state: State, at: datetime.datetime | None) -> tuple[Decimal, Decimal]:
    snapshot = _snapshot_at(state, at)
    if snapshot is None:
        return net_deposited(reserve_flows(state), at), ZERO
    return snapshot.total_equity, snapshot.realised_pnl + snapshot.unrealised_pnl


def breakdown(state: State, window: TimeWindow) -> Breakdown | None:
    """None when the state holds no reserve currency yet (nothing to account for)."""
    portfolio = state.portfolio
    try:
        reserve = portfolio.reserve_holding().asset
    except StateError:
        return None
    start_equity, start_pnl = (
        _equity_and_pnl(state, window.start) if window.start is not None else (ZERO, ZERO)
    )
    end_equity, end_pnl = _equity_and_pnl(state, window.end)
    deposits = withdrawals = drift = ZERO
    gas_raw = 0
    gas_asset = None
    holding = portfolio.gas_holding()
    for e in state.ledger.entries:
        if not window.contains(e.at):
            continue
        if e.kind == LedgerKind.gas_fee:
            gas_raw -= e.amount_raw
            gas_asset = state.ledger.assets.get(e.asset_key)
            continue
        if e.asset_key != reserve.key:
            continue
        amount = reserve.to_decimal(e.amount_raw)
        if e.kind == LedgerKind.deposit:
            deposits += amount
        elif e.kind == LedgerKind.withdrawal:
            withdrawals -= amount
        elif e.kind == LedgerKind.drift:
            drift += amount
    lp_fees = gas_reserve = ZERO
    for t in portfolio.all_trades():
        if t.status != TradeStatus.success or not window.contains(t.executed_at):
            continue
        lp_fees += t.lp_fees_reserve or ZERO
        gas_reserve += t.gas_fees_reserve
    gas_asset = gas_asset or (holding.asset if holding is not None else None)
    return Breakdown(
        reserve_symbol=reserve.symbol,
        equity_start=start_equity,
        equity_end=end_equity,
        trading_revenue=end_pnl - start_pnl + lp_fees,
        lp_fees=lp_fees,
        deposits=deposits,
        withdrawals=withdrawals,
        drift=drift,
        gas_native=gas_asset.to_decimal(gas_raw) if gas_asset is not None else ZERO,
        gas_native_symbol=gas_asset.symbol if gas_asset is not None else "",
        gas_reserve=gas_reserve,
        trades_executed=count_trades(state, window.start, window.end),
    )


def equity_points(state: State, window: TimeWindow) -> list[tuple[datetime.datetime, Decimal]]:
    return [(at, value) for at, value in equity_curve(state) if window.contains(at)]


def summary_table(state: State) -> list[tuple[str, str]]:
    """The backtest summary's rows over the whole history (analysis/summary.py)."""
    if state.portfolio.reserve_key is None:
        return []
    return summary_rows(calculate_summary(state))
