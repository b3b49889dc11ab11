"""On-chain candles behind the CandleSource protocol, and pairs from a deployment, for a live MarketData."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.chain_helpers import move_market
from tradeexecutor.data.candles import CandleDataError
from tradeexecutor.data.source import CandleSource
from tradeexecutor.data.time_bucket import TimeBucket
from tradeexecutor.errors import UserError
from tradeexecutor.execution.live.market_data import (
    LiveCandleSource,
    pairs_for_exchange,
    pairs_from_deployment_file,
    parse_token_addresses,
)
from tradeexecutor.strategy.market_data import MarketData


def test_live_candles_feed_a_market_data_universe(eth, tmp_path) -> None:
    pairs = pairs_from_deployment_file(eth.devchain.deployment)
    assert {p.ticker for p in pairs} == {"WETH-USDC", "DEV-USDC", "DEV-WETH"}
    source = LiveCandleSource(
        eth.web3, pairs, cache_dir=tmp_path, start_block=eth.devchain.deployment.deployed_at_block
    )
    assert isinstance(source, CandleSource)
    assert source.refresh(datetime.now(UTC)) is None  # nothing scanned, nothing known

    move_market(eth.devchain, "USDC", "WETH", 10_000 * 10**6)
    data = MarketData(source, pairs)
    universe = data.create_universe(
        reserve_currency="USDC", time_bucket="1h", pairs=["WETH-USDC", "DEV-USDC"]
    )
    weth = universe.series("WETH-USDC").frame
    assert len(weth) == 1 and 1990 < weth["close"].iloc[-1] < 2100
    assert len(universe.series("DEV-USDC")) == 0  # no swaps there yet

    now = datetime.now(UTC)
    newest = source.refresh(now)
    assert newest is not None and now - newest < timedelta(hours=1)
    weekly = source.load_candles(pairs[0], TimeBucket.d7)
    assert len(weekly) == 1 and weekly.index[0].weekday() == 0  # weeks start on Mondays
    assert TimeBucket.d7.is_aligned(weekly.index[0].to_pydatetime())

    later = weth.index[-1] + timedelta(hours=1)
    assert source.load_candles(pairs[0], TimeBucket.h1, start=later).empty


def test_unknown_pair_and_bad_token_list(eth, tmp_path) -> None:
    pairs = pairs_from_deployment_file(eth.devchain.deployment)
    source = LiveCandleSource(eth.web3, pairs[:1], cache_dir=tmp_path)
    with pytest.raises(CandleDataError, match=f"Pair {pairs[1].ticker} .* is not scanned on chain"):
        source.load_candles(pairs[1], TimeBucket.h1)
    with pytest.raises(UserError, match="is not SYMBOL=0xADDRESS"):
        parse_token_addresses("USDC:0x1234")
    tokens = {s: t.address for s, t in eth.devchain.deployment.tokens.items()}
    assert parse_token_addresses(" usdc=0xA , WETH=0xB ") == {"USDC": "0xA", "WETH": "0xB"}
    built = pairs_for_exchange(eth.web3, eth.deployment, ["WETH-USDC"], tokens)
    assert built[0].pool_address == eth.pairs["WETH-USDC"].pool_address
    with pytest.raises(UserError, match="The address of token FOO .* add FOO=0x... to --token-addresses"):
        pairs_for_exchange(eth.web3, eth.deployment, ["FOO-USDC"], tokens)


def test_weekly_candles_start_on_mondays_whatever_day_the_data_starts() -> None:
    import pandas as pd

    from tradeexecutor.execution.live.market_data import to_weekly

    days = pd.date_range("2024-01-03", periods=10, freq="1D", tz="UTC", name="timestamp")  # from a Wednesday
    daily = pd.DataFrame(
        {"open": range(10), "high": range(10), "low": range(10), "close": range(10), "volume": [1.0] * 10},
        index=days,
        dtype="float64",
    )
    weekly = to_weekly(daily)
    assert [str(t.date()) for t in weekly.index] == ["2024-01-01", "2024-01-08"]
    assert weekly["open"].tolist() == [0.0, 5.0] and weekly["close"].tolist() == [4.0, 9.0]
    assert weekly["volume"].tolist() == [5.0, 5.0]
