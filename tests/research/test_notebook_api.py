"""tradeexecutor.research.run_backtest: the notebook's one backtest, as pandas."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from tests.backtest.helpers import HAND_CANDLES, write
from tradeexecutor.errors import UserError
from tradeexecutor.research import load_candle_set, run_backtest
from tradeexecutor.strategy.parameters import ParameterError

REPO = Path(__file__).resolve().parents[2]
SMA = REPO / "strategies" / "sma_crossover.py"


def hand_frame(tmp_path: Path) -> pd.DataFrame:
    path = write(tmp_path / "c.csv", HAND_CANDLES)
    frame = pd.read_csv(path, parse_dates=["timestamp"]).set_index("timestamp")
    return frame


def buy_at_two_sell_at_four(input):
    pm = input.position_manager
    pair = input.universe.get_single_pair()
    if input.cycle == 2:
        return pm.open_1x_long(pair, input.parameters["size"])
    if input.cycle == 4:
        return pm.close_position(pm.get_current_position())
    return []


def test_notebook_functions_on_a_dataframe_match_the_hand_calculation(tmp_path: Path) -> None:
    result = run_backtest(
        {"PARAMETERS": {"size": 500}, "decide_trades": buy_at_two_sell_at_four},
        parameters={"size": 1000},
        candles=hand_frame(tmp_path),
    )
    # tests/backtest/test_hand_checked.py, position 1: 9.97 WETH for 1,000 USDC, sold for 1,043.70945
    trades = result.trades
    assert list(trades["side"]) == ["buy", "sell"]
    assert list(trades["quantity"]) == [9.97, -9.97]
    assert list(trades["reserve"]) == [1000.0, 1043.70945]
    assert trades.index.tz is not None and str(trades.index.tz) == "UTC"
    assert trades.index[0] == pd.Timestamp("2024-01-01T01:00Z")
    for frame in (result.trades, result.positions, result.equity):
        numeric = frame.select_dtypes(include="number")
        assert not any(frame[c].dtype == object for c in numeric.columns)
        assert str(frame.index.tz) == "UTC"
    assert result.positions["realised_profit"].iloc[0] == pytest.approx(43.70945)
    assert result.equity["total_equity"].iloc[-1] == pytest.approx(10043.70945)
    summary = result.summary
    assert all(isinstance(v, float) for v in summary.values())
    assert summary["total_trades"] == 2.0  # the buy and the sell
    assert summary["round_trips"] == 1.0 and summary["won_round_trips"] == 1.0 and summary["win_rate"] == 1.0
    assert summary["return_pct"] == pytest.approx(0.004370945)
    assert result.state.portfolio.cash() == Decimal("10043.70945")  # the exact ledger is still there
    figure = result.figure()
    assert type(figure).__name__ == "figure" and figure.renderers


def test_a_strategy_file_with_parameters_and_a_reusable_candle_set(tmp_path: Path) -> None:
    start, end = datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC)
    from tradeexecutor.strategy.loader import load_strategy_module

    candles = load_candle_set(load_strategy_module(SMA), start=start, end=end, synthetic_seed=3)
    fast = run_backtest(SMA, {"fast": 2, "slow": 5}, start=start, end=end, candles=candles)
    slow = run_backtest(SMA, {"fast": 10, "slow": 30}, start=start, end=end, candles=candles)
    assert fast.parameters["fast"] == 2 and slow.parameters["slow"] == 30
    assert fast.summary["total_trades"] > slow.summary["total_trades"] > 0


def test_bad_parameters_and_inputs_are_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="has no parameter 'fsat'; did you mean 'fast'"):
        run_backtest(SMA, {"fsat": 3})
    with pytest.raises(ParameterError, match="fast=0.5 is not valid: fast is a whole number"):
        run_backtest(SMA, {"fast": 0.5})
    with pytest.raises(UserError, match="The strategy file .*nope.py does not exist"):
        run_backtest(tmp_path / "nope.py")
    with pytest.raises(UserError, match="Cannot use int as candles"):
        run_backtest(SMA, candles=3)
