"""The audit's plain parts, without a chain: tolerances, audit types, the wallet a state trades from, the cursor."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.state.factories import ETH, T0, USDC, WETH, WETH_USDC, funded_state, hours, swap_transaction
from tradeexecutor.audit.model import ALL_AUDIT_TYPES, AuditType, parse_audit_types
from tradeexecutor.audit.tolerance import Tolerances, default_tolerance_raw
from tradeexecutor.audit.wallet import resolve_wallet, wallet_from_state
from tradeexecutor.errors import UserError
from tradeexecutor.state.errors import StateError
from tradeexecutor.state.serialisation import decode_state, encode_state
from tradeexecutor.state.state import AuditCursor, State

WALLET = "0x" + "ab" * 20


def test_default_tolerances_scale_with_decimals_and_overrides_are_in_token_units() -> None:
    assert default_tolerance_raw(6) == 10 and default_tolerance_raw(8) == 10
    assert default_tolerance_raw(18) == 10**6 and default_tolerance_raw(0) == 10
    t = Tolerances.parse(" usdc=0.000001 , WETH=0 ")
    assert t.raw(USDC) == 1 and t.raw(WETH) == 0 and t.raw(ETH) == 10**6
    assert (
        Tolerances.parse(None).raw(USDC) == 10 and Tolerances.parse("").describe() == "defaults by decimals"
    )


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("USDC", "is not SYMBOL=AMOUNT"),
        ("USDC=-1", "must be a token amount of 0 or more"),
        ("=1", "SYMBOL=AMOUNT"),
    ],
)
def test_bad_tolerances_are_one_sentence(text: str, needle: str) -> None:
    with pytest.raises(UserError, match=needle):
        Tolerances.parse(text)


def test_audit_types() -> None:
    assert parse_audit_types(None) == ALL_AUDIT_TYPES == parse_audit_types(" ")
    assert parse_audit_types("order, BALANCE") == (AuditType.balance, AuditType.order)
    with pytest.raises(UserError, match="Unknown audit type nonce, x in --audit-types"):
        parse_audit_types("balance,nonce,x")


def test_the_wallet_comes_from_the_state_or_the_options() -> None:
    state = funded_state()
    with pytest.raises(UserError, match="never synced"):
        resolve_wallet(state, None, env={})
    assert resolve_wallet(state, WALLET.upper().replace("0X", "0x"), env={})[1] == "--wallet-address"

    synced = State()
    synced.record_deposit(USDC, 10, T0, reason=f"first sync of hot wallet {WALLET}: 0.00001 USDC on chain")
    assert wallet_from_state(synced).lower() == WALLET

    position_state = funded_state()
    trade = position_state.plan_trade(T0, WETH_USDC, price=Decimal(2000), reserve=Decimal(100))
    position_state.record_transaction(trade, swap_transaction(1, T0, nonce=0))
    assert resolve_wallet(position_state, None, env={}) == (
        wallet_from_state(position_state),
        "the state file",
    )
    with pytest.raises(UserError, match="is not the hot wallet of this state"):
        resolve_wallet(position_state, "0x" + "cd" * 20, env={})
    with pytest.raises(UserError, match="is not an address"):
        resolve_wallet(position_state, "0x123", env={})


def test_the_audit_cursor_only_moves_forward_and_survives_a_round_trip() -> None:
    state = funded_state()
    state.advance_audit_cursor(T0, wallet_address=WALLET, block=10, next_nonce=3)
    state.advance_audit_cursor(T0 + hours(1), wallet_address=WALLET, block=12, next_nonce=3)
    with pytest.raises(StateError, match="cannot move back from block 12 to 11"):
        state.advance_audit_cursor(T0 + hours(2), wallet_address=WALLET, block=11, next_nonce=4)
    with pytest.raises(StateError, match="cannot move back from nonce 3 to 2"):
        state.advance_audit_cursor(T0 + hours(2), wallet_address=WALLET, block=13, next_nonce=2)
    assert state.audit_cursor == AuditCursor(
        wallet_address=WALLET, last_block=12, next_nonce=3, last_audited_at=T0 + hours(1), passed_count=2
    )
    assert decode_state(encode_state(state)).audit_cursor == state.audit_cursor


def test_a_file_written_before_the_cursor_existed_loads_with_an_empty_one() -> None:
    data = encode_state(funded_state()).replace(b',"audit_cursor":{}', b"")
    assert b"audit_cursor" not in data
    assert decode_state(data).audit_cursor == AuditCursor()


def test_a_running_executors_file_is_audited_at_the_newest_block_it_records() -> None:
    from tradeexecutor.audit.runner import consistent_block

    state = funded_state()
    assert consistent_block(state, 5) == 5
    trade = state.plan_trade(T0, WETH_USDC, price=Decimal(2000), reserve=Decimal(100))
    state.record_transaction(trade, swap_transaction(1, T0, nonce=7))  # mined in block 1007
    assert consistent_block(state, 900) == 1007 and consistent_block(state, 2000) == 2000
