"""Turn the state into what operators see: webhook lists, Discord trade lines, headline figures.

Pure functions of the State, run in the loop thread right after a save, so the webhook
only ever serves these precomputed, immutable results.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from decimal import Context, Decimal
from itertools import chain, islice
from typing import Any

from tradeexecutor.data.time_bucket import TimeBucket
from tradeexecutor.execution.run_state import PortfolioSummary
from tradeexecutor.reporting.messages import TradeSummary
from tradeexecutor.state.errors import StateError
from tradeexecutor.state.position import TradingPosition
from tradeexecutor.state.reserve import ReserveRole
from tradeexecutor.state.state import State
from tradeexecutor.state.trade import TradeExecution, TradeStatus

# Per cycle, only the newest history is published, so a cycle's cost does not grow with the
# archive of closed positions (state/archive.py); /state has everything.
MAX_PUBLISHED_TRADES = 10_000  # the newest trades
MAX_PUBLISHED_CLOSED_POSITIONS = 10_000  # the most recently closed, after every open and frozen one
MAX_PRICE_POINTS = 1_500  # candles per pair on the strategy dashboard; more history: wider candles
PRICE_SIGNIFICANT_DIGITS = 8  # a price keeps at least this many, however small
# 10**12 tokens with 18 decimals are 31 digits: more than Decimal's default 28-digit context
_WIDE = Context(prec=80)


def token_amount(value: Decimal | None, decimals: int) -> str | None:
    """`value` rounded to a token's decimals as the JSON string the webhook serves: an amount
    the token can hold, without trailing zeros or an exponent ("8946.32101", not the 28 digits
    Decimal arithmetic leaves, nor "1.2E-7")."""
    if value is None:
        return None
    rounded = value.quantize(Decimal(1).scaleb(-decimals), context=_WIDE)
    if not rounded:
        return "0"  # not "-0"
    text = format(rounded, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def price_amount(value: Decimal | None, quote_decimals: int) -> str | None:
    """A price in quote tokens per base token: to the quote's decimals, but never fewer than
    PRICE_SIGNIFICANT_DIGITS significant digits (a token worth 0.0000001234 USDC keeps them)."""
    if value is None or not value:
        return token_amount(value, quote_decimals)
    needed = PRICE_SIGNIFICANT_DIGITS - value.adjusted() - 1
    return token_amount(value, max(quote_decimals, needed))


def position_document(p: TradingPosition) -> dict[str, Any]:
    base, quote = p.pair.base.decimals, p.pair.quote.decimals
    value, realised, unrealised = p.valuation()
    return {
        "position_id": p.position_id,
        "pair": p.pair.ticker,
        "status": p.status.value,
        "opened_at": p.opened_at,
        "closed_at": p.closed_at,
        "quantity": token_amount(p.quantity, base),
        "value": token_amount(value, quote),
        "entry_price": price_amount(p.average_entry_price(), quote),
        "current_price": price_amount(p.last_token_price, quote),
        "realised_profit": token_amount(realised, quote),
        "unrealised_profit": token_amount(unrealised, quote),
        "stop_loss": price_amount(p.stop_loss, quote),
        "take_profit": price_amount(p.take_profit, quote),
        "frozen_reason": p.frozen_reason,
        "last_trade_status": (last.status.value if (last := p.last_trade()) else None),
    }


def _tx_hash(t: TradeExecution) -> str | None:
    swaps = [tx for tx in t.blockchain_transactions if tx.function != "approve"]
    return (swaps or t.blockchain_transactions or [None])[-1].tx_hash if t.blockchain_transactions else None


def trade_document(t: TradeExecution) -> dict[str, Any]:
    executed = t.status == TradeStatus.success
    base, quote = t.pair.base.decimals, t.pair.quote.decimals
    return {
        "trade_id": t.trade_id,
        "position_id": t.position_id,
        "pair": t.pair.ticker,
        "side": "buy" if t.is_buy else "sell",
        "status": t.status.value,
        "trade_type": t.trade_type.value,
        "planned_at": t.planned_at,
        "executed_at": t.executed_at,
        "quantity": token_amount(t.executed_quantity if executed else t.planned_quantity, base),
        "price": price_amount(t.executed_price if executed else t.planned_price, quote),
        "value": token_amount(t.executed_reserve if executed else t.planned_reserve, quote),
        "lp_fees": token_amount(t.lp_fees_reserve, quote),
        "gas_fees": token_amount(t.gas_fees_reserve, quote),
        "tx_hash": _tx_hash(t),
        "failure_reason": t.failure_reason,
        "notes": t.notes or None,
    }


def positions_documents(state: State) -> list[dict[str, Any]]:
    """Every open and frozen position and the MAX_PUBLISHED_CLOSED_POSITIONS most recently
    closed ones, by ascending position id (the order `/positions` pages through)."""
    p = state.portfolio
    chosen = chain(
        p.open_positions.values(),
        p.frozen_positions.values(),
        islice(p.closed.newest(), MAX_PUBLISHED_CLOSED_POSITIONS),
    )
    return [position_document(x) for x in sorted(chosen, key=lambda x: x.position_id)]


def trades_documents(state: State) -> list[dict[str, Any]]:
    """The newest MAX_PUBLISHED_TRADES trades by ascending trade id (the order `/trades` pages through)."""
    newest_first = state.portfolio.newest_trades(MAX_PUBLISHED_TRADES)
    return [trade_document(t) for t in reversed(newest_first)]


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
    """Headline figures in the reserve currency, rounded to its decimals."""
    p = state.portfolio
    live = (*p.open_positions.values(), *p.frozen_positions.values())
    gas = next((h for h in p.reserves.values() if h.role == ReserveRole.gas), None)
    gas_balance = gas.asset.to_decimal(gas.quantity_raw) if gas is not None else None
    try:
        reserve = p.reserve_holding().asset
    except StateError:  # no reserve synced yet
        return PortfolioSummary(
            open_positions=len(p.open_positions),
            frozen_positions=len(p.frozen_positions),
            gas_balance=gas_balance,
        )
    cash = p.cash()
    value = profit = Decimal(0)
    for position in live:
        v, realised, unrealised = position.valuation()
        value += v
        profit += realised + unrealised
    return PortfolioSummary(
        total_equity=Decimal(token_amount(cash + value, reserve.decimals) or 0),
        cash=cash,
        open_positions=len(p.open_positions),
        frozen_positions=len(p.frozen_positions),
        currency=reserve.symbol,
        profit=Decimal(token_amount(p.closed_realised_profit() + profit, reserve.decimals) or 0),
        gas_balance=gas_balance,
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
    bucket: TimeBucket,
    limit: int = MAX_PRICE_POINTS,
) -> dict[str, list[tuple[datetime.datetime, datetime.datetime, float, float, float, float]]]:
    """{ticker: [(open time, close time, open, high, low, close), ...]} for
    `RunState.publish(price_series=...)`: the strategy dashboard's candlesticks. `candles`
    maps a pair ticker to a canonical OHLCV frame of `bucket` candles; the whole history is
    published from its first candle, thinned to wider candles when there are more than
    `limit` (`data.candles.thin_candles`), so the cost of a cycle stays bounded."""
    from tradeexecutor.data.candles import thin_candles

    out: dict[str, list[tuple[datetime.datetime, datetime.datetime, float, float, float, float]]] = {}
    for ticker, frame in candles.items():
        thinned, width = thin_candles(frame, bucket, limit)
        step = width.timedelta
        out[ticker] = [
            (at, at + step, float(o), float(h), float(low), float(c))
            for at, o, h, low, c in zip(
                thinned.index.to_pydatetime(),
                thinned["open"].to_numpy(),
                thinned["high"].to_numpy(),
                thinned["low"].to_numpy(),
                thinned["close"].to_numpy(),
                strict=True,
            )
        ]
    return out
