"""Live market data: on-chain candles behind the `CandleSource` protocol, and pairs from a deployment.

`LiveCandleSource` answers `MarketData.load_candles` from the pools' own Swap events
(`data/onchain.py`): one scanner per time bucket, brought up to the latest block at most once
per new block, cached on disk. Weekly candles are built from daily ones on the Monday grid
every other candle source uses (`data/time_bucket.py`), since the scanner buckets from the
Unix epoch.

`pairs_from_deployment_file` and `pairs_for_exchange` give the `TradingPairIdentifier`s a
live `MarketData` offers to the strategy.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path

import pandas as pd
from web3 import Web3

from tradeexecutor.data.candles import CandleDataError
from tradeexecutor.data.onchain import OnchainCandleSource
from tradeexecutor.data.time_bucket import GRID_ORIGIN, TimeBucket
from tradeexecutor.errors import UserError
from tradeexecutor.ethereum.erc20 import fetch_token
from tradeexecutor.ethereum.uniswap_v2.deployment import UniswapV2DeploymentFile
from tradeexecutor.ethereum.uniswap_v2.deployments import (
    UniswapV2Deployment,
    make_pair,
    pairs_from_file,
    require_pair,
)
from tradeexecutor.state.identifiers import AssetIdentifier, TradingPairIdentifier

DEFAULT_CACHE_DIR = Path("cache/onchain-candles")


class LiveCandleSource:
    """`CandleSource` over the chain's Swap events for a fixed set of pairs."""

    def __init__(
        self,
        web3: Web3,
        pairs: Sequence[TradingPairIdentifier],
        *,
        cache_dir: Path = DEFAULT_CACHE_DIR,
        start_block: int = 0,
        chunk_size: int = 2_000,
    ) -> None:
        self.web3 = web3
        self.pairs = {p.key: p for p in pairs}
        self.cache_dir = Path(cache_dir)
        self.start_block = start_block
        self.chunk_size = chunk_size
        self._scanners: dict[TimeBucket, OnchainCandleSource] = {}
        self._scanned: dict[TimeBucket, tuple[int, dict[str, pd.DataFrame]]] = {}

    def _scanner(self, bucket: TimeBucket) -> OnchainCandleSource:
        if bucket not in self._scanners:
            self._scanners[bucket] = OnchainCandleSource(
                self.web3,
                list(self.pairs.values()),
                cache_dir=self.cache_dir,
                time_bucket=bucket.value.replace("d", "D"),  # pandas deprecates a lower-case day unit
                start_block=self.start_block,
                chunk_size=self.chunk_size,
            )
        return self._scanners[bucket]

    def _candles(self, bucket: TimeBucket) -> dict[str, pd.DataFrame]:
        latest = self.web3.eth.block_number
        scanned = self._scanned.get(bucket)
        if scanned is None or scanned[0] < latest:
            scanned = (latest, self._scanner(bucket).scan(latest))
            self._scanned[bucket] = scanned
        return scanned[1]

    def load_candles(
        self,
        pair: TradingPairIdentifier,
        bucket: TimeBucket,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> pd.DataFrame:
        if pair.key not in self.pairs:
            known = ", ".join(p.ticker for p in self.pairs.values()) or "none"
            raise CandleDataError(
                f"Pair {pair.ticker} ({pair.pool_address}) is not scanned on chain (the deployment has {known}): "
                "add it to the deployment."
            )
        bucket = TimeBucket.parse(bucket)
        if bucket == TimeBucket.d7:
            frame = to_weekly(self._candles(TimeBucket.d1)[pair.key])
        else:
            frame = self._candles(bucket)[pair.key]
        if start is not None:
            frame = frame[frame.index >= pd.Timestamp(start)]
        if end is not None:
            frame = frame[frame.index < pd.Timestamp(end)]
        return frame

    def refresh(self, now: datetime) -> datetime | None:
        """Scan every time bucket in use up to the latest block; when the newest candle closed.

        A candle still in progress counts as closing now (its pool traded recently). None
        when there are no candles at all. Fits the live loop's `MarketRefresh`.
        """
        newest: datetime | None = None
        for bucket in list(self._scanners):
            for frame in self._candles(bucket).values():
                if len(frame):
                    closed = min(frame.index[-1].to_pydatetime() + bucket.timedelta, now)
                    newest = closed if newest is None else max(newest, closed)
        return newest


def to_weekly(daily: pd.DataFrame) -> pd.DataFrame:
    """Daily candles -> weekly candles starting on Mondays (the shared candle grid)."""
    if daily.empty:
        return daily
    origin, week = pd.Timestamp(GRID_ORIGIN), pd.Timedelta(days=7)
    starts = origin + ((daily.index - origin) // week) * week
    weekly = daily.groupby(starts, sort=True).agg(
        open=("open", "first"),
        high=("high", "max"),
        low=("low", "min"),
        close=("close", "last"),
        volume=("volume", "sum"),
    )
    weekly.index.name = "timestamp"
    return weekly


def pairs_from_deployment_file(file: UniswapV2DeploymentFile) -> list[TradingPairIdentifier]:
    """Every pair a deployment file lists (the devchain writes one with its pools)."""
    return list(pairs_from_file(file).values())


def parse_token_addresses(text: str) -> dict[str, str]:
    """`USDC=0xA0b8...,WETH=0xC02a...` -> {symbol: address} (the --token-addresses option)."""
    tokens: dict[str, str] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        symbol, sep, address = item.partition("=")
        if not sep or not symbol.strip() or not address.strip().startswith("0x"):
            raise UserError(
                f"--token-addresses entry {item!r} is not SYMBOL=0xADDRESS: give e.g. USDC=0xA0b8...,WETH=0xC02a...."
            )
        tokens[symbol.strip().upper()] = address.strip()
    return tokens


def pairs_for_exchange(
    web3: Web3,
    deployment: UniswapV2Deployment,
    tickers: Sequence[str],
    token_addresses: Mapping[str, str],
) -> list[TradingPairIdentifier]:
    """Pairs `BASE-QUOTE` on a built-in exchange: tokens read from the chain, pools from CREATE2, checked to exist."""
    if not tickers:
        raise UserError(
            f"A built-in exchange ({deployment.slug}) needs the strategy's TRADING_PAIRS to know which pools to trade."
        )
    tokens: dict[str, AssetIdentifier] = {}

    def token(symbol: str) -> AssetIdentifier:
        key = symbol.upper()
        if key not in tokens:
            if key not in token_addresses:
                raise UserError(
                    f"The address of token {symbol} on {deployment.slug} is unknown: add {symbol}=0x... to "
                    "--token-addresses."
                )
            tokens[key] = fetch_token(web3, token_addresses[key], deployment.chain_id)
        return tokens[key]

    pairs = []
    for ticker in tickers:
        base, sep, quote = ticker.partition("-")
        if not sep or not base or not quote:
            raise UserError(f"Trading pair {ticker!r} is not BASE-QUOTE (e.g. WETH-USDC): fix TRADING_PAIRS.")
        pairs.append(require_pair(web3, make_pair(deployment, token(base), token(quote))))
    return pairs
