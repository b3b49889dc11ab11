"""Plots a strategy draws: recorded per cycle in the state, compactly, bad input refused."""

from __future__ import annotations

import datetime
import math
import subprocess
from decimal import Decimal
from pathlib import Path

import msgspec
import numpy as np
import pytest

from tests.backtest.helpers import EXECUTABLE, STRATEGY_HEADER
from tradeexecutor.backtest.engine import BacktestConfig, prepare_backtest
from tradeexecutor.backtest.market import synthetic_market
from tradeexecutor.data.time_bucket import TimeBucket
from tradeexecutor.state.plots import MAX_PANES, MAX_SERIES, PALETTE, PlotRefused, Plots
from tradeexecutor.state.serialisation import decode_state, encode_state
from tradeexecutor.state.state import State
from tradeexecutor.strategy.loader import load_strategy_module

UTC = datetime.UTC
START = datetime.datetime(2024, 1, 1, tzinfo=UTC)
STRATEGIES = Path(__file__).resolve().parents[2] / "strategies"


def hour(n: float) -> datetime.datetime:
    return START + datetime.timedelta(hours=n)


def test_series_share_one_time_axis_and_survive_a_save() -> None:
    ind = Plots()
    ind.record(hour(0), "fast", 1.5, pair="1:0xa", ticker="WETH-USDC")
    ind.record(hour(1), "fast", np.float64(2.5), pair="1:0xa", ticker="WETH-USDC")
    ind.record(hour(1), "RSI", 55, pane="RSI")
    ind.record(hour(3), "fast", Decimal("3.25"), pair="1:0xa", ticker="WETH-USDC")  # skipped hour 2
    ind.record(hour(3), "fast", 4.0, pair="1:0xb", ticker="WBTC-USDC")  # same name, other chart
    assert ind.times == [int(hour(n).timestamp()) for n in (0, 1, 3)]
    fast = ind.series["fast@1:0xa"]
    assert fast.values == [1.5, 2.5, 3.25] and fast.first == 0
    assert list(fast.points(ind.times)) == [(ind.times[0], 1.5), (ind.times[1], 2.5), (ind.times[2], 3.25)]
    rsi = ind.series["RSI"]
    assert rsi.first == 1 and rsi.values == [55.0] and rsi.colour == PALETTE[1]
    assert [s.ticker for s in ind.for_pair("1:0xb")] == ["WBTC-USDC"]
    assert list(ind.panes()) == ["RSI"]

    # a re-run of the latest cycle replaces its value; the axis does not grow
    ind.record(hour(3), "fast", 5.0, pair="1:0xa", ticker="WETH-USDC")
    assert fast.values == [1.5, 2.5, 5.0] and len(ind.times) == 3
    # a gap in a pane series is a null, not a shifted value
    ind.record(hour(4), "RSI", 60, pane="RSI")
    assert rsi.values == [55.0, None, 60.0]
    assert list(rsi.points(ind.times)) == [(ind.times[1], 55.0), (ind.times[3], 60.0)]

    state = State(strategy_id="x")
    state.plots = ind
    again = decode_state(encode_state(state)).plots
    assert again == ind


@pytest.mark.parametrize(
    ("call", "message"),
    [
        ({"value": float("nan")}, "'fast': nan is not a finite number; skip the call"),
        ({"value": math.inf}, "'fast': inf is not a finite number"),
        ({"value": np.float64("nan")}, "is not a finite number"),
        ({"value": None}, "'fast': None is not a number"),
        ({"value": "12"}, "'fast': '12' is not a number"),
        ({"value": True}, "True is not a number"),
        ({"value": [1, 2]}, r"\[1, 2\] \(list\) is not a number"),
        ({"name": ""}, "must be a non-empty string"),
        ({"name": "x" * 61}, "must be at most 60 printable characters"),
        ({"name": "new", "pane": "RSI"}, "needs either a pair .* or a pane .*, not both"),
        ({"name": "new", "colour": "#12345"}, "is not a CSS hex colour"),
        ({"pane": "RSI"}, "'fast' is already drawn on the WETH-USDC price chart"),
        ({"colour": "#00ff00"}, "was first recorded with colour '#ff7f0e'; it cannot change"),
        ({"name": "RSI", "pair": "", "pane": "other"}, "'RSI' is already drawn in pane 'RSI'"),
        (
            {"name": "RSI", "pane": ""},
            "'RSI' is already drawn in pane 'RSI'; a series in a pane and one on a",
        ),
        ({"at": hour(0)}, "before the last recorded cycle 2024-01-01T01:00:00\\+00:00: .* in time order"),
        ({"at": datetime.datetime(2024, 1, 1, 5)}, "has no timezone"),
    ],
)
def test_bad_recordings_are_refused_with_one_sentence_and_change_nothing(call, message) -> None:
    ind = Plots()
    ind.record(hour(1), "fast", 1.0, pair="1:0xa", ticker="WETH-USDC")
    ind.record(hour(1), "RSI", 50.0, pane="RSI")
    before = msgspec.json.encode(ind)
    args = {"at": hour(2), "name": "fast", "value": 2.0, "pair": "1:0xa", "ticker": "WETH-USDC", "pane": ""}
    args.update(call)
    with pytest.raises(PlotRefused, match=message) as refused:
        ind.record(args.pop("at"), args.pop("name"), args.pop("value"), **args)
    assert "\n" not in str(refused.value)
    assert msgspec.json.encode(ind) == before


def test_thousands_of_series_or_panes_stop_at_the_limit_with_nothing_half_stored() -> None:
    ind = Plots()
    with pytest.raises(PlotRefused, match=f"would be series number {MAX_SERIES + 1}; at most {MAX_SERIES}"):
        for i in range(5_000):
            ind.record(hour(0), f"price at {i}", 1.0, pair="1:0xa", ticker="WETH-USDC")
    assert len(ind.series) == MAX_SERIES and len(ind.times) == 1
    panes = Plots()
    for i in range(MAX_PANES):
        panes.record(hour(0), f"s{i}", 1.0, pane=f"pane {i}")
    panes.record(hour(0), "again", 1.0, pane="pane 0")  # an existing pane is fine
    with pytest.raises(PlotRefused, match=f"would open pane number {MAX_PANES + 1}"):
        panes.record(hour(1), "one more", 1.0, pane="new pane")
    assert len(panes.times) == 1  # the refused call did not add a cycle


TWO_PAIRS = (
    STRATEGY_HEADER.replace('"1h"', '"4h"')
    + """
TRADING_PAIRS = ["WETH-USDC", "WBTC-USDC"]
MODE = "ok"

def decide_trades(input):
    weth = input.universe.get_pair_by_ticker("WETH-USDC")
    closes = input.universe.closes(weth)
    if len(closes) >= 3:
        input.plots.record("SMA 3", closes[-3:].mean(), pair="WETH-USDC", colour="Orange")
        input.plots.record("SMA 3", input.universe.closes("WBTC-USDC")[-3:].mean(), pair="WBTC-USDC")
        input.plots.record("spread", 1.0, pane="Spread")
    if MODE == "nan" and input.cycle == 5:
        input.plots.record("SMA 3", float("nan"), pair=weth)
    if MODE == "no pair":
        input.plots.record("SMA 3", 1.0)
    if MODE == "bad colour":
        input.plots.record("SMA 3", 1.0, pair=weth, colour="blurple")
    if MODE == "both":
        input.plots.record("SMA 3", 1.0, pair=weth, pane="x")
    if MODE == "unknown pair":
        input.plots.record("SMA 3", 1.0, pair="DOGE-USDC")
    return []
"""
)


def run_two_pairs(tmp_path: Path, mode: str = "ok") -> State:
    path = tmp_path / f"two_{mode.replace(' ', '_')}.py"
    path.write_text(TWO_PAIRS.replace('MODE = "ok"', f"MODE = {mode!r}"))
    module = load_strategy_module(path)
    end = START + datetime.timedelta(days=2)
    data = synthetic_market(
        list(module.trading_pairs), chain_id=31337, start=START, end=end, base_bucket=TimeBucket.h4, seed=3
    )
    bt = prepare_backtest(module, data, BacktestConfig(start=START, end=end))
    state = bt.run()
    return state, bt


def test_a_backtest_records_one_point_per_cycle_on_each_pairs_chart(tmp_path: Path) -> None:
    state, bt = run_two_pairs(tmp_path)
    ind = state.plots
    weth, wbtc = (bt.universe.get_pair_by_ticker(t) for t in ("WETH-USDC", "WBTC-USDC"))
    sma_weth = ind.series[f"SMA 3@{weth.key}"]
    assert sma_weth.colour == "orange" and sma_weth.ticker == "WETH-USDC"
    assert ind.series[f"SMA 3@{wbtc.key}"].colour == PALETTE[1]
    cycles = bt.cycles
    # 4h candles: three have closed from the cycle at 12:00 on
    recorded = [datetime.datetime.fromtimestamp(t, UTC) for t in ind.times]
    assert recorded == [c for c in cycles if c >= hour(12)]
    closes = bt.universe.all_candles(weth)["close"].to_numpy()
    for (_, value), at in zip(sma_weth.points(ind.times), recorded, strict=True):
        n = int((at - START) / datetime.timedelta(hours=4))
        assert value == pytest.approx(closes[n - 3 : n].mean(), rel=1e-12)
    assert list(ind.panes()) == ["Spread"]


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("nan", "Plot 'SMA 3': nan is not a finite number"),
        ("no pair", r"the universe has 2 pairs \(WETH-USDC, WBTC-USDC\), so say which price chart"),
        ("bad colour", "colour 'blurple' is not a CSS colour"),
        ("both", "give pair= .* or pane= .*, not both"),
        ("unknown pair", "Pair DOGE-USDC is not in the trading universe"),
    ],
)
def test_bad_plot_calls_stop_the_backtest_at_the_strategy_line(tmp_path: Path, mode, message) -> None:
    from tradeexecutor.strategy.user_code import StrategyRuntimeError

    with pytest.raises(StrategyRuntimeError, match=message) as raised:
        run_two_pairs(tmp_path, mode)
    text = str(raised.value)
    assert "Traceback" not in text and f"two_{mode.replace(' ', '_')}.py:" in text


def test_example_strategies_record_their_plots_and_the_cli_says_what_is_wrong(tmp_path: Path) -> None:
    module = load_strategy_module(STRATEGIES / "sma_crossover.py")
    end = START + datetime.timedelta(hours=6)
    data = synthetic_market(["WETH-USDC"], chain_id=31337, start=START, end=end, base_bucket=TimeBucket.m1)
    state = prepare_backtest(module, data, BacktestConfig(start=START, end=end)).run()
    names = sorted(s.name for s in state.plots.series.values())
    assert names == ["fast SMA", "slow SMA"]
    assert len(state.plots.times) == 6 * 60 - (module.parameters["slow"] + 1)  # from slow + 1 candles on

    bad = tmp_path / "bad.py"
    bad.write_text(TWO_PAIRS.replace('MODE = "ok"', 'MODE = "nan"'))
    result = subprocess.run(
        [str(EXECUTABLE), "backtest", "--strategy-file", str(bad), "--synthetic-data",
         "--backtest-start", "2024-01-01", "--backtest-end", "2024-01-03",
         "--state-file", str(tmp_path / "bad.json")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1
    assert "Plot 'SMA 3': nan is not a finite number" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_recorder_moved_from_cycle_to_cycle_checks_every_call_that_can_go_wrong() -> None:
    """One `StrategyInput` serves a whole backtest; its recorder remembers the series it stored
    and skips the checks that cannot change, but never the value, the time, a new colour or
    another state."""
    from tradeexecutor.strategy.module import ExecutionMode, StrategyInput
    from tradeexecutor.strategy.plots import PlotError

    end = START + datetime.timedelta(days=1)
    data = synthetic_market(["WETH-USDC"], chain_id=31337, start=START, end=end, base_bucket=TimeBucket.h1)
    universe = data.create_universe(reserve_currency="USDC", time_bucket=TimeBucket.h1)
    module = load_strategy_module(STRATEGIES / "sma_crossover.py")
    state = State(strategy_id="x")
    input = StrategyInput(
        cycle=1,
        universe=universe.view(hour(1)),
        state=state,
        pricing_model=None,
        position_manager=None,
        parameters={},
        execution_mode=ExecutionMode.backtest,
        cycle_duration=module.cycle_duration,
    )
    assert input.plots is input.plots  # one recorder per input
    for cycle in range(1, 4):  # the backtester's way: the same input, moved on
        input.cycle, input.universe = cycle, universe.view(hour(cycle))
        input.plots.record("fast SMA", 100.0 + cycle, pair="WETH-USDC", colour="Orange")
        input.plots.record("fast SMA", 200.0 + cycle, pair="WETH-USDC", colour="Orange")  # latest wins
        input.plots.record("RSI", 50 + cycle, pane="RSI")
    fast = state.plots.series[f"fast SMA@{universe.pairs[0].key}"]
    assert fast.values == [201.0, 202.0, 203.0] and fast.colour == "orange"
    assert state.plots.times == [int(hour(n).timestamp()) for n in (1, 2, 3)]
    before = msgspec.json.encode(state.plots)

    input.cycle, input.universe = 4, universe.view(hour(4))
    for call, message in [
        (lambda: input.plots.record("fast SMA", math.nan, pair="WETH-USDC", colour="Orange"), "not a finite"),
        (lambda: input.plots.record("RSI", "55", pane="RSI"), "'55' is not a number"),
        (
            lambda: input.plots.record("fast SMA", 1.0, pair="WETH-USDC", colour="red"),
            "cannot change to 'red'",
        ),
        (lambda: input.plots.record("RSI", 1.0, pane="RSI", colour=["red"]), "colour must be a string"),
        (lambda: input.plots.record("RSI", 1.0, pane=["RSI"]), "pane must be a string"),
    ]:
        with pytest.raises(PlotError, match=message):
            call()
        assert msgspec.json.encode(state.plots) == before, message
    input.cycle, input.universe = 5, universe.view(hour(0))  # a clock that went back
    with pytest.raises(PlotError, match="before the last recorded cycle"):
        input.plots.record("RSI", 1.0, pane="RSI")
    assert msgspec.json.encode(state.plots) == before

    input.state = other = State(strategy_id="y")  # another state: nothing remembered applies
    input.cycle, input.universe = 6, universe.view(hour(6))
    input.plots.record("RSI", 42.0, pane="RSI")
    assert other.plots.series["RSI"].values == [42.0] and msgspec.json.encode(state.plots) == before
