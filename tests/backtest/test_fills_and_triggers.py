"""Fill arithmetic, slippage models, the price-at-t rule and stop loss / take profit fills."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pandas as pd

from tests.backtest.helpers import START, STRATEGY_HEADER, write
from tests.state.factories import WETH_USDC
from tradeexecutor.backtest.engine import BacktestConfig, prepare_backtest
from tradeexecutor.backtest.prices import CandlePrices
from tradeexecutor.backtest.pricing import BacktestPricing, ConstantProductSlippage, FixedSlippage
from tradeexecutor.data.candles import select_range, validate_candles
from tradeexecutor.data.time_bucket import TimeBucket
from tradeexecutor.state.trade import TradeType
from tradeexecutor.strategy.loader import load_strategy_module
from tradeexecutor.strategy.market_data import MarketData
from tradeexecutor.strategy.universe import TradingUniverse


def candles(start, bucket: str, rows: list[tuple[float, float, float, float]]) -> pd.DataFrame:
    width = TimeBucket.parse(bucket).timedelta
    index = pd.DatetimeIndex([start + i * width for i in range(len(rows))], name="timestamp")
    frame = pd.DataFrame(rows, columns=["open", "high", "low", "close"], index=index)
    frame["volume"] = 1.0
    return validate_candles(frame, "test candles", TimeBucket.parse(bucket))


class FrameSource:
    """An in-memory CandleSource: one frame per bucket for WETH-USDC."""

    def __init__(self, frames: dict[str, pd.DataFrame]) -> None:
        self.frames = frames

    def load_candles(self, pair, bucket, start=None, end=None) -> pd.DataFrame:
        return select_range(self.frames[TimeBucket.parse(bucket).value], start, end)


def universe_of(frame: pd.DataFrame) -> TradingUniverse:
    return TradingUniverse(
        reserve_asset=WETH_USDC.quote, pairs=[WETH_USDC], time_bucket="1h", candles={WETH_USDC: frame}
    )


# --- pricing ----------------------------------------------------------------------------------


def test_price_at_is_the_open_of_the_candle_starting_then_else_the_last_close() -> None:
    frame = candles(START, "1h", [(100, 101, 99, 100.5), (100.5, 103, 100, 102)])
    # a gap: no candle at 02:00 (no swaps), then one at 03:00
    gap = candles(START + timedelta(hours=3), "1h", [(102.5, 104, 102, 103)])
    prices = CandlePrices(universe_of(pd.concat([frame, gap])))
    assert prices.price_at(START, WETH_USDC) == Decimal("100")
    assert prices.price_at(START + timedelta(hours=1), WETH_USDC) == Decimal("100.5")
    assert prices.price_at(START + timedelta(hours=2), WETH_USDC) == Decimal("102")  # last close
    assert prices.price_at(START + timedelta(hours=3), WETH_USDC) == Decimal("102.5")
    assert prices.latest_close(START + timedelta(hours=1, minutes=30), WETH_USDC) == Decimal("100.5")


def test_fee_is_taken_from_the_input_token_and_amounts_round_down() -> None:
    pricing = BacktestPricing(CandlePrices(universe_of(candles(START, "1h", [(3, 3, 3, 3)]))))
    buy = pricing.quote_buy(START, WETH_USDC, Decimal("100.0000009"))  # 7th decimal is dropped
    assert buy.reserve_raw == 100_000_000
    assert buy.lp_fee == Decimal("0.3")
    assert buy.quantity_raw == 33_233_333_333_333_333_333  # 99.7 / 3 = 33.2333... rounded down
    sell = pricing.quote_sell(START, WETH_USDC, Decimal("10"))
    assert sell.reserve_raw == 29_910_000  # 10 x 0.997 x 3
    assert sell.lp_fee == Decimal("0.09")


def test_fixed_slippage_makes_both_sides_worse() -> None:
    universe = universe_of(candles(START, "1h", [(100, 100, 100, 100)]))
    pricing = BacktestPricing(CandlePrices(universe), FixedSlippage(Decimal(50)))
    assert pricing.quote_buy(START, WETH_USDC, Decimal(1000)).quantity_raw == WETH_USDC.base.to_raw(
        Decimal(997) / Decimal("100.5")
    )
    assert pricing.quote_sell(START, WETH_USDC, Decimal(1)).reserve_raw == WETH_USDC.quote.to_raw(
        Decimal("0.997") * Decimal("99.5")
    )


def test_constant_product_slippage_is_uniswap_v2_get_amount_out() -> None:
    """Uniswap v2: out = in*997*reserve_out / (reserve_in*1000 + in*997), in raw integers."""
    universe = universe_of(candles(START, "1h", [(2000, 2000, 2000, 2000)]))
    liquidity = Decimal(1_000_000)  # USDC per side; the pool holds 500 WETH
    pricing = BacktestPricing(CandlePrices(universe), ConstantProductSlippage(liquidity))
    usdc_reserve, weth_reserve = 1_000_000 * 10**6, 500 * 10**18

    spend = 50_000 * 10**6
    expected = spend * 997 * weth_reserve // (usdc_reserve * 1000 + spend * 997)
    got = pricing.quote_buy(START, WETH_USDC, Decimal(50_000)).quantity_raw
    assert abs(got - expected) <= 1

    sell = 25 * 10**18
    expected = sell * 997 * usdc_reserve // (weth_reserve * 1000 + sell * 997)
    got = pricing.quote_sell(START, WETH_USDC, Decimal(25)).reserve_raw
    assert abs(got - expected) <= 1
    # a 5 % of pool trade moves the price about 5 %
    assert pricing.get_buy_price(START, WETH_USDC, Decimal(50_000)).price_impact > Decimal("0.05")


# --- stop loss and take profit ----------------------------------------------------------------

LEVELS_STRATEGY = (
    STRATEGY_HEADER
    + """
STOP_LOSS_TIME_BUCKET = None
PARAMETERS = {"stop": None, "take": None}

def decide_trades(input):
    pm = input.position_manager
    if input.cycle == 1:
        p = input.parameters
        return pm.open_1x_long(input.universe.get_single_pair(), 1000, stop_loss_pct=p["stop"], take_profit_pct=p["take"])
    return []
"""
)


def run_levels(
    tmp_path: Path, frames: dict[str, pd.DataFrame], stop, take, hours: int, stop_bucket: str | None = None
):
    text = LEVELS_STRATEGY.replace(
        'PARAMETERS = {"stop": None, "take": None}', f"PARAMETERS = {{'stop': {stop}, 'take': {take}}}"
    )
    if stop_bucket:
        text = text.replace("STOP_LOSS_TIME_BUCKET = None", f'STOP_LOSS_TIME_BUCKET = "{stop_bucket}"')
    module = load_strategy_module(write(tmp_path / "levels.py", text))
    end = START + timedelta(hours=hours)
    data = MarketData(FrameSource(frames), [WETH_USDC], start=START, end=end)
    bt = prepare_backtest(module, data, BacktestConfig(start=START, end=end))
    bt.run()
    [position] = bt.state.portfolio.closed_positions.values() or bt.state.portfolio.open_positions.values()
    trades = list(position.trades.values())
    return position, trades


def test_stop_and_take_profit_in_the_same_candle_assume_the_stop(tmp_path: Path) -> None:
    # buy at 100 (entry 100/0.997); candle 01:00 spans both levels with an open in between
    frame = candles(START, "1h", [(100, 100.5, 99.5, 100), (100, 130, 80, 100), (100, 100, 100, 100)])
    position, [buy, sell] = run_levels(tmp_path, {"1h": frame}, 0.9, 1.2, 3)
    assert sell.trade_type == TradeType.stop_loss
    assert sell.executed_at == START + timedelta(hours=2)  # the 01:00 candle's close
    assert sell.executed_reserve == WETH_USDC.quote.to_decimal(
        WETH_USDC.quote.to_raw(-sell.executed_quantity * position.stop_loss * Decimal("0.997"))
    )


def test_take_profit_fills_at_the_level_or_at_a_gap_open(tmp_path: Path) -> None:
    entry = Decimal(100) / Decimal("0.997")
    frame = candles(START, "1h", [(100, 100.5, 99.5, 100), (101, 125, 100.5, 110), (110, 110, 110, 110)])
    position, [_, sell] = run_levels(tmp_path, {"1h": frame}, None, 1.2, 3)
    assert sell.trade_type == TradeType.take_profit
    assert position.take_profit == entry * Decimal("1.2")
    assert (
        sell.executed_price
        == (-sell.executed_quantity * position.take_profit * Decimal("0.997")).quantize(
            Decimal("0.000001"), rounding="ROUND_DOWN"
        )
        / -sell.executed_quantity
    )

    gap = candles(START, "1h", [(100, 100.5, 99.5, 100), (140, 150, 139, 145), (145, 145, 145, 145)])
    position, [_, sell] = run_levels(tmp_path, {"1h": gap}, None, 1.2, 3)
    assert sell.executed_reserve == WETH_USDC.quote.to_decimal(
        WETH_USDC.quote.to_raw(-sell.executed_quantity * Decimal("140") * Decimal("0.997"))
    )


def test_stop_losses_are_checked_on_the_finer_candles(tmp_path: Path) -> None:
    hourly = candles(START, "1h", [(100, 100.5, 99.5, 100), (100, 100, 80, 95), (95, 96, 94, 95)])
    quarter = candles(
        START,
        "15m",
        [(100, 100.5, 99.5, 100)] * 4
        + [(100, 100, 99, 99), (99, 99, 80, 85), (85, 95, 85, 95), (95, 95, 95, 95)]
        + [(95, 96, 94, 95)] * 4,
    )
    _, [buy, sell] = run_levels(tmp_path, {"1h": hourly, "15m": quarter}, 0.9, None, 3, stop_bucket="15m")
    assert buy.executed_at == START
    # the stop is hit in the 01:15-01:30 candle: booked at 01:30, not at the next cycle (02:00)
    assert sell.trade_type == TradeType.stop_loss
    assert sell.executed_at == START + timedelta(hours=1, minutes=30)
