"""What the strategy dashboard shows, as plain functions of a `State` and the candles the
live loop published (no HTTP, no Bokeh).

The charts' frames come from `tradeexecutor.analysis.chart_data`, as in the backtest report;
this module picks the pairs, crops to the window and builds the position tables. Only filled
trades are drawn: a failed, repaired or still pending trade moved nothing.
"""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tradeexecutor.dashboard.timewindow import BadQuery, TimeWindow
from tradeexecutor.state.identifiers import TradingPairIdentifier
from tradeexecutor.state.position import PositionStatus, TradingPosition
from tradeexecutor.state.state import State
from tradeexecutor.state.trade import TradeExecution, TradeStatus

# As published by the live loop (`publish.price_series`): (open time, close time, o, h, l, c)
PublishedCandles = Sequence[tuple[datetime.datetime, datetime.datetime, float, float, float, float]]


@dataclass(frozen=True, slots=True)
class ChartPair:
    """A pair with a price chart: traded, or with candles published, or with plots."""

    ticker: str
    key: str | None  # None when only candles are known (a pair the strategy has not traded)


def traded_pairs(state: State) -> list[TradingPairIdentifier]:
    """Pairs with positions, the most traded first."""
    counts: Counter[TradingPairIdentifier] = Counter()
    for position in state.portfolio.all_positions():
        counts[position.pair] += len(position.trades)
    return [pair for pair, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0].ticker))]


def chart_pairs(state: State | None, published: Mapping[str, PublishedCandles]) -> list[ChartPair]:
    """Every pair to draw: traded pairs (most traded first), then pairs the strategy drew
    plots on, then the rest of the universe whose candles were published."""
    pairs: dict[str, ChartPair] = {}
    if state is not None:
        for pair in traded_pairs(state):
            pairs.setdefault(pair.ticker, ChartPair(pair.ticker, pair.key))
        for series in state.plots.series.values():
            if series.pair:
                pairs.setdefault(series.ticker, ChartPair(series.ticker, series.pair))
    for ticker in published:
        pairs.setdefault(ticker, ChartPair(ticker, None))
    return list(pairs.values())


def choose_pairs(pairs: list[ChartPair], ticker: str | None) -> list[ChartPair]:
    """All pairs, or the one named in `?pair=` (case-insensitive); BadQuery for an unknown one."""
    if not ticker:
        return pairs
    wanted = ticker.strip().upper()
    chosen = [p for p in pairs if p.ticker.upper() == wanted]
    if not chosen:
        known = ", ".join(p.ticker for p in pairs) or "none yet"
        raise BadQuery(f"pair={ticker!r} has no chart: choose one of {known}.")
    return chosen


def published_candles(rows: PublishedCandles, window: TimeWindow) -> tuple[Any, datetime.timedelta | None]:
    """The published candles that overlap the window, as a candle frame, and their width."""
    import pandas as pd

    kept = [
        r
        for r in rows
        if (window.start is None or r[1] >= window.start) and (window.end is None or r[0] <= window.end)
    ]
    index = pd.DatetimeIndex([r[0] for r in kept], name="timestamp").as_unit("ns")
    if index.tz is None:
        index = index.tz_localize("UTC")
    frame = pd.DataFrame(
        {name: [r[i] for r in kept] for i, name in enumerate(("open", "high", "low", "close"), start=2)},
        index=index,
        dtype="float64",
    )
    width = min((r[1] - r[0] for r in kept), default=None)
    return frame, width


def strategy_frames(
    state: State | None,
    published: Mapping[str, PublishedCandles],
    pairs: Sequence[ChartPair],
    window: TimeWindow,
    volume_threshold: Decimal = Decimal(0),
) -> tuple[list[Any], Any, Any]:
    """(a `PairFrames` per pair, the plot panes, equity with buy-and-hold) in the window."""
    import pandas as pd

    from tradeexecutor.analysis import chart_data
    from tradeexecutor.analysis.chart_data import PairFrames

    start, end = window.start, window.end
    if state is not None:
        fills = chart_data.fills_frame(state, start=start, end=end, volume_threshold=volume_threshold)
        plots = chart_data.plots_frame(state, start=start, end=end)
        levels = chart_data.levels_frame(state)
    else:
        fills = plots = levels = None
    frames, closes = [], {}
    for pair in pairs:
        candles, width = published_candles(published.get(pair.ticker, ()), window)
        if width is not None:
            closes[pair.ticker] = chart_data.close_prices(candles, width)
        frames.append(
            PairFrames(
                ticker=pair.ticker,
                candles=candles,
                width=width,
                fills=_rows_of(fills, pair.key),
                plots=_rows_of(plots, pair.key),
                levels=_rows_of(levels, pair.key),
                note=_describe_width(width) if width is not None else "no candles published yet",
            )
        )
    if state is None:
        return frames, None, None
    equity = chart_data.equity_frame(state, start=start, end=end)
    equity["buy_and_hold"] = chart_data.buy_and_hold(chart_data.reserve_flows(state), closes, equity.index)
    if not equity["buy_and_hold"].notna().any():
        equity = equity.drop(columns="buy_and_hold")
    panes = plots[plots["pane"] != ""] if plots is not None else pd.DataFrame()
    return frames, panes, equity


def _rows_of(frame: Any, pair_key: str | None) -> Any:
    if frame is None or pair_key is None:
        return None
    return frame[frame["pair"] == pair_key]


def _describe_width(width: datetime.timedelta) -> str:
    minutes = int(width.total_seconds() // 60)
    if minutes % (24 * 60) == 0:
        return f"{minutes // (24 * 60)}d candles"
    if minutes % 60 == 0:
        return f"{minutes // 60}h candles"
    return f"{minutes}m candles"


@dataclass(frozen=True, slots=True)
class PositionRow:
    position_id: int
    pair: str
    status: str
    opened_at: datetime.datetime
    closed_at: datetime.datetime | None
    quantity: Decimal
    entry_price: Decimal | None
    last_price: Decimal | None
    value: Decimal
    realised: Decimal
    unrealised: Decimal
    profit_pct: Decimal | None
    trades: int
    failed_trades: int
    note: str


def position_row(p: TradingPosition) -> PositionRow:
    realised, unrealised = p.profit()
    failed = sum(1 for t in p.trades.values() if t.status == TradeStatus.failed)
    return PositionRow(
        position_id=p.position_id,
        pair=p.pair.ticker,
        status=p.status.value,
        opened_at=p.opened_at,
        closed_at=p.closed_at,
        quantity=p.quantity,
        entry_price=p.average_entry_price(),
        last_price=p.last_token_price,
        value=p.value(),
        realised=realised,
        unrealised=unrealised,
        profit_pct=p.profit_pct(),
        trades=len(p.trades),
        failed_trades=failed,
        note=p.frozen_reason or p.notes,
    )


def position_tables(state: State, window: TimeWindow) -> tuple[list[PositionRow], list[PositionRow]]:
    """(open and frozen, closed inside the window), newest first."""
    portfolio = state.portfolio
    live = [
        position_row(p) for p in (*portfolio.open_positions.values(), *portfolio.frozen_positions.values())
    ]
    closed = [position_row(p) for p in portfolio.closed_positions.values() if window.contains(p.closed_at)]
    live.sort(key=lambda r: r.opened_at, reverse=True)
    closed.sort(key=lambda r: r.closed_at or r.opened_at, reverse=True)
    return live, closed


def count_by_status(trades: Iterable[TradeExecution], window: TimeWindow) -> dict[str, int]:
    """Trades planned inside the window by outcome, for the 'n filled, m failed' line."""
    counts: Counter[str] = Counter()
    for t in trades:
        if window.contains(t.planned_at):
            counts[t.status.value] += 1
    return {status.value: counts.get(status.value, 0) for status in TradeStatus if counts.get(status.value)}


def is_closed(row: PositionRow) -> bool:
    return row.status == PositionStatus.closed.value
