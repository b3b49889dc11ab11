"""One pair's candles prepared for cheap point-in-time slicing.

The backtester asks "what had closed by time t?" for every pair at every cycle (tens of
thousands of times). Answering by filtering a DataFrame would copy data each time; instead
each series keeps its candles' close times as an int64 array, so the answer is one binary
search (or a precomputed table lookup) and the visible candles are a positional slice.
"""

from __future__ import annotations

import weakref
from typing import NamedTuple

import numpy as np
import pandas as pd

from tradeexecutor.data.candles import empty_candles
from tradeexecutor.data.time_bucket import TimeBucket


class Candle(NamedTuple):
    """One closed candle: the market over [timestamp, close_time)."""

    timestamp: pd.Timestamp  # open time, UTC
    open: float
    high: float
    low: float
    close: float
    volume: float
    close_time: pd.Timestamp


class CandleSeries:
    """Canonical candles of one pair at one bucket, with close times precomputed.

    A candle stamped T closes at T + bucket and is visible at time t iff T + bucket <= t.
    """

    __slots__ = (
        "frame",
        "bucket",
        "bucket_ns",
        "close_ns",
        "opens",
        "highs",
        "lows",
        "closes",
        "volumes",
        "close_series",
    )

    def __init__(self, frame: pd.DataFrame | None, bucket: TimeBucket) -> None:
        frame = empty_candles() if frame is None else frame
        self.frame = frame
        self.bucket = bucket
        self.bucket_ns = bucket.nanoseconds
        self.close_ns: np.ndarray = frame.index.asi8 + self.bucket_ns
        # Read-only views: a strategy can read the arrays it is handed but cannot alter the universe.
        self.opens = _readonly(frame["open"])
        self.highs = _readonly(frame["high"])
        self.lows = _readonly(frame["low"])
        self.closes = _readonly(frame["close"])
        self.volumes = _readonly(frame["volume"])
        self.close_series: pd.Series = frame["close"]

    def __len__(self) -> int:
        return len(self.close_ns)

    def visible_count(self, timestamp_ns: int) -> int:
        """How many candles had closed at `timestamp_ns` (they are the first ones)."""
        return int(self.close_ns.searchsorted(timestamp_ns, side="right"))

    def visible_counts(self, timestamps_ns: np.ndarray) -> np.ndarray:
        """`visible_count` for many timestamps in one vectorised search."""
        return self.close_ns.searchsorted(timestamps_ns, side="right")

    def candle_at(self, i: int) -> Candle:
        close_ns = int(self.close_ns[i])
        return Candle(
            pd.Timestamp(close_ns - self.bucket_ns, tz="UTC"),
            float(self.opens[i]),
            float(self.highs[i]),
            float(self.lows[i]),
            float(self.closes[i]),
            float(self.volumes[i]),
            pd.Timestamp(close_ns, tz="UTC"),
        )


# Frames `MarketData.load_candles` validated, so the universe built from them need not check them again
# (validating 87,600 candles costs ~8 ms). Weak: a frame nobody holds is forgotten.
_VALIDATED: weakref.WeakValueDictionary[tuple[int, str], pd.DataFrame] = weakref.WeakValueDictionary()


def remember_validated(frame: pd.DataFrame, bucket: TimeBucket) -> None:
    _VALIDATED[(id(frame), bucket.value)] = frame


def was_validated(frame: pd.DataFrame, bucket: TimeBucket) -> bool:
    """True when `frame` itself (not a copy, not modified since: frames from a source are not
    written to) came out of `validate_candles` for `bucket`."""
    return _VALIDATED.get((id(frame), bucket.value)) is frame


def _readonly(column: pd.Series) -> np.ndarray:
    array = column.to_numpy(dtype="float64")
    view = array.view()
    view.flags.writeable = False
    return view
