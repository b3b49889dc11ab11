"""A self-contained HTML backtest report: summary table, equity curve, price charts with trade
markers and a position list. Charts are inline SVG drawn here; the file loads nothing from
the network, so it opens anywhere (an e-mail attachment, an air-gapped machine).
"""

from __future__ import annotations

import bisect
import datetime
import html
from collections.abc import Mapping, Sequence
from decimal import Decimal

from tradeexecutor.analysis.summary import BacktestSummary, equity_curve, format_pct, summary_rows
from tradeexecutor.state.state import State
from tradeexecutor.state.trade import TradeExecution, TradeType

WIDTH, HEIGHT, PAD_LEFT, PAD_RIGHT, PAD_Y = 960, 280, 80, 20, 24
MAX_POINTS = 1500  # per line, after min/max downsampling
MAX_MARKERS = 4000
MAX_ROWS = 1000

PriceSeries = tuple[Sequence[datetime.datetime], Sequence[float]]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222;max-width:1000px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px}
table{border-collapse:collapse;font-size:13px}td,th{padding:3px 10px;border-bottom:1px solid #eee;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}
svg{background:#fafafa;border:1px solid #ddd}
.legend span{margin-right:16px;font-size:13px}.buy{color:#1a8f3c}.sell{color:#c0392b}.stop{color:#e67e22}
"""


def _downsample(xs: Sequence[float], ys: Sequence[float]) -> tuple[list[float], list[float]]:
    """At most MAX_POINTS points keeping each bucket's min and max, so spikes stay visible."""
    n = len(xs)
    if n <= MAX_POINTS:
        return list(xs), list(ys)
    step = n / (MAX_POINTS // 2)
    out_x: list[float] = []
    out_y: list[float] = []
    i = 0.0
    while int(i) < n:
        lo, hi = int(i), min(n, int(i + step))
        chunk = range(lo, hi)
        a = min(chunk, key=lambda k: ys[k])
        b = max(chunk, key=lambda k: ys[k])
        for k in sorted({a, b}):
            out_x.append(xs[k])
            out_y.append(ys[k])
        i += step
    return out_x, out_y


class _Frame:
    """Maps (time, value) to SVG coordinates."""

    def __init__(self, t0: float, t1: float, v0: float, v1: float) -> None:
        if v1 <= v0:
            v0, v1 = v0 - 1, v1 + 1
        margin = (v1 - v0) * 0.05
        self.t0, self.t1 = t0, max(t1, t0 + 1)
        self.v0, self.v1 = v0 - margin, v1 + margin

    def x(self, t: float) -> float:
        return PAD_LEFT + (t - self.t0) / (self.t1 - self.t0) * (WIDTH - PAD_LEFT - PAD_RIGHT)

    def y(self, v: float) -> float:
        return HEIGHT - PAD_Y - (v - self.v0) / (self.v1 - self.v0) * (HEIGHT - 2 * PAD_Y)


def _axes(frame: _Frame, label: str) -> list[str]:
    parts = []
    for k in range(5):
        v = frame.v0 + (frame.v1 - frame.v0) * k / 4
        y = frame.y(v)
        parts.append(
            f'<line x1="{PAD_LEFT}" y1="{y:.1f}" x2="{WIDTH - PAD_RIGHT}" y2="{y:.1f}" stroke="#e4e4e4"/>'
            f'<text x="{PAD_LEFT - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">{v:,.2f}</text>'
        )
    for t, anchor in ((frame.t0, "start"), (frame.t1, "end")):
        when = datetime.datetime.fromtimestamp(t, datetime.UTC).strftime("%Y-%m-%d %H:%M")
        parts.append(
            f'<text x="{frame.x(t):.1f}" y="{HEIGHT - 6}" font-size="11" text-anchor="{anchor}">{when}</text>'
        )
    parts.append(
        f'<text x="12" y="{HEIGHT / 2:.0f}" font-size="11" transform="rotate(-90 12 {HEIGHT / 2:.0f})" '
        f'text-anchor="middle">{html.escape(label)}</text>'
    )
    return parts


def _marker(x: float, y: float, trade: TradeExecution, price: Decimal | None) -> str:
    if trade.trade_type == TradeType.stop_loss:
        kind, colour, path = (
            "stop loss",
            "#e67e22",
            f"M{x - 5:.1f},{y - 5:.1f}L{x + 5:.1f},{y + 5:.1f}M{x - 5:.1f},{y + 5:.1f}L{x + 5:.1f},{y - 5:.1f}",
        )
        shape = f'<path d="{path}" stroke="{colour}" stroke-width="2.5"/>'
    elif trade.is_buy:
        kind, colour = "buy", "#1a8f3c"
        shape = f'<path d="M{x:.1f},{y - 6:.1f}L{x + 5:.1f},{y + 4:.1f}L{x - 5:.1f},{y + 4:.1f}Z" fill="{colour}"/>'
    else:
        kind = "take profit" if trade.trade_type == TradeType.take_profit else "sell"
        colour = "#c0392b"
        shape = f'<path d="M{x:.1f},{y + 6:.1f}L{x + 5:.1f},{y - 4:.1f}L{x - 5:.1f},{y - 4:.1f}Z" fill="{colour}"/>'
    at = trade.executed_at.strftime("%Y-%m-%d %H:%M") if trade.executed_at else "?"
    title = f"#{trade.trade_id} {kind} {trade.pair.ticker} at {at}" + (
        f", price {price:.6g}" if price else ""
    )
    return f"<g><title>{html.escape(title)}</title>{shape}</g>"


def _line_chart(
    times: Sequence[float],
    values: Sequence[float],
    label: str,
    markers: list[tuple[float, float, TradeExecution]],
) -> str:
    if not times:
        return "<p>No data.</p>"
    frame = _Frame(times[0], times[-1], min(values), max(values))
    xs, ys = _downsample(times, values)
    points = " ".join(f"{frame.x(t):.1f},{frame.y(v):.1f}" for t, v in zip(xs, ys, strict=True))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}">'
    ]
    parts += _axes(frame, label)
    parts.append(f'<polyline fill="none" stroke="#2c5aa0" stroke-width="1.4" points="{points}"/>')
    step = max(1, -(-len(markers) // MAX_MARKERS))  # thin evenly, so no period loses its markers
    for t, v, trade in markers[::step]:
        parts.append(_marker(frame.x(t), frame.y(v), trade, trade.executed_price))
    parts.append("</svg>")
    return "".join(parts)


def _value_at(times: Sequence[float], values: Sequence[float], t: float) -> float:
    i = bisect.bisect_right(times, t) - 1
    return values[max(i, 0)]


def _executed_trades(state: State) -> list[TradeExecution]:
    trades = [t for t in state.portfolio.all_trades() if t.is_success and t.executed_at]
    return sorted(trades, key=lambda t: (t.executed_at, t.trade_id))


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
    return f"{note}<table><tr>{head}</tr>{''.join(rows)}</table>"


def render_html_report(
    state: State,
    summary: BacktestSummary,
    *,
    title: str,
    prices: Mapping[str, PriceSeries] | None = None,
) -> str:
    """The report as one HTML string. `prices` maps a pair ticker to (times, closes) for its chart."""
    curve = equity_curve(state)
    eq_t = [t.timestamp() for t, _ in curve]
    eq_v = [float(v) for _, v in curve]
    trades = _executed_trades(state)
    eq_markers = [
        (t.executed_at.timestamp(), _value_at(eq_t, eq_v, t.executed_at.timestamp()), t) for t in trades
    ]

    table = "".join(
        f'<tr><td>{html.escape(label)}</td><td class="num">{html.escape(value)}</td></tr>'
        for label, value in summary_rows(summary)
    )
    sections = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p>Backtest {summary.start:%Y-%m-%d %H:%M} – {summary.end:%Y-%m-%d %H:%M} UTC.</p>",
        f"<h2>Summary</h2><table>{table}</table>",
        '<h2>Equity</h2><p class="legend"><span class="buy">▲ buy</span><span class="sell">▼ sell</span>'
        '<span class="stop">✕ stop loss</span></p>',
        _line_chart(eq_t, eq_v, "total equity", eq_markers),
    ]
    for ticker, (times, closes) in (prices or {}).items():
        pt = [t.timestamp() for t in times]
        pv = [float(c) for c in closes]
        markers = [
            (t.executed_at.timestamp(), float(t.executed_price), t)
            for t in trades
            if t.pair.ticker == ticker and t.executed_price is not None
        ]
        sections.append(f"<h2>{html.escape(ticker)} price</h2>")
        sections.append(_line_chart(pt, pv, f"{ticker} close", markers))
    sections.append(f"<h2>Positions</h2>{_positions_table(state)}")
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        + "\n".join(sections)
        + "</body></html>\n"
    )
