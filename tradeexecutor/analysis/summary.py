"""The backtest summary: the figures users compare strategies by, computed from a State alone.

A "trade" in the summary is a round trip: one closed position that executed trades. Definitions (docs/backtesting.md
repeats them for users):

- Return % = (value at end - cash at start) / cash at start; value at end = cash plus open
  positions at their last valuation.
- Annualised return % = return x 365 days / trading period length (linear, not compounded).
- Won / lost / zero profit: closed positions whose realised profit is > 0, < 0, = 0; fees are
  inside the fills, so a round trip at an unchanged price is lost. Trade win percent = won / closed.
- Stop losses triggered: closed positions whose closing trade was a stop loss. Stop loss % of
  lost = stop-loss positions that lost / lost positions.
- Trade profit % = realised profit / reserve spent buying; durations from open to close.
- Max drawdown = the largest fall of total equity from its running peak, relative to the peak.
- Sharpe = mean / standard deviation (ddof 1) of the per-cycle simple returns of total equity,
  times sqrt(cycles per 365 days); risk-free rate 0, calendar days because crypto trades daily.
"""

from __future__ import annotations

import datetime
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from tradeexecutor.state.ledger import LedgerKind
from tradeexecutor.state.position import TradingPosition
from tradeexecutor.state.state import State
from tradeexecutor.state.trade import TradeType

YEAR = datetime.timedelta(days=365)


@dataclass(frozen=True, slots=True)
class PositionOutcome:
    profit: Decimal
    profit_pct: Decimal
    duration: datetime.timedelta
    stop_loss: bool


@dataclass(frozen=True, kw_only=True)
class BacktestSummary:
    start: datetime.datetime
    end: datetime.datetime
    cash_at_start: Decimal
    value_at_end: Decimal
    cash_at_end: Decimal
    open_positions_value: Decimal
    realised_profit: Decimal
    positions_open_at_end: int
    won: list[PositionOutcome]
    lost: list[PositionOutcome]
    zero: list[PositionOutcome]
    max_drawdown: float | None
    sharpe: float | None

    @property
    def period(self) -> datetime.timedelta:
        return self.end - self.start

    @property
    def total_trades(self) -> int:
        return len(self.won) + len(self.lost) + len(self.zero)

    @property
    def return_pct(self) -> Decimal | None:
        if not self.cash_at_start:
            return None
        return (self.value_at_end - self.cash_at_start) / self.cash_at_start

    @property
    def annualised_return_pct(self) -> Decimal | None:
        r = self.return_pct
        if r is None or self.period <= datetime.timedelta(0):
            return None
        return r * Decimal(YEAR.total_seconds()) / Decimal(self.period.total_seconds())

    @property
    def stop_losses(self) -> int:
        return sum(o.stop_loss for o in (*self.won, *self.lost, *self.zero))

    @property
    def stop_losses_lost(self) -> int:
        return sum(o.stop_loss for o in self.lost)


def _outcome(position: TradingPosition) -> PositionOutcome:
    realised = position.realised_profit()
    cost = sum(
        (t.executed_reserve for t in position.trades.values() if t.is_success and t.is_buy), Decimal(0)
    )
    exit_trade = next((t for t in reversed(position.trades.values()) if t.is_success and t.is_sell), None)
    closed_at = position.closed_at or position.opened_at
    return PositionOutcome(
        profit=realised,
        profit_pct=realised / cost if cost else Decimal(0),
        duration=closed_at - position.opened_at,
        stop_loss=exit_trade is not None and exit_trade.trade_type == TradeType.stop_loss,
    )


def _initial_point(state: State) -> tuple[datetime.datetime, Decimal] | None:
    """(time of the first deposit, cash deposited by then): where the equity curve starts."""
    deposits = [e.at for e in state.ledger.entries if e.kind == LedgerKind.deposit]
    if not deposits or state.portfolio.reserve_key is None:
        return None
    first = min(deposits)
    return first, _deposited(state, first)


def equity_curve(state: State) -> list[tuple[datetime.datetime, Decimal]]:
    """(time, total equity) per recorded cycle, starting from the cash deposited at the start."""
    points = [(s.at, s.total_equity) for s in state.stats.portfolio]
    initial = _initial_point(state)
    if initial is not None and (not points or points[0] != initial):
        points.insert(0, initial)
    return points


def _deposited(state: State, until: datetime.datetime | None = None) -> Decimal:
    """Reserve currency deposited (less withdrawn), up to `until` if given."""
    key = state.portfolio.reserve_key
    if key is None:
        return Decimal(0)
    asset = state.ledger.assets.get(key) or state.portfolio.reserve_holding().asset
    raw = sum(
        e.amount_raw
        for e in state.ledger.entries
        if e.asset_key == key
        and e.kind in (LedgerKind.deposit, LedgerKind.withdrawal)
        and (until is None or e.at <= until)
    )
    return asset.to_decimal(raw)


def max_drawdown(equity: Sequence[float]) -> float | None:
    if len(equity) < 2:
        return None
    import numpy as np  # here, not at the top: the webhook imports this module and must start fast

    values = np.asarray(equity, dtype="float64")
    peaks = np.maximum.accumulate(values)
    falls = np.divide(peaks - values, peaks, out=np.zeros_like(values), where=peaks > 0)
    return float(falls.max())


def sharpe_ratio(equity: Sequence[float], periods_per_year: float) -> float | None:
    import numpy as np

    values = np.asarray(equity, dtype="float64")
    before, after = values[:-1], values[1:]
    returns = after[before > 0] / before[before > 0] - 1
    if len(returns) < 2:
        return None
    deviation = float(returns.std(ddof=1))
    if deviation == 0 or not math.isfinite(deviation):
        return None
    return float(returns.mean()) / deviation * math.sqrt(periods_per_year)


def cycles_per_year(times: Sequence[datetime.datetime]) -> float | None:
    """Snapshots per 365 days, from the median interval between them (the cycle duration).

    Long series are sampled (1,000 evenly spread intervals): the median of a backtest's
    intervals is its cycle whatever the sample, and sorting 100,000 timedeltas is slow."""
    n = len(times)
    step = max(1, (n - 1) // 1000)
    gaps = [times[i + 1] - times[i] for i in range(0, n - 1, step) if times[i + 1] > times[i]]
    if not gaps:
        return None
    return YEAR / statistics.median(gaps)


def calculate_summary(
    state: State,
    *,
    start: datetime.datetime | None = None,
    end: datetime.datetime | None = None,
) -> BacktestSummary:
    """Summarise `state`; `start`/`end` default to its first deposit and last statistics point."""
    snapshots = state.stats.portfolio
    initial = _initial_point(state)
    snapshot_equity = [float(s.total_equity) for s in snapshots]
    if initial is not None and (not snapshots or (snapshots[0].at, snapshots[0].total_equity) != initial):
        curve_floats = [float(initial[1]), *snapshot_equity]
    else:
        curve_floats = snapshot_equity
    first_at = initial[0] if initial is not None else (snapshots[0].at if snapshots else state.created_at)
    start = start or first_at
    end = end or (snapshots[-1].at if snapshots else state.last_updated_at)
    # A position whose only buy failed (say, too small to fill) closed without trading: not a trade.
    closed = [_outcome(p) for p in state.portfolio.closed_positions.values() if p.has_executed_trades()]
    portfolio = state.portfolio
    live = [*portfolio.open_positions.values(), *portfolio.frozen_positions.values()]
    has_reserve = portfolio.reserve_key is not None
    # Sharpe uses the cycle snapshots only: the initial-cash point has no cycle interval before it.
    per_year = cycles_per_year([s.at for s in snapshots])
    return BacktestSummary(
        start=start,
        end=end,
        cash_at_start=_deposited(state, start) if has_reserve else Decimal(0),
        value_at_end=portfolio.total_equity() if has_reserve else Decimal(0),
        cash_at_end=portfolio.cash() if has_reserve else Decimal(0),
        open_positions_value=portfolio.positions_value(),
        realised_profit=portfolio.closed_realised_profit()
        + sum((p.realised_profit() for p in live), Decimal(0)),
        positions_open_at_end=len(live),
        won=[o for o in closed if o.profit > 0],
        lost=[o for o in closed if o.profit < 0],
        zero=[o for o in closed if o.profit == 0],
        max_drawdown=max_drawdown(curve_floats),
        sharpe=sharpe_ratio(snapshot_equity, per_year) if per_year else None,
    )


# --- presentation ---------------------------------------------------------------------------------


def format_duration(value: datetime.timedelta | None) -> str:
    """'440 days', '2 days 3 hours', '45 minutes'; '-' for None."""
    if value is None:
        return "-"
    minutes = int(value.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = []
    if days:
        parts.append(f"{days} day{'s' if days != 1 else ''}")
    if hours:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    if minutes and not days:
        parts.append(f"{minutes} minute{'s' if minutes != 1 else ''}")
    return " ".join(parts) or "0 minutes"


def format_pct(value: Decimal | float | None) -> str:
    return "-" if value is None else f"{float(value) * 100:.2f}%"


def format_money(value: Decimal) -> str:
    return f"${value.quantize(Decimal('0.01')):,}"


def _mean(values: list[Decimal]) -> Decimal | None:
    return sum(values, Decimal(0)) / len(values) if values else None


def _mean_duration(outcomes: list[PositionOutcome]) -> datetime.timedelta | None:
    if not outcomes:
        return None
    return sum((o.duration for o in outcomes), datetime.timedelta(0)) / len(outcomes)


def summary_rows(s: BacktestSummary) -> list[tuple[str, str]]:
    """(label, value) rows in the order users know them."""
    total = s.total_trades
    win_pcts = [o.profit_pct for o in s.won]
    loss_pcts = [o.profit_pct for o in s.lost]
    return [
        ("Trading period length", format_duration(s.period)),
        ("Return %", format_pct(s.return_pct)),
        ("Annualised return %", format_pct(s.annualised_return_pct)),
        ("Cash at start", format_money(s.cash_at_start)),
        ("Value at end", format_money(s.value_at_end)),
        ("Trade win percent", format_pct(Decimal(len(s.won)) / total if total else None)),
        ("Total trades done", str(total)),
        ("Won trades", str(len(s.won))),
        ("Lost trades", str(len(s.lost))),
        ("Stop losses triggered", str(s.stop_losses)),
        ("Stop loss % of all", format_pct(Decimal(s.stop_losses) / total if total else None)),
        ("Stop loss % of lost", format_pct(Decimal(s.stop_losses_lost) / len(s.lost) if s.lost else None)),
        ("Zero profit trades", str(len(s.zero))),
        ("Positions open at the end", str(s.positions_open_at_end)),
        ("Realised profit and loss", format_money(s.realised_profit)),
        ("Portfolio unrealised value", format_money(s.open_positions_value)),
        ("Cash left at the end", format_money(s.cash_at_end)),
        ("Average winning trade profit %", format_pct(_mean(win_pcts))),
        ("Average losing trade loss %", format_pct(_mean(loss_pcts))),
        ("Biggest winning trade %", format_pct(max(win_pcts) if win_pcts else None)),
        ("Biggest losing trade %", format_pct(min(loss_pcts) if loss_pcts else None)),
        ("Average duration of winning trades", format_duration(_mean_duration(s.won))),
        ("Average duration of losing trades", format_duration(_mean_duration(s.lost))),
        ("Max drawdown", format_pct(-s.max_drawdown if s.max_drawdown is not None else None)),
        ("Sharpe", "-" if s.sharpe is None else f"{s.sharpe:.2f}"),
    ]


def format_table(rows: list[tuple[str, str]]) -> str:
    """Labels left, values right-aligned, as a plain-text table."""
    label_width = max(len(label) for label, _ in rows)
    value_width = max(len(value) for _, value in rows)
    return "\n".join(f"{label:<{label_width}}  {value:>{value_width}}" for label, value in rows)
