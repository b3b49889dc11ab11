"""A self-contained HTML backtest report: the summary, the strategy charts and the positions.

The charts are the live dashboard's (`tradeexecutor.analysis.charts`): candles per pair with
the fills, the strategy's plots and the levels of positions open at the end, the
plot panes, equity beside buy-and-hold, and the drawdown. BokehJS (1.3 MB) is inlined,
so the file loads nothing from the network and opens anywhere: an e-mail attachment, an
air-gapped machine.
"""

from __future__ import annotations

import datetime
import html
from collections.abc import Mapping

import pandas as pd

from tradeexecutor.analysis.charts import run_layout
from tradeexecutor.analysis.summary import BacktestSummary, format_pct, summary_rows
from tradeexecutor.data.time_bucket import TimeBucket
from tradeexecutor.state.identifiers import TradingPairIdentifier
from tradeexecutor.state.state import State

MAX_ROWS = 1000

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;color:#222;max-width:1200px;padding:0 16px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px}
table{border-collapse:collapse;font-size:13px}td,th{padding:3px 10px;border-bottom:1px solid #eee;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.muted{color:#6b7280;font-size:13px}
"""


def _positions_table(state: State) -> str:
    positions = sorted(state.portfolio.all_positions(), key=lambda p: p.position_id)
    rows = []
    for p in positions[-MAX_ROWS:]:
        trades = p.successful_trades()
        buys = [t for t in trades if t.is_buy]
        sells = [t for t in trades if t.is_sell]
        if sells:
            exit_kind = sells[-1].trade_type.value.replace("_", " ")
        else:
            exit_kind = "open" if p.is_open() else "not filled"
        cells = [
            str(p.position_id),
            p.pair.ticker,
            p.opened_at.strftime("%Y-%m-%d %H:%M"),
            p.closed_at.strftime("%Y-%m-%d %H:%M") if p.closed_at else "",
            f"{buys[0].executed_price:.6g}" if buys and buys[0].executed_price else "",
            f"{sells[-1].executed_price:.6g}" if sells and sells[-1].executed_price else "",
            format_pct(p.profit_pct()),
            exit_kind,
        ]
        rows.append(
            "<tr>"
            + "".join(
                f'<td class="num">{html.escape(c)}</td>'
                if i in (0, 4, 5, 6)
                else f"<td>{html.escape(c)}</td>"
                for i, c in enumerate(cells)
            )
            + "</tr>"
        )
    note = (
        f"<p>Showing the last {MAX_ROWS} of {len(positions)} positions.</p>"
        if len(positions) > MAX_ROWS
        else ""
    )
    head = "".join(
        f"<th>{h}</th>"
        for h in ("#", "Pair", "Opened", "Closed", "Entry price", "Exit price", "Profit", "Exit")
    )
    return f'{note}<table id="positions"><tr>{head}</tr>{"".join(rows)}</table>'


def render_html_report(
    state: State,
    summary: BacktestSummary,
    *,
    title: str,
    candles: Mapping[TradingPairIdentifier, tuple[pd.DataFrame, TimeBucket]] | None = None,
    currency: str = "",
) -> str:
    """The report as one HTML string. `candles` maps a pair to (its candles, their width)."""
    from bokeh.embed import components
    from bokeh.resources import Resources

    layout = run_layout(state, candles or {}, start=summary.start, end=summary.end, currency=currency)
    script, div = components(layout)
    table = "".join(
        f'<tr><td>{html.escape(label)}</td><td class="num">{html.escape(value)}</td></tr>'
        for label, value in summary_rows(summary)
    )
    made = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    sections = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p>Backtest {summary.start:%Y-%m-%d %H:%M} – {summary.end:%Y-%m-%d %H:%M} UTC "
        f'<span class="muted">(report written {made})</span></p>',
        f'<h2>Summary</h2><table id="summary">{table}</table>',
        '<h2>Charts</h2><p class="muted">Drag to pan, scroll to zoom (all charts together), click a legend '
        "entry to hide it. ▲ buy, ▼ sell, orange ▼ stop loss; a marker's area is proportional to the fill.</p>",
        f'<div id="charts">{div}</div>',
        f"<h2>Positions</h2>{_positions_table(state)}",
    ]
    bokeh_js = Resources(mode="inline", components=["bokeh"]).render_js()
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style>{bokeh_js}{script}</head><body>"
        + "\n".join(sections)
        + "</body></html>\n"
    )
