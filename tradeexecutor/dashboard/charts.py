"""Bokeh figures for the dashboards, built from the plain data of `strategy_data`/`fund_data`.

Each figure is returned as Bokeh's JSON document (`json_item`); the page hands it to the
BokehJS served from the bokeh wheel (`/static/bokeh.min.js`), so nothing is fetched from
the internet. Renderers and data sources carry names (`sells`, `buys`, `price`, ...) so
tests and operators' scripts can find the drawn data in the browser.

Trading graph, as in Gryphon's dashboards: a filled sell (an ask) is an upper semicircle,
a filled buy (a bid) a lower one, and a symbol's area is proportional to the filled size, so
a round trip reads as a pair of half-discs whose vertical gap is the spread captured.

Building Bokeh models is not documented as thread-safe, and waitress serves requests on
several threads: figures are built under one lock (a page needs a few milliseconds).
"""

from __future__ import annotations

import datetime
import math
import threading
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from tradeexecutor.dashboard.settings import DisplaySettings
from tradeexecutor.dashboard.strategy_data import PnlPoint, TradePoint

SELL_COLOUR = "#2f6fdb"  # asks: blue, as in the seed
BUY_COLOUR = "#1f9d55"  # bids: green
PRICE_COLOUR = "#6b7280"
REALISED_COLOUR = "#7c3aed"
UNREALISED_COLOUR = "#f59e0b"
EQUITY_COLOUR = "#2f6fdb"
MIN_RADIUS = 3.0  # pixels: the smallest fill stays visible and hoverable

_lock = threading.Lock()


def ms(at: datetime.datetime) -> float:
    """Bokeh's datetime axis unit: milliseconds since the epoch."""
    return at.timestamp() * 1000.0


def symbol_radii(quantities: Sequence[Decimal], base_radius: float) -> list[float]:
    """Area proportional to size: radius = base x sqrt(size / largest), at least MIN_RADIUS."""
    largest = max(quantities, default=Decimal(0))
    if largest <= 0:
        return [base_radius for _ in quantities]
    return [max(MIN_RADIUS, base_radius * math.sqrt(float(q / largest))) for q in quantities]


def _figure(title: str, height: int, y_label: str, x_range: Any = None) -> Any:
    from bokeh.models import DatetimeTickFormatter, NumeralTickFormatter
    from bokeh.plotting import figure

    kwargs: dict[str, Any] = {"x_range": x_range} if x_range is not None else {}
    fig = figure(
        title=title,
        height=height,
        sizing_mode="stretch_width",
        x_axis_type="datetime",
        tools="pan,wheel_zoom,box_zoom,reset,save",
        toolbar_location="above",
        background_fill_color="#ffffff",
        border_fill_color="#ffffff",
        outline_line_color="#e5e7eb",
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


def _x_range(start: datetime.datetime | None, end: datetime.datetime | None, xs: Sequence[float]) -> Any:
    from bokeh.models import Range1d

    low = ms(start) if start is not None else (min(xs) if xs else None)
    high = ms(end) if end is not None else (max(xs) if xs else None)
    if low is None or high is None:
        return None
    if high <= low:
        low, high = low - 3_600_000, high + 3_600_000
    pad = (high - low) * 0.03
    return Range1d(low - pad, high + pad)


def _trade_source(points: Sequence[TradePoint], radii: Sequence[float]) -> Any:
    from bokeh.models import ColumnDataSource

    return ColumnDataSource(
        {
            "t": [ms(p.at) for p in points],
            "price": [float(p.price) for p in points],
            "radius": list(radii),
            "trade_id": [p.trade_id for p in points],
            "position_id": [p.position_id for p in points],
            "quantity": [f"{p.quantity:f}" for p in points],
            "value": [f"{p.value:.2f}" for p in points],
            "type": [p.trade_type for p in points],
            "when": [p.at.strftime("%Y-%m-%d %H:%M:%S") for p in points],
        }
    )


def strategy_charts(
    trades: Sequence[TradePoint],
    prices: Sequence[tuple[datetime.datetime, float]],
    price_source: str,
    positions: Sequence[tuple[datetime.datetime, Decimal]],
    pnl: Sequence[PnlPoint],
    settings: DisplaySettings,
    pair_ticker: str,
    window_start: datetime.datetime | None,
    window_end: datetime.datetime | None,
) -> dict[str, Any]:
    """The trading graph above the position and PnL graph, sharing the time axis."""
    from bokeh.embed import json_item
    from bokeh.layouts import column
    from bokeh.models import (
        ColumnDataSource,
        DataRange1d,
        HoverTool,
        Legend,
        LegendItem,
        LinearAxis,
        Range1d,
    )

    price_label = settings.price_currency or ""
    volume_label = settings.volume_currency or ""
    with _lock:
        xs = [ms(p.at) for p in trades] + [ms(at) for at, _ in prices] + [ms(at) for at, _ in positions]
        x_range = _x_range(window_start, window_end, xs)
        trading = _figure(
            f"{pair_ticker}: filled trades on the price", 340, f"Price {price_label}".strip(), x_range
        )
        trading.y_range = DataRange1d(range_padding=0.18)  # room for the half-discs at the edges
        price_source_data = ColumnDataSource(
            {"t": [ms(at) for at, _ in prices], "price": [p for _, p in prices]}
        )
        price_line = trading.line(
            "t", "price", source=price_source_data, line_color=PRICE_COLOUR, line_width=1.5, name="price"
        )
        radii = symbol_radii([p.quantity for p in trades], settings.base_point_radius)
        sells = [(p, r) for p, r in zip(trades, radii, strict=True) if p.side == "sell"]
        buys = [(p, r) for p, r in zip(trades, radii, strict=True) if p.side == "buy"]
        sell_renderer = trading.wedge(
            x="t", y="price", radius="radius", radius_units="screen", start_angle=0, end_angle=math.pi,
            source=_trade_source([p for p, _ in sells], [r for _, r in sells]),
            fill_color=SELL_COLOUR, fill_alpha=0.75, line_color=SELL_COLOUR, name="sells",
        )  # fmt: skip
        buy_renderer = trading.wedge(
            x="t", y="price", radius="radius", radius_units="screen", start_angle=math.pi,
            end_angle=2 * math.pi, source=_trade_source([p for p, _ in buys], [r for _, r in buys]),
            fill_color=BUY_COLOUR, fill_alpha=0.75, line_color=BUY_COLOUR, name="buys",
        )  # fmt: skip
        trading.add_tools(
            HoverTool(
                renderers=[sell_renderer, buy_renderer],
                tooltips=[
                    ("trade", "#@trade_id (position #@position_id, @type)"),
                    ("time", "@when UTC"),
                    ("price", "@price{0,0.[000000]}"),
                    ("size", f"@quantity {volume_label}".rstrip()),
                    ("value", f"@value {price_label}".rstrip()),
                ],
            )
        )
        trading.add_layout(
            Legend(
                items=[
                    LegendItem(label=f"price ({price_source})", renderers=[price_line]),
                    LegendItem(label=f"sells / asks filled ({len(sells)})", renderers=[sell_renderer]),
                    LegendItem(label=f"buys / bids filled ({len(buys)})", renderers=[buy_renderer]),
                ],
                orientation="horizontal",
                location="top_left",
                border_line_alpha=0,
                label_text_font_size="11px",
            ),
            "above",
        )

        position = _figure(
            "Position size and profit", 290, f"Position {volume_label}".strip(), trading.x_range
        )
        position_line = position.step(
            "t", "quantity", name="position", line_width=2, line_color="#111827", mode="after",
            source=ColumnDataSource({"t": [ms(at) for at, _ in positions], "quantity": [float(q) for _, q in positions]}),
            legend_label=f"position {volume_label}".rstrip(),
        )  # fmt: skip
        # the left axis fits the position only; the PnL lines have their own range on the right
        position.y_range = DataRange1d(renderers=[position_line], range_padding=0.15)
        if settings.position_graph_min is not None or settings.position_graph_max is not None:
            values = [float(q) for _, q in positions] or [0.0]
            low = settings.position_graph_min if settings.position_graph_min is not None else min(values)
            high = settings.position_graph_max if settings.position_graph_max is not None else max(values)
            position.y_range = Range1d(low, high if high > low else low + 1)
        pnl_values = [float(v) for p in pnl for v in (p.realised, p.unrealised)] or [0.0]
        low, high = min(pnl_values), max(pnl_values)
        span = (high - low) or max(abs(high), 1.0)
        position.extra_y_ranges = {"pnl": Range1d(low - span * 0.1, high + span * 0.1)}
        position.add_layout(LinearAxis(y_range_name="pnl", axis_label=f"PnL {price_label}".strip()), "right")
        pnl_source = ColumnDataSource(
            {
                "t": [ms(p.at) for p in pnl],
                "realised": [float(p.realised) for p in pnl],
                "unrealised": [float(p.unrealised) for p in pnl],
            }
        )
        position.line(
            "t", "realised", source=pnl_source, y_range_name="pnl", line_color=REALISED_COLOUR,
            line_width=2, legend_label="realised PnL", name="realised",
        )  # fmt: skip
        position.line(
            "t", "unrealised", source=pnl_source, y_range_name="pnl", line_color=UNREALISED_COLOUR,
            line_width=2, line_dash="dashed", legend_label="unrealised PnL", name="unrealised",
        )  # fmt: skip
        legend = position.legend[0]
        position.center.remove(legend)
        legend.orientation = "horizontal"
        legend.location = "top_left"
        legend.border_line_alpha = 0
        legend.label_text_font_size = "11px"
        position.add_layout(legend, "above")
        layout = column(trading, position, sizing_mode="stretch_width")
        return json_item(layout)


def equity_chart(
    points: Sequence[tuple[datetime.datetime, Decimal]],
    currency: str,
    window_start: datetime.datetime | None,
    window_end: datetime.datetime | None,
) -> dict[str, Any]:
    from bokeh.embed import json_item
    from bokeh.models import ColumnDataSource, HoverTool

    with _lock:
        xs = [ms(at) for at, _ in points]
        fig = _figure(
            "Equity", 320, f"Total equity {currency}".strip(), _x_range(window_start, window_end, xs)
        )
        source = ColumnDataSource(
            {
                "t": xs,
                "equity": [float(v) for _, v in points],
                "when": [at.strftime("%Y-%m-%d %H:%M:%S") for at, _ in points],
            }
        )
        fig.varea(x="t", y1=min((float(v) for _, v in points), default=0.0), y2="equity", source=source,
                  fill_color=EQUITY_COLOUR, fill_alpha=0.08)  # fmt: skip
        line = fig.line("t", "equity", source=source, line_width=2, line_color=EQUITY_COLOUR, name="equity")
        fig.scatter("t", "equity", source=source, size=4, color=EQUITY_COLOUR)
        fig.add_tools(
            HoverTool(renderers=[line], tooltips=[("time", "@when UTC"), ("equity", "@equity{0,0.00}")])
        )
        return json_item(fig)
