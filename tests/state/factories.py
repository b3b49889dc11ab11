"""Small builders for domain-model tests."""

from __future__ import annotations

import datetime
from decimal import Decimal

from tradeexecutor.state.identifiers import AssetIdentifier, TradingPairIdentifier, native_token
from tradeexecutor.state.reserve import ReserveRole
from tradeexecutor.state.state import State

T0 = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
USDC = AssetIdentifier(chain_id=31337, address="0x" + "11" * 20, symbol="USDC", decimals=6)
WETH = AssetIdentifier(chain_id=31337, address="0x" + "22" * 20, symbol="WETH", decimals=18)
ETH = native_token(31337)
WETH_USDC = TradingPairIdentifier(base=WETH, quote=USDC, pool_address="0x" + "33" * 20, exchange_slug="test")


def hours(n: float) -> datetime.timedelta:
    return datetime.timedelta(hours=n)


def funded_state(cash: Decimal = Decimal(10_000), gas: Decimal = Decimal(1)) -> State:
    state = State(strategy_id="test", created_at=T0, last_updated_at=T0)
    state.record_deposit(USDC, USDC.to_raw(cash), T0, reason="initial")
    state.record_deposit(ETH, ETH.to_raw(gas), T0, role=ReserveRole.gas, reason="initial")
    return state


def ledger_matches_holdings(state: State) -> bool:
    held = {k: v for k, v in state.portfolio.held_balances_raw().items() if v}
    ledger = {k: v for k, v in state.ledger.balances().items() if v}
    return held == ledger
