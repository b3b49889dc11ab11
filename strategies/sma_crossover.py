"""SMA crossover on one pair, with a stop loss: the demo strategy, backtest and live alike.

Buys when the fast simple moving average of closes crosses above the slow one and sells when
it falls back below; every position carries a stop loss. The pair, the windows and the stop
are PARAMETERS, so the same file runs on 1-minute candles of the local devchain's WETH-USDC
pool and on hourly candles in a backtest (`--backtest-candle-time-frame-override 1h`).

The moving averages are computed once per run in `create_indicators` (vectorised, one value
per candle) and read point in time from `decide_trades`: live, they are computed from the
candles the cycle has, with the same numbers for the same candles.

The universe comes from whatever market data the run offers (`input.create_universe()`):
synthetic or file candles in a backtest, on-chain candles live; the pair's addresses and
decimals come from there too. See docs/backtesting.md.
"""

from tradeexecutor.state.identifiers import ChainId
from tradeexecutor.strategy.cycle import CycleDuration

TRADING_STRATEGY_ENGINE_VERSION = "0.1"
TRADING_STRATEGY_CYCLE = CycleDuration.cycle_1m
RESERVE_CURRENCY = "USDC"
CHAIN_ID = ChainId.anvil  # 31337: the local devchain
TRADING_PAIRS = ["WETH-USDC"]

PARAMETERS = {
    "fast": 3,  # candles in the fast moving average
    "slow": 8,  # candles in the slow moving average: the first trade can come 9 candles in
    "allocation": 0.9,  # share of free cash put into a position
    "stop_loss_pct": 0.97,  # stop at 97 % of the entry price
}

NAME = "WETH-USDC SMA crossover"
SHORT_DESCRIPTION = "Long WETH while its fast moving average is above the slow one, with a stop loss."


def create_trading_universe(input):
    return input.create_universe()


def create_indicators(input):
    close = input.close
    return {
        "fast": close.rolling(input.parameters["fast"]).mean(),
        "slow": close.rolling(input.parameters["slow"]).mean(),
    }


def decide_trades(input):
    parameters = input.parameters
    pair = input.universe.get_pair_by_ticker(TRADING_PAIRS[0])
    indicators = input.indicators
    fast_before, slow_before = indicators.get("fast", pair, ago=1), indicators.get("slow", pair, ago=1)
    if slow_before is None:
        return []  # warming up: not enough candles for both averages yet
    fast_now, slow_now = indicators.get("fast", pair), indicators.get("slow", pair)

    # drawn on the pair's price chart in the dashboard and the backtest report: the very
    # values the crossover below compares
    input.plots.record("fast SMA", fast_now, pair=pair, colour="#f59e0b")
    input.plots.record("slow SMA", slow_now, pair=pair, colour="#7c3aed")

    pm = input.position_manager
    position = pm.get_current_position_for_pair(pair)
    if position is None and fast_before <= slow_before and fast_now > slow_now:
        cash = input.state.portfolio.free_cash()
        return pm.open_1x_long(
            pair,
            float(cash) * parameters["allocation"],
            stop_loss_pct=parameters["stop_loss_pct"],
            notes="fast SMA crossed above slow SMA",
        )
    if position is not None and fast_now < slow_now:
        return pm.close_position(position, notes="fast SMA below slow SMA")
    return []
