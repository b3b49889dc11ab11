"""Closing positions by hand: choose what can be closed, quote it, sell through the live model.

The sells are ordinary trades of type `manual`, planned by the PositionManager and executed
by the live `UniswapV2ExecutionModel` with the store's save as checkpoint: slippage-bounded,
recorded before broadcast, confirmed and booked like any strategy trade.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from tradeexecutor.errors import UserError
from tradeexecutor.ethereum.gas import human
from tradeexecutor.state.errors import StateError
from tradeexecutor.state.position import PositionStatus, TradingPosition
from tradeexecutor.state.state import State
from tradeexecutor.state.trade import TradeExecution, TradeStatus, TradeType
from tradeexecutor.strategy.position_manager import PositionManager
from tradeexecutor.strategy.pricing import PricingModel

REPAIR_HINT = (
    "run `trade-executor repair` to list its unfinished trades and `trade-executor repair --yes` to resolve them "
    "and unfreeze it, then close it"
)


def frozen_explanation(position: TradingPosition) -> str:
    return f"Position #{position.position_id} {position.pair.ticker} is frozen ({position.frozen_reason}): {REPAIR_HINT}."


def position_to_close(state: State, position_id: int) -> TradingPosition:
    """The open position with this id, or one sentence saying why it cannot be closed."""
    try:
        position = state.portfolio.get_position(position_id)
    except StateError:
        raise UserError(
            f"There is no position #{position_id}: `trade-executor show-positions` lists the positions."
        ) from None
    if position.status == PositionStatus.closed:
        raise UserError(f"Position #{position_id} {position.pair.ticker} is already closed.")
    if position.status == PositionStatus.frozen:
        raise UserError(frozen_explanation(position))
    return position


def check_closable(position: TradingPosition) -> None:
    """After the wallet sync resolved what it could: nothing may still be in flight."""
    if position.status == PositionStatus.frozen:
        raise UserError(frozen_explanation(position))
    pending = position.pending_trades()
    if pending:
        raise UserError(
            f"Position #{position.position_id} {position.pair.ticker} has an unfinished trade #{pending[0].trade_id} "
            f"({pending[0].status}): run `trade-executor repair` first."
        )


@dataclass(frozen=True, slots=True)
class CloseQuote:
    position: TradingPosition
    quantity: Decimal
    price: Decimal
    expected_reserve: Decimal
    minimum_reserve: Decimal
    reserve_symbol: str

    def line(self) -> str:
        p = self.position
        return (
            f"  Position #{p.position_id} {p.pair.ticker}: sell {human(self.quantity)} {p.pair.base.symbol} at about "
            f"{self.price:.6f} {self.reserve_symbol}/{p.pair.base.symbol} = about {self.expected_reserve:.6f} "
            f"{self.reserve_symbol} (at least {self.minimum_reserve:.6f} {self.reserve_symbol})"
        )


def quote_close(
    position: TradingPosition,
    pricing: PricingModel,
    now: datetime.datetime,
    max_slippage_bps: int,
    reserve_symbol: str,
) -> CloseQuote | None:
    """What selling the whole position would fetch now; None if it holds nothing to sell."""
    quantity = position.quantity
    if quantity <= 0:
        return None
    pricing_now = pricing.get_sell_price(now, position.pair, quantity)
    expected = quantity * pricing_now.price
    return CloseQuote(
        position=position,
        quantity=quantity,
        price=pricing_now.price,
        expected_reserve=expected,
        minimum_reserve=expected * (10_000 - max_slippage_bps) / 10_000,
        reserve_symbol=reserve_symbol,
    )


def slippage_keeping_minimum(shown: CloseQuote, fresh: CloseQuote, max_slippage_bps: int) -> int | None:
    """The slippage tolerance (bps) for selling at `fresh` prices that still guarantees the
    minimum the operator was shown and agreed to; None when the price has fallen below it.

    The confirmation prompt can wait for minutes: re-planning with the full --max-slippage at
    the new price would let the swap return less than the "at least" on the screen."""
    if fresh.expected_reserve <= shown.minimum_reserve:
        return None
    room = 1 - shown.minimum_reserve / fresh.expected_reserve
    return min(max_slippage_bps, int(room * 10_000))  # rounded down: the minimum only rises


def plan_closes(
    state: State,
    positions: list[tuple[TradingPosition, int]],
    pricing: PricingModel,
    now: datetime.datetime,
    note: str,
) -> list[TradeExecution]:
    """Sell trades for (position, slippage tolerance in bps) pairs."""
    trades: list[TradeExecution] = []
    for position, slippage_bps in positions:
        pm = PositionManager(now, state, pricing, slippage_bps)
        trades += pm.close_position(position, TradeType.manual, note)
    return trades


def outcome_line(trade: TradeExecution) -> str:
    base = trade.pair.base.symbol
    if trade.status == TradeStatus.success:
        tx = trade.blockchain_transactions[-1].tx_hash if trade.blockchain_transactions else "-"
        return (
            f"Sold {human(-trade.executed_quantity)} {base} of position #{trade.position_id} for "
            f"{human(trade.executed_reserve)} {trade.reserve_currency.symbol} at {trade.executed_price:.6f} (tx {tx})"
        )
    if trade.status == TradeStatus.failed:
        return f"The sell of position #{trade.position_id} {trade.pair.ticker} failed: {trade.failure_reason}"
    return (
        f"The sell of position #{trade.position_id} {trade.pair.ticker} is {trade.status}, outcome not known yet: "
        "the next start or `trade-executor repair` resolves it from the chain"
    )
