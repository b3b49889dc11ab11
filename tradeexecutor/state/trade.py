"""A trade: one decision of the strategy, from plan to a final outcome.

Lifecycle (anything else raises IllegalTransition):

    planned ──► started ──► broadcast ──► success
       │           │            │
       └───────────┴────────────┴──────► failed ──► repaired
                   │            │
                   └────────────┴──────► repaired   (manual resolution of a stuck trade)

A backtest goes planned → started → success without broadcasting. Planned amounts are
what the strategy asked for (human Decimals); executed amounts are what the chain (or
the simulator) delivered, as raw integers in token units, so balances stay exact.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from enum import StrEnum

import msgspec

from tradeexecutor.state.errors import IllegalTransition
from tradeexecutor.state.identifiers import AssetIdentifier, TradingPairIdentifier
from tradeexecutor.state.time import UTCDateTime, require_utc
from tradeexecutor.state.transaction import BlockchainTransaction


class TradeStatus(StrEnum):
    planned = "planned"
    started = "started"
    broadcast = "broadcast"
    success = "success"
    failed = "failed"
    repaired = "repaired"


class TradeType(StrEnum):
    rebalance = "rebalance"  # decided by decide_trades()
    stop_loss = "stop_loss"
    take_profit = "take_profit"
    test = "test"  # perform-test-trade
    manual = "manual"  # close-position / close-all by an operator


_ALLOWED: dict[TradeStatus, frozenset[TradeStatus]] = {
    TradeStatus.planned: frozenset({TradeStatus.started, TradeStatus.failed}),
    TradeStatus.started: frozenset(
        {TradeStatus.broadcast, TradeStatus.success, TradeStatus.failed, TradeStatus.repaired}
    ),
    TradeStatus.broadcast: frozenset({TradeStatus.success, TradeStatus.failed, TradeStatus.repaired}),
    TradeStatus.success: frozenset(),
    TradeStatus.failed: frozenset({TradeStatus.repaired}),
    TradeStatus.repaired: frozenset(),
}

PENDING_STATUSES = frozenset({TradeStatus.planned, TradeStatus.started, TradeStatus.broadcast})


class TradeExecution(msgspec.Struct, kw_only=True, omit_defaults=True, array_like=True):
    """Written as a JSON array in field order (docs/state.md lists the columns): a long-running
    executor keeps hundreds of thousands of these and the keys were a third of the file.
    Add new fields at the end only; anything else needs a schema migration."""

    trade_id: int
    position_id: int
    pair: TradingPairIdentifier
    reserve_currency: AssetIdentifier
    trade_type: TradeType = TradeType.rebalance
    status: TradeStatus = TradeStatus.planned

    # what the strategy decided
    planned_at: UTCDateTime
    planned_quantity: Decimal  # base tokens: positive buys, negative sells
    planned_reserve: Decimal  # reserve currency spent (buy) or expected back (sell), positive
    planned_price: Decimal  # reserve per base token at planning
    slippage_tolerance_bps: int | None = None
    notes: str = ""

    # every step's time
    started_at: UTCDateTime | None = None
    broadcast_at: UTCDateTime | None = None
    executed_at: UTCDateTime | None = None
    failed_at: UTCDateTime | None = None
    repaired_at: UTCDateTime | None = None

    # what happened
    executed_quantity_raw: int | None = None  # base token units, signed like planned_quantity
    executed_reserve_raw: int | None = None  # reserve token units, positive
    executed_price: Decimal | None = None
    lp_fees_reserve: Decimal | None = None  # LP fee paid, valued in reserve currency
    gas_fees_native_raw: int = 0  # wei spent on this trade's transactions
    gas_fees_reserve: Decimal = Decimal(0)  # the same, valued in reserve currency when paid
    failure_reason: str | None = None
    repair_note: str | None = None

    blockchain_transactions: list[BlockchainTransaction] = msgspec.field(default_factory=list)

    # ---- classification ------------------------------------------------------------------

    @property
    def is_buy(self) -> bool:
        return self.planned_quantity > 0

    @property
    def is_sell(self) -> bool:
        return self.planned_quantity < 0

    @property
    def is_pending(self) -> bool:
        return self.status in PENDING_STATUSES

    @property
    def is_success(self) -> bool:
        return self.status == TradeStatus.success

    # ---- human-readable executed amounts --------------------------------------------------

    @property
    def executed_quantity(self) -> Decimal:
        return self.pair.base.to_decimal(self.executed_quantity_raw or 0)

    @property
    def executed_reserve(self) -> Decimal:
        return self.reserve_currency.to_decimal(self.executed_reserve_raw or 0)

    # ---- lifecycle ------------------------------------------------------------------------

    def _move(self, to: TradeStatus) -> None:
        if to not in _ALLOWED[self.status]:
            raise IllegalTransition(f"Trade #{self.trade_id} cannot go from {self.status} to {to}.")
        self.status = to

    def mark_started(self, at: datetime.datetime) -> None:
        self._move(TradeStatus.started)
        self.started_at = require_utc(at)

    def mark_broadcast(self, at: datetime.datetime) -> None:
        self._move(TradeStatus.broadcast)
        self.broadcast_at = require_utc(at)

    def mark_success(
        self,
        at: datetime.datetime,
        *,
        executed_quantity_raw: int,
        executed_reserve_raw: int,
        executed_price: Decimal,
        lp_fees_reserve: Decimal,
    ) -> None:
        """Record the fill. Balances move in State.settle_trade_success, not here."""
        if executed_quantity_raw == 0 or (executed_quantity_raw > 0) != self.is_buy:
            raise ValueError(
                f"Trade #{self.trade_id} executed quantity {executed_quantity_raw} does not match "
                f"its direction ({'buy' if self.is_buy else 'sell'})."
            )
        if executed_reserve_raw < 0:
            raise ValueError(f"Trade #{self.trade_id} executed reserve must be positive.")
        self._move(TradeStatus.success)
        self.executed_at = require_utc(at)
        self.executed_quantity_raw = executed_quantity_raw
        self.executed_reserve_raw = executed_reserve_raw
        self.executed_price = executed_price
        self.lp_fees_reserve = lp_fees_reserve

    def mark_failed(self, at: datetime.datetime, reason: str) -> None:
        self._move(TradeStatus.failed)
        self.failed_at = require_utc(at)
        self.failure_reason = reason

    def mark_repaired(self, at: datetime.datetime, note: str) -> None:
        self._move(TradeStatus.repaired)
        self.repaired_at = require_utc(at)
        self.repair_note = note

    def __str__(self) -> str:
        side = "buy" if self.is_buy else "sell"
        return (
            f"Trade #{self.trade_id} {side} {abs(self.planned_quantity)} {self.pair.ticker} ({self.status})"
        )
