"""The dashboards' charts: the layouts of `tradeexecutor.analysis.charts`, as Bokeh JSON.

Each layout is returned as Bokeh's JSON document (`json_item`); the page hands it to the
BokehJS served from the bokeh wheel (`/static/bokeh.min.js`), so nothing is fetched from the
internet. The backtest report draws the very same layouts (`analysis/html_report.py`).

Building Bokeh models is not documented as thread-safe, and waitress serves requests on
several threads: figures are built under one lock (a page needs a few milliseconds).
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from tradeexecutor.dashboard.settings import DisplaySettings

_lock = threading.Lock()


def strategy_chart(
    pairs: Sequence[Any],
    panes: Any,
    equity: Any,
    settings: DisplaySettings,
    *,
    start: datetime.datetime | None,
    end: datetime.datetime | None,
    currency: str,
) -> dict[str, Any]:
    """Price charts (candles, plots, fills, levels), plot panes, equity and drawdown."""
    from bokeh.embed import json_item

    from tradeexecutor.analysis.charts import strategy_layout

    with _lock:
        layout = strategy_layout(
            pairs,
            panes=panes,
            equity=equity,
            start=start,
            end=end,
            price_label=settings.price_currency or currency,
            currency=currency,
            marker_radius=settings.base_point_radius,
        )
        return json_item(layout)


def equity_chart(
    points: Sequence[tuple[datetime.datetime, Decimal]],
    currency: str,
    window_start: datetime.datetime | None,
    window_end: datetime.datetime | None,
    flows: Any = None,
) -> dict[str, Any]:
    """Equity and its drawdown, for the fund page; `flows` (`chart_data.reserve_flows`) keeps
    deposits and withdrawals out of the drawdown."""
    import pandas as pd
    from bokeh.embed import json_item
    from bokeh.layouts import column

    from tradeexecutor.analysis.charts import equity_figures, shared_x_range

    index = pd.DatetimeIndex([at for at, _ in points], name="at")
    frame = pd.DataFrame({"equity": [float(v) for _, v in points]}, index=index, dtype="float64")
    if flows is not None:
        from tradeexecutor.analysis.chart_data import flows_between

        frame["flows"] = flows_between(flows, index)
    with _lock:
        start = window_start if window_start is not None else (points[0][0] if points else None)
        figures = equity_figures(frame, x_range=shared_x_range(start, window_end), currency=currency)
        return json_item(column(*figures, sizing_mode="stretch_width"))
