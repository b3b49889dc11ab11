"""The indicators stage: computed once, read point in time, the same live and in a backtest."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from tests.backtest.helpers import HAND_CANDLES, START, STRATEGY_HEADER, write
from tradeexecutor.backtest.engine import BacktestConfig, prepare_backtest
from tradeexecutor.backtest.market import file_market
from tradeexecutor.errors import UserError
from tradeexecutor.strategy.loader import load_strategy_module
from tradeexecutor.strategy.module import ExecutionMode

END = START + timedelta(hours=10)

INDICATORS = """
SEEN = []

def create_indicators(input):
    close = input.close
    return {"sma3": close.rolling(3).mean(), "close": close.to_numpy()}

def decide_trades(input):
    pair = input.universe.get_single_pair()
    ind = input.indicators
    SEEN.append((input.cycle, ind.get("sma3", pair), ind.get("close"), ind.get("close", "WETH-USDC", ago=1),
                 len(ind.series("sma3"))))
    return []
"""


def backtest(tmp_path: Path, body: str):
    strategy = write(tmp_path / "s.py", STRATEGY_HEADER + body)
    candles = write(tmp_path / "WETH-USDC-1h.csv", HAND_CANDLES)
    module = load_strategy_module(strategy)
    data = file_market(candles, chain_id=31337, start=START, end=END)
    return prepare_backtest(module, data, BacktestConfig(start=START, end=END))


def test_a_cycle_reads_the_value_of_the_newest_closed_candle(tmp_path: Path) -> None:
    bt = backtest(tmp_path, INDICATORS)
    bt.run()
    closes = [100, 101, 105, 110, 111, 96, 97, 98, 92, 92]
    seen = bt.module.module.SEEN
    # cycle n (at (n-1):00) has seen n-1 candles
    assert seen[0] == (1, None, None, None, 0)
    assert seen[1] == (2, None, 100.0, None, 1)
    assert seen[3] == (4, pytest.approx((100 + 101 + 105) / 3), 105.0, 101.0, 3)
    for cycle, sma, close, before, n in seen[3:]:
        assert close == closes[cycle - 2] and before == closes[cycle - 3]
        assert sma == pytest.approx(np.mean(closes[cycle - 4 : cycle - 1]))
        assert n == cycle - 1


def test_live_computes_the_same_values_from_the_candles_it_has(tmp_path: Path) -> None:
    bt = backtest(tmp_path, INDICATORS)
    module, universe = bt.module, bt.universe
    for hour in (2, 5, 9):
        view = universe.view(START + timedelta(hours=hour))
        live = module.cycle_indicators(view, ExecutionMode.live)  # computed from the view's candles
        precomputed = module.cycle_indicators(view, ExecutionMode.backtest, bt.indicators)
        assert live.get("sma3") == precomputed.get("sma3")
        assert live.get("close", ago=1) == precomputed.get("close", ago=1)
        assert list(live.series("sma3")) == pytest.approx(list(precomputed.series("sma3")), nan_ok=True)


def test_an_indicator_that_peeks_into_the_future_is_refused(tmp_path: Path) -> None:
    body = INDICATORS.replace("close.rolling(3).mean()", "close.shift(-1)")
    strategy = write(tmp_path / "s.py", STRATEGY_HEADER + body)
    rows = "".join(f"2024-01-01T{h:02d}:00:00Z,{100 + h},{101 + h},{99 + h},{100 + h},1\n" for h in range(20))
    candles = write(tmp_path / "WETH-USDC-1h.csv", "timestamp,open,high,low,close,volume\n" + rows)
    end = START + timedelta(hours=20)
    data = file_market(candles, chain_id=31337, start=START, end=end)
    # the first half of the candles ends at row 9, whose shift(-1) needs row 10
    with pytest.raises(UserError, match="'sma3' of WETH-USDC .* looks into the future: its value at row 9"):
        prepare_backtest(load_strategy_module(strategy), data, BacktestConfig(start=START, end=end))


def test_an_unknown_indicator_name_lists_the_known_ones(tmp_path: Path) -> None:
    bt = backtest(tmp_path, INDICATORS.replace('ind.get("sma3", pair)', 'ind.get("sma", pair)'))
    with pytest.raises(
        UserError,
        match=r"There is no indicator 'sma' for WETH-USDC; create_indicators\(\) made 'close', 'sma3'",
    ):
        bt.run()


def test_create_indicators_must_return_one_value_per_candle(tmp_path: Path) -> None:
    body = INDICATORS.replace('"close": close.to_numpy()', '"close": close.to_numpy()[1:]')
    with pytest.raises(UserError, match="Indicator 'close' of WETH-USDC .* has 9 values for 10 candles"):
        backtest(tmp_path, body)
