"""Lifecycle transitions of trades and transactions: legal ones work, illegal ones raise."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from tests.state.factories import T0, WETH_USDC, funded_state
from tradeexecutor.state.errors import IllegalTransition
from tradeexecutor.state.trade import TradeStatus
from tradeexecutor.state.transaction import BlockchainTransaction, TxStatus


def _trade():
    state = funded_state()
    return state.plan_trade(T0, WETH_USDC, price=Decimal(2000), reserve=Decimal(100))


def test_live_path_records_every_step_time() -> None:
    t = _trade()
    t.mark_started(T0)
    t.mark_broadcast(T0 + datetime.timedelta(seconds=1))
    t.mark_success(
        T0 + datetime.timedelta(seconds=2),
        executed_quantity_raw=5 * 10**16,
        executed_reserve_raw=100 * 10**6,
        executed_price=Decimal(2000),
        lp_fees_reserve=Decimal("0.3"),
    )
    assert t.status == TradeStatus.success
    assert (t.planned_at, t.started_at, t.broadcast_at, t.executed_at) == (
        T0,
        T0,
        T0 + datetime.timedelta(seconds=1),
        T0 + datetime.timedelta(seconds=2),
    )


@pytest.mark.parametrize(
    ("path", "illegal"),
    [
        ([], "mark_broadcast"),
        ([], "mark_repaired"),
        (["mark_started", "mark_success"], "mark_failed"),
        (["mark_started", "mark_success"], "mark_broadcast"),
        (["mark_failed"], "mark_started"),
        (["mark_failed", "mark_repaired"], "mark_failed"),
    ],
)
def test_illegal_trade_transitions_raise(path: list[str], illegal: str) -> None:
    t = _trade()
    args = {
        "mark_started": (T0,),
        "mark_broadcast": (T0,),
        "mark_failed": (T0, "x"),
        "mark_repaired": (T0, "y"),
    }
    for step in path:
        if step == "mark_success":
            t.mark_success(
                T0,
                executed_quantity_raw=1,
                executed_reserve_raw=1,
                executed_price=Decimal(1),
                lp_fees_reserve=Decimal(0),
            )
        else:
            getattr(t, step)(*args[step])
    before = t.status
    with pytest.raises(IllegalTransition, match=f"Trade #{t.trade_id} cannot go from {before}"):
        if illegal == "mark_success":
            raise AssertionError
        getattr(t, illegal)(*args[illegal])
    assert t.status == before


def test_success_must_match_direction() -> None:
    t = _trade()
    t.mark_started(T0)
    with pytest.raises(ValueError, match="does not match its direction"):
        t.mark_success(
            T0,
            executed_quantity_raw=-1,
            executed_reserve_raw=1,
            executed_price=Decimal(1),
            lp_fees_reserve=Decimal(0),
        )
    assert t.status == TradeStatus.started


def test_naive_timestamps_are_refused() -> None:
    t = _trade()
    with pytest.raises(ValueError, match="no timezone"):
        t.mark_started(datetime.datetime(2024, 1, 1))


def test_transaction_lifecycle() -> None:
    tx = BlockchainTransaction(
        tx_hash="0x1",
        chain_id=1,
        from_address="0xa",
        to_address="0xb",
        nonce=3,
        gas_limit=1,
        signed_at=T0,
        signed_bytes="0x00",
    )
    tx.mark_broadcast(T0)
    tx.mark_mined(T0, success=False, block_number=1, gas_used=1, effective_gas_price=1, revert_reason="nope")
    assert tx.status == TxStatus.reverted and tx.revert_reason == "nope"
    with pytest.raises(IllegalTransition):
        tx.mark_dropped(T0, "late")
