"""The backtest summary: the figures users compare strategies by, computed from a State alone.

One vocabulary everywhere (backtest summary, /fund, the dashboards, Discord): a **trade** is one
executed swap (a trade that filled); a **round trip** is a closed position that executed trades
(bought, then sold out). docs/backtesting.md repeats the definitions for users:

- Return % is time-weighted: the growth of the equity curve with deposits and withdrawals taken
  out (a deposit counts from the statistics point after it arrived). Without money moving in or
  out during the run it is (value at end - cash at start) / cash at start.
- Annualised return % is compounded: (1 + return) ** (365 days / period) - 1, so never below -100 %.
- Sharpe and Sortino come from **daily** returns (the time-weighted equity sampled every 24 hours
  from the start), annualised with sqrt(365): crypto trades every calendar day. Risk-free rate 0.
  Sharpe = mean / standard deviation (ddof 1); Sortino = mean / downside deviation, where the
  downside deviation is sqrt(mean(min(r, 0)^2)) over all days (as empyrical and quantstats).
- The annualised return, Sharpe and Sortino need MIN_DAYS of history: over a few hours or days they
  are noise blown up by the annualisation (a 7-minute run once showed +18,935 % and a Sharpe of 41).
- Max drawdown = the largest fall of the time-weighted equity from its running peak, relative to
  the peak, over every statistics point.
- Won / lost / zero profit: round trips whose realised profit is > 0, < 0, = 0; fees are inside the
  fills, so a round trip at an unchanged price is lost. Round trip profit % = realised profit /
  reserve spent buying; durations from open to close.

tests/backtest/test_summary_oracle.py checks every figure against empyrical and quantstats.
"""

from __future__ import annotations

import bisect
import datetime
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from tradeexecutor.state.ledger import LedgerKind
from tradeexecutor.state.position import TradingPosition
from tradeexecutor.state.state import State
from tradeexecutor.state.trade import TradeType

YEAR_DAYS = 365
DAY = datetime.timedelta(days=1)
# Shorter runs get no annualised return, Sharpe or Sortino: 30 daily returns is the least that
# gives a standard deviation worth annualising, and a month is the shortest period a trader
# would annualise a return from.
MIN_DAYS = 30


@dataclass(frozen=True, slots=True)
class PositionOutcome:
    """One round trip."""

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
    total_trades: int  # trades executed (filled) in [start, end]
    won: list[PositionOutcome]
    lost: list[PositionOutcome]
    zero: list[PositionOutcome]
    return_pct: float | None  # time-weighted, as a fraction
    max_drawdown: float | None  # as a positive fraction
    daily_returns: tuple[float, ...]

    @property
    def period(self) -> datetime.timedelta:
        return self.end - self.start

    @property
    def long_enough(self) -> bool:
        """Whether the run is long enough to annualise (MIN_DAYS)."""
        return self.period >= MIN_DAYS * DAY

    @property
    def round_trips(self) -> int:
        return len(self.won) + len(self.lost) + len(self.zero)

    @property
    def round_trip_win_rate(self) -> Decimal | None:
        """Won round trips / round trips (as a fraction), None without round trips."""
        trips = self.round_trips
        return Decimal(len(self.won)) / trips if trips else None

    @property
    def annualised_return_pct(self) -> float | None:
        if not self.long_enough or self.return_pct is None:
            return None
        return compounded_annual_return(self.return_pct, self.period)

    @property
    def sharpe(self) -> float | None:
        return sharpe_ratio(self.daily_returns) if self.long_enough else None

    @property
    def sortino(self) -> float | None:
        return sortino_ratio(self.daily_returns) if self.long_enough else None

    @property
    def stop_losses(self) -> int:
        return sum(o.stop_loss for o in (*self.won, *self.lost, *self.zero))

    @property
    def stop_losses_lost(self) -> int:
        return sum(o.stop_loss for o in self.lost)


# --- the figures, as plain functions of numbers ----------------------------------------------------


def compounded_annual_return(total_return: float, period: datetime.timedelta) -> float | None:
    """(1 + total return) ** (365 days / period) - 1; -100 % when everything was lost."""
    days = period / DAY
    if days <= 0:
        return None
    growth = 1.0 + total_return
    if growth <= 0:
        return -1.0
    try:
        return growth ** (YEAR_DAYS / days) - 1.0
    except OverflowError:  # a short run that multiplied its money: beyond any float
        return math.inf


def max_drawdown(equity: Sequence[float]) -> float | None:
    """The largest fall from a running peak, relative to the peak (0.25 = 25 %)."""
    import numpy as np  # here: the dashboard imports this module, and /ping must not wait for numpy

    if len(equity) < 2:
        return None
    values = np.asarray(equity, dtype="float64")
    peaks = np.maximum.accumulate(values)
    falls = np.divide(peaks - values, peaks, out=np.zeros_like(values), where=peaks > 0)
    return float(falls.max())


def sharpe_ratio(daily_returns: Sequence[float]) -> float | None:
    """Annualised Sharpe ratio of daily returns (risk-free 0); None when undefined."""
    import numpy as np

    returns = np.asarray(daily_returns, dtype="float64")
    if len(returns) < 2:
        return None
    deviation = float(returns.std(ddof=1))
    if deviation == 0 or not math.isfinite(deviation):
        return None
    return float(returns.mean()) / deviation * math.sqrt(YEAR_DAYS)


def sortino_ratio(daily_returns: Sequence[float]) -> float | None:
    """Annualised Sortino ratio of daily returns (target 0); None without a losing day."""
    import numpy as np

    returns = np.asarray(daily_returns, dtype="float64")
    if len(returns) < 2:
        return None
    downside = math.sqrt(float(np.mean(np.minimum(returns, 0.0) ** 2)))
    if downside == 0 or not math.isfinite(downside):
        return None
    return float(returns.mean()) / downside * math.sqrt(YEAR_DAYS)


def growth_index(
    curve: Sequence[tuple[datetime.datetime, float]], flows: Sequence[tuple[datetime.datetime, float]]
) -> list[float]:
    """What 1 unit invested at the first point grew to at each point: the time-weighted equity.

    `flows` are deposits (+) and withdrawals (-). The flows in (t[k-1], t[k]] are taken out of
    the step to t[k]: (equity[k] - flows) / equity[k-1]. A step from zero equity counts as no
    change (there was nothing to earn on)."""
    import numpy as np

    if not curve:
        return []
    equity = np.fromiter((e for _, e in curve), dtype="float64", count=len(curve))
    moved = np.zeros(len(curve) - 1)
    if flows:
        order = sorted(flows, key=lambda f: f[0])
        flow_times = [at for at, _ in order]
        cumulative = np.cumsum([0.0, *(amount for _, amount in order)])
        at_points = cumulative[[bisect.bisect_right(flow_times, at) for at, _ in curve]]
        moved = np.diff(at_points)
    before, after = equity[:-1], equity[1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        growth = np.where(before > 0, (after - moved) / before, 1.0)
    return [1.0, *np.cumprod(np.maximum(growth, 0.0)).tolist()]


def daily_returns(
    times: Sequence[datetime.datetime],
    index: Sequence[float],
    start: datetime.datetime,
    end: datetime.datetime,
) -> tuple[float, ...]:
    """Returns over each whole 24 hours from `start` (a final partial day is left out), from the
    last index value at or before each day's end."""
    import numpy as np

    days = int((end - start) / DAY)
    if not times or days < 1:
        return ()
    samples = []
    for k in range(days + 1):
        at = start + k * DAY
        i = bisect.bisect_right(times, at) - 1
        samples.append(index[i] if i >= 0 else 1.0)
    values = np.asarray(samples, dtype="float64")
    before, after = values[:-1], values[1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        returns = np.where(before > 0, after / before - 1.0, 0.0)
    return tuple(float(r) for r in returns)


# --- from a State --------------------------------------------------------------------------------


def reserve_flows(state: State) -> list[tuple[datetime.datetime, Decimal]]:
    """Deposits (+) and withdrawals (-) of the reserve currency, in time order."""
    key = state.portfolio.reserve_key
    if key is None:
        return []
    asset = state.ledger.assets.get(key) or state.portfolio.reserve_holding().asset
    flows = [
        (e.at, asset.to_decimal(e.amount_raw))
        for e in state.ledger.entries
        if e.asset_key == key and e.kind in (LedgerKind.deposit, LedgerKind.withdrawal)
    ]
    flows.sort(key=lambda f: f[0])
    return flows


def net_deposited(
    flows: Sequence[tuple[datetime.datetime, Decimal]], until: datetime.datetime | None = None
) -> Decimal:
    """Reserve deposited less withdrawn, up to and including `until` if given."""
    return sum((amount for at, amount in flows if until is None or at <= until), Decimal(0))


def _initial_point(
    state: State, flows: Sequence[tuple[datetime.datetime, Decimal]]
) -> tuple[datetime.datetime, Decimal] | None:
    """(time of the first deposit, cash deposited by then): where the equity curve starts."""
    deposits = [at for at, amount in flows if amount > 0]
    if not deposits:
        return None
    first = min(deposits)
    return first, net_deposited(flows, first)


def equity_curve(state: State) -> list[tuple[datetime.datetime, Decimal]]:
    """(time, total equity) per recorded cycle, starting from the cash deposited at the start."""
    points = [(s.at, s.total_equity) for s in state.stats.portfolio]
    initial = _initial_point(state, reserve_flows(state))
    if initial is not None and (not points or points[0] != initial):
        points.insert(0, initial)
    return points


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


def count_trades(state: State, start: datetime.datetime | None, end: datetime.datetime | None) -> int:
    """Trades executed (filled) in [start, end]: the one meaning of "trades"."""
    return sum(
        1
        for t in state.portfolio.all_trades()
        if t.is_success
        and t.executed_at is not None
        and (start is None or t.executed_at >= start)
        and (end is None or t.executed_at <= end)
    )


def calculate_summary(
    state: State,
    *,
    start: datetime.datetime | None = None,
    end: datetime.datetime | None = None,
) -> BacktestSummary:
    """Summarise `state`; `start`/`end` default to its first deposit and last statistics point."""
    snapshots = state.stats.portfolio
    flows = reserve_flows(state)
    initial = _initial_point(state, flows)
    first_at = initial[0] if initial is not None else (snapshots[0].at if snapshots else state.created_at)
    start = start or first_at
    end = end or (snapshots[-1].at if snapshots else state.last_updated_at)
    curve = [(at, float(v)) for at, v in equity_curve(state) if start <= at <= end]
    # A deposit at `start` is the starting capital, not a flow into the run.
    run_flows = [(at, float(amount)) for at, amount in flows if start < at <= end]
    index = growth_index(curve, run_flows)
    times = [at for at, _ in curve]
    # A position whose only buy failed (say, too small to fill) closed without trading: not a round trip.
    closed = [_outcome(p) for p in state.portfolio.closed_positions.values() if p.has_executed_trades()]
    portfolio = state.portfolio
    live = [*portfolio.open_positions.values(), *portfolio.frozen_positions.values()]
    has_reserve = portfolio.reserve_key is not None
    return BacktestSummary(
        start=start,
        end=end,
        cash_at_start=net_deposited(flows, start) if has_reserve else Decimal(0),
        value_at_end=portfolio.total_equity() if has_reserve else Decimal(0),
        cash_at_end=portfolio.cash() if has_reserve else Decimal(0),
        open_positions_value=portfolio.positions_value(),
        realised_profit=portfolio.closed_realised_profit()
        + sum((p.realised_profit() for p in live), Decimal(0)),
        positions_open_at_end=len(live),
        total_trades=count_trades(state, start, end),
        won=[o for o in closed if o.profit > 0],
        lost=[o for o in closed if o.profit < 0],
        zero=[o for o in closed if o.profit == 0],
        return_pct=index[-1] - 1.0 if len(index) >= 2 else (0.0 if index else None),
        max_drawdown=max_drawdown(index),
        daily_returns=daily_returns(times, index, start, end),
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
    return "-" if value is None else f"{float(value) * 100:,.2f}%"


def format_money(value: Decimal) -> str:
    return f"${value.quantize(Decimal('0.01')):,}"


TOO_SHORT = f"n/a (needs ≥ {MIN_DAYS} days)"


def _ratio(s: BacktestSummary, value: float | None, undefined: str) -> str:
    if not s.long_enough:
        return TOO_SHORT
    return f"n/a ({undefined})" if value is None else f"{value:.2f}"


def _mean(values: list[Decimal]) -> Decimal | None:
    return sum(values, Decimal(0)) / len(values) if values else None


def _mean_duration(outcomes: list[PositionOutcome]) -> datetime.timedelta | None:
    if not outcomes:
        return None
    return sum((o.duration for o in outcomes), datetime.timedelta(0)) / len(outcomes)


def summary_rows(s: BacktestSummary) -> list[tuple[str, str]]:
    """(label, value) rows in the order users know them."""
    trips = s.round_trips
    win_pcts = [o.profit_pct for o in s.won]
    loss_pcts = [o.profit_pct for o in s.lost]
    return [
        ("Trading period length", format_duration(s.period)),
        ("Return %", format_pct(s.return_pct)),
        ("Annualised return %", format_pct(s.annualised_return_pct) if s.long_enough else TOO_SHORT),
        ("Cash at start", format_money(s.cash_at_start)),
        ("Value at end", format_money(s.value_at_end)),
        ("Trades executed", str(s.total_trades)),
        ("Round trips", str(trips)),
        ("Round trip win percent", format_pct(s.round_trip_win_rate)),
        ("Won round trips", str(len(s.won))),
        ("Lost round trips", str(len(s.lost))),
        ("Zero profit round trips", str(len(s.zero))),
        ("Stop losses triggered", str(s.stop_losses)),
        ("Stop loss % of round trips", format_pct(Decimal(s.stop_losses) / trips if trips else None)),
        ("Stop loss % of lost", format_pct(Decimal(s.stop_losses_lost) / len(s.lost) if s.lost else None)),
        ("Positions open at the end", str(s.positions_open_at_end)),
        ("Realised profit and loss", format_money(s.realised_profit)),
        ("Portfolio unrealised value", format_money(s.open_positions_value)),
        ("Cash left at the end", format_money(s.cash_at_end)),
        ("Average winning round trip profit %", format_pct(_mean(win_pcts))),
        ("Average losing round trip loss %", format_pct(_mean(loss_pcts))),
        ("Biggest winning round trip %", format_pct(max(win_pcts) if win_pcts else None)),
        ("Biggest losing round trip %", format_pct(min(loss_pcts) if loss_pcts else None)),
        ("Average duration of winning round trips", format_duration(_mean_duration(s.won))),
        ("Average duration of losing round trips", format_duration(_mean_duration(s.lost))),
        ("Max drawdown", format_pct(-s.max_drawdown if s.max_drawdown is not None else None)),
        ("Sharpe", _ratio(s, s.sharpe, "no variation")),
        ("Sortino", _ratio(s, s.sortino, "no losing day")),
    ]


def format_table(rows: list[tuple[str, str]]) -> str:
    """Labels left, values right-aligned, as a plain-text table."""
    label_width = max(len(label) for label, _ in rows)
    value_width = max(len(value) for _, value in rows)
    return "\n".join(f"{label:<{label_width}}  {value:>{value_width}}" for label, value in rows)
