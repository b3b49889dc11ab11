"""The synthetic market: reproducible, realistic, and consistent across candle widths."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from tradeexecutor.data.candles import CandleDataError, validate_candles
from tradeexecutor.data.source import CandleSource
from tradeexecutor.data.synthetic import SyntheticCandleSource, generate_candles, synthetic_pairs
from tradeexecutor.data.time_bucket import TimeBucket

START = datetime(2024, 1, 1, tzinfo=UTC)
END = datetime(2024, 4, 1, tzinfo=UTC)


def source(pairs_count: int = 3, seed: int = 7, **kwargs) -> SyntheticCandleSource:
    return SyntheticCandleSource(synthetic_pairs(pairs_count), start=START, end=END, seed=seed, **kwargs)


def test_same_seed_same_candles_different_seed_different_candles() -> None:
    a, b, c = source(seed=7), source(seed=7), source(seed=8)
    pair = synthetic_pairs(1)[0]
    assert isinstance(a, CandleSource)
    pd.testing.assert_frame_equal(a.load_candles(pair, TimeBucket.h1), b.load_candles(pair, TimeBucket.h1))
    assert not np.allclose(a.load_candles(pair, "1h")["close"], c.load_candles(pair, "1h")["close"])


def test_a_pair_does_not_depend_on_the_other_pairs() -> None:
    one = source(pairs_count=1)
    five = source(pairs_count=5)
    pair = synthetic_pairs(1)[0]
    pd.testing.assert_frame_equal(one.load_candles(pair, "1h"), five.load_candles(pair, "1h"))
    closes = [five.load_candles(p, "1h")["close"].to_numpy() for p in synthetic_pairs(5)]
    assert len({round(float(c[-1]), 6) for c in closes}) == 5, "each pair walks on its own"


def test_reproducible_across_processes() -> None:
    code = (
        "from datetime import UTC, datetime\n"
        "from tradeexecutor.data.synthetic import SyntheticCandleSource, synthetic_pairs\n"
        "p = synthetic_pairs(2)\n"
        "s = SyntheticCandleSource(p, start=datetime(2024,1,1,tzinfo=UTC), end=datetime(2024,2,1,tzinfo=UTC), seed=3)\n"
        "print(repr(float(s.load_candles(p[1], '1h')['close'].sum())), p[1].pool_address)\n"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
        ).stdout
        for hash_seed in ("1", "2")
    }
    assert len(outputs) == 1, outputs


def test_candles_are_canonical_and_plausible() -> None:
    frame = generate_candles(
        start=START, end=datetime(2026, 1, 1, tzinfo=UTC), bucket=TimeBucket.h1, seed=1, annual_volatility=0.6
    )
    assert len(frame) == 2 * 8784 - 24  # 2024 is a leap year
    pd.testing.assert_frame_equal(validate_candles(frame, "synthetic", TimeBucket.h1), frame)
    assert (frame["high"] >= frame[["open", "close"]].max(axis=1)).all()
    assert (frame["low"] <= frame[["open", "close"]].min(axis=1)).all()
    assert (frame["high"] > frame[["open", "close"]].max(axis=1)).mean() > 0.5, (
        "most candles have an upper wick"
    )
    assert (frame["open"].iloc[1:].to_numpy() == frame["close"].iloc[:-1].to_numpy()).all()
    log_returns = np.diff(np.log(frame["close"].to_numpy()))
    realised = log_returns.std() * np.sqrt(24 * 365)
    assert 0.5 < realised < 0.7
    assert (frame["volume"] > 0).all()


def test_wider_buckets_aggregate_the_base_bucket() -> None:
    s = source(base_bucket=TimeBucket.m15)
    pair = synthetic_pairs(1)[0]
    quarter = s.load_candles(pair, TimeBucket.m15)
    daily = s.load_candles(pair, TimeBucket.d1)
    assert len(daily) == 91
    day = quarter.loc["2024-02-10"]
    candle = daily.loc[pd.Timestamp("2024-02-10", tz="UTC")]
    assert candle["open"] == day["open"].iloc[0]
    assert candle["close"] == day["close"].iloc[-1]
    assert candle["high"] == day["high"].max()
    assert candle["low"] == day["low"].min()
    assert candle["volume"] == pytest.approx(day["volume"].sum())
    weekly = s.load_candles(pair, TimeBucket.d7)
    assert all(t.weekday() == 0 for t in weekly.index), "weeks start on Monday"
    assert weekly.index[-1] + pd.Timedelta(days=7) <= pd.Timestamp(END), "only complete weeks"


def test_ranges_and_bad_requests() -> None:
    s = source()
    pair = synthetic_pairs(1)[0]
    window = s.load_candles(
        pair, TimeBucket.h4, datetime(2024, 2, 1, tzinfo=UTC), datetime(2024, 2, 2, tzinfo=UTC)
    )
    assert [t.hour for t in window.index] == [0, 4, 8, 12, 16, 20]
    with pytest.raises(CandleDataError, match="generated at 1h and cannot make 15m"):
        s.load_candles(pair, TimeBucket.m15)
    stranger = synthetic_pairs(4)[3]
    with pytest.raises(CandleDataError, match="no pair UNI-USDC"):
        s.load_candles(stranger, TimeBucket.h1)


def test_synthetic_pairs_are_stable() -> None:
    first, second = synthetic_pairs(12), synthetic_pairs(12)
    assert first == second
    assert [p.ticker for p in first[:3]] == ["WETH-USDC", "WBTC-USDC", "LINK-USDC"]
    assert first[11].ticker == "TKN12-USDC"
    assert len({p.pool_address for p in first}) == 12
    assert first[0].quote.decimals == 6 and first[0].base.decimals == 18
