"""Structural and accounting invariants of a State, checked on every load and every save.

A state that breaks one of these was damaged (by hand, by a bug, by a bad migration); the
store refuses to write it, or to run on it, rather than let the damage spread into the next
cycle. The first problem found is raised as an IntegrityError naming the position, trade or
asset concerned.

The check runs on every save of states with 100,000 positions, so it is one pass over the
positions with local variables and no per-object helper calls; see
benchmarks/state_store.py for its cost.

Append-only rows (ledger entries, statistics, visualisation points) are frozen and get their
timezone checked once, when created (Ledger.append, Statistics.record, ...), and by the
decoder on load; this check does not walk their timestamps again.
"""

from __future__ import annotations

import datetime
from collections import Counter
from itertools import chain, compress, islice
from operator import attrgetter, lt

from tradeexecutor.state.errors import IntegrityError
from tradeexecutor.state.portfolio import Portfolio
from tradeexecutor.state.position import PositionStatus
from tradeexecutor.state.state import State
from tradeexecutor.state.trade import PENDING_STATUSES, TradeExecution, TradeStatus

_position_times = attrgetter("opened_at", "closed_at", "frozen_at", "last_pricing_at")
_trade_times = attrgetter(
    "planned_at", "started_at", "broadcast_at", "executed_at", "failed_at", "repaired_at"
)
_tx_times = attrgetter("signed_at", "broadcast_at", "confirmed_at")
_transactions = attrgetter("blockchain_transactions")
_tzinfo = attrgetter("tzinfo")
_entry_id = attrgetter("entry_id")
_entry_asset = attrgetter("asset_key")
_entry_amount = attrgetter("amount_raw")
_entry_trade = attrgetter("trade_id")
_entry_position = attrgetter("position_id")

_SUCCESS = TradeStatus.success
_CLOSED = PositionStatus.closed


def _naive(values: tuple[datetime.datetime | None, ...]) -> bool:
    return any(value is not None and value.tzinfo is None for value in values)


def _fail(message: str) -> IntegrityError:
    return IntegrityError(message)


def check_integrity(state: State) -> None:
    """Raise IntegrityError for the first broken invariant; return None if the state is sound."""
    portfolio = state.portfolio
    for what, value in (
        ("the state's created_at", state.created_at),
        ("the state's last_updated_at", state.last_updated_at),
        ("the last completed cycle time", state.cycle.last_completed_at),
    ):
        if value is not None and value.tzinfo is None:
            raise _fail(f"{what} {value.isoformat()} has no timezone")

    held: dict[str, int] = {}
    for key, holding in portfolio.reserves.items():
        if holding.asset.key != key:
            raise _fail(f"the reserve holding of {holding.asset.symbol} is stored under the key {key}")
        if holding.quantity_raw < 0:
            raise _fail(
                f"the reserve holding of {holding.asset.symbol} is negative ({holding.quantity_raw} raw)"
            )
        if holding.last_sync_at is not None and holding.last_sync_at.tzinfo is None:
            raise _fail(f"the reserve holding of {holding.asset.symbol} has a sync time without a timezone")
        held[key] = holding.quantity_raw
    if portfolio.reserve_key is not None and portfolio.reserve_key not in portfolio.reserves:
        raise _fail(f"the reserve currency {portfolio.reserve_key} has no reserve holding")

    trade_ids: list[int] = []
    trades: list[TradeExecution] = []
    position_count = 0
    max_position_id = 0
    for status, bucket in (
        (PositionStatus.open, portfolio.open_positions),
        (PositionStatus.frozen, portfolio.frozen_positions),
        (_CLOSED, portfolio.closed_positions),
    ):
        position_count += len(bucket)
        closed = status is _CLOSED
        for key, position in bucket.items():
            pid = position.position_id
            if pid != key:
                raise _fail(f"position #{pid} is stored under id {key} in the {status} positions")
            if position.status != status:
                raise _fail(
                    f"position #{pid} has status {position.status} but is among the {status} positions"
                )
            if pid > max_position_id:
                max_position_id = pid
            pair = position.pair
            quantity = position.quantity_adjustment_raw
            pending = False
            for trade_key, trade in position.trades.items():
                tid = trade.trade_id
                if tid != trade_key:
                    raise _fail(f"position #{pid} holds trade #{tid} under id {trade_key}")
                if trade.position_id != pid:
                    raise _fail(
                        f"trade #{tid} names position #{trade.position_id} but is held by position #{pid}"
                    )
                if trade.pair is not pair and trade.pair != pair:
                    raise _fail(
                        f"trade #{tid} is on {trade.pair.ticker} but its position #{pid} is on {pair.ticker}"
                    )
                trade_status = trade.status
                if trade_status is _SUCCESS:
                    if trade.executed_quantity_raw is None:
                        raise _fail(f"trade #{tid} succeeded but has no executed quantity")
                    quantity += trade.executed_quantity_raw
                elif trade_status in PENDING_STATUSES:
                    pending = True
                if _naive(_trade_times(trade)):
                    raise _fail(f"trade #{tid} has a timestamp without a timezone")
                for tx in trade.blockchain_transactions:
                    if _naive(_tx_times(tx)):
                        raise _fail(
                            f"transaction {tx.tx_hash} of trade #{tid} has a timestamp without a timezone"
                        )
            trade_ids.extend(position.trades)
            trades.extend(position.trades.values())
            if closed:
                if quantity:
                    raise _fail(f"closed position #{pid} ({pair.ticker}) still holds {quantity} raw units")
                if pending:
                    raise _fail(f"closed position #{pid} ({pair.ticker}) has a pending trade")
            else:
                if quantity < 0:
                    raise _fail(f"position #{pid} ({pair.ticker}) holds a negative quantity ({quantity} raw)")
                base_key = pair.base.key
                held[base_key] = held.get(base_key, 0) + quantity

    all_position_ids = (
        portfolio.open_positions.keys()
        | portfolio.frozen_positions.keys()
        | portfolio.closed_positions.keys()
    )
    if len(all_position_ids) != position_count:
        _raise_duplicate_position(state)
    if max_position_id >= portfolio.next_position_id:
        raise _fail(
            f"position #{max_position_id} exists but the next position id is {portfolio.next_position_id}"
        )
    trade_id_set = set(trade_ids)
    if len(trade_id_set) != len(trade_ids):
        duplicate = next(tid for tid, n in Counter(trade_ids).items() if n > 1)
        raise _fail(f"trade #{duplicate} appears in more than one place")
    if trade_ids and max(trade_ids) >= portfolio.next_trade_id:
        raise _fail(f"trade #{max(trade_ids)} exists but the next trade id is {portfolio.next_trade_id}")

    _check_timestamps(portfolio, trades)
    _check_ledger(state, held, trade_id_set, all_position_ids)

    for finding in state.audit_findings:
        if finding.at.tzinfo is None:
            raise _fail(f"the audit finding '{finding.message}' has a timestamp without a timezone")


def _check_timestamps(portfolio: Portfolio, trades: list[TradeExecution]) -> None:
    """Every timestamp of positions, trades and transactions carries a timezone.

    Done in bulk (C-level map/chain/set) because per-object checks were half of the whole
    check's time; the slow search for the culprit only runs when something is wrong.
    """
    positions = chain(
        portfolio.open_positions.values(),
        portfolio.frozen_positions.values(),
        portfolio.closed_positions.values(),
    )
    transactions = list(chain.from_iterable(map(_transactions, trades)))
    for objects, times in ((positions, _position_times), (trades, _trade_times), (transactions, _tx_times)):
        zones = set(map(_tzinfo, filter(None, chain.from_iterable(map(times, objects)))))
        if None in zones:
            _raise_naive(portfolio)


def _raise_naive(portfolio: Portfolio) -> None:
    for position in portfolio.all_positions():
        if _naive(_position_times(position)):
            raise _fail(f"position #{position.position_id} has a timestamp without a timezone")
        for trade in position.trades.values():
            if _naive(_trade_times(trade)):
                raise _fail(f"trade #{trade.trade_id} has a timestamp without a timezone")
            for tx in trade.blockchain_transactions:
                if _naive(_tx_times(tx)):
                    raise _fail(
                        f"transaction {tx.tx_hash} of trade #{trade.trade_id} has a timestamp without a timezone"
                    )


def _raise_duplicate_position(state: State) -> None:
    seen: dict[int, PositionStatus] = {}
    for position in state.portfolio.all_positions():
        if position.position_id in seen:
            raise _fail(
                f"position #{position.position_id} is both {seen[position.position_id]} and {position.status}"
            )
        seen[position.position_id] = position.status
    raise _fail("a position id appears in more than one bucket")


def _check_ledger(state: State, held: dict[str, int], trade_ids: set[int], position_ids: set[int]) -> None:
    ledger = state.ledger
    for key, asset in ledger.assets.items():
        if asset.key != key:
            raise _fail(f"the ledger lists {asset.symbol} under the key {key}")
    entries = ledger.entries
    ids = list(map(_entry_id, entries))
    if not all(map(lt, ids, islice(ids, 1, None))):
        bad = next(i for i in range(1, len(ids)) if ids[i] <= ids[i - 1])
        raise _fail(f"ledger entry #{ids[bad]} comes after entry #{ids[bad - 1]}: ids must increase")
    if ids and ids[-1] >= ledger.next_entry_id:
        raise _fail(f"ledger entry #{ids[-1]} exists but the next entry id is {ledger.next_entry_id}")
    # Sum per asset in C: one pass per asset (a handful) beats one Python-level pass per row.
    keys = list(map(_entry_asset, entries))
    amounts = list(map(_entry_amount, entries))
    unknown = set(keys) - ledger.assets.keys()
    if unknown:
        raise _fail(f"a ledger entry moves {min(unknown)}, an asset the ledger does not list")
    totals = {key: sum(compress(amounts, map(key.__eq__, keys))) for key in ledger.assets}

    missing_trades = set(map(_entry_trade, ledger.entries)) - trade_ids
    missing_trades.discard(None)
    if missing_trades:
        raise _fail(f"the ledger refers to trade #{min(missing_trades)}, which no position holds")
    missing_positions = set(map(_entry_position, ledger.entries)) - position_ids
    missing_positions.discard(None)
    if missing_positions:
        raise _fail(f"the ledger refers to position #{min(missing_positions)}, which does not exist")

    for key in held.keys() | totals.keys():
        in_ledger, in_holdings = totals.get(key, 0), held.get(key, 0)
        if in_ledger != in_holdings:
            asset = ledger.assets.get(key)
            if asset is None:
                asset = next(
                    (p.pair.base for p in state.portfolio.all_positions() if p.pair.base.key == key), None
                )
            name = f"{asset.symbol} ({key})" if asset is not None else key
            raise _fail(
                f"the ledger sums {name} to {in_ledger} raw units but the portfolio holds {in_holdings}"
            )
