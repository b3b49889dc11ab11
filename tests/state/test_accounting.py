"""Trades, fees, deposits and drift move balances and the ledger together."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.state.factories import ETH, T0, USDC, WETH, WETH_USDC, funded_state, hours, ledger_matches_holdings
from tradeexecutor.state.errors import IllegalTransition, InsufficientBalance, StateError
from tradeexecutor.state.ledger import LedgerKind
from tradeexecutor.state.position import PositionStatus
from tradeexecutor.state.serialisation import encode_state
from tradeexecutor.state.state import State
from tradeexecutor.state.trade import TradeStatus
from tradeexecutor.state.transaction import BlockchainTransaction


def _buy(state: State, reserve: Decimal = Decimal(1000), price: Decimal = Decimal(2000), **kw):
    trade = state.plan_trade(T0, WETH_USDC, price=price, reserve=reserve, **kw)
    state.start_trade(trade, T0)
    return trade


def test_buy_then_sell_books_every_movement() -> None:
    state = funded_state()
    buy = _buy(state)
    assert state.portfolio.free_cash() == Decimal(9000)  # committed at planning
    assert state.portfolio.cash() == Decimal(10_000)  # not spent yet
    state.settle_trade_success(
        buy,
        T0 + hours(1),
        executed_quantity_raw=WETH.to_raw(Decimal("0.4985")),
        executed_reserve_raw=USDC.to_raw(Decimal(1000)),
        executed_price=Decimal("2006.018054162487462"),
    )
    position = state.position_of(buy)
    assert position.quantity == Decimal("0.4985")
    assert state.portfolio.cash() == Decimal(9000)
    assert ledger_matches_holdings(state)

    sell = state.plan_trade(
        T0 + hours(2), WETH_USDC, price=Decimal(2100), quantity=-position.quantity, position=position
    )
    state.start_trade(sell, T0 + hours(2))
    state.settle_trade_success(
        sell,
        T0 + hours(3),
        executed_quantity_raw=-WETH.to_raw(Decimal("0.4985")),
        executed_reserve_raw=USDC.to_raw(Decimal("1043.5")),
        executed_price=Decimal("2093.279839518555667"),
    )
    assert position.status == PositionStatus.closed
    assert position.closed_at == T0 + hours(3)
    assert state.portfolio.cash() == Decimal("10043.5")
    assert position.realised_profit() == Decimal("43.5")
    assert ledger_matches_holdings(state)
    kinds = [e.kind for e in state.ledger.entries]
    assert kinds == [LedgerKind.deposit, LedgerKind.deposit] + [LedgerKind.trade] * 4


def test_failed_buy_releases_reserve_and_closes_empty_position() -> None:
    state = funded_state()
    buy = _buy(state)
    state.settle_trade_failure(buy, T0 + hours(1), "slippage exceeded")
    assert buy.status == TradeStatus.failed and buy.failure_reason == "slippage exceeded"
    assert state.portfolio.free_cash() == Decimal(10_000)
    position = state.position_of(buy)
    assert position.status == PositionStatus.closed
    assert not position.has_executed_trades()
    assert ledger_matches_holdings(state)


def test_cannot_overspend_or_short_or_oversell() -> None:
    state = funded_state()
    with pytest.raises(InsufficientBalance, match="only 10000.000000 is free"):
        _buy(state, reserve=Decimal(10_001))
    _buy(state, reserve=Decimal(6000))
    with pytest.raises(InsufficientBalance, match="only 4000.000000 is free"):
        _buy(state, reserve=Decimal(5000))
    with pytest.raises(StateError, match="no shorting"):
        state.plan_trade(T0, WETH_USDC, price=Decimal(2000), quantity=Decimal(-1))
    position = next(iter(state.portfolio.open_positions.values()))
    with pytest.raises(InsufficientBalance, match="holds 0"):
        state.plan_trade(T0, WETH_USDC, price=Decimal(2000), quantity=Decimal(-1), position=position)


def test_refused_operation_changes_nothing() -> None:
    state = funded_state()
    before = encode_state(state)
    with pytest.raises(InsufficientBalance):
        _buy(state, reserve=Decimal(20_000))
    assert encode_state(state) == before


def test_gas_fee_booked_once_against_gas_holding() -> None:
    state = funded_state()
    buy = _buy(state)
    tx = BlockchainTransaction(
        tx_hash="0xabc",
        chain_id=31337,
        from_address="0x1",
        to_address="0x2",
        nonce=0,
        gas_limit=200_000,
        signed_at=T0,
        signed_bytes="0xf86b",
    )
    state.record_transaction(buy, tx)
    tx.mark_broadcast(T0)
    tx.mark_mined(T0, success=True, block_number=5, gas_used=100_000, effective_gas_price=10**9)
    assert tx.signed_bytes is None  # no longer needed once final
    state.book_gas_fee(tx, T0, trade=buy, native_price_in_reserve=Decimal(2000))
    state.book_gas_fee(tx, T0, trade=buy, native_price_in_reserve=Decimal(2000))
    assert state.portfolio.gas_holding().quantity_raw == ETH.to_raw(Decimal(1)) - 10**14
    assert buy.gas_fees_native_raw == 10**14
    assert buy.gas_fees_reserve == Decimal("0.2")
    assert ledger_matches_holdings(state)


def test_drift_on_reserve_and_position() -> None:
    state = funded_state()
    buy = _buy(state)
    state.settle_trade_success(
        buy, T0, executed_quantity_raw=10**18, executed_reserve_raw=10**9, executed_price=Decimal(1000)
    )
    position = state.position_of(buy)
    state.record_drift(USDC, -3, T0, "rounding in token transfer")
    state.record_drift(WETH, 7, T0, "dust found by audit", position=position)
    assert position.quantity_raw == 10**18 + 7
    assert ledger_matches_holdings(state)
    with pytest.raises(ValueError, match="say why"):
        state.record_drift(USDC, 1, T0, "")


def test_stop_loss_follows_executed_price() -> None:
    state = funded_state()
    buy = _buy(state, stop_loss_pct=Decimal("0.95"), take_profit_pct=Decimal("1.10"))
    position = state.position_of(buy)
    assert position.stop_loss == Decimal(1900)
    state.settle_trade_success(
        buy,
        T0,
        executed_quantity_raw=WETH.to_raw(Decimal("0.5")),
        executed_reserve_raw=USDC.to_raw(Decimal(1000)),
        executed_price=Decimal(2000) * Decimal("1.01"),
    )
    assert position.stop_loss == Decimal("1919.0000")
    assert position.take_profit == Decimal("2222.0000")


def test_freeze_and_unfreeze() -> None:
    state = funded_state()
    buy = _buy(state)
    position = state.position_of(buy)
    state.freeze_position(position, T0, "transaction could not be resolved")
    assert position.position_id in state.portfolio.frozen_positions
    with pytest.raises(IllegalTransition, match="frozen"):
        state.plan_trade(T0, WETH_USDC, price=Decimal(2000), quantity=Decimal(-1), position=position)
    with pytest.raises(IllegalTransition, match="unresolved trades"):
        state.unfreeze_position(position, T0, "checked by hand")
    buy.mark_repaired(T0, "tx never mined; verified on explorer")
    state.unfreeze_position(position, T0, "checked by hand")
    assert position.status == PositionStatus.closed  # nothing held, nothing pending


def test_withdrawal_needs_balance_and_is_booked() -> None:
    state = funded_state()
    state.record_withdrawal(USDC, USDC.to_raw(Decimal(100)), T0, reason="owner took profit")
    assert state.portfolio.cash() == Decimal(9900)
    with pytest.raises(InsufficientBalance):
        state.record_withdrawal(USDC, USDC.to_raw(Decimal(10**6)), T0)
    assert ledger_matches_holdings(state)


def test_statistics_record_and_compact() -> None:
    state = funded_state()
    for i in range(24 * 30):
        state.record_statistics(T0 + hours(i * 0.25))
    now = T0 + hours(24 * 30 * 0.25)
    removed = state.stats.compact(now, keep_full=hours(24), older_every=hours(1))
    assert removed > 0
    ats = [s.at for s in state.stats.portfolio]
    assert ats == sorted(ats)
    old = [a for a in ats if a < now - hours(24)]
    assert len(old) == len({int(a.timestamp() // 3600) for a in old})
    assert state.stats.portfolio[-1].total_equity == Decimal(10_000)
