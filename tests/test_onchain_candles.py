"""Candles from the pools' Swap events: prices, aggregation, cache, incremental and adaptive scans."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from rpc_proxy import RpcProxy, json_rpc_error

from tradeexecutor.data.onchain import OnchainCandleSource, merge_candles
from tradeexecutor.ethereum.connection import create_web3
from tradeexecutor.ethereum.uniswap_v2.execution import UniswapV2SwapExecutor
from tradeexecutor.ethereum.uniswap_v2.routing import ApprovalMode, UniswapV2Routing

USDC = 10**6
HOUR = 3600


@pytest.fixture()
def market(eth):
    """Swaps on WETH-USDC and DEV-WETH at chosen times; returns (start of first hour, outcomes)."""
    # the test moves the chain's clock hours ahead, so give swaps a deadline beyond that
    eth.routing = UniswapV2Routing(eth.web3, eth.deployment, deadline_seconds=10 * HOUR)
    executor = UniswapV2SwapExecutor(eth.pipeline, eth.routing, ApprovalMode.unlimited)
    me = eth.wallet.address
    weth_usdc, dev_weth = eth.pairs["WETH-USDC"], eth.pairs["DEV-WETH"]
    # approvals first, so each timed block below holds exactly one swap
    executor.approve_if_needed(eth.routing.plan_buy(weth_usdc, USDC, me), on_signed=eth.recorded.append)
    first = executor.execute(eth.routing.plan_buy(weth_usdc, 2_000 * USDC, me), on_signed=eth.recorded.append)
    executor.approve_if_needed(eth.routing.plan_sell(weth_usdc, 10**15, me), on_signed=eth.recorded.append)
    executor.approve_if_needed(eth.routing.plan_buy(dev_weth, 1, me), on_signed=eth.recorded.append)
    latest = eth.web3.eth.get_block("latest")["timestamp"]
    hour0 = (latest // HOUR + 2) * HOUR

    def at(offset: int, plan):
        eth.devchain.web3.provider.make_request("evm_setNextBlockTimestamp", [hour0 + offset])
        return executor.execute(plan, on_signed=eth.recorded.append).raise_for_status()

    outcomes = [
        at(600, eth.routing.plan_buy(weth_usdc, 100 * USDC, me)),
        at(1200, eth.routing.plan_buy(weth_usdc, 3_000 * USDC, me)),
        at(3000, eth.routing.plan_sell(weth_usdc, 10**17, me)),
        at(HOUR + 600, eth.routing.plan_buy(weth_usdc, 50 * USDC, me)),
        at(HOUR + 900, eth.routing.plan_buy(dev_weth, 10**17, me)),  # 0.1 WETH of DEV
    ]
    return pd.Timestamp(hour0, unit="s", tz="UTC"), first, outcomes


def test_candles_match_the_executed_swaps(eth, market, tmp_path: Path) -> None:
    hour0, first, (b1, b2, s1, b3, dev_buy) = market
    source = OnchainCandleSource(eth.web3, [eth.pairs["WETH-USDC"], eth.pairs["DEV-WETH"]], tmp_path, "1h")
    candles = source.scan()[eth.pairs["WETH-USDC"].key]
    assert list(candles.columns) == ["open", "high", "low", "close", "volume"]
    assert str(candles.index.tz) == "UTC" and candles.index.name == "timestamp"
    assert list(candles.index[-2:]) == [hour0, hour0 + pd.Timedelta(hours=1)]
    hour = candles.loc[hour0]
    prices = [float(o.executed_price) for o in (b1, b2, s1)]
    assert hour["open"] == pytest.approx(prices[0], rel=1e-12)
    assert hour["high"] == pytest.approx(max(prices), rel=1e-12)
    assert hour["low"] == pytest.approx(min(prices), rel=1e-12)  # the sell, below mid
    assert hour["close"] == pytest.approx(prices[2], rel=1e-12)
    volume = sum(eth.assets["USDC"].to_decimal(o.reserve_amount) for o in (b1, b2, s1))
    assert hour["volume"] == pytest.approx(float(volume), rel=1e-12)
    assert candles.loc[hour0 + pd.Timedelta(hours=1), "close"] == pytest.approx(
        float(b3.executed_price), rel=1e-12
    )
    assert len(candles) == 3  # the untimed first buy sits in an earlier hour

    # DEV-WETH: both 18 decimals, price in WETH per DEV whichever token is token0
    dev = source.candles()[eth.pairs["DEV-WETH"].key]
    assert len(dev) == 1
    assert dev.iloc[0]["close"] == pytest.approx(float(dev_buy.executed_price), rel=1e-12)
    assert Decimal("0.0025") < dev_buy.executed_price < Decimal("0.0026")


def test_cache_files_and_incremental_scan(eth, market, tmp_path: Path) -> None:
    hour0, _, _ = market
    pair = eth.pairs["WETH-USDC"]
    source = OnchainCandleSource(eth.web3, [pair], tmp_path, "1h")
    full = source.scan()[pair.key]
    last = eth.web3.eth.block_number
    progress = json.loads(next(tmp_path.glob("*.json")).read_text())
    assert progress["last_scanned_block"] == last and progress["pair"] == "WETH-USDC"
    assert len(list(tmp_path.glob("*.parquet"))) == 1

    # new trades in the last cached hour and the next one
    executor = UniswapV2SwapExecutor(eth.pipeline, eth.routing, ApprovalMode.unlimited)
    eth.devchain.web3.provider.make_request(
        "evm_setNextBlockTimestamp", [int(hour0.timestamp()) + HOUR + 1800]
    )
    late = executor.execute(
        eth.routing.plan_buy(pair, 3_000 * USDC, eth.wallet.address), on_signed=eth.recorded.append
    )
    with RpcProxy(eth.devchain.rpc_url) as proxy:
        web3 = create_web3(31337, {"JSON_RPC_ANVIL": proxy.url}, check_chain=False)
        again = OnchainCandleSource(
            web3, [pair], tmp_path, "1h"
        )  # a fresh process: state from the cache only
        updated = again.scan()[pair.key]
        ranges = [
            r["params"][0] for r in proxy.requests if isinstance(r, dict) and r["method"] == "eth_getLogs"
        ]
    assert [int(r["fromBlock"], 16) for r in ranges] == [last + 1]  # only the new blocks
    assert again.stats.swaps == 1
    merged_hour = updated.loc[hour0 + pd.Timedelta(hours=1)]
    assert merged_hour["open"] == full.loc[hour0 + pd.Timedelta(hours=1), "open"]  # old open kept
    assert merged_hour["close"] == pytest.approx(float(late.executed_price), rel=1e-12)
    assert merged_hour["high"] == pytest.approx(float(late.executed_price), rel=1e-12)
    assert merged_hour["volume"] == pytest.approx(50 + 3_000, rel=1e-12)
    pd.testing.assert_frame_equal(updated.iloc[:-1], full.iloc[:-1])


def test_too_many_results_shrinks_the_block_range(eth, market, tmp_path: Path) -> None:
    pair = eth.pairs["WETH-USDC"]
    reference = OnchainCandleSource(eth.web3, [pair], tmp_path / "direct", "1h").scan()[pair.key]

    def limit(payload):
        if isinstance(payload, dict) and payload["method"] == "eth_getLogs":
            query = payload["params"][0]
            if int(query["toBlock"], 16) - int(query["fromBlock"], 16) + 1 > 4:
                return json_rpc_error(payload, -32005, "query returned more than 10000 results")
        return None

    with RpcProxy(eth.devchain.rpc_url) as proxy:
        proxy.rule = limit
        web3 = create_web3(31337, {"JSON_RPC_ANVIL": proxy.url}, check_chain=False)
        source = OnchainCandleSource(web3, [pair], tmp_path / "limited", "1h", chunk_size=1000)
        limited = source.scan()[pair.key]
    assert source.stats.shrinks >= 8  # 1000 -> 500 -> ... -> 3
    pd.testing.assert_frame_equal(limited, reference)


def test_block_timestamps_are_batched_and_cached(eth, market, tmp_path: Path) -> None:
    with RpcProxy(eth.devchain.rpc_url) as proxy:
        web3 = create_web3(31337, {"JSON_RPC_ANVIL": proxy.url}, check_chain=False)
        source = OnchainCandleSource(web3, [eth.pairs["WETH-USDC"]], tmp_path, "1h")
        blocks = set(range(1, 11))
        first = source.block_timestamps(blocks)
        requests_after_first = len(proxy.requests)
        assert source.block_timestamps(blocks) == first
        assert len(proxy.requests) == requests_after_first == 1  # one batch, then the cache
    assert all(first[b] <= first[b + 1] for b in range(1, 10))


def test_merge_keeps_open_and_sums_volume() -> None:
    index = pd.DatetimeIndex([pd.Timestamp("2024-01-01", tz="UTC")], name="timestamp")
    old = pd.DataFrame(
        {"open": [1.0], "high": [3.0], "low": [1.0], "close": [2.0], "volume": [10.0]}, index=index
    )
    new = pd.DataFrame(
        {"open": [2.5], "high": [2.5], "low": [0.5], "close": [0.7], "volume": [5.0]}, index=index
    )
    row = merge_candles(old, new).iloc[0]
    assert list(row) == [1.0, 3.0, 0.5, 0.7, 15.0]
