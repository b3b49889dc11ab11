"""Momentum rotation between two pairs, with stop losses checked on hourly candles.

Every 4 hours: measure each pair's return over the last `lookback` candles (an indicator,
computed once per run in `create_indicators`), and hold the
pair with the strongest momentum if it beats `min_momentum`; otherwise hold cash. When the
leader changes, the old position is sold this cycle and the new one bought at the next
(a buy can only spend cash the wallet already has, not proceeds of a sell still in flight).
Every position carries a stop loss, checked between cycles on 1h candles.

Backtest it with synthetic data:

    trade-executor backtest --strategy-file strategies/two_pair_momentum.py \
        --backtest-start 2024-01-01 --backtest-end 2024-07-01 --synthetic-data
"""

from tradeexecutor.state.identifiers import ChainId
from tradeexecutor.strategy.cycle import CycleDuration

TRADING_STRATEGY_ENGINE_VERSION = "0.1"
TRADING_STRATEGY_CYCLE = CycleDuration.cycle_4h
CANDLE_TIME_BUCKET = "4h"
STOP_LOSS_TIME_BUCKET = "1h"
RESERVE_CURRENCY = "USDC"
CHAIN_ID = ChainId.anvil
TRADING_PAIRS = ["WETH-USDC", "WBTC-USDC"]

PARAMETERS = {
    "lookback": 6,  # candles (6 x 4h = one day) over which momentum is measured
    "min_momentum": 0.01,  # hold nothing unless the leader gained at least 1 %
    "allocation": 0.95,  # share of free cash put into the position
    "stop_loss_pct": 0.95,  # stop at 95 % of the entry price
}

NAME = "WETH / WBTC momentum rotation"
SHORT_DESCRIPTION = "Holds whichever of WETH and WBTC has the stronger one-day momentum, or cash."


def create_trading_universe(input):
    return input.create_universe()


def create_indicators(input):
    """Momentum: the return over the last `lookback` candles (NaN while there is too little
    history), computed once per run from each pair's closes."""
    close = input.close
    return {"momentum": close / close.shift(input.parameters["lookback"]) - 1}


def decide_trades(input):
    parameters = input.parameters
    universe = input.universe
    pm = input.position_manager

    scores = {}
    for pair in universe.pairs:
        score = input.indicators.get("momentum", pair)
        if score is not None:
            scores[pair.key] = (score, pair)
            # one pane below the price charts compares both pairs' momentum with the threshold
            input.plots.record(f"{pair.base.symbol} momentum %", score * 100, pane="Momentum %")
    if not scores:
        return []
    input.plots.record("threshold %", parameters["min_momentum"] * 100, pane="Momentum %", colour="gray")
    best_score, best_pair = max(scores.values(), key=lambda item: item[0])
    wanted = best_pair if best_score >= parameters["min_momentum"] else None

    trades = []
    for position in list(input.state.portfolio.open_positions.values()):
        if wanted is None or position.pair.key != wanted.key:
            trades += pm.close_position(
                position, notes=f"momentum leader is now {wanted.ticker if wanted else 'cash'}"
            )
    if trades or wanted is None or pm.get_current_position_for_pair(wanted) is not None:
        return trades  # rotate in at the next cycle, once the sale has settled

    cash = input.state.portfolio.free_cash()
    return pm.open_1x_long(
        wanted,
        float(cash) * parameters["allocation"],
        stop_loss_pct=parameters["stop_loss_pct"],
        notes=f"momentum {best_score:.2%}",
    )
