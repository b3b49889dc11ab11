"""Synthetic markets: seeded geometric random walks that look like real OHLCV.

Tests, the demo and benchmarks need candles that are realistic (positive prices, wicks,
volatility clustering is not needed) and exactly reproducible: the same seed gives the same
candles on every machine, for every pair independently of which other pairs are generated.
Each candle is simulated as `substeps` log-normal steps, so high and low are the extremes of a
real path rather than decoration, and wider buckets are aggregated from the finest one so a
strategy's 1h candles and its 15m stop-loss candles describe the same market.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from tradeexecutor.data.candles import (
    CANDLE_COLUMNS,
    INDEX_NAME,
    CandleDataError,
    empty_candles,
    resample_candles,
    select_range,
)
from tradeexecutor.data.time_bucket import TimeBucket, require_utc
from tradeexecutor.state.identifiers import AssetIdentifier, ChainId, TradingPairIdentifier

YEAR = timedelta(days=365)
BASE_SYMBOLS = ("WETH", "WBTC", "LINK", "UNI", "AAVE", "MKR", "CRV", "SNX", "COMP", "LDO")


def _fake_address(*parts: object) -> str:
    return "0x" + hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:40]


def _stable_seed(*parts: object) -> int:
    """A seed that does not depend on Python's per-process hash randomisation."""
    return int.from_bytes(hashlib.sha256(":".join(map(str, parts)).encode()).digest()[:8], "big")


def synthetic_pairs(
    count: int,
    *,
    chain_id: int = ChainId.anvil,
    quote_symbol: str = "USDC",
    quote_decimals: int = 6,
    exchange_slug: str = "synthetic",
) -> list[TradingPairIdentifier]:
    """`count` pairs BASE-USDC with made-up but stable token and pool addresses."""
    quote = AssetIdentifier(
        chain_id=chain_id,
        address=_fake_address("token", chain_id, quote_symbol),
        symbol=quote_symbol,
        decimals=quote_decimals,
    )
    pairs = []
    for i in range(count):
        symbol = BASE_SYMBOLS[i] if i < len(BASE_SYMBOLS) else f"TKN{i + 1}"
        base = AssetIdentifier(
            chain_id=chain_id, address=_fake_address("token", chain_id, symbol), symbol=symbol, decimals=18
        )
        pool = _fake_address("pool", chain_id, exchange_slug, symbol, quote_symbol)
        pairs.append(
            TradingPairIdentifier(base=base, quote=quote, pool_address=pool, exchange_slug=exchange_slug)
        )
    return pairs


def generate_candles(
    *,
    start: datetime,
    end: datetime,
    bucket: TimeBucket,
    seed: int,
    start_price: float = 100.0,
    annual_volatility: float = 0.8,
    annual_drift: float = 0.0,
    daily_volume: float = 1_000_000.0,
    substeps: int = 8,
) -> pd.DataFrame:
    """Candles for every `bucket` with open time in [start, end), in the canonical shape.

    Prices follow a geometric Brownian motion with the given annualised volatility and drift;
    volume (in quote tokens) is log-normal around `daily_volume` scaled to the bucket and
    rises with the size of the candle's move.
    """
    bucket = TimeBucket.parse(bucket)
    first = bucket.ceil(start)
    width = bucket.timedelta
    n = max(0, math.ceil((require_utc(end) - first) / width))
    if n == 0:
        return empty_candles()
    rng = np.random.default_rng(seed)

    dt = width / YEAR / substeps
    sigma = annual_volatility * math.sqrt(dt)
    mu = (annual_drift - 0.5 * annual_volatility**2) * dt
    steps = mu + sigma * rng.standard_normal((n, substeps))
    path = math.log(start_price) + np.cumsum(steps.ravel()).reshape(n, substeps)
    opens = np.empty(n)
    opens[0] = math.log(start_price)
    opens[1:] = path[:-1, -1]
    closes = path[:, -1]
    highs = np.maximum(opens, path.max(axis=1))
    lows = np.minimum(opens, path.min(axis=1))

    candle_sigma = annual_volatility * math.sqrt(width / YEAR)
    move = np.abs(closes - opens) / candle_sigma if candle_sigma > 0 else np.zeros(n)
    volume = daily_volume * (width / timedelta(days=1)) * rng.lognormal(-0.125, 0.5, n) * (0.5 + 0.6 * move)

    # Canonical frames carry no index freq, whatever built them, so they compare equal.
    index = pd.DatetimeIndex(
        pd.date_range(first, periods=n, freq=width, name=INDEX_NAME).as_unit("ns"), freq=None
    )
    data = {
        "open": np.exp(opens),
        "high": np.exp(highs),
        "low": np.exp(lows),
        "close": np.exp(closes),
        "volume": volume,
    }
    return pd.DataFrame(data, index=index, columns=list(CANDLE_COLUMNS))


class SyntheticCandleSource:
    """A `CandleSource` serving a reproducible random market for `pairs` over [start, end).

    Candles are generated at `base_bucket` (the finest width anyone may ask for) when first
    asked for and aggregated for wider buckets; only complete wide buckets are served.
    """

    def __init__(
        self,
        pairs: Sequence[TradingPairIdentifier],
        *,
        start: datetime,
        end: datetime,
        seed: int = 0,
        base_bucket: TimeBucket = TimeBucket.h1,
        start_prices: Mapping[str, float] | None = None,
        annual_volatility: float = 0.8,
        annual_drift: float = 0.0,
    ) -> None:
        self.pairs = {p.key: p for p in pairs}
        self.base_bucket = TimeBucket.parse(base_bucket)
        self.start = self.base_bucket.ceil(start)
        self.end = require_utc(end)
        self.seed = seed
        self.start_prices = dict(start_prices or {})
        self.annual_volatility = annual_volatility
        self.annual_drift = annual_drift
        self._cache: dict[tuple[str, TimeBucket], pd.DataFrame] = {}

    def _start_price(self, pair: TradingPairIdentifier) -> float:
        if pair.ticker in self.start_prices:
            return float(self.start_prices[pair.ticker])
        rng = np.random.default_rng(_stable_seed("price", self.seed, pair.key))
        return float(10 ** rng.uniform(-1, 3.5))

    def _base_candles(self, pair: TradingPairIdentifier) -> pd.DataFrame:
        key = (pair.key, self.base_bucket)
        if key not in self._cache:
            self._cache[key] = generate_candles(
                start=self.start,
                end=self.end,
                bucket=self.base_bucket,
                seed=_stable_seed("walk", self.seed, pair.key),
                start_price=self._start_price(pair),
                annual_volatility=self.annual_volatility,
                annual_drift=self.annual_drift,
            )
        return self._cache[key]

    def _candles(self, pair: TradingPairIdentifier, bucket: TimeBucket) -> pd.DataFrame:
        key = (pair.key, bucket)
        if key in self._cache:
            return self._cache[key]
        width, base = bucket.timedelta, self.base_bucket.timedelta
        if width % base:
            raise CandleDataError(
                f"Synthetic candles are generated at {self.base_bucket.value} and cannot make "
                f"{bucket.value} candles; create the source with a base_bucket that divides {bucket.value}."
            )
        wide = resample_candles(self._base_candles(pair), bucket)
        opens = wide.index
        complete = (opens >= pd.Timestamp(self.start)) & (opens + width <= pd.Timestamp(self.end))
        self._cache[key] = wide.loc[complete]
        return self._cache[key]

    def load_candles(
        self,
        pair: TradingPairIdentifier,
        bucket: TimeBucket,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> pd.DataFrame:
        if pair.key not in self.pairs:
            known = ", ".join(p.ticker for p in self.pairs.values())
            raise CandleDataError(f"The synthetic market has no pair {pair.ticker}; it has {known}.")
        return select_range(self._candles(pair, TimeBucket.parse(bucket)), start, end)
