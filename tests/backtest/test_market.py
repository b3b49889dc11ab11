"""Where backtest candles come from: candle files (one file or the cache layout), synthetic markets."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.backtest.helpers import HAND_CANDLES, START, write
from tradeexecutor.backtest.market import file_market, synthetic_market
from tradeexecutor.data.candles import resample_candles
from tradeexecutor.data.files import read_candle_file, write_candle_file
from tradeexecutor.data.time_bucket import TimeBucket
from tradeexecutor.errors import UserError

END = START + timedelta(hours=10)


def test_a_single_file_names_its_pair_and_width(tmp_path: Path) -> None:
    path = write(tmp_path / "WETH-USDC-1h.csv", HAND_CANDLES)
    data = file_market(path, chain_id=137, start=START, end=END)
    [pair] = data.pairs
    assert (pair.ticker, pair.chain_id, pair.base.decimals, pair.quote.decimals) == ("WETH-USDC", 137, 18, 6)
    assert len(data.load_candles(pair, "1h")) == 10


def test_wider_candles_are_aggregated_from_finer_files(tmp_path: Path) -> None:
    path = write(tmp_path / "WETH-USDC-1h.csv", HAND_CANDLES)
    data = file_market(path, chain_id=1, start=START, end=END)
    four_hourly = data.load_candles("WETH-USDC", "4h")
    expected = resample_candles(read_candle_file(path), TimeBucket.h4)
    assert four_hourly.equals(expected)
    assert list(four_hourly["high"]) == [111.0, 112.0, 100.0]
    with pytest.raises(UserError, match="no 15m candles for WETH-USDC and none finer to build them from"):
        data.load_candles("WETH-USDC", "15m")


def test_a_cache_directory_is_discovered_per_chain(tmp_path: Path) -> None:
    candles = read_candle_file(write(tmp_path / "WETH-USDC-1h.csv", HAND_CANDLES))
    root = tmp_path / "cache"
    write_candle_file(candles, root / "1" / "uniswap-v2" / "WETH-USDC-1h.parquet")
    write_candle_file(candles.iloc[:3], root / "1" / "uniswap-v2" / "WETH-USDC-1h.csv")  # Parquet wins
    write_candle_file(candles, root / "1" / "sushi" / "WBTC-USDC-1h.csv")
    write_candle_file(candles, root / "137" / "quickswap" / "WMATIC-USDC-1h.csv")  # other chain
    (root / "1" / "uniswap-v2" / "notes.txt").write_text("not candles")
    data = file_market(root, chain_id=1, start=START, end=END)
    assert sorted((p.ticker, p.exchange_slug) for p in data.pairs) == [
        ("WBTC-USDC", "sushi"),
        ("WETH-USDC", "uniswap-v2"),
    ]
    assert next(p for p in data.pairs if p.ticker == "WBTC-USDC").base.decimals == 8
    assert len(data.load_candles("WETH-USDC", "1h")) == 10


def test_unusable_candle_locations_are_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="does not exist; check --candle-data"):
        file_market(tmp_path / "nope", chain_id=1, start=START, end=END)
    with pytest.raises(UserError, match="is not named BASE-QUOTE-BUCKET.csv"):
        file_market(write(tmp_path / "prices.csv", HAND_CANDLES), chain_id=1, start=START, end=END)
    with pytest.raises(UserError, match="No candle files for chain 5 under"):
        file_market(tmp_path, chain_id=5, start=START, end=END)


def test_synthetic_market_uses_familiar_start_prices() -> None:
    data = synthetic_market(
        ["WETH-USDC", "ABC-USDC"], chain_id=31337, start=START, end=END, base_bucket=TimeBucket.m15, seed=1
    )
    weth = data.load_candles("WETH-USDC", "1h")
    assert len(weth) == 10 and round(weth["open"].iloc[0], 6) == 2000.0
    assert len(data.load_candles("ABC-USDC", "15m")) == 40
