"""PositionManager plans trades through the state with prices from a pricing model."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.pricing_fakes import ConstantProductPricing
from tests.state.factories import T0, WETH, WETH_USDC, funded_state
from tradeexecutor.state.errors import InsufficientBalance, StateError
from tradeexecutor.state.identifiers import TradingPairIdentifier
from tradeexecutor.strategy.position_manager import PositionManager


@pytest.fixture()
def pm():
    state = funded_state()
    return PositionManager(T0, state, ConstantProductPricing(Decimal(1000), Decimal(2_000_000)), 50)


def _fill(state, trade) -> None:
    state.start_trade(trade, T0)
    state.settle_trade_success(
        trade,
        T0,
        executed_quantity_raw=WETH.to_raw(trade.planned_quantity),
        executed_reserve_raw=trade.reserve_currency.to_raw(trade.planned_reserve),
        executed_price=trade.planned_price,
    )


def test_open_long_prices_with_impact_and_sets_levels(pm: PositionManager) -> None:
    [trade] = pm.open_1x_long(WETH_USDC, 1000, stop_loss_pct=0.95, take_profit_pct=1.2, notes="entry")
    assert trade.planned_reserve == Decimal(1000)
    assert trade.planned_price > Decimal(2000)  # fee + impact make buying dearer than mid
    assert trade.slippage_tolerance_bps == 50 and trade.notes == "entry"
    position = pm.get_current_position()
    assert position.stop_loss == trade.planned_price * Decimal("0.95")
    assert pm.is_any_open()


def test_close_position_sells_everything_once(pm: PositionManager) -> None:
    [buy] = pm.open_1x_long(WETH_USDC, 1000)
    _fill(pm.state, buy)
    position = pm.get_current_position()
    [sell] = pm.close_position(position)
    assert sell.planned_quantity == -position.quantity
    assert sell.planned_price < Decimal(2000)
    assert pm.close_position(position) == []  # already being sold
    _fill_sell = pm.state.settle_trade_success
    pm.state.start_trade(sell, T0)
    _fill_sell(
        sell,
        T0,
        executed_quantity_raw=-position.quantity_raw,
        executed_reserve_raw=sell.reserve_currency.to_raw(sell.planned_reserve),
        executed_price=sell.planned_price,
    )
    assert not pm.is_any_open()
    assert pm.get_last_closed_position() is position


def test_adjust_position_up_and_down(pm: PositionManager) -> None:
    [buy] = pm.adjust_position(WETH_USDC, 1000)
    _fill(pm.state, buy)
    position = pm.get_current_position()
    [reduce] = pm.adjust_position(WETH_USDC, -500)
    assert Decimal("0.24") < -reduce.planned_quantity < Decimal("0.26")
    assert reduce.position_id == position.position_id
    with pytest.raises(StateError, match="no shorting"):
        pm.adjust_position(
            TradingPairIdentifier(
                base=WETH_USDC.quote, quote=WETH, pool_address="0x" + "44" * 20, exchange_slug="test"
            ),
            -1,
        )


def test_bad_inputs_are_refused(pm: PositionManager) -> None:
    with pytest.raises(ValueError, match="stop_loss_pct must be between 0 and 1"):
        pm.open_1x_long(WETH_USDC, 100, stop_loss_pct=5)
    with pytest.raises(ValueError, match="finite"):
        pm.open_1x_long(WETH_USDC, float("nan"))
    with pytest.raises(InsufficientBalance):
        pm.open_1x_long(WETH_USDC, 50_000)
    with pytest.raises(StateError, match="exactly one open position, there are 0"):
        pm.get_current_position()
