"""The examples in the docs run as written."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from tests.test_strategy_docs import example_source
from tradeexecutor.backtest.engine import BacktestConfig, prepare_backtest
from tradeexecutor.backtest.market import synthetic_market
from tradeexecutor.data.time_bucket import TimeBucket
from tradeexecutor.state.trade import TradeType
from tradeexecutor.strategy.loader import load_strategy_module

DOCS = Path(__file__).resolve().parents[2] / "docs"
START = datetime(2024, 1, 1, tzinfo=UTC)


def test_strategy_doc_example_backtests_with_its_stop_losses(tmp_path: Path) -> None:
    path = tmp_path / "sma.py"
    path.write_text(example_source())
    module = load_strategy_module(path)
    end = START + timedelta(days=60)
    data = synthetic_market(
        module.trading_pairs,
        chain_id=module.chain_id,
        start=START,
        end=end,
        base_bucket=TimeBucket.m15,
        seed=2,
    )
    state = prepare_backtest(module, data, BacktestConfig(start=START, end=end)).run()
    positions = list(state.portfolio.all_positions())
    assert len(positions) >= 5
    for p in positions:
        buy = next(iter(p.trades.values()))
        assert p.stop_loss == buy.executed_price * Decimal("0.95")
    stops = [t for t in state.portfolio.all_trades() if t.trade_type == TradeType.stop_loss]
    assert any(t.executed_at.minute for t in stops), "stops are checked on the 15-minute candles"


def test_backtesting_doc_python_example_runs(tmp_path: Path, monkeypatch) -> None:
    text = (DOCS / "backtesting.md").read_text()
    snippet = re.search(r"## From Python\n\n```python\n(.*?)```", text, re.DOTALL).group(1)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "strategies").mkdir()
    source = Path(__file__).resolve().parents[2] / "strategies" / "sma_crossover.py"
    (tmp_path / "strategies" / "sma_crossover.py").write_text(source.read_text())
    namespace: dict = {"Path": Path, "datetime": datetime, "UTC": UTC}
    exec(snippet, namespace)
    outcome = namespace["outcome"]
    assert outcome.state.cycle.completed_count == 7 * 24 * 60
    assert (tmp_path / "state" / "sma_crossover-backtest.json").is_file()
