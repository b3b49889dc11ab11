"""The trading universe and its per-cycle view: a strategy sees the past and only the past."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tradeexecutor.data.synthetic import SyntheticCandleSource, generate_candles, synthetic_pairs
from tradeexecutor.data.time_bucket import TimeBucket
from tradeexecutor.errors import UserError
from tradeexecutor.state.identifiers import AssetIdentifier, TradingPairIdentifier
from tradeexecutor.strategy.cycle import CycleDuration
from tradeexecutor.strategy.loader import load_strategy_module
from tradeexecutor.strategy.market_data import MarketData
from tradeexecutor.strategy.module import ExecutionMode, StrategyInput
from tradeexecutor.strategy.universe import TradingUniverse

START = datetime(2024, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def clock_candles(start: datetime, n: int, bucket: TimeBucket) -> pd.DataFrame:
    """Candles whose every price is the candle's own close time in epoch seconds."""
    index = pd.DatetimeIndex([start + i * bucket.timedelta for i in range(n)], name="timestamp").as_unit("ns")
    close_time = (index + bucket.timedelta).asi8 / 1e9
    return pd.DataFrame(
        {"open": close_time, "high": close_time, "low": close_time, "close": close_time, "volume": 1.0},
        index=index,
    )


def universe_of(candles: pd.DataFrame, stop_loss: pd.DataFrame | None = None, **kwargs) -> TradingUniverse:
    (pair,) = synthetic_pairs(1)
    return TradingUniverse(
        reserve_asset=pair.quote,
        pairs=[pair],
        time_bucket=kwargs.get("time_bucket", TimeBucket.h1),
        candles={pair: candles},
        stop_loss_time_bucket=TimeBucket.m15 if stop_loss is not None else None,
        stop_loss_candles={pair: stop_loss} if stop_loss is not None else None,
    )


def test_latest_candle_is_the_last_one_closed() -> None:
    universe = universe_of(clock_candles(START, 48, TimeBucket.h1))
    at_11 = universe.view(utc(2024, 1, 1, 11))
    latest = at_11.latest_candle("WETH-USDC")
    assert latest is not None
    assert latest.timestamp == pd.Timestamp("2024-01-01 10:00", tz="UTC")
    assert latest.close_time == pd.Timestamp("2024-01-01 11:00", tz="UTC")
    assert len(at_11.candles("WETH-USDC")) == 11
    before_11 = universe.view(utc(2024, 1, 1, 10, 59, 59))
    assert before_11.latest_candle("WETH-USDC").timestamp == pd.Timestamp("2024-01-01 09:00", tz="UTC")
    first = universe.view(START)
    assert first.latest_candle("WETH-USDC") is None
    assert first.candles("WETH-USDC").empty
    assert first.latest_close("WETH-USDC") is None
    assert len(first.closes("WETH-USDC")) == 0


def test_no_cycle_ever_sees_an_unclosed_candle() -> None:
    """Prices encode their candle's close time: every visible price must be <= now, and the
    newest must be the candle that closed most recently, at every cycle and between cycles."""
    bucket = TimeBucket.h1
    universe = universe_of(
        clock_candles(START, 24 * 10, bucket), clock_candles(START, 4 * 24 * 10, TimeBucket.m15)
    )
    moments = [START + i * timedelta(minutes=7) for i in range(24 * 10 * 60 // 7 + 20)]
    for view in universe.views(moments):
        now = view.timestamp.timestamp()
        for prices in (
            view.closes("WETH-USDC"),
            view.candles("WETH-USDC")["high"].to_numpy(),
            view.close_series("WETH-USDC").to_numpy(),
            view.stop_loss_candles("WETH-USDC")["high"].to_numpy(),
        ):
            assert (prices <= now).all()
        latest = view.latest_candle("WETH-USDC")
        expected_close = min(view.timestamp.floor("1h"), pd.Timestamp(START + 240 * HOUR))
        if expected_close == pd.Timestamp(START):
            assert latest is None
        else:
            assert latest.close_time == expected_close
            assert latest.close == expected_close.timestamp()
        sl = view.latest_stop_loss_candle("WETH-USDC")
        if sl is not None:
            assert sl.close_time == min(view.timestamp.floor("15min"), pd.Timestamp(START + 240 * HOUR))


STRATEGY = """
import numpy as np
from tradeexecutor.strategy.cycle import CycleDuration

TRADING_STRATEGY_ENGINE_VERSION = "0.1"
TRADING_STRATEGY_CYCLE = CycleDuration.cycle_1h
RESERVE_CURRENCY = "USDC"
CHAIN_ID = 31337
STOP_LOSS_TIME_BUCKET = "15m"
PARAMETERS = {"fast": 5, "slow": 20}
POISON = 1e20
SEEN = []

def create_trading_universe(input):
    return input.create_universe()

def decide_trades(input):
    u = input.universe
    pair = u.get_single_pair()
    frames = [u.candles(pair), u.stop_loss_candles(pair)]
    for frame in frames:
        if (frame[["open", "high", "low", "close", "volume"]].to_numpy() >= POISON).any():
            raise AssertionError(f"saw the future at {input.timestamp}")
    closes = u.closes(pair)
    fast = closes[-input.parameters["fast"]:].mean() if len(closes) >= 20 else None
    slow = u.close_series(pair).iloc[-input.parameters["slow"]:].mean() if len(closes) >= 20 else None
    latest = u.latest_candle(pair)
    SEEN.append((input.timestamp, len(closes), fast, slow, latest, frames[1]["low"].min() if len(frames[1]) else None))
    return []
"""


def run_cycle(module, universe: TradingUniverse, ts: datetime, number: int) -> None:
    module.decide_trades(
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


def poisoned(frame: pd.DataFrame, bucket: TimeBucket, now: datetime) -> pd.DataFrame:
    """The same candles, with every candle not closed at `now` replaced by absurd values."""
    out = frame.copy()
    future = out.index + bucket.timedelta > pd.Timestamp(now)
    out.loc[future, ["open", "high", "low", "close", "volume"]] = [1e30, 1e30, 1e30, 1e30, 1e30]
    return out


def test_strategy_decisions_depend_only_on_the_past(tmp_path: Path) -> None:
    """Run a strategy over real candles and record what it saw each cycle; then re-run every
    cycle on a universe whose not-yet-closed candles are poison. Identical results and no
    poison seen prove that no cycle reads the future."""
    path = tmp_path / "sma_probe.py"
    path.write_text(STRATEGY)
    module = load_strategy_module(path)
    end = START + 10 * 24 * HOUR
    (pair,) = synthetic_pairs(1)
    data = MarketData(
        SyntheticCandleSource([pair], start=START, end=end, seed=11, base_bucket=TimeBucket.m15),
        [pair],
        start=START,
        end=end,
    )
    clean = module.create_trading_universe(
        module.universe_input(timestamp=START, execution_mode="backtest", data=data)
    )
    cycles = list(module.cycle_duration.iterate(START, end + HOUR))
    for i, ts in enumerate(cycles):
        run_cycle(module, clean, ts, i + 1)
    honest = list(module.module.SEEN)
    assert len(honest) == len(cycles) == 241
    assert honest[-1][1] == 240 and honest[30][2] is not None

    module.module.SEEN.clear()
    hourly, quarterly = clean.all_candles(pair), clean.stop_loss_series(pair).frame
    for i, ts in enumerate(cycles):
        universe = TradingUniverse(
            reserve_asset=clean.reserve_asset,
            pairs=[pair],
            time_bucket=TimeBucket.h1,
            candles={pair: poisoned(hourly, TimeBucket.h1, ts)},
            stop_loss_time_bucket=TimeBucket.m15,
            stop_loss_candles={pair: poisoned(quarterly, TimeBucket.m15, ts)},
        )
        run_cycle(module, universe, ts, i + 1)
    assert honest == module.module.SEEN


def test_precomputed_views_match_lazy_views() -> None:
    candles = generate_candles(start=START, end=START + 100 * HOUR, bucket=TimeBucket.h1, seed=2)
    universe = universe_of(candles)
    moments = [START + i * timedelta(minutes=37) for i in range(200)]
    for fast, ts in zip(universe.views(moments), moments, strict=True):
        lazy = universe.view(ts)
        assert fast.timestamp == lazy.timestamp
        assert fast.visible_count("WETH-USDC") == lazy.visible_count("WETH-USDC")
        assert fast.latest_candle("WETH-USDC") == lazy.latest_candle("WETH-USDC")


def test_views_share_memory_and_cannot_alter_the_universe() -> None:
    candles = generate_candles(start=START, end=START + 100 * HOUR, bucket=TimeBucket.h1, seed=2)
    universe = universe_of(candles)
    view = universe.view(START + 50 * HOUR)
    everything = universe.all_candles("WETH-USDC")["close"].to_numpy()
    assert np.shares_memory(view.closes("WETH-USDC"), everything)
    assert np.shares_memory(view.candles("WETH-USDC")["close"].to_numpy(), everything)
    with pytest.raises(ValueError, match="read-only"):
        view.closes("WETH-USDC")[0] = 0.0
    visible = view.candles("WETH-USDC")
    visible.loc[visible.index[0], "close"] = -1.0  # copy-on-write: the strategy's own copy
    assert universe.all_candles("WETH-USDC")["close"].iloc[0] == candles["close"].iloc[0]


def _pair(base: str, quote: str, exchange: str, chain_id: int = 1) -> TradingPairIdentifier:
    def token(symbol: str) -> AssetIdentifier:
        return AssetIdentifier(
            chain_id=chain_id, address=f"0x{symbol.encode().hex():0>40}", symbol=symbol, decimals=18
        )

    pool = f"0x{(base + quote + exchange).encode().hex()[:40]:0>40}"
    return TradingPairIdentifier(
        base=token(base), quote=token(quote), pool_address=pool, exchange_slug=exchange
    )


def test_pair_and_token_lookup() -> None:
    uni, sushi, link = (
        _pair("WETH", "USDC", "uniswap-v2"),
        _pair("WETH", "USDC", "sushi"),
        _pair("LINK", "USDC", "sushi"),
    )
    universe = TradingUniverse(reserve_asset=uni.quote, pairs=[uni, sushi, link], time_bucket="1h")
    assert universe.get_pair_by_ticker("link-usdc") == link
    assert universe.get_pair("WETH", "USDC", exchange_slug="sushi") == sushi
    with pytest.raises(UserError, match=r"several exchanges \(uniswap-v2, sushi\); pass exchange_slug"):
        universe.get_pair_by_ticker("WETH-USDC")
    with pytest.raises(
        UserError,
        match="Pair DOGE-USDC is not in the trading universe; it has WETH-USDC, WETH-USDC, LINK-USDC",
    ):
        universe.get_pair_by_ticker("DOGE-USDC")
    with pytest.raises(UserError, match="has 3 pairs"):
        universe.get_single_pair()
    assert [t.symbol for t in universe.tokens] == ["USDC", "WETH", "LINK"]
    assert universe.get_token("weth") == uni.base
    assert universe.view(START).candles(link).empty, "a pair without candles has none, not an error"


def test_universe_rejects_inconsistent_input() -> None:
    pair, other_chain = _pair("WETH", "USDC", "uniswap-v2"), _pair("WETH", "USDC", "uniswap-v2", chain_id=137)
    with pytest.raises(UserError, match="on chain 137 but the reserve USDC is on chain 1"):
        TradingUniverse(reserve_asset=pair.quote, pairs=[other_chain], time_bucket="1h")
    with pytest.raises(UserError, match="same pair twice"):
        TradingUniverse(reserve_asset=pair.quote, pairs=[pair, pair], time_bucket="1h")
    candles = generate_candles(start=START, end=START + 10 * HOUR, bucket=TimeBucket.h1, seed=2)
    with pytest.raises(UserError, match="not one of its pairs"):
        TradingUniverse(reserve_asset=pair.quote, pairs=[], time_bucket="1h", candles={pair: candles})
    broken = candles.copy()
    broken.loc[broken.index[2], "close"] = np.nan
    with pytest.raises(
        UserError,
        match="The 1h candle data of WETH-USDC has a candle with a missing close at 2024-01-01 02:00",
    ):
        TradingUniverse(reserve_asset=pair.quote, pairs=[pair], time_bucket="1h", candles={pair: broken})
    with pytest.raises(UserError, match="not start on a 4h boundary"):
        TradingUniverse(reserve_asset=pair.quote, pairs=[pair], time_bucket="4h", candles={pair: candles})
    with pytest.raises(ValueError, match="no timezone"):
        TradingUniverse(reserve_asset=pair.quote, pairs=[pair], time_bucket="1h").view(datetime(2024, 1, 1))


def test_market_data_builds_the_universe_from_settings() -> None:
    pairs = synthetic_pairs(3)
    end = START + 48 * HOUR
    data = MarketData(SyntheticCandleSource(pairs, start=START, end=end, seed=1), pairs, start=START, end=end)
    universe = data.create_universe(
        reserve_currency="USDC", time_bucket=CycleDuration.cycle_4h, pairs=["WBTC-USDC"]
    )
    assert [p.ticker for p in universe.pairs] == ["WBTC-USDC"]
    assert universe.reserve_asset.symbol == "USDC"
    assert len(universe.all_candles("WBTC-USDC")) == 12
    with pytest.raises(UserError, match="Reserve currency DAI is not a token of the pairs WETH-USDC"):
        data.create_universe(reserve_currency="DAI", time_bucket="1h", pairs=["WETH-USDC"])
    with pytest.raises(
        UserError,
        match="Pair PEPE-USDC is not available; the market data has WETH-USDC, WBTC-USDC, LINK-USDC",
    ):
        data.create_universe(reserve_currency="USDC", time_bucket="1h", pairs=["PEPE-USDC"])
