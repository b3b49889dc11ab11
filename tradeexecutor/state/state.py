"""The whole state of one executor, and the only operations that change balances.

Backtest and live execution settle trades through the same methods here, so a strategy
that backtests is booked exactly the same way when it trades live. Every balance change
writes its ledger entry in the same call; there is no way to move one without the other.
Each operation checks everything it can before changing anything, so a refused
operation leaves the state untouched.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import msgspec

from tradeexecutor.state.errors import (
    ArchivedPositionError,
    IllegalTransition,
    InsufficientBalance,
    StateError,
)
from tradeexecutor.state.identifiers import AssetIdentifier, TradingPairIdentifier
from tradeexecutor.state.ledger import Ledger, LedgerKind
from tradeexecutor.state.plots import Plots
from tradeexecutor.state.portfolio import Portfolio
from tradeexecutor.state.position import PositionStatus, TradingPosition
from tradeexecutor.state.reserve import ReserveHolding, ReserveRole
from tradeexecutor.state.statistics import PortfolioSnapshot, Statistics
from tradeexecutor.state.time import UTCDateTime, require_utc, utcnow
from tradeexecutor.state.trade import TradeExecution, TradeStatus, TradeType
from tradeexecutor.state.transaction import BlockchainTransaction
from tradeexecutor.state.visualisation import Visualisation

MAX_AUDIT_FINDINGS = 500


class CycleInfo(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Which strategy cycles ran, so a restart never trades the same cycle twice."""

    last_completed_at: UTCDateTime | None = None  # the cycle's scheduled timestamp
    completed_count: int = 0


class AuditFinding(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    at: UTCDateTime
    audit_type: str  # balance | ledger | order
    ok: bool
    message: str
    asset_key: str | None = None
    tx_hash: str | None = None


class AuditCursor(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Where the last passing audit stopped, so the next one looks only at what came after.

    The order audit scans the chain from `last_block + 1` and checks the hot wallet's
    nonces from `next_nonce` on; both move only when an audit passes, so a failed audit
    is found again by the next one. Empty until the first audit of this state passes.
    """

    wallet_address: str | None = None  # the audited hot wallet (checksummed)
    last_block: int | None = None  # audited up to and including this block
    next_nonce: int | None = None  # the wallet's transaction count at last_block
    last_audited_at: UTCDateTime | None = None
    passed_count: int = 0


class State(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Everything one executor knows. The file format version lives in the file's envelope
    (`tradeexecutor.state.serialisation`), not here: it describes the file, not the state."""

    strategy_id: str = ""
    created_at: UTCDateTime = msgspec.field(default_factory=utcnow)
    last_updated_at: UTCDateTime = msgspec.field(default_factory=utcnow)
    portfolio: Portfolio = msgspec.field(default_factory=Portfolio)
    ledger: Ledger = msgspec.field(default_factory=Ledger)
    stats: Statistics = msgspec.field(default_factory=Statistics)
    visualisation: Visualisation = msgspec.field(default_factory=Visualisation)
    plots: Plots = msgspec.field(default_factory=Plots)  # what the strategy drew for the charts
    cycle: CycleInfo = msgspec.field(default_factory=CycleInfo)
    audit_findings: list[AuditFinding] = msgspec.field(default_factory=list)
    audit_cursor: AuditCursor = msgspec.field(default_factory=AuditCursor)

    # ---- reserves: deposits, withdrawals, drift -----------------------------------------

    def _holding(self, asset: AssetIdentifier, role: ReserveRole) -> ReserveHolding:
        holding = self.portfolio.reserves.get(asset.key)
        if holding is None:
            holding = ReserveHolding(asset=asset, role=role)
            self.portfolio.reserves[asset.key] = holding
            if role == ReserveRole.reserve and self.portfolio.reserve_key is None:
                self.portfolio.reserve_key = asset.key
        return holding

    def record_deposit(
        self,
        asset: AssetIdentifier,
        amount_raw: int,
        at: datetime.datetime,
        *,
        role: ReserveRole = ReserveRole.reserve,
        tx_hash: str | None = None,
        reason: str = "",
    ) -> None:
        """Tokens arrived from outside the executor (also the first sync of a wallet)."""
        if amount_raw <= 0:
            raise ValueError("A deposit must be a positive amount.")
        at = require_utc(at)
        self._holding(asset, role).quantity_raw += amount_raw
        self.ledger.append(LedgerKind.deposit, asset, amount_raw, at, tx_hash=tx_hash, reason=reason)

    def record_withdrawal(
        self,
        asset: AssetIdentifier,
        amount_raw: int,
        at: datetime.datetime,
        *,
        tx_hash: str | None = None,
        reason: str = "",
    ) -> None:
        if amount_raw <= 0:
            raise ValueError("A withdrawal must be a positive amount.")
        holding = self.portfolio.reserves.get(asset.key)
        if holding is None or holding.quantity_raw < amount_raw:
            raise InsufficientBalance(
                f"Cannot withdraw {asset.to_decimal(amount_raw)} {asset.symbol}: not held."
            )
        at = require_utc(at)
        holding.quantity_raw -= amount_raw
        self.ledger.append(LedgerKind.withdrawal, asset, -amount_raw, at, tx_hash=tx_hash, reason=reason)

    def record_drift(
        self,
        asset: AssetIdentifier,
        amount_raw: int,
        at: datetime.datetime,
        reason: str,
        position: TradingPosition | None = None,
    ) -> None:
        """Book a small audited difference against a reserve holding or a position's token."""
        if not reason:
            raise ValueError("Drift must say why it was booked.")
        at = require_utc(at)
        if position is not None:
            if self.portfolio.closed.is_archived(position.position_id):
                raise ArchivedPositionError(
                    f"Drift in {asset.symbol} cannot be booked on {position}: it is archived; book it on the reserve."
                )
            if position.pair.base.key != asset.key:
                raise StateError(f"Drift in {asset.symbol} cannot be booked on {position}.")
            if position.quantity_raw + amount_raw < 0:
                raise InsufficientBalance(f"Drift would make {position} negative.")
            position.quantity_adjustment_raw += amount_raw
        else:
            holding = self.portfolio.reserves.get(asset.key)
            if holding is None:
                raise StateError(f"Drift in {asset.symbol}: the state holds no such reserve.")
            if holding.quantity_raw + amount_raw < 0:
                raise InsufficientBalance(f"Drift would make the {asset.symbol} reserve negative.")
            holding.quantity_raw += amount_raw
        self.ledger.append(
            LedgerKind.drift,
            asset,
            amount_raw,
            at,
            position_id=position.position_id if position else None,
            reason=reason,
        )

    def track_reserve(self, asset: AssetIdentifier, role: ReserveRole = ReserveRole.reserve) -> None:
        """Hold an asset at zero before any of it arrived: a fresh wallet's reserve currency
        exists (free cash 0) instead of being missing. Moves no balance, so no ledger entry."""
        self._holding(asset, role)

    def mark_reserve_synced(self, asset: AssetIdentifier, at: datetime.datetime, block: int | None) -> None:
        holding = self.portfolio.reserves.get(asset.key)
        if holding is not None:
            holding.last_sync_at = require_utc(at)
            holding.last_sync_block = block

    # ---- trades ---------------------------------------------------------------------------

    def plan_trade(
        self,
        at: datetime.datetime,
        pair: TradingPairIdentifier,
        *,
        price: Decimal,
        quantity: Decimal | None = None,
        reserve: Decimal | None = None,
        position: TradingPosition | None = None,
        trade_type: TradeType = TradeType.rebalance,
        notes: str = "",
        slippage_tolerance_bps: int | None = None,
        stop_loss_pct: Decimal | None = None,
        take_profit_pct: Decimal | None = None,
    ) -> TradeExecution:
        """Plan a buy (give `reserve` to spend, or a positive `quantity`) or a sell (negative `quantity`).

        A buy without a position opens a new one. Reserve for buys is committed at once, so
        several buys in one cycle can never spend the same cash twice.
        """
        at = require_utc(at)
        if price <= 0:
            raise ValueError(f"Cannot plan a trade on {pair.ticker} at a non-positive price {price}.")
        if (quantity is None) == (reserve is None):
            raise ValueError("Give exactly one of quantity or reserve when planning a trade.")
        holding = self.portfolio.reserve_holding()
        reserve_asset = holding.asset
        if reserve is not None:
            if reserve <= 0:
                raise ValueError(
                    f"A buy of {pair.ticker} must spend a positive reserve amount, got {reserve}."
                )
            quantity = reserve / price
        assert quantity is not None
        if quantity == 0:
            raise ValueError(f"A trade on {pair.ticker} must have a non-zero quantity.")
        planned_reserve = reserve if reserve is not None else abs(quantity) * price

        if position is not None:
            if position.status != PositionStatus.open:
                raise IllegalTransition(f"Cannot trade on {position}: it is {position.status}.")
            if position.pair.key != pair.key:
                raise StateError(f"{position} is on {position.pair.ticker}, not {pair.ticker}.")
        if quantity < 0:
            if position is None:
                raise StateError(f"Cannot sell {pair.ticker} without an open position (no shorting).")
            pending_sells = sum(-t.planned_quantity for t in position.pending_trades() if t.is_sell)
            if -quantity > position.quantity - pending_sells:
                raise InsufficientBalance(
                    f"Cannot sell {-quantity} {pair.base.symbol} from {position}: "
                    f"it holds {position.quantity}, {pending_sells} already being sold."
                )
        else:
            needed = reserve_asset.to_raw(planned_reserve)
            if needed > self.portfolio.free_cash_raw():
                raise InsufficientBalance(
                    f"Cannot spend {planned_reserve} {reserve_asset.symbol} on {pair.ticker}: "
                    f"only {self.portfolio.free_cash()} is free."
                )

        if position is None:
            position = TradingPosition(
                position_id=self.portfolio.next_position_id,
                pair=pair,
                opened_at=at,
                stop_loss_pct=stop_loss_pct,
                take_profit_pct=take_profit_pct,
                stop_loss=price * stop_loss_pct if stop_loss_pct is not None else None,
                take_profit=price * take_profit_pct if take_profit_pct is not None else None,
                last_token_price=price,
                last_pricing_at=at,
            )
            self.portfolio.next_position_id += 1
            self.portfolio.open_positions[position.position_id] = position

        trade = TradeExecution(
            trade_id=self.portfolio.next_trade_id,
            position_id=position.position_id,
            pair=pair,
            reserve_currency=reserve_asset,
            trade_type=trade_type,
            planned_at=at,
            planned_quantity=quantity,
            planned_reserve=planned_reserve,
            planned_price=price,
            slippage_tolerance_bps=slippage_tolerance_bps,
            notes=notes,
        )
        self.portfolio.next_trade_id += 1
        position.trades[trade.trade_id] = trade
        return trade

    def position_of(self, trade: TradeExecution) -> TradingPosition:
        return self.portfolio.get_position(trade.position_id)

    def start_trade(self, trade: TradeExecution, at: datetime.datetime) -> None:
        trade.mark_started(at)

    def record_transaction(self, trade: TradeExecution, tx: BlockchainTransaction) -> None:
        """Attach a signed transaction to its trade; the caller saves the state before broadcasting."""
        if any(t.tx_hash == tx.tx_hash for t in trade.blockchain_transactions):
            raise StateError(f"Transaction {tx.tx_hash} is already recorded on trade #{trade.trade_id}.")
        trade.blockchain_transactions.append(tx)

    def mark_broadcast(self, trade: TradeExecution, at: datetime.datetime) -> None:
        """Idempotent: a resumed executor may re-broadcast a transaction of an already broadcast trade."""
        if trade.status == TradeStatus.started:
            trade.mark_broadcast(at)

    def settle_trade_success(
        self,
        trade: TradeExecution,
        at: datetime.datetime,
        *,
        executed_quantity_raw: int,
        executed_reserve_raw: int,
        executed_price: Decimal,
        lp_fees_reserve: Decimal = Decimal(0),
    ) -> None:
        """Book a fill: move the reserve and the position together, with their ledger entries."""
        at = require_utc(at)
        position = self.position_of(trade)
        holding = self.portfolio.reserve_holding()
        trade.mark_success(
            at,
            executed_quantity_raw=executed_quantity_raw,
            executed_reserve_raw=executed_reserve_raw,
            executed_price=executed_price,
            lp_fees_reserve=lp_fees_reserve,
        )
        reserve_delta = -executed_reserve_raw if trade.is_buy else executed_reserve_raw
        holding.quantity_raw += reserve_delta
        if reserve_delta:
            self.ledger.append(
                LedgerKind.trade,
                holding.asset,
                reserve_delta,
                at,
                trade_id=trade.trade_id,
                position_id=position.position_id,
            )
        self.ledger.append(
            LedgerKind.trade,
            trade.pair.base,
            executed_quantity_raw,
            at,
            trade_id=trade.trade_id,
            position_id=position.position_id,
        )
        position.last_token_price = executed_price
        position.last_pricing_at = at
        if trade.is_buy and len(position.successful_trades()) == 1:
            # risk levels follow the real entry price, not the planned one
            if position.stop_loss_pct is not None:
                position.stop_loss = executed_price * position.stop_loss_pct
            if position.take_profit_pct is not None:
                position.take_profit = executed_price * position.take_profit_pct
        self._close_if_done(position, at)

    def settle_trade_failure(self, trade: TradeExecution, at: datetime.datetime, reason: str) -> None:
        """The trade did not happen: committed reserve is released, nothing else moves."""
        trade.mark_failed(at, reason)
        self._close_if_done(self.position_of(trade), require_utc(at))

    def _close_if_done(self, position: TradingPosition, at: datetime.datetime) -> None:
        if position.status != PositionStatus.open or position.pending_trades():
            return
        if position.quantity_raw == 0:
            position.closed_at = at
            self.portfolio.move_position(position, PositionStatus.closed)

    def book_gas_fee(
        self,
        tx: BlockchainTransaction,
        at: datetime.datetime,
        *,
        trade: TradeExecution | None = None,
        native_price_in_reserve: Decimal | None = None,
    ) -> None:
        """Book a mined transaction's gas once, against the gas token holding."""
        fee = tx.gas_fee_raw
        if tx.gas_fee_booked or fee == 0:
            return
        at = require_utc(at)
        gas = self.portfolio.gas_holding()
        if gas is None:
            raise StateError("Gas was spent but the state tracks no gas token: sync the wallet first.")
        gas.quantity_raw -= fee
        self.ledger.append(
            LedgerKind.gas_fee,
            gas.asset,
            -fee,
            at,
            trade_id=trade.trade_id if trade else None,
            position_id=trade.position_id if trade else None,
            tx_hash=tx.tx_hash,
        )
        tx.gas_fee_booked = True
        if trade is not None:
            trade.gas_fees_native_raw += fee
            if native_price_in_reserve is not None:
                trade.gas_fees_reserve += gas.asset.to_decimal(fee) * native_price_in_reserve

    # ---- positions ------------------------------------------------------------------------

    def revalue_position(self, position: TradingPosition, at: datetime.datetime, price: Decimal) -> None:
        if price <= 0:
            raise ValueError(f"Cannot value {position} at a non-positive price {price}.")
        position.last_token_price = price
        position.last_pricing_at = require_utc(at)

    def freeze_position(self, position: TradingPosition, at: datetime.datetime, reason: str) -> None:
        if position.status != PositionStatus.open:
            raise IllegalTransition(f"Only an open position can be frozen; {position} is {position.status}.")
        position.frozen_at = require_utc(at)
        position.frozen_reason = reason
        self.portfolio.move_position(position, PositionStatus.frozen)

    def unfreeze_position(self, position: TradingPosition, at: datetime.datetime, note: str) -> None:
        if position.status != PositionStatus.frozen:
            raise IllegalTransition(f"{position} is not frozen.")
        if position.pending_trades():
            raise IllegalTransition(f"{position} still has unresolved trades; resolve or repair them first.")
        position.notes = (position.notes + "\n" if position.notes else "") + f"Unfrozen: {note}"
        position.frozen_at = None
        position.frozen_reason = None
        self.portfolio.move_position(position, PositionStatus.open)
        self._close_if_done(position, require_utc(at))

    # ---- cycles, statistics, audits -----------------------------------------------------

    def mark_cycle_completed(self, cycle_at: datetime.datetime) -> None:
        self.cycle.last_completed_at = require_utc(cycle_at)
        self.cycle.completed_count += 1

    def record_statistics(self, at: datetime.datetime) -> PortfolioSnapshot:
        """Record this cycle's figures. One pass over the open and frozen positions: the
        backtester calls this every cycle."""
        p = self.portfolio
        holding = p.reserve_holding()
        realised, unrealised, positions_value = p.closed_realised_profit(), Decimal(0), Decimal(0)
        for bucket in (p.open_positions, p.frozen_positions):
            for pos in bucket.values():
                v, r, u = pos.valuation()
                positions_value += v
                realised += r
                unrealised += u
        cash = holding.asset.to_decimal(holding.quantity_raw)
        # pending trades only exist on open or frozen positions: without any, all cash is free
        live = p.open_positions or p.frozen_positions
        snapshot = PortfolioSnapshot(
            at=require_utc(at),
            total_equity=cash + positions_value,
            free_cash=holding.asset.to_decimal(holding.quantity_raw - p.pending_buys_raw()) if live else cash,
            open_positions=len(p.open_positions),
            realised_pnl=realised,
            unrealised_pnl=unrealised,
        )
        self.stats.record(snapshot)
        return snapshot

    def add_audit_finding(self, finding: AuditFinding) -> None:
        require_utc(finding.at, "audit finding time")
        self.audit_findings.append(finding)
        del self.audit_findings[:-MAX_AUDIT_FINDINGS]

    def advance_audit_cursor(
        self, at: datetime.datetime, *, wallet_address: str, block: int, next_nonce: int
    ) -> None:
        """A passing audit covered the chain up to `block` and the wallet's nonces below `next_nonce`."""
        cursor = self.audit_cursor
        if cursor.last_block is not None and block < cursor.last_block:
            raise StateError(f"The audit cursor cannot move back from block {cursor.last_block} to {block}.")
        if cursor.next_nonce is not None and next_nonce < cursor.next_nonce:
            raise StateError(
                f"The audit cursor cannot move back from nonce {cursor.next_nonce} to {next_nonce}."
            )
        cursor.wallet_address = wallet_address
        cursor.last_block = block
        cursor.next_nonce = next_nonce
        cursor.last_audited_at = require_utc(at, "audit time")
        cursor.passed_count += 1
