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

from tradeexecutor.state.identifiers import AssetIdentifier, TradingPairIdentifier
from tradeexecutor.state.time import UTCDateTime
from tradeexecutor.state.trade import TradeExecution, TradeStatus

_ZERO = Decimal(0)


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

    def _flows_raw(self) -> tuple[int, int, int, int]:
        """(bought, cost, sold, proceeds) in raw units over successful trades, in one pass:
        valuation runs every cycle for every open position, so this stays cheap."""
        bought = cost = sold = proceeds = 0
        for t in self.trades.values():
            if t.status != TradeStatus.success:
                continue
            quantity, reserve = t.executed_quantity_raw or 0, t.executed_reserve_raw or 0
            if quantity > 0:
                bought += quantity
                cost += reserve
            else:
                sold -= quantity
                proceeds += reserve
        return bought, cost, sold, proceeds

    def _amounts(self) -> tuple[Decimal, Decimal, Decimal, Decimal]:
        bought, cost, sold, proceeds = self._flows_raw()
        base, reserve = self.pair.base, self._reserve_asset()
        return (
            base.to_decimal(bought),
            reserve.to_decimal(cost) if reserve else Decimal(0),
            base.to_decimal(sold),
            reserve.to_decimal(proceeds) if reserve else Decimal(0),
        )

    def _reserve_asset(self) -> AssetIdentifier | None:
        for t in self.trades.values():
            return t.reserve_currency
        return None

    def _bought(self) -> tuple[Decimal, Decimal]:
        qty, cost, _, _ = self._amounts()
        return qty, cost

    def _sold(self) -> tuple[Decimal, Decimal]:
        _, _, qty, proceeds = self._amounts()
        return qty, proceeds

    def average_entry_price(self) -> Decimal | None:
        qty, cost = self._bought()
        return cost / qty if qty else None

    def realised_profit(self) -> Decimal:
        """Proceeds of sells minus their share of the purchase cost (fees are in the fills).

        Multiplying before dividing keeps a fully closed position exact: cost × sold / bought
        is the whole cost when everything bought was sold.
        """
        return self.profit()[0]

    def unrealised_profit(self) -> Decimal:
        return self.profit()[1]

    def profit(self) -> tuple[Decimal, Decimal]:
        """(realised, unrealised) profit from one pass over the trades."""
        _, realised, unrealised = self.valuation()
        return realised, unrealised

    def valuation(self) -> tuple[Decimal, Decimal, Decimal]:
        """(value, realised profit, unrealised profit) from one pass over the trades: what
        statistics need every cycle for every open position.

        Quantities stay raw integers here: in cost x sold / bought the base token's scale
        cancels, and a Decimal's digits do not depend on its exponent, so the result is the
        same number as with human amounts, for fewer conversions.
        """
        bought, cost_raw, sold, proceeds_raw = self._flows_raw()
        quantity_raw = self.quantity_adjustment_raw + bought - sold
        price = self.last_token_price
        value = self.pair.base.to_decimal(quantity_raw) * price if price is not None else _ZERO
        reserve = self._reserve_asset()
        if not bought or reserve is None:
            return value, _ZERO, _ZERO
        cost = reserve.to_decimal(cost_raw)
        realised = reserve.to_decimal(proceeds_raw) - cost * sold / bought if sold else _ZERO
        if price is None:
            return value, realised, _ZERO
        return value, realised, value - cost * quantity_raw / bought

    def total_gas_fees_reserve(self) -> Decimal:
        return sum((t.gas_fees_reserve for t in self.trades.values()), Decimal(0))

    def profit_pct(self) -> Decimal | None:
        """Realised plus unrealised profit relative to the reserve put in."""
        _, cost = self._bought()
        if not cost:
            return None
        realised, unrealised = self.profit()
        return (realised + unrealised) / cost

    def __str__(self) -> str:
        return f"Position #{self.position_id} {self.pair.ticker} ({self.status})"
