"""A trading position: every trade on one pair from opening until the holding is back to zero.

Status is explicit and changes only through Portfolio/State operations:

    open ──► closed          (quantity back to zero, no pending trade)
      │ ▲
      ▼ │
    frozen                   (needs a human or a repair run: e.g. an unresolvable transaction)

Quantity is derived from successful trades plus booked drift, never stored separately, so
it cannot disagree with the trades that produced it.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

import msgspec

from tradeexecutor.state.identifiers import TradingPairIdentifier
from tradeexecutor.state.time import UTCDateTime
from tradeexecutor.state.trade import TradeExecution


class PositionStatus(StrEnum):
    open = "open"
    closed = "closed"
    frozen = "frozen"


class TradingPosition(msgspec.Struct, kw_only=True, omit_defaults=True):
    position_id: int
    pair: TradingPairIdentifier
    opened_at: UTCDateTime
    status: PositionStatus = PositionStatus.open
    closed_at: UTCDateTime | None = None
    frozen_at: UTCDateTime | None = None
    frozen_reason: str | None = None

    trades: dict[int, TradeExecution] = msgspec.field(default_factory=dict)

    # risk levels, as prices in reserve currency per base token
    stop_loss: Decimal | None = None
    take_profit: Decimal | None = None
    stop_loss_pct: Decimal | None = None  # e.g. 0.95 = stop at 95 % of the entry price
    take_profit_pct: Decimal | None = None

    # last valuation
    last_token_price: Decimal | None = None
    last_pricing_at: UTCDateTime | None = None

    quantity_adjustment_raw: int = 0  # drift booked against this position's token
    notes: str = ""

    # ---- holdings -------------------------------------------------------------------------

    @property
    def quantity_raw(self) -> int:
        return self.quantity_adjustment_raw + sum(
            t.executed_quantity_raw or 0 for t in self.trades.values() if t.is_success
        )

    @property
    def quantity(self) -> Decimal:
        return self.pair.base.to_decimal(self.quantity_raw)

    def pending_trades(self) -> list[TradeExecution]:
        return [t for t in self.trades.values() if t.is_pending]

    def successful_trades(self) -> list[TradeExecution]:
        return [t for t in self.trades.values() if t.is_success]

    def has_executed_trades(self) -> bool:
        return any(t.is_success for t in self.trades.values())

    def is_open(self) -> bool:
        return self.status == PositionStatus.open

    def last_trade(self) -> TradeExecution | None:
        return next(reversed(self.trades.values()), None)

    # ---- value and profit (reserve currency) ----------------------------------------------

    def value(self) -> Decimal:
        """Quantity at the last known price; zero if the position was never priced."""
        if self.last_token_price is None:
            return Decimal(0)
        return self.quantity * self.last_token_price

    def _bought(self) -> tuple[Decimal, Decimal]:
        qty = sum((t.executed_quantity for t in self.successful_trades() if t.is_buy), Decimal(0))
        cost = sum((t.executed_reserve for t in self.successful_trades() if t.is_buy), Decimal(0))
        return qty, cost

    def _sold(self) -> tuple[Decimal, Decimal]:
        qty = sum((-t.executed_quantity for t in self.successful_trades() if t.is_sell), Decimal(0))
        proceeds = sum((t.executed_reserve for t in self.successful_trades() if t.is_sell), Decimal(0))
        return qty, proceeds

    def average_entry_price(self) -> Decimal | None:
        qty, cost = self._bought()
        return cost / qty if qty else None

    def realised_profit(self) -> Decimal:
        """Proceeds of sells minus their share of the purchase cost (fees are in the fills).

        Multiplying before dividing keeps a fully closed position exact: cost × sold / bought
        is the whole cost when everything bought was sold.
        """
        bought_qty, cost = self._bought()
        sold_qty, proceeds = self._sold()
        if not bought_qty or not sold_qty:
            return Decimal(0)
        return proceeds - cost * sold_qty / bought_qty

    def unrealised_profit(self) -> Decimal:
        bought_qty, cost = self._bought()
        if not bought_qty or self.last_token_price is None:
            return Decimal(0)
        return self.quantity * self.last_token_price - cost * self.quantity / bought_qty

    def total_gas_fees_reserve(self) -> Decimal:
        return sum((t.gas_fees_reserve for t in self.trades.values()), Decimal(0))

    def profit_pct(self) -> Decimal | None:
        """Realised plus unrealised profit relative to the reserve put in."""
        _, cost = self._bought()
        if not cost:
            return None
        return (self.realised_profit() + self.unrealised_profit()) / cost

    def __str__(self) -> str:
        return f"Position #{self.position_id} {self.pair.ticker} ({self.status})"
