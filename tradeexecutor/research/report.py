"""A sweep's HTML report: the objective as a heatmap over every pair of swept parameters.

Each cell is the best objective among the runs with those two values (the other parameters
vary inside a cell). One self-contained file: BokehJS is inlined from the bokeh package, so
the report opens without network access.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from tradeexecutor.backtest.state_file import write_file_atomically
from tradeexecutor.research.results import PARAM_PREFIX


def _heatmap(frame: pd.DataFrame, x: str, y: str, objective: str, maximise: bool):  # noqa: ANN202
    from bokeh.models import ColorBar, ColumnDataSource, HoverTool, LinearColorMapper
    from bokeh.palettes import Viridis256
    from bokeh.plotting import figure

    cx, cy = PARAM_PREFIX + x, PARAM_PREFIX + y
    grouped = frame.groupby([cx, cy])[objective]
    cells = (grouped.max() if maximise else grouped.min()).reset_index()
    xs = [str(v) for v in sorted(frame[cx].unique())]
    ys = [str(v) for v in sorted(frame[cy].unique())]
    source = ColumnDataSource(
        {"x": cells[cx].astype(str), "y": cells[cy].astype(str), "value": cells[objective].astype(float)}
    )
    values = cells[objective].astype(float)
    low, high = (float(values.min()), float(values.max())) if len(values) else (0.0, 1.0)
    palette = Viridis256 if maximise else tuple(reversed(Viridis256))
    mapper = LinearColorMapper(palette=palette, low=low, high=high if high > low else low + 1e-12)
    fig = figure(
        title=f"{objective} by {x} and {y} ({'best' if maximise else 'lowest'} per cell)",
        x_range=xs,
        y_range=ys,
        x_axis_label=x,
        y_axis_label=y,
        width=640,
        height=480,
        tools="save,reset",
    )
    fig.rect(
        "x", "y", 1, 1, source=source, fill_color={"field": "value", "transform": mapper}, line_color=None
    )
    fig.add_tools(HoverTool(tooltips=[(x, "@x"), (y, "@y"), (objective, "@value{0.0000}")]))
    fig.add_layout(ColorBar(color_mapper=mapper, title=objective), "right")
    return fig


def render_report(
    frame: pd.DataFrame, parameters: Sequence[str], objective: str, maximise: bool, title: str
) -> str | None:
    """The report's HTML, or None when there is nothing to draw (fewer than two parameters or
    no successful run)."""
    from bokeh.embed import file_html
    from bokeh.layouts import column
    from bokeh.models import Div
    from bokeh.resources import INLINE

    ok = frame[(frame["status"] == "ok")] if "status" in frame else frame
    if objective in ok:
        ok = ok[pd.to_numeric(ok[objective], errors="coerce").notna()]
    swept = [p for p in parameters if PARAM_PREFIX + p in ok and ok[PARAM_PREFIX + p].nunique() > 1]
    if len(swept) < 2 or ok.empty:
        return None
    figures = [_heatmap(ok, x, y, objective, maximise) for x, y in itertools.combinations(swept, 2)]
    failed = int((frame["status"] != "ok").sum()) if "status" in frame else 0
    header = Div(
        text=f"<h2>{title}</h2><p>{len(ok)} runs with a {objective}, {failed} failed; "
        f"results in results.csv / results.parquet beside this file.</p>"
    )
    return file_html(column(header, *figures), INLINE, title)


def write_report(path: Path, html: str) -> None:
    write_file_atomically(path, html.encode(), "sweep report", "--results-dir")
