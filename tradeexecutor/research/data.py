"""Candles loaded once for many backtests: `CandleSet`.

A sweep runs the same strategy over the same candles hundreds of times. Generating or reading
them once and handing the workers one shared copy (Dask scatters it to each worker once)
takes data loading out of every run. A `CandleSet` is a `CandleSource` over frames already in
memory, so a backtest built on it is the same backtest `trade-executor backtest` runs.

`load_candle_set(module, candles=..., start=..., end=...)` accepts what a notebook has:
`None` (a synthetic market for the strategy's pairs), a path (a candle file or a cache
directory), one DataFrame (the strategy's single pair) or a dict of ticker -> DataFrame at the
strategy's finest candle width (coarser widths are aggregated from it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from tradeexecutor.backtest.market import file_market, make_pair, synthetic_market
from tradeexecutor.data.candles import CandleDataError, resample_candles, select_range, validate_candles
from tradeexecutor.data.source import describe_range
from tradeexecutor.data.time_bucket import TimeBucket
from tradeexecutor.errors import UserError
from tradeexecutor.state.identifiers import TradingPairIdentifier
from tradeexecutor.strategy.market_data import MarketData
from tradeexecutor.strategy.module import StrategyModule


@dataclass(frozen=True)
class CandleSet:
    """Candles in memory: (pair key, bucket) -> canonical frame, over [start, end)."""

    pairs: tuple[TradingPairIdentifier, ...]
    frames: Mapping[tuple[str, str], pd.DataFrame]
    start: datetime
    end: datetime
    description: str

    def load_candles(
        self,
        pair: TradingPairIdentifier,
        bucket: TimeBucket | str,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> pd.DataFrame:
        bucket = TimeBucket.parse(bucket)
        frame = self.frames.get((pair.key, bucket.value))
        if frame is None:
            have = ", ".join(sorted(b for (k, b) in self.frames if k == pair.key)) or "none"
            raise CandleDataError(
                f"The loaded candles have no {bucket.value} candles for {pair.ticker} (they hold {have}); "
                "load the candle set for this strategy's candle widths."
            )
        return select_range(frame, start, end)

    def market_data(self, start: datetime | None = None, end: datetime | None = None) -> MarketData:
        return MarketData(self, self.pairs, start=start or self.start, end=end or self.end)

    @cached_property
    def fingerprint(self) -> str:
        """Changes when any candle changes: part of a sweep run's key."""
        digest = hashlib.sha256(
            f"{self.description}|{self.start.isoformat()}|{self.end.isoformat()}".encode()
        )
        for key in sorted(self.frames):
            frame = self.frames[key]
            digest.update(repr(key).encode())
            digest.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
        return digest.hexdigest()

    def covers(self) -> str:
        return describe_range(self.start, self.end)


def _buckets(module: StrategyModule) -> list[TimeBucket]:
    buckets = [module.time_bucket]
    if module.stop_loss_time_bucket is not None:
        buckets.append(module.stop_loss_time_bucket)
    return buckets


def _materialise(
    market: MarketData, module: StrategyModule, description: str, skip_unusable: bool = False
) -> CandleSet:
    """Every pair's candles at the strategy's widths, in memory. A directory may hold pairs
    at widths the strategy cannot use: `skip_unusable` leaves those out instead of failing."""
    frames: dict[tuple[str, str], pd.DataFrame] = {}
    pairs = []
    for pair in market.pairs:
        loaded = {}
        for bucket in _buckets(module):
            try:
                loaded[(pair.key, bucket.value)] = market.load_candles(pair, bucket)
            except CandleDataError:
                if not skip_unusable:
                    raise
                loaded = {}
                break
        if loaded:
            frames.update(loaded)
            pairs.append(pair)
    assert market.start is not None and market.end is not None
    return CandleSet(tuple(pairs), frames, market.start, market.end, description)


class _FrameSource:
    """Frames given at the finest width; wider widths aggregated on the shared grid."""

    def __init__(self, frames: Mapping[str, pd.DataFrame], finest: TimeBucket) -> None:
        self.frames = frames
        self.finest = finest

    def load_candles(
        self, pair: TradingPairIdentifier, bucket: TimeBucket, start: Any = None, end: Any = None
    ) -> pd.DataFrame:
        frame = validate_candles(
            self.frames[pair.ticker], f"The candles given for {pair.ticker}", self.finest
        )
        if bucket != self.finest:
            frame = resample_candles(frame, bucket)
        return select_range(frame, start, end)


def _frames_range(frames: Mapping[str, pd.DataFrame], bucket: TimeBucket) -> tuple[datetime, datetime]:
    firsts = [f.index[0] for f in frames.values() if len(f)]
    lasts = [f.index[-1] for f in frames.values() if len(f)]
    if not firsts:
        raise UserError("The candles given are empty; pass candles with at least one row.")
    return pd.Timestamp(min(firsts)).to_pydatetime(), (
        pd.Timestamp(max(lasts)) + bucket.timedelta
    ).to_pydatetime()


def load_candle_set(
    module: StrategyModule,
    *,
    candles: Any = None,
    start: datetime | None = None,
    end: datetime | None = None,
    synthetic_seed: int = 0,
) -> CandleSet:
    """Load the candles a run of `module` needs, once (see the module docstring)."""
    if isinstance(candles, CandleSet):
        return candles
    chain = module.chain_id
    if candles is None:
        if start is None or end is None:
            raise UserError("A synthetic market needs a start and an end; pass start= and end=.")
        tickers = module.trading_pairs or (f"WETH-{module.reserve_currency}",)
        finest = module.stop_loss_time_bucket or module.time_bucket
        market = synthetic_market(
            tickers, chain_id=chain, start=start, end=end, base_bucket=finest, seed=synthetic_seed
        )
        return _materialise(market, module, f"synthetic seed {synthetic_seed}")
    if isinstance(candles, str | Path):
        path = Path(candles)
        if start is None or end is None:
            raise UserError(f"Give start= and end= to backtest on the candles in {path}.")
        market = file_market(path, chain_id=chain, start=start, end=end)
        return _materialise(market, module, str(path.resolve()), skip_unusable=path.is_dir())
    if isinstance(candles, pd.DataFrame):
        ticker = (
            module.trading_pairs[0] if len(module.trading_pairs) == 1 else f"WETH-{module.reserve_currency}"
        )
        if len(module.trading_pairs) > 1:
            raise UserError(
                "The strategy trades several pairs; pass candles as a dict of ticker -> DataFrame, one per pair."
            )
        candles = {ticker: candles}
    if isinstance(candles, Mapping):
        finest = module.stop_loss_time_bucket or module.time_bucket
        first, last = _frames_range(candles, finest)
        start, end = start or first, end or last
        pairs = [make_pair(chain, ticker, "notebook") for ticker in candles]
        market = MarketData(_FrameSource(candles, finest), pairs, start=start, end=end)
        return _materialise(market, module, "frames " + ",".join(sorted(candles)))
    raise UserError(
        f"Cannot use {type(candles).__name__} as candles; give None (synthetic), a path, a DataFrame "
        "or a dict of ticker -> DataFrame."
    )
