"""Where a backtest's candles come from: a directory or file of candles, or a synthetic market.

Files carry prices but not token identities, so pairs found in files get stable made-up
addresses and the decimals of well-known symbols (`TOKEN_DECIMALS`; 18 for anything else).
A backtest needs decimals only to round amounts the way the chain would.

A strategy may ask for a wider bucket than the files hold (e.g. `--backtest-candle-time-frame-override 1d`
with hourly files): the finest finer file is aggregated on the shared grid.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd

from tradeexecutor.data.candles import CandleDataError, resample_candles, select_range
from tradeexecutor.data.files import SUFFIXES, read_candle_file
from tradeexecutor.data.synthetic import SyntheticCandleSource
from tradeexecutor.data.time_bucket import VALID_DURATIONS, TimeBucket
from tradeexecutor.errors import UserError
from tradeexecutor.state.identifiers import AssetIdentifier, TradingPairIdentifier
from tradeexecutor.strategy.market_data import MarketData

TOKEN_DECIMALS = {"USDC": 6, "USDT": 6, "USDC.E": 6, "USDBC": 6, "WBTC": 8, "BTCB": 18}
SYNTHETIC_START_PRICES = {"WETH": 2000.0, "ETH": 2000.0, "WBTC": 40000.0, "BTC": 40000.0, "DEV": 5.0}
_FILE_NAME = re.compile(r"^(?P<base>[^\s-]+)-(?P<quote>[^\s-]+)-(?P<bucket>\d+[mhd])$", re.IGNORECASE)


def _fake_address(*parts: object) -> str:
    return "0x" + hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()[:40]


def make_token(chain_id: int, symbol: str) -> AssetIdentifier:
    return AssetIdentifier(
        chain_id=chain_id,
        address=_fake_address("token", chain_id, symbol.upper()),
        symbol=symbol,
        decimals=TOKEN_DECIMALS.get(symbol.upper(), 18),
    )


def make_pair(chain_id: int, ticker: str, exchange_slug: str) -> TradingPairIdentifier:
    """A pair for a 'BASE-QUOTE' ticker with stable made-up addresses."""
    base, quote = ticker.split("-")
    return TradingPairIdentifier(
        base=make_token(chain_id, base),
        quote=make_token(chain_id, quote),
        pool_address=_fake_address("pool", chain_id, exchange_slug, base.upper(), quote.upper()),
        exchange_slug=exchange_slug,
    )


# --- synthetic --------------------------------------------------------------------------------


def synthetic_market(
    tickers: Iterable[str],
    *,
    chain_id: int,
    start: datetime,
    end: datetime,
    base_bucket: TimeBucket,
    seed: int = 0,
) -> MarketData:
    """A reproducible random market for `tickers` over [start, end) (see data/synthetic.py)."""
    pairs = [make_pair(chain_id, t, "synthetic") for t in tickers]
    prices = {
        p.ticker: SYNTHETIC_START_PRICES[p.base.symbol.upper()]
        for p in pairs
        if p.base.symbol.upper() in SYNTHETIC_START_PRICES
    }
    source = SyntheticCandleSource(
        pairs, start=start, end=end, seed=seed, base_bucket=base_bucket, start_prices=prices
    )
    return MarketData(source, pairs, start=start, end=end)


# --- files ------------------------------------------------------------------------------------


def _parse_file_name(path: Path) -> tuple[str, TimeBucket] | None:
    """'WETH-USDC-1h.csv' -> ('WETH-USDC', TimeBucket.h1); None for other names."""
    match = _FILE_NAME.match(path.stem)
    if not match or path.suffix.lower() not in SUFFIXES or match["bucket"].lower() not in VALID_DURATIONS:
        return None
    return f"{match['base']}-{match['quote']}", TimeBucket.parse(match["bucket"])


class ResamplingCandles:
    """Serve a bucket from the finest finer one when no file holds it directly."""

    def __init__(self, available: dict[tuple[str, TimeBucket], Path]) -> None:
        self.available = available  # (pair key, bucket) -> file
        self._frames: dict[tuple[str, TimeBucket], pd.DataFrame] = {}

    def frame(self, pair: TradingPairIdentifier, bucket: TimeBucket) -> pd.DataFrame:
        key = (pair.key, bucket)
        if key in self._frames:
            return self._frames[key]
        if key in self.available:
            frame = read_candle_file(self.available[key], bucket)
        else:
            finer = sorted(
                (
                    b
                    for (k, b) in self.available
                    if k == pair.key and bucket.timedelta % b.timedelta == timedelta(0)
                ),
                key=lambda b: b.timedelta,
            )
            if not finer:
                have = ", ".join(sorted(b.value for (k, b) in self.available if k == pair.key)) or "none"
                raise CandleDataError(
                    f"There are no {bucket.value} candles for {pair.ticker} and none finer to build them from "
                    f"(files hold {have}); add a {bucket.value} file or pick another time frame."
                )
            frame = resample_candles(read_candle_file(self.available[(pair.key, finer[0])], finer[0]), bucket)
        self._frames[key] = frame
        return frame


class DiscoveredFileSource:
    """A `CandleSource` over candle files found on disk (a cache-layout directory or one file)."""

    def __init__(self, pairs: list[TradingPairIdentifier], files: dict[tuple[str, TimeBucket], Path]) -> None:
        self.pairs = pairs
        self._candles = ResamplingCandles(files)

    def load_candles(
        self,
        pair: TradingPairIdentifier,
        bucket: TimeBucket,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> pd.DataFrame:
        return select_range(self._candles.frame(pair, TimeBucket.parse(bucket)), start, end)


def file_market(path: Path, *, chain_id: int, start: datetime, end: datetime) -> MarketData:
    """Candles from `path`: one candle file named BASE-QUOTE-BUCKET.csv|.parquet, or a directory
    in the cache layout `<chain id>/<exchange slug>/BASE-QUOTE-BUCKET.parquet` (see docs/candle-data.md)."""
    path = Path(path)
    files: dict[tuple[str, TimeBucket], Path] = {}
    pairs: dict[str, TradingPairIdentifier] = {}
    if path.is_file():
        parsed = _parse_file_name(path)
        if parsed is None:
            raise UserError(
                f"Candle file {path} is not named BASE-QUOTE-BUCKET.csv or .parquet (e.g. WETH-USDC-1h.csv); "
                "rename it so the pair and the candle width are known."
            )
        ticker, bucket = parsed
        pair = make_pair(chain_id, ticker, "file")
        pairs[pair.key] = pair
        files[(pair.key, bucket)] = path
    elif path.is_dir():
        chain_dir = path / str(chain_id)
        for candidate in sorted(chain_dir.glob("*/*")) if chain_dir.is_dir() else []:
            parsed = _parse_file_name(candidate)
            if parsed is None or not candidate.is_file():
                continue
            ticker, bucket = parsed
            pair = make_pair(chain_id, ticker, candidate.parent.name)
            pairs.setdefault(pair.key, pair)
            # Parquet wins over CSV, as in FileCandleSource
            if (pair.key, bucket) not in files or candidate.suffix.lower() == ".parquet":
                files[(pair.key, bucket)] = candidate
        if not pairs:
            raise UserError(
                f"No candle files for chain {chain_id} under {path}: expected "
                f"{path}/{chain_id}/<exchange>/BASE-QUOTE-BUCKET.parquet (or .csv); "
                "check --candle-data or use --synthetic-data."
            )
    else:
        raise UserError(f"Candle data {path} does not exist; check --candle-data.")
    return MarketData(
        DiscoveredFileSource(list(pairs.values()), files), list(pairs.values()), start=start, end=end
    )
