"""The example module in docs/strategy.md loads and builds its universe: the docs stay true."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

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
        trades = module.decide_trades(
            StrategyInput(
                timestamp=pd.Timestamp(ts),
                cycle=number,
                universe=universe.view(ts),
                state=None,
                pricing_model=None,
                position_manager=None,
                parameters=module.parameters,
                execution_mode=ExecutionMode.backtest,
                cycle_duration=module.cycle_duration,
            )
        )
        assert trades == []
