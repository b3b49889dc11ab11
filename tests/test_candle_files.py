"""Candle files (CSV and Parquet): round trips, the cache layout, and every bad input."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tradeexecutor.data.candles import CANDLE_COLUMNS, CandleDataError
from tradeexecutor.data.files import FileCandleSource, candle_file_path, read_candle_file, write_candle_file
from tradeexecutor.data.source import CandleSource
from tradeexecutor.data.synthetic import generate_candles, synthetic_pairs
from tradeexecutor.data.time_bucket import TimeBucket
from tradeexecutor.errors import UserError

HEADER = "timestamp,open,high,low,close,volume\n"


def candles(n: int = 48, seed: int = 1) -> pd.DataFrame:
    return generate_candles(
        start=datetime(2024, 1, 1, tzinfo=UTC),
        end=datetime(2024, 1, 1, tzinfo=UTC) + n * TimeBucket.h1.timedelta,
        bucket=TimeBucket.h1,
        seed=seed,
    )


def csv_file(tmp_path: Path, body: str, header: str = HEADER) -> Path:
    path = tmp_path / "candles.csv"
    path.write_text(header + body)
    return path


def expect_error(path: Path, *fragments: str, bucket: TimeBucket | None = None) -> str:
    with pytest.raises(CandleDataError) as e:
        read_candle_file(path, bucket)
    message = str(e.value)
    assert isinstance(e.value, UserError)
    assert str(path) in message
    assert "\n" not in message, "one sentence, one line"
    for fragment in fragments:
        assert fragment in message, message
    return message


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_round_trip_is_exact(tmp_path: Path, suffix: str) -> None:
    original = candles()
    path = tmp_path / f"c{suffix}"
    write_candle_file(original, path)
    back = read_candle_file(path, TimeBucket.h1)
    pd.testing.assert_frame_equal(back, original)
    assert list(back.columns) == list(CANDLE_COLUMNS)
    assert str(back.index.dtype) == "datetime64[ns, UTC]"
    assert all(back[c].dtype == np.float64 for c in CANDLE_COLUMNS)
    assert not list(tmp_path.glob(".*.tmp")), "no temporary file left behind"


def test_csv_with_offsets_and_extra_columns_is_read_in_utc(tmp_path: Path) -> None:
    path = csv_file(
        tmp_path,
        "2024-01-01T02:00:00+02:00,10,11,9,10.5,100,x\n2024-01-01T01:00:00Z,10.5,12,10,11,50,y\n",
        header="timestamp,open,high,low,close,volume,note\n",
    )
    frame = read_candle_file(path, TimeBucket.h1)
    assert list(frame.index) == [
        pd.Timestamp("2024-01-01 00:00", tz="UTC"),
        pd.Timestamp("2024-01-01 01:00", tz="UTC"),
    ]
    assert list(frame.columns) == list(CANDLE_COLUMNS)
    assert frame["close"].tolist() == [10.5, 11.0]


def test_missing_columns(tmp_path: Path) -> None:
    path = csv_file(tmp_path, "2024-01-01T00:00:00Z,10,11,9\n", header="timestamp,open,high,low\n")
    expect_error(path, "missing column(s) close, volume")


def test_missing_timestamp_column(tmp_path: Path) -> None:
    path = csv_file(tmp_path, "10,11,9,10,1\n", header="open,high,low,close,volume\n")
    expect_error(path, "has no timestamp column")


def test_unsorted_timestamps_name_the_line(tmp_path: Path) -> None:
    path = csv_file(
        tmp_path,
        "2024-01-01T00:00:00Z,10,11,9,10,1\n2024-01-01T02:00:00Z,10,11,9,10,1\n2024-01-01T01:00:00Z,10,11,9,10,1\n",
    )
    expect_error(path, "not sorted by timestamp", "2024-01-01 01:00 UTC", "line 4")


def test_duplicate_timestamps(tmp_path: Path) -> None:
    path = csv_file(tmp_path, "2024-01-01T00:00:00Z,10,11,9,10,1\n2024-01-01T00:00:00Z,10,11,9,10,1\n")
    expect_error(path, "two candles for 2024-01-01 00:00 UTC", "line 2 and line 3")


def test_timezone_naive_csv_is_refused(tmp_path: Path) -> None:
    path = csv_file(tmp_path, "2024-01-01T00:00:00Z,10,11,9,10,1\n2024-01-01 01:00:00,10,11,9,10,1\n")
    expect_error(path, "without a timezone", "'2024-01-01 01:00:00'", "line 3")


def test_timezone_naive_parquet_is_refused(tmp_path: Path) -> None:
    frame = candles().reset_index()
    frame["timestamp"] = frame["timestamp"].dt.tz_localize(None)
    path = tmp_path / "naive.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)
    expect_error(path, "timestamps without a timezone")


def test_unparsable_timestamp(tmp_path: Path) -> None:
    path = csv_file(tmp_path, "2024-01-01T00:00:00Z,10,11,9,10,1\nyesterdayZ,10,11,9,10,1\n")
    expect_error(path, "not a date", "'yesterdayZ'", "line 3")


def test_non_numeric_price(tmp_path: Path) -> None:
    path = csv_file(tmp_path, "2024-01-01T00:00:00Z,10,11,9,ten,1\n")
    expect_error(path, "column close holds a non-number", "'ten'", "line 2")


def test_partly_missing_candle_is_rejected(tmp_path: Path) -> None:
    path = csv_file(tmp_path, "2024-01-01T00:00:00Z,10,11,9,10,1\n2024-01-01T01:00:00Z,10,,9,10,1\n")
    expect_error(path, "missing high at 2024-01-01 01:00 UTC", "line 3")


def test_empty_buckets_written_as_nan_rows_are_dropped(tmp_path: Path) -> None:
    path = csv_file(
        tmp_path,
        "2024-01-01T00:00:00Z,10,11,9,10,1\n2024-01-01T01:00:00Z,,,,,\n2024-01-01T02:00:00Z,10,12,9,11,2\n",
    )
    frame = read_candle_file(path, TimeBucket.h1)
    assert len(frame) == 2
    assert frame.index[-1] == pd.Timestamp("2024-01-01 02:00", tz="UTC")
    assert not frame.isna().any().any()


def test_nan_in_parquet_is_rejected(tmp_path: Path) -> None:
    frame = candles()
    frame.loc[frame.index[5], "low"] = np.nan
    path = tmp_path / "nan.parquet"
    pq.write_table(pa.Table.from_pandas(frame.reset_index(), preserve_index=False), path)
    expect_error(path, "missing low at 2024-01-01 05:00 UTC", "row 6")


def test_impossible_candles(tmp_path: Path) -> None:
    expect_error(csv_file(tmp_path, "2024-01-01T00:00:00Z,10,9,11,10,1\n"), "impossible candle", "below low")
    expect_error(csv_file(tmp_path, "2024-01-01T00:00:00Z,-1,11,9,10,1\n"), "not positive")
    expect_error(csv_file(tmp_path, "2024-01-01T00:00:00Z,10,11,9,10,-5\n"), "negative volume")
    expect_error(csv_file(tmp_path, "2024-01-01T00:00:00Z,10,11,9,12,1\n"), "below open 10.0 or close 12.0")


def test_candles_off_the_bucket_grid(tmp_path: Path) -> None:
    path = csv_file(tmp_path, "2024-01-01T00:00:00Z,10,11,9,10,1\n2024-01-01T00:30:00Z,10,11,9,10,1\n")
    expect_error(path, "not start on a 1h boundary", "line 3", bucket=TimeBucket.h1)
    assert len(read_candle_file(path, TimeBucket.m15)) == 2


def test_unusable_files(tmp_path: Path) -> None:
    expect_error(tmp_path / "nope.csv", "does not exist")
    other = tmp_path / "c.json"
    other.write_text("{}")
    expect_error(other, "neither .parquet nor .csv")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    expect_error(empty, "is empty")
    header_only = csv_file(tmp_path, "")
    expect_error(header_only, "holds no candles")
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 this is not really parquet")
    expect_error(broken, "cannot be read as Parquet")


def test_failed_write_leaves_the_old_file_intact(tmp_path: Path) -> None:
    path = tmp_path / "c.parquet"
    write_candle_file(candles(), path)
    before = path.read_bytes()
    bad = candles()
    bad.loc[bad.index[3], "close"] = -1.0
    with pytest.raises(CandleDataError):
        write_candle_file(bad, path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.parquet"]


def test_file_source_uses_the_cache_layout(tmp_path: Path) -> None:
    weth, link = synthetic_pairs(2)
    assert (
        candle_file_path(tmp_path, weth, TimeBucket.h1)
        == tmp_path / "31337" / "synthetic" / "WETH-USDC-1h.parquet"
    )
    write_candle_file(candles(seed=1), candle_file_path(tmp_path, weth, TimeBucket.h1))
    write_candle_file(candles(seed=2), candle_file_path(tmp_path, link, TimeBucket.h1, ".csv"))
    source = FileCandleSource(tmp_path)
    assert isinstance(source, CandleSource)

    pd.testing.assert_frame_equal(source.load_candles(weth, TimeBucket.h1), candles(seed=1))
    pd.testing.assert_frame_equal(source.load_candles(link, "1h"), candles(seed=2))
    window = source.load_candles(
        weth, TimeBucket.h1, datetime(2024, 1, 1, 5, tzinfo=UTC), datetime(2024, 1, 1, 8, tzinfo=UTC)
    )
    assert [t.hour for t in window.index] == [5, 6, 7], "start inclusive, end exclusive"

    with pytest.raises(
        CandleDataError, match="No 4h candle file for WETH-USDC on synthetic: looked for .*WETH-USDC-4h"
    ):
        source.load_candles(weth, TimeBucket.h4)


def test_file_source_rereads_a_changed_file(tmp_path: Path) -> None:
    (weth,) = synthetic_pairs(1)
    path = candle_file_path(tmp_path, weth, TimeBucket.h1)
    write_candle_file(candles(n=10), path)
    source = FileCandleSource(tmp_path)
    assert len(source.load_candles(weth, TimeBucket.h1)) == 10
    write_candle_file(candles(n=20), path)
    assert len(source.load_candles(weth, TimeBucket.h1)) == 20
