"""Turn the state into what operators see: webhook lists, Discord trade lines, headline figures.

Pure functions of the State, run in the loop thread right after a save, so the webhook
only ever serves these precomputed, immutable results.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from decimal import Decimal
from itertools import chain, islice
from typing import Any

from tradeexecutor.execution.run_state import PortfolioSummary
from tradeexecutor.reporting.messages import TradeSummary
from tradeexecutor.state.position import TradingPosition
from tradeexecutor.state.reserve import ReserveRole
from tradeexecutor.state.state import State
from tradeexecutor.state.trade import TradeExecution, TradeStatus

# Per cycle, only the newest history is published, so a cycle's cost does not grow with the
# archive of closed positions (state/archive.py); /state has everything.
MAX_PUBLISHED_TRADES = 10_000  # the newest trades
MAX_PUBLISHED_CLOSED_POSITIONS = 10_000  # the most recently closed, after every open and frozen one
MAX_PRICE_POINTS = 2_000  # per pair: the strategy dashboard's price line


def position_document(p: TradingPosition) -> dict[str, Any]:
    return {
        "position_id": p.position_id,
        "pair": p.pair.ticker,
        "status": p.status.value,
        "opened_at": p.opened_at,
        "closed_at": p.closed_at,
        "quantity": p.quantity,
        "value": p.value(),
        "entry_price": p.average_entry_price(),
        "current_price": p.last_token_price,
        "realised_profit": p.realised_profit(),
        "unrealised_profit": p.unrealised_profit(),
        "stop_loss": p.stop_loss,
        "take_profit": p.take_profit,
        "frozen_reason": p.frozen_reason,
        "last_trade_status": (last.status.value if (last := p.last_trade()) else None),
    }


def _tx_hash(t: TradeExecution) -> str | None:
    swaps = [tx for tx in t.blockchain_transactions if tx.function != "approve"]
    return (swaps or t.blockchain_transactions or [None])[-1].tx_hash if t.blockchain_transactions else None


def trade_document(t: TradeExecution) -> dict[str, Any]:
    executed = t.status == TradeStatus.success
    return {
        "trade_id": t.trade_id,
        "position_id": t.position_id,
        "pair": t.pair.ticker,
        "side": "buy" if t.is_buy else "sell",
        "status": t.status.value,
        "trade_type": t.trade_type.value,
        "planned_at": t.planned_at,
        "executed_at": t.executed_at,
        "quantity": t.executed_quantity if executed else t.planned_quantity,
        "price": t.executed_price if executed else t.planned_price,
        "value": t.executed_reserve if executed else t.planned_reserve,
        "lp_fees": t.lp_fees_reserve,
        "gas_fees": t.gas_fees_reserve,
        "tx_hash": _tx_hash(t),
        "failure_reason": t.failure_reason,
        "notes": t.notes or None,
    }


def positions_documents(state: State) -> list[dict[str, Any]]:
    """Open, frozen, then closed positions in closing order (the newest MAX_PUBLISHED_CLOSED_POSITIONS)."""
    p = state.portfolio
    closed = list(islice(p.closed.newest(), MAX_PUBLISHED_CLOSED_POSITIONS))
    closed.reverse()
    return [
        position_document(x) for x in chain(p.open_positions.values(), p.frozen_positions.values(), closed)
    ]


def trades_documents(state: State) -> list[dict[str, Any]]:
    """The newest MAX_PUBLISHED_TRADES trades, highest id first."""
    return [trade_document(t) for t in state.portfolio.newest_trades(MAX_PUBLISHED_TRADES)]


UNFINISHED = frozenset({TradeStatus.planned, TradeStatus.started, TradeStatus.broadcast})


def trade_summaries(trades: Iterable[TradeExecution]) -> list[TradeSummary]:
    """One line per trade for reports: executed, failed, or left for recovery (outcome unknown)."""
    out = []
    for t in trades:
        ok = t.status == TradeStatus.success
        out.append(
            TradeSummary(
                trade_id=t.trade_id,
                pair=t.pair.ticker,
                side="buy" if t.is_buy else "sell",
                quantity=abs(t.executed_quantity if ok else t.planned_quantity),
                price=t.executed_price if ok else t.planned_price,
                value=t.executed_reserve if ok else t.planned_reserve,
                tx_hash=_tx_hash(t),
                success=ok,
                failure_reason=t.failure_reason,
                pending=t.status in UNFINISHED,
            )
        )
    return out


def portfolio_summary(state: State) -> PortfolioSummary:
    p = state.portfolio
    try:
        cash: Decimal | None = p.cash()
        equity: Decimal | None = p.total_equity()
    except Exception:  # no reserve synced yet
        cash = equity = None
    gas = next((h for h in p.reserves.values() if h.role == ReserveRole.gas), None)
    return PortfolioSummary(
        total_equity=equity,
        cash=cash,
        open_positions=len(p.open_positions),
        frozen_positions=len(p.frozen_positions),
        gas_balance=gas.asset.to_decimal(gas.quantity_raw) if gas is not None else None,
    )


def cycle_outcome(trades: Iterable[TradeExecution]) -> str:
    """`2 trade(s) executed; failed: #7 WETH-USDC buy (reason); left for recovery: #8 DEV-USDC sell`:
    only trades that went through count as executed, the others are named."""
    trades = list(trades)
    executed = [t for t in trades if t.status == TradeStatus.success]
    failed = [t for t in trades if t.status == TradeStatus.failed]
    pending = [t for t in trades if t.status in UNFINISHED]

    def name(t: TradeExecution) -> str:
        return f"#{t.trade_id} {t.pair.ticker} {'buy' if t.is_buy else 'sell'}"

    text = f"{len(executed)} trade(s) executed"
    if failed:
        text += "; failed: " + ", ".join(f"{name(t)} ({t.failure_reason})" for t in failed)
    if pending:
        text += "; left for recovery at the next sync: " + ", ".join(name(t) for t in pending)
    return text


def gas_spent(trades: Iterable[TradeExecution]) -> tuple[int, Decimal]:
    """Gas units and native token spent by these trades' mined transactions."""
    units = 0
    native = Decimal(0)
    for t in trades:
        for tx in t.blockchain_transactions:
            units += tx.gas_used or 0
        native += Decimal(t.gas_fees_native_raw).scaleb(-18)
    return units, native


def price_series(
    candles: Mapping[str, Any],
    bucket: datetime.timedelta = datetime.timedelta(0),
    limit: int = MAX_PRICE_POINTS,
) -> dict[str, list[tuple[datetime.datetime, float]]]:
    """{ticker: [(close time, close price), ...]} of the newest `limit` candles per pair, for
    `RunState.publish(price_series=...)`. `candles` maps a pair ticker to a canonical OHLCV
    frame (index = candle open time, tz-aware); `bucket` is the candle width, so each close
    is drawn when it happened."""
    out: dict[str, list[tuple[datetime.datetime, float]]] = {}
    for ticker, frame in candles.items():
        tail = frame.tail(limit)
        out[ticker] = [
            (at.to_pydatetime() + bucket, float(close))
            for at, close in zip(tail.index, tail["close"], strict=True)
        ]
    return out
