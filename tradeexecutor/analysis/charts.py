"""The strategy charts as Bokeh figures, from plain DataFrames (see `chart_data` for their shape).

One set of builders serves the live dashboard (`tradeexecutor.dashboard.charts` embeds the
layout as JSON for the BokehJS the webhook serves), the backtest report (the same layout
with BokehJS inlined, `tradeexecutor.analysis.html_report`) and notebooks (`show(layout)`):

- a **price chart per pair**: candlesticks (green up, red down), the strategy's plot
  lines, the filled trades and the stop-loss / take-profit levels of open positions;
- a **pane** per plot pane the strategy recorded into;
- **equity** with the buy-and-hold benchmark, and the **drawdown** of its returns below.

All share one time axis, so zooming one zooms all. Fills have one marker style everywhere:
a buy is an upward green triangle, a sell a downward red one (orange when a stop loss
closed the position), at the fill price; a marker's area is proportional to the filled
size, the largest being `marker_radius` pixels (less on a chart with more than
CROWDED_FILLS fills, so the candles stay visible). Renderers carry names (`candles:WETH-USDC`,
`buys:WETH-USDC`, `plot:WETH-USDC:fast SMA`, `equity`, ...) so tests and scripts can
find the drawn data in the browser.

Bokeh models are not built thread-safely: callers serving requests on several threads
build under one lock (the dashboard does).
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from tradeexecutor.analysis.chart_data import STOP_LOSS, PairFrames, is_stop, run_frames

UP_COLOUR = "#26a69a"
DOWN_COLOUR = "#ef5350"
BUY_COLOUR = "#00a152"
SELL_COLOUR = "#d50000"
STOP_COLOUR = "#ff6d00"
MARKER_LINE = "#1f2937"
EQUITY_COLOUR = "#2f6fdb"
HOLD_COLOUR = "#6b7280"
DRAWDOWN_COLOUR = "#dc2626"
LEVEL_COLOURS = {STOP_LOSS: "#d50000", "take profit": "#00a152"}
MIN_MARKER_RADIUS = 3.0  # pixels: the smallest fill stays visible and hoverable
CROWDED_FILLS = 100  # with more fills on a chart the markers shrink by sqrt(100 / fills)
TOOLS = "pan,xwheel_zoom,box_zoom,reset,save"


def ms(values: pd.DatetimeIndex | pd.Series | Sequence[datetime.datetime]) -> list[float]:
    """Bokeh's datetime unit: milliseconds since the epoch."""
    index = pd.DatetimeIndex(values)
    if index.tz is None:
        index = index.tz_localize("UTC")
    return (index.as_unit("ns").asi8 / 1e6).tolist()


def ms_of(at: datetime.datetime) -> float:
    return at.timestamp() * 1000.0


def candle_width(candles: pd.DataFrame, width: datetime.timedelta | None = None) -> datetime.timedelta:
    """The given width, else the smallest gap between candles (gaps are buckets without trades)."""
    if width is not None:
        return width
    if len(candles) < 2:
        return datetime.timedelta(hours=1)
    gaps = np.diff(pd.DatetimeIndex(candles.index).as_unit("ns").asi8)
    return datetime.timedelta(microseconds=int(gaps[gaps > 0].min()) // 1000)


def marker_radii(quantities: Sequence[float], base_radius: float) -> list[float]:
    """Area proportional to size: radius = base x sqrt(size / largest), at least MIN_MARKER_RADIUS."""
    largest = max(quantities, default=0.0)
    if largest <= 0:
        return [base_radius for _ in quantities]
    return [max(MIN_MARKER_RADIUS, base_radius * math.sqrt(q / largest)) for q in quantities]


def figure(title: str, height: int, y_label: str, x_range: Any = None) -> Any:
    """A figure in the house style: datetime x axis, light grid, toolbar above, no logo."""
    from bokeh.models import DatetimeTickFormatter, NumeralTickFormatter
    from bokeh.plotting import figure as bokeh_figure

    kwargs: dict[str, Any] = {"x_range": x_range} if x_range is not None else {}
    fig = bokeh_figure(
        title=title,
        height=height,
        sizing_mode="stretch_width",
        x_axis_type="datetime",
        tools=TOOLS,
        active_scroll="xwheel_zoom",
        toolbar_location="right",
        background_fill_color="#ffffff",
        border_fill_color="#ffffff",
        outline_line_color="#e5e7eb",
        min_border_left=70,
        **kwargs,
    )
    fig.title.text_font_size = "13px"
    fig.title.text_color = "#374151"
    fig.yaxis.axis_label = y_label
    fig.yaxis.formatter = NumeralTickFormatter(format="0,0.[0000]")
    fig.xaxis.formatter = DatetimeTickFormatter(
        hours="%H:%M", days="%b %d", months="%b %Y", minutes="%H:%M", seconds="%H:%M:%S"
    )
    fig.grid.grid_line_color = "#f1f5f9"
    fig.axis.axis_line_color = "#d1d5db"
    fig.axis.major_label_text_color = "#4b5563"
    fig.toolbar.logo = None
    return fig


def shared_x_range(start: datetime.datetime | None, end: datetime.datetime | None) -> Any:
    """One range for every figure of a layout; fitted to the data when start or end is None."""
    from bokeh.models import DataRange1d, Range1d

    if start is None or end is None:
        return DataRange1d(range_padding=0.02, only_visible=True)
    low, high = ms_of(start), ms_of(end)
    if high <= low:
        low, high = low - 3_600_000, high + 3_600_000
    pad = (high - low) * 0.02
    return Range1d(low - pad, high + pad)


def _legend_above(fig: Any) -> None:
    if not fig.legend:
        return
    legend = fig.legend[0]
    fig.center.remove(legend)
    legend.orientation = "horizontal"
    legend.location = "top_left"
    legend.border_line_alpha = 0
    legend.label_text_font_size = "11px"
    legend.click_policy = "hide"
    fig.add_layout(legend, "above")


def _when(values: pd.Series | pd.DatetimeIndex) -> list[str]:
    return [t.strftime("%Y-%m-%d %H:%M") for t in pd.DatetimeIndex(values)]


def _draw_candles(fig: Any, ticker: str, candles: pd.DataFrame, width: datetime.timedelta) -> Any:
    from bokeh.models import ColumnDataSource, HoverTool

    w = width.total_seconds() * 1000.0
    opens, closes = candles["open"].to_numpy(), candles["close"].to_numpy()
    starts = ms(candles.index)
    source = ColumnDataSource(
        {
            "t": [s + w / 2 for s in starts],
            "open": opens.tolist(),
            "high": candles["high"].to_numpy().tolist(),
            "low": candles["low"].to_numpy().tolist(),
            "close": closes.tolist(),
            "top": np.maximum(opens, closes).tolist(),
            "bottom": np.minimum(opens, closes).tolist(),
            "colour": np.where(closes >= opens, UP_COLOUR, DOWN_COLOUR).tolist(),
            "when": _when(candles.index),
        }
    )
    fig.segment("t", "high", "t", "low", source=source, line_color="colour", name=f"wicks:{ticker}")
    bodies = fig.vbar(
        x="t", width=w * 0.7, top="top", bottom="bottom", source=source, fill_color="colour",
        line_color="colour", fill_alpha=0.8, name=f"candles:{ticker}", legend_label="candles",
    )  # fmt: skip
    fig.add_tools(
        HoverTool(
            renderers=[bodies],
            tooltips=[
                ("candle", "@when UTC"),
                ("open", "@open{0,0.[000000]}"),
                ("high", "@high{0,0.[000000]}"),
                ("low", "@low{0,0.[000000]}"),
                ("close", "@close{0,0.[000000]}"),
            ],
        )
    )
    return bodies


def _draw_plot_lines(fig: Any, prefix: str, rows: pd.DataFrame) -> list[Any]:
    from bokeh.models import ColumnDataSource, HoverTool

    lines = []
    for name, group in rows.groupby("series", sort=False):
        source = ColumnDataSource(
            {"t": ms(group["at"]), "value": group["value"].tolist(), "when": _when(group["at"])}
        )
        lines.append(
            fig.line(
                "t",
                "value",
                source=source,
                line_color=group["colour"].iloc[0],
                line_width=1.8,
                legend_label=str(name),
                name=f"plot:{prefix}:{name}",
            )  # fmt: skip
        )
    if lines:
        fig.add_tools(
            HoverTool(renderers=lines, tooltips=[("$name", "@value{0,0.[0000]}"), ("time", "@when UTC")])
        )
    return lines


def _draw_fills(fig: Any, ticker: str, fills: pd.DataFrame, radius: float, price_label: str) -> list[Any]:
    from bokeh.models import ColumnDataSource, HoverTool

    crowd = min(
        1.0, math.sqrt(CROWDED_FILLS / len(fills))
    )  # many fills: smaller markers, candles stay visible
    radii = marker_radii(fills["quantity"].tolist(), max(MIN_MARKER_RADIUS, radius * crowd))
    frame = fills.assign(radius=radii)
    stops = frame["trade_type"].map(is_stop).astype(bool)
    groups = [
        ("buys", frame[frame["side"] == "buy"], "triangle", BUY_COLOUR, "buys"),
        ("sells", frame[(frame["side"] == "sell") & ~stops], "inverted_triangle", SELL_COLOUR, "sells"),
        ("stops", frame[(frame["side"] == "sell") & stops], "inverted_triangle", STOP_COLOUR, "stop losses"),
    ]
    renderers = []
    for name, rows, marker, colour, label in groups:
        if not len(rows):
            continue
        source = ColumnDataSource(
            {
                "t": ms(rows["at"]),
                "price": rows["price"].tolist(),
                "size": [2 * r for r in rows["radius"]],
                "radius": rows["radius"].tolist(),
                "trade_id": rows["trade_id"].tolist(),
                "position_id": rows["position_id"].tolist(),
                "quantity": rows["quantity"].tolist(),
                "value": rows["value"].tolist(),
                "type": [t.replace("_", " ") for t in rows["trade_type"]],
                "when": [t.strftime("%Y-%m-%d %H:%M:%S") for t in pd.DatetimeIndex(rows["at"])],
            }
        )
        renderers.append(
            fig.scatter(
                "t",
                "price",
                size="size",
                marker=marker,
                source=source,
                fill_color=colour,
                fill_alpha=0.9,
                line_color=MARKER_LINE,
                line_width=1,
                name=f"{name}:{ticker}",
                legend_label=f"{label} ({len(rows)})",
            )  # fmt: skip
        )
    fig.add_tools(
        HoverTool(
            renderers=renderers,
            tooltips=[
                ("trade", "#@trade_id (position #@position_id, @type)"),
                ("time", "@when UTC"),
                ("price", f"@price{{0,0.[000000]}} {price_label}".rstrip()),
                ("size", "@quantity{0,0.[000000]}"),
                ("value", f"@value{{0,0.00}} {price_label}".rstrip()),
            ],
        )
    )
    return renderers


def _draw_levels(fig: Any, ticker: str, levels: pd.DataFrame, until: float | None) -> Any:
    from bokeh.models import ColumnDataSource, HoverTool

    since = ms(levels["since"])
    end = until if until is not None else max(since)
    source = ColumnDataSource(
        {
            "x0": since,
            "x1": [max(end, s) for s in since],
            "price": levels["price"].tolist(),
            "kind": levels["kind"].tolist(),
            "position_id": levels["position_id"].tolist(),
            "colour": [LEVEL_COLOURS.get(k, "#6b7280") for k in levels["kind"]],
        }
    )
    renderer = fig.segment(
        "x0", "price", "x1", "price", source=source, line_color="colour", line_width=1.5,
        line_dash="dashed", name=f"levels:{ticker}", legend_label="stop loss / take profit",
    )  # fmt: skip
    fig.add_tools(
        HoverTool(
            renderers=[renderer],
            tooltips=[("position", "#@position_id"), ("@kind", "@price{0,0.[000000]}")],
        )
    )
    return renderer


def price_figure(
    pair: PairFrames,
    *,
    x_range: Any = None,
    price_label: str = "",
    marker_radius: float = 8.0,
    levels_until: datetime.datetime | None = None,
) -> Any:
    """One pair's candles with its plot lines, fills and open positions' levels."""
    from bokeh.models import DataRange1d

    title = f"{pair.ticker}" + (f" · {pair.note}" if pair.note else "")
    fig = figure(title, 360, f"Price {price_label}".strip(), x_range)
    fig.y_range = DataRange1d(range_padding=0.12)  # room for the markers at the top and bottom
    if len(pair.candles):
        _draw_candles(fig, pair.ticker, pair.candles, candle_width(pair.candles, pair.width))
    if pair.plots is not None and len(pair.plots):
        _draw_plot_lines(fig, pair.ticker, pair.plots)
    if pair.levels is not None and len(pair.levels):
        until = ms_of(levels_until) if levels_until is not None else None
        if until is None and len(pair.candles):
            until = (
                ms(pair.candles.index[-1:])[0] + candle_width(pair.candles, pair.width).total_seconds() * 1000
            )
        _draw_levels(fig, pair.ticker, pair.levels, until)
    if pair.fills is not None and len(pair.fills):
        _draw_fills(fig, pair.ticker, pair.fills, marker_radius, price_label)
    _legend_above(fig)
    return fig


def pane_figure(pane: str, rows: pd.DataFrame, *, x_range: Any = None) -> Any:
    """The series the strategy recorded into one pane."""
    fig = figure(pane, 220, pane, x_range)
    fig.yaxis.formatter.format = "0,0.[00]"
    _draw_plot_lines(fig, f"pane:{pane}", rows)
    _legend_above(fig)
    return fig


def drawdown(equity: pd.Series, flows: pd.Series | None = None) -> pd.Series:
    """How far the strategy is below its best, as a fraction (0 at a new high, -0.25 = 25 % down).

    With `flows` (deposits less withdrawals since the previous point) the fall is measured on
    the time-weighted return index, so a withdrawal is not a drawdown and a deposit not a
    recovery: each step's return is (equity - flows) / previous equity - 1."""
    values = equity.to_numpy(dtype="float64")
    if flows is None:
        index = values
    else:
        before = np.concatenate([[np.nan], values[:-1]])
        steps = np.where(before > 0, (values - flows.to_numpy(dtype="float64")) / before, 1.0)
        steps[0] = 1.0
        index = np.cumprod(steps)
    peaks = np.maximum.accumulate(index)
    falls = np.divide(index, peaks, out=np.ones_like(index), where=peaks > 0) - 1
    return pd.Series(falls, index=equity.index)


def equity_figures(equity: pd.DataFrame, *, x_range: Any = None, currency: str = "") -> list[Any]:
    """Equity (with `buy_and_hold` when the frame has it) above its drawdown in %."""
    from bokeh.models import ColumnDataSource, HoverTool, NumeralTickFormatter

    t = ms(equity.index)
    values = equity["equity"]
    hold = equity.get("buy_and_hold")
    columns = {"t": t, "equity": values.tolist(), "when": _when(equity.index)}
    if hold is not None:
        columns["buy_and_hold"] = hold.tolist()
    source = ColumnDataSource(columns)
    top = figure("Equity", 300, f"Equity {currency}".strip(), x_range)
    line = top.line(
        "t", "equity", source=source, line_width=2, line_color=EQUITY_COLOUR, name="equity",
        legend_label="strategy",
    )  # fmt: skip
    tooltips = [("time", "@when UTC"), ("equity", "@equity{0,0.00}")]
    if hold is not None:
        top.line(
            "t", "buy_and_hold", source=source, line_width=1.5, line_color=HOLD_COLOUR, line_dash="dashed",
            name="buy_and_hold", legend_label="buy and hold",
        )  # fmt: skip
        tooltips.append(("buy and hold", "@buy_and_hold{0,0.00}"))
    top.add_tools(HoverTool(renderers=[line], tooltips=tooltips, mode="vline"))
    _legend_above(top)

    falls = drawdown(values, equity.get("flows")) * 100
    title = (
        "Drawdown (of the returns: deposits and withdrawals left out)" if "flows" in equity else "Drawdown"
    )
    bottom = figure(title, 160, "Drawdown %", top.x_range)
    dd_source = ColumnDataSource({"t": t, "drawdown": falls.tolist(), "when": columns["when"]})
    bottom.varea(x="t", y1=0.0, y2="drawdown", source=dd_source, fill_color=DRAWDOWN_COLOUR, fill_alpha=0.25)
    dd_line = bottom.line("t", "drawdown", source=dd_source, line_color=DRAWDOWN_COLOUR, name="drawdown")
    bottom.yaxis.formatter = NumeralTickFormatter(format="0.[0]")
    bottom.add_tools(
        HoverTool(renderers=[dd_line], tooltips=[("time", "@when UTC"), ("drawdown", "@drawdown{0.00} %")])
    )
    return [top, bottom]


def strategy_layout(
    pairs: Sequence[PairFrames],
    *,
    panes: pd.DataFrame | None = None,
    equity: pd.DataFrame | None = None,
    start: datetime.datetime | None = None,
    end: datetime.datetime | None = None,
    price_label: str = "",
    currency: str = "",
    marker_radius: float = 8.0,
) -> Any:
    """Price charts, plot panes, equity and drawdown in one column sharing the time axis
    (from `start` to `end`, or fitted to the data when either is None)."""
    from bokeh.layouts import column

    x_range = shared_x_range(start, end)
    figures = [
        price_figure(
            pair, x_range=x_range, price_label=price_label, marker_radius=marker_radius, levels_until=end
        )
        for pair in pairs
    ]
    if panes is not None and len(panes):
        figures += [
            pane_figure(str(name), rows, x_range=x_range) for name, rows in panes.groupby("pane", sort=False)
        ]
    if equity is not None and len(equity):
        figures += equity_figures(equity, x_range=x_range, currency=currency)
    return column(*figures, sizing_mode="stretch_width")


def run_layout(
    state: Any,
    candles: Any,
    *,
    start: datetime.datetime | None = None,
    end: datetime.datetime | None = None,
    currency: str = "",
) -> Any:
    """The whole layout of a run in one call, for the report and notebooks:
    `bokeh.plotting.show(run_layout(state, candles))`, `candles` mapping each pair to (its
    candles, their TimeBucket), e.g. `{p: (universe.all_candles(p), universe.time_bucket) for p in universe.pairs}`."""
    pairs, panes, equity = run_frames(state, candles)
    return strategy_layout(
        pairs, panes=panes, equity=equity, start=start, end=end, price_label=currency, currency=currency
    )
