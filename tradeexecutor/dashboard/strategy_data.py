"""What the strategy dashboard shows, as plain functions of a `State` (no HTTP, no charts).

Only filled trades are drawn: a failed, repaired or still pending trade moved nothing. The
position graph is the base token held on a pair over time (every fill and every drift booked
on the pair's positions), the PnL graph comes from the per-cycle statistics.
"""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from tradeexecutor.dashboard.timewindow import TimeWindow
from tradeexecutor.state.identifiers import TradingPairIdentifier
from tradeexecutor.state.ledger import LedgerKind
from tradeexecutor.state.position import PositionStatus, TradingPosition
from tradeexecutor.state.state import State
from tradeexecutor.state.trade import TradeExecution, TradeStatus

PricePoints = Sequence[tuple[datetime.datetime, float]]


@dataclass(frozen=True, slots=True)
class TradePoint:
    trade_id: int
    position_id: int
    pair: str
    side: str  # "buy" (a bid filled) or "sell" (an ask filled)
    at: datetime.datetime
    price: Decimal
    quantity: Decimal  # base tokens, positive
    value: Decimal  # reserve currency
    trade_type: str
    tx_hash: str | None


def traded_pairs(state: State) -> list[TradingPairIdentifier]:
    """Pairs with positions, the most traded first (the default pair of the trading graph)."""
    counts: Counter[TradingPairIdentifier] = Counter()
    for position in state.portfolio.all_positions():
        counts[position.pair] += len(position.trades)
    return [pair for pair, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0].ticker))]


def choose_pair(state: State, ticker: str | None) -> TradingPairIdentifier | None:
    """The pair named in `?pair=` (case-insensitive ticker), else the most traded one."""
    pairs = traded_pairs(state)
    if ticker:
        wanted = ticker.strip().upper()
        for pair in pairs:
            if pair.ticker.upper() == wanted:
                return pair
        return None
    return pairs[0] if pairs else None


def _swap_hash(trade: TradeExecution) -> str | None:
    swaps = [tx for tx in trade.blockchain_transactions if tx.function != "approve"]
    return swaps[-1].tx_hash if swaps else None


def filled_trades(
    state: State,
    window: TimeWindow,
    pair: TradingPairIdentifier | None = None,
    volume_threshold: Decimal = Decimal(0),
) -> list[TradePoint]:
    """Successful trades executed inside the window, oldest first."""
    points = []
    for trade in state.portfolio.all_trades():
        if trade.status != TradeStatus.success or not window.contains(trade.executed_at):
            continue
        if pair is not None and trade.pair.key != pair.key:
            continue
        quantity = abs(trade.executed_quantity)
        if quantity < volume_threshold or trade.executed_price is None:
            continue
        points.append(
            TradePoint(
                trade_id=trade.trade_id,
                position_id=trade.position_id,
                pair=trade.pair.ticker,
                side="buy" if trade.is_buy else "sell",
                at=trade.executed_at,  # type: ignore[arg-type]
                price=trade.executed_price,
                quantity=quantity,
                value=trade.executed_reserve,
                trade_type=trade.trade_type.value,
                tx_hash=_swap_hash(trade),
            )
        )
    points.sort(key=lambda p: (p.at, p.trade_id))
    return points


def position_series(
    state: State, pair: TradingPairIdentifier, window: TimeWindow
) -> list[tuple[datetime.datetime, Decimal]]:
    """Base tokens held on `pair` after each change; starts with the holding at the window start."""
    position_ids = {p.position_id for p in state.portfolio.all_positions() if p.pair.key == pair.key}
    changes = [
        e
        for e in state.ledger.entries
        if e.asset_key == pair.base.key
        and e.position_id in position_ids
        and e.kind in (LedgerKind.trade, LedgerKind.drift)
    ]
    changes.sort(key=lambda e: (e.at, e.entry_id))
    held = 0
    series: list[tuple[datetime.datetime, Decimal]] = []
    for entry in changes:
        if window.start is not None and entry.at < window.start:
            held += entry.amount_raw
            continue
        if window.end is not None and entry.at > window.end:
            break
        if not series and window.start is not None:
            series.append((window.start, pair.base.to_decimal(held)))
        held += entry.amount_raw
        series.append((entry.at, pair.base.to_decimal(held)))
    if not series and window.start is not None and held:
        series.append((window.start, pair.base.to_decimal(held)))
    if series and window.end is not None:
        series.append((window.end, series[-1][1]))
    return series


@dataclass(frozen=True, slots=True)
class PnlPoint:
    at: datetime.datetime
    realised: Decimal
    unrealised: Decimal
    total_equity: Decimal


def pnl_series(state: State, window: TimeWindow) -> list[PnlPoint]:
    return [
        PnlPoint(s.at, s.realised_pnl, s.unrealised_pnl, s.total_equity)
        for s in state.stats.portfolio
        if window.contains(s.at)
    ]


def price_series(
    published: Mapping[str, PricePoints],
    state: State,
    pair: TradingPairIdentifier,
    window: TimeWindow,
) -> tuple[list[tuple[datetime.datetime, float]], str]:
    """(points, where they come from): the candles the loop published, else prices seen in the state.

    The executor publishes close prices of its universe after each cycle; a state served
    without them (an older executor, a copied state file) still gets a line through every
    price it recorded: planned and executed trade prices and the last valuation.
    """
    candles = published.get(pair.ticker) or published.get(pair.key)
    if candles:
        return [(at, float(price)) for at, price in candles if window.contains(at)], "candle close"
    seen: list[tuple[datetime.datetime, float]] = []
    for position in state.portfolio.all_positions():
        if position.pair.key != pair.key:
            continue
        for t in position.trades.values():
            seen.append((t.planned_at, float(t.planned_price)))
            if t.status == TradeStatus.success and t.executed_at and t.executed_price is not None:
                seen.append((t.executed_at, float(t.executed_price)))
        if position.last_pricing_at is not None and position.last_token_price is not None:
            seen.append((position.last_pricing_at, float(position.last_token_price)))
    seen.sort(key=lambda p: p[0])
    return [p for p in seen if window.contains(p[0])], "prices recorded in the state"


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
