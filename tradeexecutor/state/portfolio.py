"""The portfolio: positions by status, reserve holdings, and the id counters."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from itertools import islice

import msgspec

from tradeexecutor.state.errors import StateError
from tradeexecutor.state.identifiers import TradingPairIdentifier
from tradeexecutor.state.position import PositionStatus, TradingPosition
from tradeexecutor.state.reserve import ReserveHolding, ReserveRole
from tradeexecutor.state.trade import TradeExecution


class Portfolio(msgspec.Struct, kw_only=True, omit_defaults=True, dict=True):
    """`dict=True` gives instances a __dict__ for unserialised caches (see closed_realised_profit)."""

    next_position_id: int = 1
    next_trade_id: int = 1
    reserve_key: str | None = None  # AssetIdentifier.key of the trading reserve currency
    reserves: dict[str, ReserveHolding] = msgspec.field(default_factory=dict)
    open_positions: dict[int, TradingPosition] = msgspec.field(default_factory=dict)
    frozen_positions: dict[int, TradingPosition] = msgspec.field(default_factory=dict)
    closed_positions: dict[int, TradingPosition] = msgspec.field(default_factory=dict)

    # ---- positions ------------------------------------------------------------------------

    def _bucket(self, status: PositionStatus) -> dict[int, TradingPosition]:
        return {
            PositionStatus.open: self.open_positions,
            PositionStatus.frozen: self.frozen_positions,
            PositionStatus.closed: self.closed_positions,
        }[status]

    def all_positions(self) -> Iterator[TradingPosition]:
        yield from self.open_positions.values()
        yield from self.frozen_positions.values()
        yield from self.closed_positions.values()

    def get_position(self, position_id: int) -> TradingPosition:
        for bucket in (self.open_positions, self.frozen_positions, self.closed_positions):
            if position_id in bucket:
                return bucket[position_id]
        raise StateError(f"There is no position #{position_id}.")

    def open_position_for_pair(self, pair: TradingPairIdentifier) -> TradingPosition | None:
        for p in self.open_positions.values():
            if p.pair.key == pair.key:
                return p
        return None

    def move_position(self, position: TradingPosition, to: PositionStatus) -> None:
        """Change status and bucket together, so the two can never disagree."""
        source = self._bucket(position.status)
        if source.get(position.position_id) is not position:
            raise StateError(f"{position} is not in the {position.status} positions.")
        del source[position.position_id]
        position.status = to
        self._bucket(to)[position.position_id] = position

    def get_trade(self, trade_id: int) -> TradeExecution:
        for p in self.all_positions():
            if trade_id in p.trades:
                return p.trades[trade_id]
        raise StateError(f"There is no trade #{trade_id}.")

    def all_trades(self) -> Iterator[TradeExecution]:
        for p in self.all_positions():
            yield from p.trades.values()

    def pending_trades(self) -> list[TradeExecution]:
        """Pending trades live on open or frozen positions only: a position closes only once
        none of its trades is pending, and a closed position takes no new trades."""
        return [
            t
            for bucket in (self.open_positions, self.frozen_positions)
            for p in bucket.values()
            for t in p.trades.values()
            if t.is_pending
        ]

    def closed_realised_profit(self) -> Decimal:
        """Realised profit of all closed positions, computed incrementally.

        A closed position never changes again and closed positions are only ever added (in
        insertion order), so the sum is extended with the newly closed ones instead of being
        recomputed every cycle: recording statistics stays O(open positions).
        """
        count, total = self.__dict__.get("_closed_realised", (0, Decimal(0)))
        closed = self.closed_positions
        if len(closed) < count:  # replaced wholesale: start over
            count, total = 0, Decimal(0)
        if len(closed) > count:
            for position in islice(closed.values(), count, None):
                total += position.realised_profit()
            count = len(closed)
            self.__dict__["_closed_realised"] = (count, total)
        return total

    # ---- reserves -------------------------------------------------------------------------

    def reserve_holding(self) -> ReserveHolding:
        if self.reserve_key is None or self.reserve_key not in self.reserves:
            raise StateError("The portfolio has no reserve currency yet: sync or deposit reserves first.")
        return self.reserves[self.reserve_key]

    def gas_holding(self) -> ReserveHolding | None:
        return next((h for h in self.reserves.values() if h.role == ReserveRole.gas), None)

    def pending_buys_raw(self) -> int:
        """Reserve committed to buys that have not settled yet."""
        pending = self.pending_trades()
        if not pending:  # the usual case, answered without touching the reserve
            return 0
        reserve = self.reserve_holding().asset
        return sum(reserve.to_raw(t.planned_reserve) for t in pending if t.is_buy)

    def free_cash_raw(self) -> int:
        return self.reserve_holding().quantity_raw - self.pending_buys_raw()

    def free_cash(self) -> Decimal:
        return self.reserve_holding().asset.to_decimal(self.free_cash_raw())

    def cash(self) -> Decimal:
        holding = self.reserve_holding()
        return holding.asset.to_decimal(holding.quantity_raw)

    def positions_value(self) -> Decimal:
        return sum(
            (p.value() for p in (*self.open_positions.values(), *self.frozen_positions.values())), Decimal(0)
        )

    def total_equity(self) -> Decimal:
        return self.cash() + self.positions_value()

    def held_balances_raw(self) -> dict[str, int]:
        """What the state believes the wallet holds, per asset key (reserves + live positions)."""
        held: dict[str, int] = {key: h.quantity_raw for key, h in self.reserves.items()}
        for p in (*self.open_positions.values(), *self.frozen_positions.values()):
            held[p.pair.base.key] = held.get(p.pair.base.key, 0) + p.quantity_raw
        return held
