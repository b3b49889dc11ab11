"""Positions as rows for `show-positions`: from the state file alone, no chain.

Values are the last valuation the executor booked (`valued_at` says when); amounts in the
JSON form are exact decimal strings so scripts never see a rounded float.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Context, Decimal

from tradeexecutor.state.errors import StateError
from tradeexecutor.state.position import PositionStatus, TradingPosition
from tradeexecutor.state.state import State

_WIDE = Context(prec=200)  # quantizing a uint256-sized amount must not overflow the context


def exact(value: Decimal | None) -> str | None:
    """A Decimal as plain positional text (`1E-6` -> `0.000001`), None stays None."""
    if value is None:
        return None
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def rounded(value: Decimal | None, places: int) -> str:
    """A Decimal for a table cell: at most `places` decimals, thousands separated."""
    if value is None:
        return "-"
    q = value.quantize(Decimal(1).scaleb(-places), context=_WIDE)
    text = f"{q:,f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


@dataclass(frozen=True, slots=True)
class PositionRow:
    position_id: int
    status: str
    pair: str
    base_symbol: str
    base_address: str
    pool_address: str
    exchange: str
    quantity: Decimal  # held now (0 once closed)
    bought_quantity: Decimal  # everything bought over the position's life
    value: Decimal  # at the last booked price, reserve currency
    reserve_symbol: str
    realised_pnl: Decimal
    unrealised_pnl: Decimal
    pnl_pct: Decimal | None
    last_price: Decimal | None
    valued_at: str | None
    opened_at: str
    closed_at: str | None
    frozen_at: str | None
    frozen_reason: str | None
    last_trade: str | None  # "#12 sell manual success"
    trade_count: int
    notes: str

    @property
    def pnl(self) -> Decimal:
        return self.realised_pnl + self.unrealised_pnl

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {}
        for key, value in asdict(self).items():
            out[key] = exact(value) if isinstance(value, Decimal) else value
        out["pnl"] = exact(self.pnl)
        return out


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def position_row(position: TradingPosition) -> PositionRow:
    value, realised, unrealised = position.valuation()
    bought = sum(
        (t.executed_quantity for t in position.successful_trades() if t.is_buy),
        Decimal(0),
    )
    last = position.last_trade()
    last_text = None
    if last is not None:
        side = "buy" if last.is_buy else "sell"
        last_text = f"#{last.trade_id} {side} {last.trade_type} {last.status}"
    reserve = next((t.reserve_currency.symbol for t in position.trades.values()), position.pair.quote.symbol)
    return PositionRow(
        position_id=position.position_id,
        status=str(position.status),
        pair=position.pair.ticker,
        base_symbol=position.pair.base.symbol,
        base_address=position.pair.base.address,
        pool_address=position.pair.pool_address,
        exchange=position.pair.exchange_slug,
        quantity=position.quantity,
        bought_quantity=bought,
        value=value,
        reserve_symbol=reserve,
        realised_pnl=realised,
        unrealised_pnl=unrealised,
        pnl_pct=position.profit_pct(),
        last_price=position.last_token_price,
        valued_at=_iso(position.last_pricing_at),
        opened_at=position.opened_at.isoformat(),
        closed_at=_iso(position.closed_at),
        frozen_at=_iso(position.frozen_at),
        frozen_reason=position.frozen_reason,
        last_trade=last_text,
        trade_count=len(position.trades),
        notes=position.notes,
    )


ORDER = (PositionStatus.open, PositionStatus.frozen, PositionStatus.closed)


def position_rows(state: State) -> list[PositionRow]:
    """Open first, then frozen, then closed; by id within each."""
    p = state.portfolio
    buckets = {
        PositionStatus.open: p.open_positions,
        PositionStatus.frozen: p.frozen_positions,
        PositionStatus.closed: p.closed_positions,
    }
    return [position_row(buckets[s][i]) for s in ORDER for i in sorted(buckets[s])]


@dataclass(frozen=True, slots=True)
class ReserveSummary:
    symbol: str
    cash: Decimal
    free_cash: Decimal
    positions_value: Decimal
    total_equity: Decimal
    last_sync_at: str | None
    last_sync_block: int | None

    def to_json(self) -> dict[str, object]:
        return {k: exact(v) if isinstance(v, Decimal) else v for k, v in asdict(self).items()}


def reserve_summary(state: State) -> ReserveSummary | None:
    """None for a state that has never seen its reserve currency (never synced, never funded)."""
    p = state.portfolio
    try:
        holding = p.reserve_holding()
    except StateError:
        return None
    return ReserveSummary(
        symbol=holding.asset.symbol,
        cash=p.cash(),
        free_cash=p.free_cash(),
        positions_value=p.positions_value(),
        total_equity=p.total_equity(),
        last_sync_at=_iso(holding.last_sync_at),
        last_sync_block=holding.last_sync_block,
    )
