"""The trading universe: what a strategy may trade and the market data it decides on.

`create_trading_universe()` returns a `TradingUniverse` holding every candle it loaded.
A strategy never reads that directly: at each cycle it gets `universe.view(timestamp)`, a
`UniverseView` that shows only candles which had *closed* by the cycle timestamp, so a
backtest cannot peek at the future (see `tradeexecutor.strategy.universe_view`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime

import numpy as np
import pandas as pd

from tradeexecutor.data.candles import validate_candles
from tradeexecutor.data.time_bucket import TimeBucket
from tradeexecutor.errors import UserError
from tradeexecutor.state.identifiers import AssetIdentifier, TradingPairIdentifier
from tradeexecutor.strategy.candle_series import CandleSeries, was_validated
from tradeexecutor.strategy.universe_view import UniverseView, to_utc_timestamp

PairRef = TradingPairIdentifier | str


class TradingUniverse:
    """Reserve asset, tradable pairs, their tokens and their candles.

    `candles` maps each pair to canonical candles at `time_bucket` (see
    `tradeexecutor.data.candles`); `stop_loss_candles` optionally holds finer candles at
    `stop_loss_time_bucket` for checking stop losses between cycles. A pair without an entry
    simply has no candles yet. Candles are validated once, here.
    """

    def __init__(
        self,
        *,
        reserve_asset: AssetIdentifier,
        pairs: Sequence[TradingPairIdentifier],
        time_bucket: TimeBucket | str,
        candles: Mapping[TradingPairIdentifier, pd.DataFrame] | None = None,
        stop_loss_time_bucket: TimeBucket | str | None = None,
        stop_loss_candles: Mapping[TradingPairIdentifier, pd.DataFrame] | None = None,
    ) -> None:
        self.reserve_asset = reserve_asset
        self.pairs: tuple[TradingPairIdentifier, ...] = tuple(pairs)
        self.time_bucket = TimeBucket.parse(time_bucket)
        self.stop_loss_time_bucket = (
            None if stop_loss_time_bucket is None else TimeBucket.parse(stop_loss_time_bucket)
        )
        self._by_key = {p.key: p for p in self.pairs}
        self._ticker_cache: dict[tuple[str, str | None], TradingPairIdentifier] = {}
        self._by_ticker: dict[str, list[TradingPairIdentifier]] = {}
        for p in self.pairs:
            self._by_ticker.setdefault(p.ticker.upper(), []).append(p)
        if len(self._by_key) != len(self.pairs):
            raise UserError("The trading universe lists the same pair twice; list each pool once.")
        for p in self.pairs:
            if p.chain_id != reserve_asset.chain_id:
                raise UserError(
                    f"Pair {p.ticker} is on chain {p.chain_id} but the reserve {reserve_asset.symbol} "
                    f"is on chain {reserve_asset.chain_id}; a universe trades on one chain."
                )
        self.tokens: tuple[AssetIdentifier, ...] = _unique_tokens(reserve_asset, self.pairs)
        self._series = self._prepare(candles, self.time_bucket, "candle")
        if stop_loss_candles is not None and self.stop_loss_time_bucket is None:
            raise UserError(
                "Stop-loss candles were given without stop_loss_time_bucket; say which width they are."
            )
        self._stop_loss_series = (
            self._prepare(stop_loss_candles, self.stop_loss_time_bucket, "stop-loss candle")
            if self.stop_loss_time_bucket is not None
            else {}
        )

    def _prepare(
        self,
        candles: Mapping[TradingPairIdentifier, pd.DataFrame] | None,
        bucket: TimeBucket,
        what: str,
    ) -> dict[str, CandleSeries]:
        given = dict(candles or {})
        series: dict[str, CandleSeries] = {}
        for pair, frame in given.items():
            if not isinstance(pair, TradingPairIdentifier) or pair.key not in self._by_key:
                raise UserError(
                    f"The universe got {what} data for {getattr(pair, 'ticker', pair)!r}, which is not one of "
                    f"its pairs ({self.tickers()}); add the pair to pairs or drop its candles."
                )
            checked = (
                frame
                if was_validated(frame, bucket)
                else validate_candles(frame, f"The {bucket.value} {what} data of {pair.ticker}", bucket)
            )
            series[pair.key] = CandleSeries(checked, bucket)
        for pair in self.pairs:
            series.setdefault(pair.key, CandleSeries(None, bucket))
        return series

    # --- pairs and tokens ----------------------------------------------------------------------

    def tickers(self) -> str:
        return ", ".join(p.ticker for p in self.pairs) or "none"

    def resolve(self, pair: PairRef) -> TradingPairIdentifier:
        """A pair of this universe from an identifier or a ticker like 'WETH-USDC'."""
        return self._by_key[self.key_of(pair)]

    def key_of(self, pair: PairRef) -> str:
        """The universe's key for `pair` (an identifier or a ticker); UserError if it has none."""
        if isinstance(pair, str):
            return self.get_pair_by_ticker(pair).key
        key = pair.key
        if key not in self._by_key:
            raise UserError(f"Pair {pair.ticker} is not in the trading universe; it has {self.tickers()}.")
        return key

    def get_pair_by_ticker(self, ticker: str, exchange_slug: str | None = None) -> TradingPairIdentifier:
        """'WETH-USDC' -> the pair; `exchange_slug` picks one when two exchanges list it.

        Strategies call this every cycle, so answers are remembered per (ticker, exchange)."""
        found = self._ticker_cache.get((ticker, exchange_slug))
        if found is not None:
            return found
        found = self._find_by_ticker(ticker, exchange_slug)
        self._ticker_cache[(ticker, exchange_slug)] = found
        return found

    def _find_by_ticker(self, ticker: str, exchange_slug: str | None) -> TradingPairIdentifier:
        listed = self._by_ticker.get(ticker.strip().upper(), [])
        matches = [p for p in listed if exchange_slug in (None, p.exchange_slug)]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise UserError(f"Pair {ticker} is not in the trading universe; it has {self.tickers()}.")
        slugs = ", ".join(p.exchange_slug for p in matches)
        raise UserError(f"Pair {ticker} trades on several exchanges ({slugs}); pass exchange_slug.")

    def get_pair(self, base: str, quote: str, exchange_slug: str | None = None) -> TradingPairIdentifier:
        return self.get_pair_by_ticker(f"{base}-{quote}", exchange_slug)

    def get_single_pair(self) -> TradingPairIdentifier:
        """The only pair of a single-pair strategy."""
        if len(self.pairs) != 1:
            raise UserError(f"The trading universe has {len(self.pairs)} pairs ({self.tickers()}), not one.")
        return self.pairs[0]

    def get_token(self, symbol: str) -> AssetIdentifier:
        for token in self.tokens:
            if token.symbol.upper() == symbol.upper():
                return token
        known = ", ".join(t.symbol for t in self.tokens)
        raise UserError(f"Token {symbol} is not in the trading universe; it has {known}.")

    # --- candles ---------------------------------------------------------------------------------

    def series_by_key(self, key: str, stop_loss: bool = False) -> CandleSeries:
        if not stop_loss:
            return self._series[key]
        if self.stop_loss_time_bucket is None:
            raise UserError("The trading universe has no stop-loss candles; set stop_loss_time_bucket.")
        return self._stop_loss_series[key]

    def series(self, pair: PairRef) -> CandleSeries:
        return self.series_by_key(self.key_of(pair))

    def stop_loss_series(self, pair: PairRef) -> CandleSeries:
        return self.series_by_key(self.key_of(pair), stop_loss=True)

    def all_candles(self, pair: PairRef) -> pd.DataFrame:
        """Every candle of `pair`, future included: for the backtester and reports, never for
        decisions (strategies get `view(t).candles(pair)`)."""
        return self.series(pair).frame

    def time_range(self) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        """(first open time, last close time) over all pairs, or None without candles."""
        firsts, lasts = [], []
        for s in self._series.values():
            if len(s):
                firsts.append(s.frame.index[0])
                lasts.append(pd.Timestamp(int(s.close_ns[-1]), tz="UTC"))
        return (min(firsts), max(lasts)) if firsts else None

    # --- per-cycle views -------------------------------------------------------------------------

    def view(self, timestamp: datetime) -> UniverseView:
        """What a strategy may see at `timestamp`: candles closed at or before it."""
        return UniverseView(self, to_utc_timestamp(timestamp))

    def views(
        self, timestamps: Iterable[datetime], ns: np.ndarray | None = None, reuse: bool = False
    ) -> Iterator[UniverseView]:
        """Views for many cycles, with every pair's visible count found in one vectorised
        search up front: the backtester's fast path. `ns` may give the timestamps' nanoseconds
        (then `timestamps` need not be pandas objects and none is made per cycle). With
        `reuse`, one view object is moved from cycle to cycle: valid until the next one."""
        if ns is None:
            index = pd.DatetimeIndex(
                list(timestamps) if not isinstance(timestamps, pd.DatetimeIndex) else timestamps
            )
            if index.tz is None and len(index):
                raise ValueError("Cycle timestamps must be timezone-aware UTC.")
            index = index.tz_convert("UTC").as_unit("ns") if len(index) else index
            ns, timestamps = index.asi8, index
        keys = list(self._series)
        table = {k: self._series[k].visible_counts(ns) for k in keys}
        sl_keys = list(self._stop_loss_series)
        sl_table = {k: self._stop_loss_series[k].visible_counts(ns) for k in sl_keys}
        view: UniverseView | None = None
        for i, (ts, n) in enumerate(zip(timestamps, ns.tolist(), strict=True)):
            if view is None or not reuse:
                view = UniverseView(self, ts, precomputed=(table, sl_table, i), ns=n)
            else:
                view._move(ts, n, (table, sl_table, i))
            yield view

    def __repr__(self) -> str:
        return (
            f"<TradingUniverse {self.tickers()} reserve {self.reserve_asset.symbol} {self.time_bucket.value}>"
        )


def _unique_tokens(
    reserve: AssetIdentifier, pairs: Sequence[TradingPairIdentifier]
) -> tuple[AssetIdentifier, ...]:
    seen: dict[str, AssetIdentifier] = {reserve.key: reserve}
    for p in pairs:
        seen.setdefault(p.base.key, p.base)
        seen.setdefault(p.quote.key, p.quote)
    return tuple(seen.values())
