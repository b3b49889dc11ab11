"""The strategy's trading vocabulary: open, close and adjust positions.

`decide_trades()` calls these to plan trades; nothing executes until the cycle hands the
returned trades to the execution model. Plans go through State.plan_trade, which commits
reserve for buys at once, so a strategy cannot spend the same cash twice in one cycle.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

from tradeexecutor.state.errors import StateError
from tradeexecutor.state.identifiers import TradingPairIdentifier
from tradeexecutor.state.position import TradingPosition
from tradeexecutor.state.state import State
from tradeexecutor.state.trade import TradeExecution, TradeType
from tradeexecutor.strategy.pricing import PricingModel


def _decimal(value: Decimal | float | int, what: str) -> Decimal:
    """Accept floats from user code at the boundary, but only finite ones, via their shortest repr."""
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool):
        raise TypeError(f"{what} must be a number, not a bool.")
    elif isinstance(value, int | float):
        result = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    else:
        raise TypeError(f"{what} must be a number, got {type(value).__name__}.")
    if not result.is_finite():
        raise ValueError(f"{what} must be a finite number, got {value}.")
    return result


class PositionManager:
    def __init__(
        self,
        timestamp: datetime.datetime,
        state: State,
        pricing_model: PricingModel,
        default_slippage_bps: int | None = None,
    ) -> None:
        self.timestamp = timestamp
        self.state = state
        self.pricing_model = pricing_model
        self.default_slippage_bps = default_slippage_bps

    # ---- queries --------------------------------------------------------------------------

    def is_any_open(self) -> bool:
        return bool(self.state.portfolio.open_positions)

    def get_current_position(self) -> TradingPosition:
        """The single open position; an error if there are none or several."""
        positions = list(self.state.portfolio.open_positions.values())
        if len(positions) != 1:
            raise StateError(
                f"get_current_position() needs exactly one open position, there are {len(positions)}; "
                "use get_current_position_for_pair(pair)."
            )
        return positions[0]

    def get_current_position_for_pair(self, pair: TradingPairIdentifier) -> TradingPosition | None:
        return self.state.portfolio.open_position_for_pair(pair)

    def get_last_closed_position(self) -> TradingPosition | None:
        closed = self.state.portfolio.closed_positions
        return closed[max(closed)] if closed else None

    # ---- plans ----------------------------------------------------------------------------

    def open_1x_long(
        self,
        pair: TradingPairIdentifier,
        value: Decimal | float | int,
        stop_loss_pct: Decimal | float | None = None,
        take_profit_pct: Decimal | float | None = None,
        notes: str = "",
        trade_type: TradeType = TradeType.rebalance,
    ) -> list[TradeExecution]:
        """Spend `value` of reserve currency on `pair`'s base token (adds to an open position)."""
        reserve = _decimal(value, "Position value")
        sl = _decimal(stop_loss_pct, "stop_loss_pct") if stop_loss_pct is not None else None
        tp = _decimal(take_profit_pct, "take_profit_pct") if take_profit_pct is not None else None
        if sl is not None and not Decimal(0) < sl < Decimal(1):
            raise ValueError(f"stop_loss_pct must be between 0 and 1 (e.g. 0.95), got {sl}.")
        if tp is not None and tp <= 1:
            raise ValueError(f"take_profit_pct must be above 1 (e.g. 1.10), got {tp}.")
        pricing = self.pricing_model.get_buy_price(self.timestamp, pair, reserve)
        trade = self.state.plan_trade(
            self.timestamp,
            pair,
            price=pricing.price,
            reserve=reserve,
            position=self.get_current_position_for_pair(pair),
            trade_type=trade_type,
            notes=notes,
            slippage_tolerance_bps=self.default_slippage_bps,
            stop_loss_pct=sl,
            take_profit_pct=tp,
        )
        return [trade]

    def close_position(
        self,
        position: TradingPosition,
        trade_type: TradeType = TradeType.rebalance,
        notes: str = "",
    ) -> list[TradeExecution]:
        """Sell everything the position holds that is not already being sold."""
        already_selling = sum(
            (-t.planned_quantity for t in position.pending_trades() if t.is_sell), Decimal(0)
        )
        quantity = position.quantity - already_selling
        if quantity <= 0:
            return []
        pricing = self.pricing_model.get_sell_price(self.timestamp, position.pair, quantity)
        trade = self.state.plan_trade(
            self.timestamp,
            position.pair,
            price=pricing.price,
            quantity=-quantity,
            position=position,
            trade_type=trade_type,
            notes=notes,
            slippage_tolerance_bps=self.default_slippage_bps,
        )
        return [trade]

    def close_all(self, trade_type: TradeType = TradeType.rebalance, notes: str = "") -> list[TradeExecution]:
        trades: list[TradeExecution] = []
        for position in list(self.state.portfolio.open_positions.values()):
            trades += self.close_position(position, trade_type=trade_type, notes=notes)
        return trades

    def adjust_position(
        self,
        pair: TradingPairIdentifier,
        value_delta: Decimal | float | int,
        notes: str = "",
    ) -> list[TradeExecution]:
        """Buy (positive) or sell (negative) about `value_delta` of reserve currency worth of `pair`."""
        delta = _decimal(value_delta, "value_delta")
        if delta == 0:
            return []
        if delta > 0:
            return self.open_1x_long(pair, delta, notes=notes)
        position = self.get_current_position_for_pair(pair)
        if position is None:
            raise StateError(f"Cannot reduce {pair.ticker}: there is no open position (no shorting).")
        mid = self.pricing_model.get_mid_price(self.timestamp, pair)
        quantity = min(-delta / mid, position.quantity)
        if quantity >= position.quantity:
            return self.close_position(position, notes=notes)
        pricing = self.pricing_model.get_sell_price(self.timestamp, pair, quantity)
        trade = self.state.plan_trade(
            self.timestamp,
            pair,
            price=pricing.price,
            quantity=-quantity,
            position=position,
            notes=notes,
            slippage_tolerance_bps=self.default_slippage_bps,
        )
        return [trade]
