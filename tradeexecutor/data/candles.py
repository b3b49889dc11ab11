"""The one shape of OHLCV candles every source returns and every strategy reads.

A candle frame has a `DatetimeIndex` named `timestamp` (tz-aware UTC, nanosecond unit,
strictly increasing) holding each candle's *open* time, and exactly the float64 columns
`open, high, low, close, volume`. A candle stamped T with bucket d covers [T, T + d) and
closes at T + d. Floats are right for market data (indicators are float maths); they never
enter the ledger.

Missing data: a bucket with no trades has no row. A row whose prices are all NaN is read as
such an empty bucket and dropped (some exporters pad gaps that way); a row with only some
values missing is corrupt and rejected, because filling it would invent prices.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from tradeexecutor.data.time_bucket import GRID_ORIGIN, TimeBucket
from tradeexecutor.errors import UserError

CANDLE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close", "volume")
PRICE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close")
INDEX_NAME = "timestamp"

# Float noise from CSV round trips must not make high < close by 1e-16 an error.
_TOLERANCE = 1e-9


class CandleDataError(UserError):
    """Candle data that cannot be used, described in one sentence naming its source."""


def empty_candles() -> pd.DataFrame:
    index = pd.DatetimeIndex([], dtype="datetime64[ns, UTC]", name=INDEX_NAME)
    return pd.DataFrame({c: np.array([], dtype="float64") for c in CANDLE_COLUMNS}, index=index)


def _describe(ts: pd.Timestamp) -> str:
    return ts.strftime("%Y-%m-%d %H:%M UTC")


def validate_candles(
    frame: pd.DataFrame,
    source: str,
    bucket: TimeBucket | None = None,
    row_label: Callable[[int], str] = lambda i: f"row {i + 1}",
) -> pd.DataFrame:
    """Check `frame` and return it in the canonical shape, or raise `CandleDataError`.

    `frame` carries its timestamps either as a tz-aware `DatetimeIndex` or as a tz-aware
    `timestamp` column. `source` names where it came from ("Candle file cache/x.csv") and
    starts every error sentence. `row_label(i)` turns a 0-based position into the words a
    user can find in their file ("line 7" for CSV).
    """
    timestamps = _timestamps(frame, source, row_label)
    missing = [c for c in CANDLE_COLUMNS if c not in frame.columns]
    if missing:
        raise CandleDataError(
            f"{source} is missing column(s) {', '.join(missing)}; candles need "
            f"{INDEX_NAME}, {', '.join(CANDLE_COLUMNS)}."
        )
    values = {c: _numeric_column(frame[c], c, source, row_label) for c in CANDLE_COLUMNS}

    prices = np.column_stack([values[c] for c in PRICE_COLUMNS])
    all_empty = np.isnan(prices).all(axis=1)
    keep = ~all_empty
    for c in CANDLE_COLUMNS:
        bad = np.flatnonzero(np.isnan(values[c]) & keep)
        if bad.size:
            i = int(bad[0])
            raise CandleDataError(
                f"{source} has a candle with a missing {c} at {_describe(timestamps[i])} "
                f"({row_label(i)}); fix or remove that row (a bucket with no trades needs no row)."
            )

    _check_order(timestamps, source, row_label)
    if not keep.all():
        timestamps = timestamps[keep]
        values = {c: v[keep] for c, v in values.items()}
        positions = np.flatnonzero(keep)
    else:
        positions = np.arange(len(timestamps))

    _check_prices(values, timestamps, positions, source, row_label)
    if bucket is not None:
        _check_alignment(timestamps, bucket, source, positions, row_label)

    index = pd.DatetimeIndex(timestamps, name=INDEX_NAME, freq=None)
    return pd.DataFrame(values, index=index, columns=list(CANDLE_COLUMNS))


def _timestamps(frame: pd.DataFrame, source: str, row_label: Callable[[int], str]) -> pd.DatetimeIndex:
    if INDEX_NAME in frame.columns:
        raw = frame[INDEX_NAME]
    elif isinstance(frame.index, pd.DatetimeIndex):
        raw = frame.index.to_series()
    else:
        raise CandleDataError(
            f"{source} has no {INDEX_NAME} column; candles need {INDEX_NAME}, {', '.join(CANDLE_COLUMNS)}."
        )
    if not isinstance(raw.dtype, pd.DatetimeTZDtype):
        if pd.api.types.is_datetime64_dtype(raw.dtype):
            raise CandleDataError(
                f"{source} has timestamps without a timezone; store them in UTC with an offset "
                "(e.g. 2024-01-01T00:00:00Z)."
            )
        raise CandleDataError(
            f"{source} has a {INDEX_NAME} column of type {raw.dtype}, not timezone-aware timestamps."
        )
    index = pd.DatetimeIndex(raw).tz_convert("UTC").as_unit("ns")
    if index.hasnans:
        i = int(np.flatnonzero(index.isna())[0])
        raise CandleDataError(f"{source} has a missing timestamp ({row_label(i)}).")
    return index


def _numeric_column(column: pd.Series, name: str, source: str, row_label: Callable[[int], str]) -> np.ndarray:
    dtype = column.dtype
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        return column.to_numpy(dtype="float64", na_value=np.nan)
    if not (pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype)):
        raise CandleDataError(f"{source} column {name} holds {dtype}, not numbers.")
    # Text (CSV cells, object columns): numbers are converted, anything else is named.
    converted = pd.to_numeric(column, errors="coerce")
    bad = np.flatnonzero(converted.isna().to_numpy() & column.notna().to_numpy())
    if bad.size:
        i = int(bad[0])
        raise CandleDataError(
            f"{source} column {name} holds a non-number, {column.iloc[i]!r} ({row_label(i)})."
        )
    return converted.to_numpy(dtype="float64", na_value=np.nan)


def _check_order(index: pd.DatetimeIndex, source: str, row_label: Callable[[int], str]) -> None:
    ns = index.asi8
    if ns.size < 2:
        return
    step = np.diff(ns)
    dup = np.flatnonzero(step == 0)
    back = np.flatnonzero(step < 0)
    first_back = int(back[0]) if back.size else None
    first_dup = int(dup[0]) if dup.size else None
    if first_back is not None and (first_dup is None or first_back < first_dup):
        i = first_back + 1
        raise CandleDataError(
            f"{source} is not sorted by timestamp: {_describe(index[i])} ({row_label(i)}) comes after "
            f"{_describe(index[i - 1])}; sort the candles by time."
        )
    if first_dup is not None:
        i = first_dup + 1
        raise CandleDataError(
            f"{source} has two candles for {_describe(index[i])} ({row_label(i - 1)} and {row_label(i)}); "
            "keep one."
        )


def _check_prices(
    values: dict[str, np.ndarray],
    index: pd.DatetimeIndex,
    positions: np.ndarray,
    source: str,
    row_label: Callable[[int], str],
) -> None:
    o, h, low, c, v = (values[k] for k in CANDLE_COLUMNS)
    problems: list[tuple[np.ndarray, Callable[[int], str]]] = [
        (~np.isfinite(np.column_stack([o, h, low, c, v])).all(axis=1), lambda i: "an infinite value"),
        ((o <= 0) | (h <= 0) | (low <= 0) | (c <= 0), lambda i: "a price that is not positive"),
        (v < 0, lambda i: f"a negative volume {float(v[i])!r}"),
        (h < low * (1 - _TOLERANCE), lambda i: f"high {float(h[i])!r} below low {float(low[i])!r}"),
        (
            h < np.maximum(o, c) * (1 - _TOLERANCE),
            lambda i: f"high {float(h[i])!r} below open {float(o[i])!r} or close {float(c[i])!r}",
        ),
        (
            low > np.minimum(o, c) * (1 + _TOLERANCE),
            lambda i: f"low {float(low[i])!r} above open {float(o[i])!r} or close {float(c[i])!r}",
        ),
    ]
    for mask, what in problems:
        bad = np.flatnonzero(mask)
        if bad.size:
            i = int(bad[0])
            raise CandleDataError(
                f"{source} has an impossible candle at {_describe(index[i])} "
                f"({row_label(int(positions[i]))}): {what(i)}."
            )


def _check_alignment(
    index: pd.DatetimeIndex,
    bucket: TimeBucket,
    source: str,
    positions: np.ndarray,
    row_label: Callable[[int], str],
) -> None:
    origin = pd.Timestamp(GRID_ORIGIN).as_unit("ns").value
    bad = np.flatnonzero((index.asi8 - origin) % bucket.nanoseconds != 0)
    if bad.size:
        i = int(bad[0])
        raise CandleDataError(
            f"{source} has a candle at {_describe(index[i])} ({row_label(int(positions[i]))}) that does "
            f"not start on a {bucket.value} boundary; are these {bucket.value} candles?"
        )


def resample_candles(candles: pd.DataFrame, bucket: TimeBucket) -> pd.DataFrame:
    """Aggregate canonical candles into wider `bucket` candles on the shared grid.

    Buckets without any source candle are left out, as a source would.
    """
    if candles.empty:
        return empty_candles()
    grouped = candles.resample(
        bucket.timedelta, origin=pd.Timestamp(GRID_ORIGIN), closed="left", label="left"
    ).agg({"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"})
    grouped = grouped.dropna(subset=["open"])
    grouped.index = pd.DatetimeIndex(grouped.index.as_unit("ns"), name=INDEX_NAME, freq=None)
    return grouped.astype("float64")[list(CANDLE_COLUMNS)]


def thin_candles(candles: pd.DataFrame, bucket: TimeBucket, limit: int) -> tuple[pd.DataFrame, TimeBucket]:
    """At most about `limit` candles covering the same time: `candles` (of width `bucket`)
    resampled to the narrowest standard width that needs no more than `limit` of them, so
    a chart can show a year of minute candles from its first candle on (weekly candles
    when nothing narrower fits). Unchanged when they already fit."""
    wider = [b for b in TimeBucket if b.timedelta > bucket.timedelta]
    if len(candles) <= limit or not wider:
        return candles, bucket
    span = candles.index[-1] - candles.index[0]
    chosen = next((b for b in wider if span / b.timedelta < limit), wider[-1])
    return resample_candles(candles, chosen), chosen


def select_range(candles: pd.DataFrame, start: object | None, end: object | None) -> pd.DataFrame:
    """Rows with open time in [start, end); `None` leaves a side open. Slices, never copies."""
    index = candles.index
    lo = 0 if start is None else int(index.searchsorted(pd.Timestamp(start), side="left"))
    hi = len(index) if end is None else int(index.searchsorted(pd.Timestamp(end), side="left"))
    return candles.iloc[lo : max(lo, hi)]
