"""The one interface every candle source implements.

Files (`data/files.py`), the synthetic generator (`data/synthetic.py`) and the on-chain
Swap-event scanner (`data/onchain.py`) all answer the same question, so a strategy's
`create_trading_universe` and the backtester never care where candles come from: the
backtest and the live run differ only in which source they are handed.

Contract of `load_candles(pair, bucket, start, end)`:

- returns candles in the canonical shape of `tradeexecutor.data.candles` (UTC
  `DatetimeIndex` named `timestamp` holding open times, float64 open/high/low/close/volume,
  strictly increasing, on the `bucket` grid);
- only candles whose open time T satisfies `start <= T < end`; `None` leaves that side open;
- a bucket without trades has no row; an empty range gives an empty frame (not an error);
- candles that have not closed yet may be included (a live source may return the bucket in
  progress): the per-cycle view hides them, so sources need not guess the clock;
- a pair or bucket the source cannot serve raises `CandleDataError` (a `UserError`) with
  one sentence naming the pair and what to do.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from tradeexecutor.data.time_bucket import TimeBucket
from tradeexecutor.state.identifiers import TradingPairIdentifier

if TYPE_CHECKING:
    import pandas as pd


@runtime_checkable
class CandleSource(Protocol):
    """Anything that can produce OHLCV candles for a trading pair."""

    def load_candles(
        self,
        pair: TradingPairIdentifier,
        bucket: TimeBucket,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> pd.DataFrame:
        """Candles of `pair` with open time in [start, end), in the canonical shape."""
        ...


def describe_range(start: datetime | None, end: datetime | None) -> str:
    """'2024-01-01 00:00 UTC .. 2024-02-01 00:00 UTC' for error messages."""

    def one(ts: datetime | None, open_side: str) -> str:
        return open_side if ts is None else ts.strftime("%Y-%m-%d %H:%M UTC")

    return f"{one(start, 'the beginning')} .. {one(end, 'now')}"
