"""The charts' data without a browser: buy-and-hold, drawdown, thinning, frames from a state."""

from __future__ import annotations

import datetime

import pandas as pd
import pytest

from tests.state.factories import T0, WETH_USDC, funded_state, hours
from tradeexecutor.analysis import chart_data
from tradeexecutor.analysis.chart_data import PairFrames
from tradeexecutor.analysis.charts import drawdown, strategy_layout
from tradeexecutor.dashboard.strategy_data import published_candles
from tradeexecutor.dashboard.timewindow import TimeWindow
from tradeexecutor.data.candles import thin_candles
from tradeexecutor.data.synthetic import SyntheticCandleSource, synthetic_pairs
from tradeexecutor.data.time_bucket import TimeBucket

UTC = datetime.UTC


def at(*hours_: float) -> pd.DatetimeIndex:
    return pd.DatetimeIndex([pd.Timestamp(T0) + pd.Timedelta(hours=h) for h in hours_]).as_unit("ns")


def test_buy_and_hold_splits_each_deposit_over_the_pairs_at_its_price() -> None:
    closes = {
        "A": pd.Series([10.0, 20.0, 40.0], index=at(0, 1, 2)),
        "B": pd.Series([100.0, 100.0, 50.0], index=at(0, 1, 2)),
    }
    flows = pd.Series([1000.0, 600.0, -300.0], index=at(0, 1, 2))
    value = chart_data.buy_and_hold(flows, closes, at(-1, 0, 1.5, 2, 3))
    # hour 0: 50 A + 5 B; hour 1: +15 A + 3 B; hour 2 a withdrawal sells 3.75 A and 3 B
    assert value.iloc[0] == 0.0  # before the first deposit
    assert value.iloc[1] == pytest.approx(1000.0)
    assert value.iloc[2] == pytest.approx(65 * 20 + 8 * 100)
    assert value.iloc[3] == pytest.approx(61.25 * 40 + 5 * 50)
    assert value.iloc[4] == pytest.approx(61.25 * 40 + 5 * 50)  # after the last close: held at it
    assert chart_data.buy_and_hold(flows.iloc[:0], closes, at(0)).isna().all()


def test_drawdown_is_the_fall_from_the_running_peak() -> None:
    equity = pd.Series([100.0, 120.0, 90.0, 130.0, 65.0])
    assert drawdown(equity).tolist() == pytest.approx([0, 0, -0.25, 0, -0.5])


def test_thinning_keeps_the_first_candle_and_picks_a_standard_width() -> None:
    pair = synthetic_pairs(1, chain_id=1)[0]
    start = datetime.datetime(2024, 1, 1, tzinfo=UTC)
    source = SyntheticCandleSource(
        [pair], start=start, end=start + datetime.timedelta(days=10), base_bucket=TimeBucket.m1
    )
    candles = source.load_candles(pair, TimeBucket.m1, start, start + datetime.timedelta(days=10))
    thinned, width = thin_candles(candles, TimeBucket.m1, 1_500)
    assert width is TimeBucket.m15 and len(thinned) == 10 * 24 * 4  # 5m would need 2,880
    assert thinned.index[0] == candles.index[0] and thinned["open"].iloc[0] == candles["open"].iloc[0]
    assert (
        thinned["high"].max() == candles["high"].max()
        and thinned["close"].iloc[-1] == candles["close"].iloc[-1]
    )
    assert thin_candles(candles.iloc[:100], TimeBucket.m1, 1_500)[1] is TimeBucket.m1


def test_frames_from_a_state_and_a_layout_that_draws_without_candles() -> None:
    state = funded_state()
    state.plots.record(T0 + hours(1), "sma", 2000.0, pair=WETH_USDC.key, ticker="WETH-USDC")
    state.plots.record(T0 + hours(2), "sma", 2010.0, pair=WETH_USDC.key, ticker="WETH-USDC")
    state.plots.record(T0 + hours(2), "rsi", 55.0, pane="RSI")
    frame = chart_data.plots_frame(state, start=T0 + hours(1.5))
    assert frame[["series", "value"]].values.tolist() == [["sma", 2010.0], ["rsi", 55.0]]
    assert str(frame["at"].dtype) == "datetime64[ns, UTC]"
    assert chart_data.fills_frame(state).empty and chart_data.levels_frame(state).empty
    equity = chart_data.equity_frame(state)
    assert equity["equity"].tolist() == [10_000.0]
    layout = strategy_layout(
        [
            PairFrames(
                "WETH-USDC",
                pd.DataFrame(columns=["open", "high", "low", "close"]),
                plots=frame[frame["pair"] != ""],
            )
        ],
        panes=frame[frame["pane"] != ""],
        equity=equity,
    )
    names = {m.name for m in layout.select({"type": object}) if getattr(m, "name", None)}
    assert {"plot:WETH-USDC:sma", "plot:pane:RSI:rsi", "equity", "drawdown"} <= names


def test_published_candles_are_cropped_to_the_window() -> None:
    rows = [(T0 + hours(h), T0 + hours(h + 1), 1.0, 2.0, 0.5, 1.5) for h in range(5)]
    frame, width = published_candles(rows, TimeWindow(T0 + hours(1.5), T0 + hours(3), "custom"))
    assert list(frame.index) == [T0 + hours(h) for h in (1, 2, 3)] and width == hours(1)
    empty, none = published_candles([], TimeWindow(None, None, "all"))
    assert empty.empty and none is None


def test_drawdown_of_the_returns_leaves_deposits_and_withdrawals_out() -> None:
    # 100 -> 110 (+10 %), a withdrawal of 55 -> 55, then -10 % -> 49.5, a deposit of 50 -> 99.5
    equity = pd.Series([100.0, 110.0, 55.0, 49.5, 99.5], index=at(0, 1, 2, 3, 4))
    flows = pd.Series([100.0, -55.0, 50.0], index=at(0, 1.5, 3.5))
    between = chart_data.flows_between(flows, equity.index)
    assert between.tolist() == [0.0, 0.0, -55.0, 0.0, 50.0]
    falls = drawdown(equity, pd.Series(between, index=equity.index))
    assert falls.tolist() == pytest.approx([0, 0, 0, -0.1, -0.1])  # the withdrawal is not a fall
    assert drawdown(equity).iloc[2] == pytest.approx(-0.5)  # without flows it would look like one
