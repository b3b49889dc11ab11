"""The example module in docs/strategy.md loads and builds its universe: the docs stay true."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from tradeexecutor.data.synthetic import SyntheticCandleSource, synthetic_pairs
from tradeexecutor.data.time_bucket import TimeBucket
from tradeexecutor.strategy.loader import load_strategy_module
from tradeexecutor.strategy.market_data import MarketData
from tradeexecutor.strategy.module import ExecutionMode, StrategyInput

DOC = Path(__file__).parent.parent / "docs" / "strategy.md"


def example_source() -> str:
    text = DOC.read_text()
    section = text.split("## A complete example", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "docs/strategy.md lost its example module"
    return match.group(1)


def test_documented_example_module_loads_and_runs_its_warm_up(tmp_path: Path) -> None:
    path = tmp_path / "sma_example.py"
    path.write_text(example_source())
    module = load_strategy_module(path)
    assert module.chain_id == 1
    assert module.trading_pairs == ("WETH-USDC",)
    assert module.stop_loss_time_bucket is TimeBucket.m15

    start = datetime(2024, 1, 1, tzinfo=UTC)
    end = start + timedelta(days=3)
    pairs = synthetic_pairs(2, chain_id=1)
    source = SyntheticCandleSource(pairs, start=start, end=end, base_bucket=TimeBucket.m15)
    universe = module.create_trading_universe(
        module.universe_input(
            timestamp=start,
            execution_mode=ExecutionMode.backtest,
            data=MarketData(source, pairs, start=start, end=end),
        )
    )
    assert [p.ticker for p in universe.pairs] == ["WETH-USDC"]
    assert len(universe.all_candles("WETH-USDC")) == 72
    assert len(universe.stop_loss_series("WETH-USDC")) == 288

    # Until `slow` candles have closed the example only waits (and needs no position manager).
    for number, ts in enumerate(module.cycle_duration.iterate(start, start + timedelta(hours=48)), start=1):
        view = universe.view(ts)
        trades = module.decide_trades(
            StrategyInput(
                timestamp=pd.Timestamp(ts),
                cycle=number,
                universe=view,
                state=None,
                pricing_model=None,
                position_manager=None,
                parameters=module.parameters,
                execution_mode=ExecutionMode.backtest,
                cycle_duration=module.cycle_duration,
                indicators=module.cycle_indicators(view, ExecutionMode.backtest),
            )
        )
        assert trades == []


def test_documented_example_backtests_and_plots_the_averages_it_decided_on(tmp_path: Path) -> None:
    from tradeexecutor.backtest.engine import BacktestConfig, prepare_backtest
    from tradeexecutor.backtest.market import synthetic_market

    path = tmp_path / "sma_example.py"
    path.write_text(example_source())
    module = load_strategy_module(path)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    end = start + timedelta(days=10)
    data = synthetic_market(["WETH-USDC"], chain_id=1, start=start, end=end, base_bucket=TimeBucket.m15)
    backtest = prepare_backtest(module, data, BacktestConfig(start=start, end=end))
    state = backtest.run()
    assert state.portfolio.closed_positions  # it trades

    plots = state.plots
    fast, slow = (s for s in plots.series.values())
    assert (fast.name, fast.colour, slow.name, slow.colour) == ("fast SMA", "orange", "slow SMA", "#7c3aed")
    # the last cycle drew the averages of the last 12 and 48 closed hourly candles
    closes = backtest.universe.all_candles("WETH-USDC")["close"].to_numpy()[:-1]  # the last closes at `end`
    assert plots.times[-1] == int((end - timedelta(hours=1)).timestamp())
    assert fast.values[-1] == pytest.approx(closes[-12:].mean(), rel=1e-12)
    assert slow.values[-1] == pytest.approx(closes[-48:].mean(), rel=1e-12)
