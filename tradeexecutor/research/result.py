"""One research backtest's outcome as pandas: `.summary` floats, `.trades`, `.positions`,
`.equity` (numeric columns, UTC index) and a small bokeh `.figure()`.

The figures are the summary's own (`tradeexecutor.analysis.summary`), read generically: every
number, Decimal, count or duration `BacktestSummary` offers becomes a float, so a figure the
summary gains (a Sortino ratio, a compounded annual return) appears here and in a sweep's
results without a change here (`round_trip_win_rate`, won / round trips, is named
`win_rate` here). One is derived from the summary's figures: `calmar` (annualised return /
max drawdown); `cagr` repeats the annualised return.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING, Any

import pandas as pd

from tradeexecutor.analysis.summary import MIN_DAYS, BacktestSummary

if TYPE_CHECKING:
    from tradeexecutor.state.state import State
    from tradeexecutor.strategy.module import StrategyModule
    from tradeexecutor.strategy.universe import TradingUniverse

DAY = datetime.timedelta(days=1)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float | Decimal):
        return float(value)
    if isinstance(value, datetime.timedelta):
        return value / DAY
    if isinstance(value, list | tuple):
        return float(len(value))
    return None


_RENAMED = {
    "won": "won_round_trips",
    "lost": "lost_round_trips",
    "zero": "zero_round_trips",
    "period": "period_days",
    "round_trip_win_rate": "win_rate",  # won / round trips: a win is a closed position, not a swap
}
_DERIVED = ("cagr", "calmar")


def summary_columns() -> list[str]:
    """The names `summary_figures` can return, from the summary class alone."""
    names = [f.name for f in dataclasses.fields(BacktestSummary)]
    names += [n for n, v in vars(BacktestSummary).items() if isinstance(v, property)]
    return [_RENAMED.get(n, n) for n in names if n not in ("start", "end")] + list(_DERIVED)


def summary_figures(summary: BacktestSummary) -> dict[str, float]:
    """Every figure of `summary` as a float (NaN where the summary has none); see the module docstring."""
    figures: dict[str, float] = {}
    names = [f.name for f in dataclasses.fields(summary)]
    names += [n for n, v in vars(type(summary)).items() if isinstance(v, property)]
    for name in names:
        if name in ("start", "end"):
            continue
        raw = getattr(summary, name)
        value = _number(raw)
        if value is not None or raw is None:
            figures[_RENAMED.get(name, name)] = math.nan if value is None else value
    figures.setdefault("cagr", figures.get("annualised_return_pct", math.nan))
    drawdown = figures.get("max_drawdown", math.nan)
    cagr = figures["cagr"]
    figures["calmar"] = (
        cagr / drawdown if drawdown and not math.isnan(drawdown) and not math.isnan(cagr) else math.nan
    )
    return figures


# name -> (column, True when bigger is better)
OBJECTIVES: dict[str, tuple[str, bool]] = {
    "sharpe": ("sharpe", True),
    "sortino": ("sortino", True),
    "cagr": ("cagr", True),
    "calmar": ("calmar", True),
    "return": ("return_pct", True),
    "profit": ("realised_profit", True),
    "win_rate": ("win_rate", True),
    "max_drawdown": ("max_drawdown", False),
}


# figures the summary leaves n/a for a run shorter than MIN_DAYS: a sweep on them would rank NaNs
NEEDS_MIN_DAYS = frozenset({"sharpe", "sortino", "cagr", "calmar", "annualised_return_pct"})


def require_long_enough(
    objective: str, column: str, start: datetime.datetime, end: datetime.datetime
) -> None:
    """One sentence before any run when the objective cannot exist over `start`..`end`."""
    from tradeexecutor.errors import UserError

    days = (end - start) / datetime.timedelta(days=1)
    if column in NEEDS_MIN_DAYS and days < MIN_DAYS:
        raise UserError(
            f"--objective {objective} needs a backtest of at least {MIN_DAYS} days ({column} is n/a below "
            f"that), but {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} is {days:.1f} days: widen the range "
            "or choose --objective return."
        )


def objective_column(name: str, columns: list[str] | None = None) -> tuple[str, bool]:
    """(column, maximise?) for an objective name or any summary column."""
    from tradeexecutor.errors import UserError

    if name in OBJECTIVES and (columns is None or OBJECTIVES[name][0] in columns):
        return OBJECTIVES[name]
    if columns is not None and name in columns:
        return name, name != "max_drawdown"
    known = sorted(set(OBJECTIVES) | set(columns or ()))
    raise UserError(f"Unknown objective {name!r}; use one of {', '.join(known)}.")


def _utc_index(values: list[datetime.datetime], name: str) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(pd.to_datetime(values, utc=True), name=name)


@dataclass
class BacktestResult:
    """What `tradeexecutor.research.run_backtest` returns."""

    state: State
    report: BacktestSummary  # the summary object the CLI prints
    module: StrategyModule
    universe: TradingUniverse
    parameters: dict[str, Any]
    start: datetime.datetime
    end: datetime.datetime
    seconds: float = 0.0
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @cached_property
    def summary(self) -> dict[str, float]:
        return summary_figures(self.report)

    @cached_property
    def trades(self) -> pd.DataFrame:
        """One row per executed trade, by execution time (UTC): signed quantity, reserve, price, fee."""
        rows = []
        for t in self.state.portfolio.all_trades():
            if not t.is_success:
                continue
            rows.append(
                {
                    "executed_at": t.executed_at,
                    "trade_id": t.trade_id,
                    "position_id": t.position_id,
                    "pair": t.pair.ticker,
                    "side": "buy" if t.is_buy else "sell",
                    "trade_type": t.trade_type.value,
                    "quantity": float(t.executed_quantity),
                    "reserve": float(t.executed_reserve),
                    "price": float(t.executed_price),
                    "lp_fee": float(t.lp_fees_reserve),
                }
            )
        frame = pd.DataFrame(
            rows,
            columns=[
                "executed_at",
                "trade_id",
                "position_id",
                "pair",
                "side",
                "trade_type",
                "quantity",
                "reserve",
                "price",
                "lp_fee",
            ],
        )
        frame.index = _utc_index(list(frame.pop("executed_at")), "executed_at")
        return frame.sort_index(kind="stable").astype({"trade_id": "int64", "position_id": "int64"})

    @cached_property
    def positions(self) -> pd.DataFrame:
        """One row per position, by opening time (UTC): status, profit, duration in days."""
        rows = []
        for p in self.state.portfolio.all_positions():
            if not p.has_executed_trades():
                continue
            closed = p.closed_at
            rows.append(
                {
                    "opened_at": p.opened_at,
                    "position_id": p.position_id,
                    "pair": p.pair.ticker,
                    "status": p.status.value,
                    "closed_at": pd.Timestamp(closed) if closed else pd.NaT,
                    "realised_profit": float(p.realised_profit()),
                    "value": float(p.valuation()[0]) if p.is_open() else 0.0,
                    "duration_days": ((closed or self.end) - p.opened_at) / DAY,
                }
            )
        frame = pd.DataFrame(
            rows,
            columns=[
                "opened_at",
                "position_id",
                "pair",
                "status",
                "closed_at",
                "realised_profit",
                "value",
                "duration_days",
            ],
        )
        frame.index = _utc_index(list(frame.pop("opened_at")), "opened_at")
        frame["closed_at"] = pd.to_datetime(frame["closed_at"], utc=True)
        return frame.sort_index(kind="stable").astype({"position_id": "int64"})

    @cached_property
    def equity(self) -> pd.DataFrame:
        """The recorded statistics (once a day by default, and at the end), by time (UTC)."""
        points = self.state.stats.portfolio
        frame = pd.DataFrame(
            {
                "total_equity": [float(s.total_equity) for s in points],
                "free_cash": [float(s.free_cash) for s in points],
                "open_positions": [s.open_positions for s in points],
                "realised_pnl": [float(s.realised_pnl) for s in points],
                "unrealised_pnl": [float(s.unrealised_pnl) for s in points],
            },
            index=_utc_index([s.at for s in points], "at"),
        )
        return frame.astype({"open_positions": "int64"})

    def figure(self, title: str | None = None) -> Any:
        """A bokeh figure of the equity curve, with the trades marked (show it with
        `bokeh.plotting.show` or `bokeh.io.output_notebook()`)."""
        from bokeh.plotting import figure

        fig = figure(
            title=title or f"{self.module.display.get('NAME', self.module.path.name)}: equity",
            x_axis_type="datetime",
            height=320,
            sizing_mode="stretch_width",
            tools="pan,wheel_zoom,box_zoom,reset,hover,save",
        )
        equity = self.equity
        fig.line(equity.index, equity["total_equity"], line_width=2, legend_label="total equity")
        trades = self.trades
        if len(trades):
            at = equity["total_equity"].reindex(trades.index, method="ffill")
            buys, sells = trades["side"] == "buy", trades["side"] == "sell"
            fig.scatter(
                trades.index[buys], at[buys], marker="triangle", size=7, color="green", legend_label="buy"
            )
            fig.scatter(
                trades.index[sells],
                at[sells],
                marker="inverted_triangle",
                size=7,
                color="red",
                legend_label="sell",
            )
        fig.legend.location = "top_left"
        return fig
