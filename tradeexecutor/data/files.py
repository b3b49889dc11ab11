"""Candles stored as Parquet or CSV files.

File layout: one file per pair and bucket, at
`<root>/<chain id>/<exchange slug>/<BASE>-<QUOTE>-<bucket>.parquet` (or `.csv`), e.g.
`cache/1/uniswap-v2/WETH-USDC-1h.parquet`. Columns: `timestamp` (open time, tz-aware) and
`open, high, low, close, volume`; extra columns are ignored. In CSV the timestamp is ISO 8601
with an offset (`2024-01-01T00:00:00Z` or `+00:00`): a timestamp without one is rejected
rather than guessed. Writes are atomic (temporary file, fsync, rename), so a crash never
leaves half a file for the next run to trip over.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from tradeexecutor.data.candles import INDEX_NAME, CandleDataError, select_range, validate_candles
from tradeexecutor.data.time_bucket import TimeBucket
from tradeexecutor.state.filewrite import replacing
from tradeexecutor.state.identifiers import TradingPairIdentifier

SUFFIXES = (".parquet", ".csv")
_HAS_OFFSET = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})$", re.IGNORECASE)


def candle_file_path(
    root: Path, pair: TradingPairIdentifier, bucket: TimeBucket, suffix: str = ".parquet"
) -> Path:
    """Where the candles of `pair` at `bucket` live under `root` (the cache layout)."""
    name = f"{pair.base.symbol}-{pair.quote.symbol}-{TimeBucket.parse(bucket).value}{suffix}"
    return Path(root) / str(pair.chain_id) / pair.exchange_slug / name


def read_candle_file(path: Path, bucket: TimeBucket | None = None) -> pd.DataFrame:
    """Read and validate one candle file; `bucket` also checks every candle is on its grid.

    Raises `CandleDataError` with one sentence naming the file and the problem.
    """
    path = Path(path)
    source = f"Candle file {path}"
    if not path.is_file():
        raise CandleDataError(f"{source} does not exist.")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        frame, row_label = _read_parquet(path, source)
    elif suffix == ".csv":
        frame, row_label = _read_csv(path, source)
    else:
        raise CandleDataError(f"{source} is neither .parquet nor .csv; rename it or convert it.")
    if len(frame) == 0:
        raise CandleDataError(f"{source} holds no candles.")
    return validate_candles(frame, source, bucket, row_label)


def _read_parquet(path: Path, source: str) -> tuple[pd.DataFrame, Callable[[int], str]]:
    import pyarrow.parquet as pq

    try:
        frame = pq.read_table(path).to_pandas()
    except Exception as e:  # pyarrow raises many types for a damaged file
        raise CandleDataError(f"{source} cannot be read as Parquet ({type(e).__name__}: {e}).") from None
    if INDEX_NAME not in frame.columns and isinstance(frame.index, pd.DatetimeIndex):
        frame = frame.reset_index(names=INDEX_NAME)
    if INDEX_NAME in frame.columns and pd.api.types.is_string_dtype(frame[INDEX_NAME].dtype):
        frame[INDEX_NAME] = _parse_text_timestamps(frame[INDEX_NAME], source, lambda i: f"row {i + 1}")
    return frame, lambda i: f"row {i + 1}"


def _read_csv(path: Path, source: str) -> tuple[pd.DataFrame, Callable[[int], str]]:
    try:
        frame = pd.read_csv(path, dtype={INDEX_NAME: "string"}, skip_blank_lines=False)
    except pd.errors.EmptyDataError:
        raise CandleDataError(f"{source} is empty.") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as e:
        raise CandleDataError(f"{source} is not valid CSV ({e}).") from None
    # Blank lines are kept by the reader only so that line numbers in errors stay exact.
    blank = frame.isna().all(axis=1).to_numpy()
    lines = np.flatnonzero(~blank) + 2  # line 1 is the header
    frame = frame.loc[~blank].reset_index(drop=True)

    def row_label(i: int) -> str:
        return f"line {lines[i]}"

    if INDEX_NAME in frame.columns:
        frame[INDEX_NAME] = _parse_text_timestamps(frame[INDEX_NAME], source, row_label)
    return frame, row_label


def _parse_text_timestamps(text: pd.Series, source: str, row_label: Callable[[int], str]) -> pd.Series:
    text = text.astype("string").str.strip()
    present = text.notna().to_numpy()
    naive = np.flatnonzero(present & ~text.str.contains(_HAS_OFFSET, na=False).to_numpy())
    if naive.size:
        i = int(naive[0])
        raise CandleDataError(
            f"{source} has a timestamp without a timezone, {text.iloc[i]!r} ({row_label(i)}); "
            "write UTC timestamps with an offset, e.g. 2024-01-01T00:00:00Z."
        )
    parsed = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
    bad = np.flatnonzero(present & parsed.isna().to_numpy())
    if bad.size:
        i = int(bad[0])
        raise CandleDataError(
            f"{source} has a timestamp that is not a date, {text.iloc[i]!r} ({row_label(i)})."
        )
    return parsed


def write_candle_file(candles: pd.DataFrame, path: Path) -> None:
    """Validate and write candles atomically as Parquet or CSV (chosen by the suffix)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise CandleDataError(f"Candle file {path} must end in .parquet or .csv.")
    candles = validate_candles(candles, f"Candles for {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = candles.reset_index()
    with replacing(path) as tmp:
        if suffix == ".parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp)
        else:
            frame[INDEX_NAME] = frame[INDEX_NAME].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
            tmp.write_bytes(frame.to_csv(index=False).encode())


class FileCandleSource:
    """A `CandleSource` reading the cache layout under `root` (see the module docstring).

    A file is read and validated once and kept in memory until it changes on disk.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._cache: dict[Path, tuple[tuple[int, int], pd.DataFrame]] = {}

    def path_for(self, pair: TradingPairIdentifier, bucket: TimeBucket) -> Path:
        """The existing file for this pair and bucket (Parquet preferred over CSV)."""
        candidates = [candle_file_path(self.root, pair, bucket, s) for s in SUFFIXES]
        for candidate in candidates:
            if candidate.is_file():
                return candidate
        raise CandleDataError(
            f"No {TimeBucket.parse(bucket).value} candle file for {pair.ticker} on {pair.exchange_slug}: "
            f"looked for {candidates[0]} and {candidates[1].name}."
        )

    def load_candles(
        self,
        pair: TradingPairIdentifier,
        bucket: TimeBucket,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> pd.DataFrame:
        bucket = TimeBucket.parse(bucket)
        path = self.path_for(pair, bucket)
        stat = path.stat()
        version = (stat.st_mtime_ns, stat.st_size)
        cached = self._cache.get(path)
        if cached is None or cached[0] != version:
            cached = (version, read_candle_file(path, bucket))
            self._cache[path] = cached
        return select_range(cached[1], start, end)
