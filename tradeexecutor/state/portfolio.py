"""The portfolio: positions by status, reserve holdings, and the id counters."""

from __future__ import annotations

import datetime
import heapq
from collections.abc import Iterator, MutableMapping
from decimal import Decimal
from itertools import chain

import msgspec

from tradeexecutor.state.archive import ClosedPositions
from tradeexecutor.state.errors import StateError
from tradeexecutor.state.identifiers import TradingPairIdentifier
from tradeexecutor.state.position import PositionStatus, TradingPosition
from tradeexecutor.state.reserve import ReserveHolding, ReserveRole
from tradeexecutor.state.trade import TradeExecution


class Portfolio(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Positions sit in the bucket of their status. `closed_positions` is decoded as a dict
    and wrapped into a ClosedPositions (which archives old ones, see archive.py)."""

    next_position_id: int = 1
    next_trade_id: int = 1
    reserve_key: str | None = None  # AssetIdentifier.key of the trading reserve currency
    reserves: dict[str, ReserveHolding] = msgspec.field(default_factory=dict)
    open_positions: dict[int, TradingPosition] = msgspec.field(default_factory=dict)
    frozen_positions: dict[int, TradingPosition] = msgspec.field(default_factory=dict)
    closed_positions: MutableMapping[int, TradingPosition] = msgspec.field(default_factory=ClosedPositions)

    def __post_init__(self) -> None:
        if type(self.closed_positions) is dict:
            self.closed_positions = ClosedPositions(self.closed_positions)

    @property
    def closed(self) -> ClosedPositions:
        """`closed_positions` with its archive-aware methods."""
        closed = self.closed_positions
        assert isinstance(closed, ClosedPositions)
        return closed

    # ---- positions ------------------------------------------------------------------------

    def _bucket(self, status: PositionStatus) -> MutableMapping[int, TradingPosition]:
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
        for p in self._unarchived_positions():
            if trade_id in p.trades:
                return p.trades[trade_id]
        segment = self.closed.segment_of_trade(trade_id)
        if segment is not None:
            for p in segment.positions().values():
                if trade_id in p.trades:
                    return p.trades[trade_id]
        raise StateError(f"There is no trade #{trade_id}.")

    def _unarchived_positions(self) -> Iterator[TradingPosition]:
        """Open, frozen and recently closed positions: those not in archived segments."""
        return chain(
            self.open_positions.values(), self.frozen_positions.values(), self.closed.recent.values()
        )

    def all_trades(self) -> Iterator[TradeExecution]:
        for p in self.all_positions():
            yield from p.trades.values()

    def newest_trades(self, limit: int) -> list[TradeExecution]:
        """The `limit` trades with the highest ids, highest first, decoding as little of the
        archive as it can: a segment is only read while it may hold one of them."""
        if limit <= 0:
            return []
        trades = [t for p in self._unarchived_positions() for t in p.trades.values()]
        newest = heapq.nlargest(limit, trades, key=_trade_id)
        by_newest = sorted(
            ((max(s.summary.trade_ids, default=0), s) for s in self.closed.segments),
            key=lambda pair: pair[0],
            reverse=True,
        )
        for highest, segment in by_newest:
            if len(newest) >= limit and highest < newest[-1].trade_id:
                break
            archived = [t for p in segment.positions().values() for t in p.trades.values()]
            newest = heapq.nlargest(limit, chain(newest, archived), key=_trade_id)
        return newest

    def has_trade_planned_at(self, at: datetime.datetime) -> bool:
        """Whether any trade was planned for this (cycle) time."""
        for bucket in (self.open_positions, self.frozen_positions):
            if any(t.planned_at == at for p in bucket.values() for t in p.trades.values()):
                return True
        return self.closed.has_trade_planned_at(at)

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
        """Realised profit of all closed positions, kept up to date incrementally (archived
        segments carry their sums), so recording statistics stays O(open positions)."""
        return self.closed.realised_profit()

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


def _trade_id(trade: TradeExecution) -> int:
    return trade.trade_id
