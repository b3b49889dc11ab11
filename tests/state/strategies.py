"""Hypothesis strategies: realistic states built only through the real State operations.

A drawn list of actions (deposits, withdrawals, buys and sells that stop at any lifecycle
step, transactions broadcast/mined/reverted, gas, drift, freezes, repairs, statistics,
messages, audit findings) is applied to a funded state. Actions the model refuses are
skipped; a refused operation changes nothing, so every drawn state is one a real executor
could have written.
"""

from __future__ import annotations

import contextlib
import datetime
from decimal import Decimal

from hypothesis import strategies as st

from tradeexecutor.state.errors import StateError
from tradeexecutor.state.identifiers import AssetIdentifier, TradingPairIdentifier, native_token
from tradeexecutor.state.position import TradingPosition
from tradeexecutor.state.reserve import ReserveRole
from tradeexecutor.state.state import AuditFinding, State
from tradeexecutor.state.trade import TradeExecution, TradeStatus
from tradeexecutor.state.transaction import BlockchainTransaction

T0 = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
USDC = AssetIdentifier(chain_id=31337, address="0x" + "11" * 20, symbol="USDC", decimals=6, name="USD Coin")
WETH = AssetIdentifier(chain_id=31337, address="0x" + "22" * 20, symbol="WETH", decimals=18)
DEV = AssetIdentifier(
    chain_id=31337, address="0x" + "44" * 20, symbol="DEV", decimals=18, name="Dev “token” ✓"
)
ETH = native_token(31337)
PAIRS = (
    TradingPairIdentifier(base=WETH, quote=USDC, pool_address="0x" + "33" * 20, exchange_slug="uniswap-v2"),
    TradingPairIdentifier(
        base=DEV, quote=USDC, pool_address="0x" + "55" * 20, exchange_slug="sushi", fee_bps=25
    ),
)

prices = st.decimals(min_value=Decimal("0.000001"), max_value=Decimal(10**7), allow_nan=False, places=12)
fractions = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(1), places=4)
texts = st.text(max_size=30)
ACTIONS = (
    "deposit",
    "withdraw",
    "buy",
    "buy",
    "buy",
    "advance",
    "advance",
    "advance",
    "advance",
    "sell",
    "sell",
    "sell",
    "drift",
    "freeze",
    "unfreeze",
    "repair",
    "revalue",
    "stats",
    "message",
    "plot",
    "audit",
    "audited",
    "cycle",
)


class _Builder:
    def __init__(self, draw: st.DrawFn) -> None:
        self.draw = draw
        self.now = T0
        self.nonce = 0
        self.state = State(strategy_id=draw(texts), created_at=T0, last_updated_at=T0)
        self.state.record_deposit(USDC, draw(st.integers(10**6, 10**20)), T0, reason="initial")
        self.state.record_deposit(ETH, draw(st.integers(10**18, 2**200)), T0, role=ReserveRole.gas)

    def tick(self) -> datetime.datetime:
        self.now += datetime.timedelta(
            seconds=self.draw(st.integers(1, 10**6)), microseconds=self.draw(st.integers(0, 999_999))
        )
        return self.now

    def pick(self, items: list):  # noqa: ANN201
        return self.draw(st.sampled_from(items)) if items else None

    def pending(self) -> list[TradeExecution]:
        return sorted(self.state.portfolio.pending_trades(), key=lambda t: t.trade_id)

    def transaction(self) -> BlockchainTransaction:
        self.nonce += 1
        return BlockchainTransaction(
            tx_hash=f"0x{self.nonce:064x}",
            chain_id=31337,
            from_address="0x" + "ab" * 20,
            to_address="0x" + "cd" * 20,
            nonce=self.nonce,
            gas_limit=self.draw(st.integers(21_000, 30_000_000)),
            signed_at=self.now,
            signed_bytes="0x" + self.draw(st.binary(min_size=1, max_size=40)).hex(),
            function=self.draw(st.sampled_from(["swapExactTokensForTokens", "approve", ""])),
            details=self.draw(
                st.dictionaries(st.sampled_from(["amountIn", "path", "to"]), texts, max_size=3)
            ),
            max_fee_per_gas=self.draw(st.none() | st.integers(1, 2**80)),
            max_priority_fee_per_gas=self.draw(st.none() | st.integers(0, 10**10)),
        )

    # ---- actions ----------------------------------------------------------------------------

    def apply(self, action: str) -> None:
        state, at = self.state, self.tick()
        if action == "deposit":
            asset = self.pick([USDC, ETH, WETH])
            role = ReserveRole.gas if asset is ETH else ReserveRole.reserve
            # The reserve stays within Decimal's 28 digits (cash is computed in Decimal);
            # other tokens take integers far beyond 64 bits.
            top = 10**20 if asset is USDC else 2**100
            state.record_deposit(
                asset, self.draw(st.integers(1, top)), at, role=role, reason=self.draw(texts)
            )
        elif action == "withdraw":
            free = state.portfolio.free_cash_raw()  # never the reserve committed to pending buys
            if free > 0:
                state.record_withdrawal(USDC, self.draw(st.integers(1, free)), at, reason="owner")
        elif action == "buy":
            reserve = state.portfolio.free_cash() * self.draw(fractions)
            trade = state.plan_trade(
                at,
                self.pick(list(PAIRS)),
                price=self.draw(prices),
                reserve=reserve.quantize(Decimal("0.000001")),
                notes=self.draw(texts),
                stop_loss_pct=self.draw(st.none() | st.just(Decimal("0.95"))),
                take_profit_pct=self.draw(st.none() | st.just(Decimal("1.2"))),
                slippage_tolerance_bps=self.draw(st.none() | st.integers(1, 500)),
            )
            for _ in range(self.draw(st.integers(0, 4))):
                self.advance(trade)
        elif action == "advance":
            trade = self.pick(self.pending())
            if trade is not None:
                self.advance(trade)
        elif action == "sell":
            position = self.pick([p for p in state.portfolio.open_positions.values() if p.quantity_raw > 0])
            if position is not None:
                quantity = position.quantity * self.draw(fractions)
                trade = state.plan_trade(
                    at, position.pair, price=self.draw(prices), quantity=-quantity, position=position
                )
                for _ in range(self.draw(st.integers(0, 4))):
                    self.advance(trade)
        elif action == "drift":
            position = self.pick([p for p in state.portfolio.open_positions.values() if p.quantity_raw > 0])
            if position is not None and self.draw(st.booleans()):
                state.record_drift(
                    position.pair.base,
                    self.draw(st.integers(-position.quantity_raw, 10**6)) or 1,
                    at,
                    "dust",
                    position,
                )
            else:
                state.record_drift(USDC, self.draw(st.integers(-10, 10)) or 1, at, "rounding in a transfer")
        elif action == "freeze":
            position = self.pick(list(state.portfolio.open_positions.values()))
            if position is not None:
                state.freeze_position(position, at, self.draw(texts) or "stuck transaction")
        elif action == "unfreeze":
            position = self.pick(list(state.portfolio.frozen_positions.values()))
            if position is not None:
                for trade in position.pending_trades():
                    if trade.status == TradeStatus.planned:
                        trade.mark_failed(at, "resolved by hand")
                    else:
                        trade.mark_repaired(at, "checked on explorer")
                state.unfreeze_position(position, at, "checked by hand")
        elif action == "repair":
            trade = self.pick([t for t in state.portfolio.all_trades() if t.status == TradeStatus.failed])
            if trade is not None:
                trade.mark_repaired(at, self.draw(texts))
        elif action == "revalue":
            position = self.pick(list(state.portfolio.open_positions.values()))
            if position is not None:
                state.revalue_position(position, at, self.draw(prices))
        elif action == "stats":
            state.record_statistics(at)
        elif action == "message":
            state.visualisation.add_message(at, self.draw(texts))
        elif action == "plot":
            state.plots.record(
                at, self.draw(st.sampled_from(["ema", "rsi"])), self.draw(st.floats(-1e9, 1e9)), pane="Pane"
            )
        elif action == "audit":
            state.add_audit_finding(
                AuditFinding(
                    at=at,
                    audit_type="balance",
                    ok=self.draw(st.booleans()),
                    message=self.draw(texts),
                    asset_key=USDC.key,
                )
            )
        elif action == "cycle":
            state.mark_cycle_completed(at)
        elif action == "audited":
            cursor = state.audit_cursor
            state.advance_audit_cursor(
                at,
                wallet_address="0x" + "ab" * 20,
                block=(cursor.last_block or 0) + self.draw(st.integers(0, 10**6)),
                next_nonce=max(cursor.next_nonce or 0, self.nonce + 1),
            )

    def advance(self, trade: TradeExecution) -> None:
        """One lifecycle step of a pending trade, as the live execution would do it."""
        if not trade.is_pending:
            return
        state, at = self.state, self.tick()
        position: TradingPosition = state.position_of(trade)
        if trade.status == TradeStatus.planned:
            if self.draw(st.integers(0, 9)) == 0:
                state.settle_trade_failure(trade, at, "price moved before execution")
            else:
                state.start_trade(trade, at)
            return
        if trade.status == TradeStatus.started:
            tx = self.transaction()
            state.record_transaction(trade, tx)
            tx.mark_broadcast(self.tick())
            state.mark_broadcast(trade, self.now)
            return
        tx = trade.blockchain_transactions[-1]
        outcome = self.draw(st.sampled_from(["success", "success", "success", "revert", "drop"]))
        if outcome == "drop":
            tx.mark_dropped(at, "nonce reused")
            state.settle_trade_failure(trade, at, "transaction dropped")
            return
        tx.mark_mined(
            at,
            success=outcome == "success",
            block_number=self.draw(st.integers(1, 10**9)),
            gas_used=self.draw(st.integers(21_000, 300_000)),
            effective_gas_price=self.draw(st.integers(1, 10**11)),
            block_hash=f"0x{self.nonce:064x}",
        )
        state.book_gas_fee(tx, at, trade=trade, native_price_in_reserve=self.draw(st.none() | prices))
        if outcome == "revert":
            state.settle_trade_failure(trade, at, "reverted: INSUFFICIENT_OUTPUT_AMOUNT")
            return
        reserve = trade.reserve_currency
        if trade.is_buy:
            cash = state.portfolio.reserves[reserve.key].quantity_raw
            spent = self.draw(st.integers(0, min(cash, reserve.to_raw(trade.planned_reserve))))
            got = self.draw(st.integers(1, 2**90))
            state.settle_trade_success(
                trade,
                at,
                executed_quantity_raw=got,
                executed_reserve_raw=spent,
                executed_price=trade.planned_price,
                lp_fees_reserve=self.draw(prices),
            )
        else:
            sold = min(position.quantity_raw, trade.pair.base.to_raw(-trade.planned_quantity))
            if sold <= 0:
                state.settle_trade_failure(trade, at, "nothing left to sell")
                return
            state.settle_trade_success(
                trade,
                at,
                executed_quantity_raw=-sold,
                executed_reserve_raw=self.draw(st.integers(0, 2**70)),
                executed_price=self.draw(prices),
            )


@st.composite
def states(draw: st.DrawFn, max_actions: int = 40) -> State:
    builder = _Builder(draw)
    for action in draw(st.lists(st.sampled_from(ACTIONS), min_size=3, max_size=max_actions)):
        with contextlib.suppress(StateError, ValueError):  # refused by the model: nothing changed
            builder.apply(action)
    return builder.state
