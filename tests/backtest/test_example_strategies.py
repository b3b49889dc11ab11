"""The example strategies in strategies/ backtest correctly on synthetic markets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np

from tests.state.factories import ledger_matches_holdings
from tradeexecutor.backtest.engine import BacktestConfig, prepare_backtest
from tradeexecutor.backtest.market import make_pair, synthetic_market
from tradeexecutor.data.synthetic import SyntheticCandleSource
from tradeexecutor.data.time_bucket import TimeBucket
from tradeexecutor.state.trade import TradeType
from tradeexecutor.strategy.loader import load_strategy_module
from tradeexecutor.strategy.market_data import MarketData

STRATEGIES = Path(__file__).resolve().parents[2] / "strategies"
START = datetime(2024, 1, 1, tzinfo=UTC)


def test_sma_crossover_enters_only_on_a_crossover_and_always_carries_a_stop() -> None:
    module = load_strategy_module(STRATEGIES / "sma_crossover.py")
    assert (module.chain_id, module.reserve_currency, module.trading_pairs) == (31337, "USDC", ("WETH-USDC",))
    assert module.time_bucket is TimeBucket.m1
    end = START + timedelta(days=2)
    data = synthetic_market(
        ["WETH-USDC"], chain_id=31337, start=START, end=end, base_bucket=TimeBucket.m1, seed=7
    )
    bt = prepare_backtest(module, data, BacktestConfig(start=START, end=end))
    state = bt.run()

    positions = list(state.portfolio.all_positions())
    assert len(positions) > 10
    assert ledger_matches_holdings(state)
    closes = bt.universe.all_candles("WETH-USDC")["close"].to_numpy()
    fast, slow = module.parameters["fast"], module.parameters["slow"]
    for position in positions:
        buy = next(iter(position.trades.values()))
        n = int((buy.executed_at - START) / timedelta(minutes=1))  # candles visible at the cycle
        seen = closes[:n]
        assert seen[-fast:].mean() > seen[-slow:].mean(), "bought without fast above slow"
        assert seen[-fast - 1 : -1].mean() <= seen[-slow - 1 : -1].mean(), "bought without a crossover"
        assert position.stop_loss == buy.executed_price * Decimal("0.97")


def test_sma_crossover_takes_its_pair_from_whatever_market_data_offers() -> None:
    """Like the devchain: several pools, real-looking decimals; the strategy picks WETH-USDC."""
    pairs = [make_pair(31337, t, "uniswap-v2") for t in ("WETH-USDC", "DEV-USDC", "DEV-WETH")]
    end = START + timedelta(hours=3)
    source = SyntheticCandleSource(
        pairs, start=START, end=end, base_bucket=TimeBucket.m1, start_prices={"WETH-USDC": 2000}
    )
    module = load_strategy_module(STRATEGIES / "sma_crossover.py")
    bt = prepare_backtest(
        module, MarketData(source, pairs, start=START, end=end), BacktestConfig(start=START, end=end)
    )
    assert bt.universe.pairs == (pairs[0],)
    assert bt.universe.reserve_asset.decimals == 6
    bt.run()
    assert bt.state.cycle.completed_count == 180


def test_two_pair_momentum_rotates_between_both_pairs_with_hourly_stops() -> None:
    module = load_strategy_module(STRATEGIES / "two_pair_momentum.py")
    end = START + timedelta(days=90)
    data = synthetic_market(
        module.trading_pairs,
        chain_id=module.chain_id,
        start=START,
        end=end,
        base_bucket=TimeBucket.h1,
        seed=6,
    )
    bt = prepare_backtest(module, data, BacktestConfig(start=START, end=end))
    state = bt.run()
    positions = sorted(state.portfolio.all_positions(), key=lambda p: p.position_id)
    assert {p.pair.ticker for p in positions} == {"WETH-USDC", "WBTC-USDC"}
    assert ledger_matches_holdings(state)

    # never two positions at once: each opens after the previous one closed
    for before, after in zip(positions, positions[1:], strict=False):
        assert before.closed_at is not None and before.closed_at <= after.opened_at

    # decisions on the 4h grid, stops on the hourly candles in between
    for trade in state.portfolio.all_trades():
        offset = (trade.executed_at - START) / timedelta(hours=1)
        if trade.trade_type == TradeType.stop_loss:
            assert offset == int(offset)
        else:
            assert offset % 4 == 0
    stops = [t for t in state.portfolio.all_trades() if t.trade_type == TradeType.stop_loss]
    assert stops and any((t.executed_at - START) / timedelta(hours=1) % 4 for t in stops)
    assert np.isfinite(float(state.portfolio.total_equity()))
