"""`UniverseInput.data`: the pairs a run can trade and the candle source behind them.

The runner builds one for each run (a backtest hands a file or synthetic source over the
backtest range; a live run hands the on-chain source up to now), so a strategy's
`create_trading_universe` is the same code in both.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import pandas as pd

from tradeexecutor.data.candles import validate_candles
from tradeexecutor.data.source import CandleSource
from tradeexecutor.data.time_bucket import TimeBucket
from tradeexecutor.errors import UserError
from tradeexecutor.state.identifiers import AssetIdentifier, TradingPairIdentifier
from tradeexecutor.strategy.candle_series import remember_validated
from tradeexecutor.strategy.universe import TradingUniverse


class MarketData:
    """Known pairs plus a `CandleSource`, with the default time range [start, end) to load."""

    def __init__(
        self,
        source: CandleSource,
        pairs: Sequence[TradingPairIdentifier],
        *,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> None:
        self.source = source
        self.pairs: tuple[TradingPairIdentifier, ...] = tuple(pairs)
        self.start = start
        self.end = end

    def _tickers(self) -> str:
        return ", ".join(p.ticker for p in self.pairs) or "none"

    def get_pair_by_ticker(self, ticker: str, exchange_slug: str | None = None) -> TradingPairIdentifier:
        """'WETH-USDC' -> the pair; `exchange_slug` picks one when several exchanges list it."""
        matches = [
            p
            for p in self.pairs
            if p.ticker.upper() == ticker.strip().upper() and exchange_slug in (None, p.exchange_slug)
        ]
        if len(matches) == 1:
            return matches[0]
        if not matches:
            raise UserError(f"Pair {ticker} is not available; the market data has {self._tickers()}.")
        slugs = ", ".join(p.exchange_slug for p in matches)
        raise UserError(f"Pair {ticker} trades on several exchanges ({slugs}); pass exchange_slug.")

    def load_candles(
        self,
        pair: TradingPairIdentifier | str,
        bucket: TimeBucket | str,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> pd.DataFrame:
        """Validated candles of `pair` with open time in [start, end) (default: the run's range)."""
        if isinstance(pair, str):
            pair = self.get_pair_by_ticker(pair)
        bucket = TimeBucket.parse(bucket)
        frame = self.source.load_candles(pair, bucket, start or self.start, end or self.end)
        checked = validate_candles(
            frame,
            f"The {bucket.value} candle data of {pair.ticker} from {type(self.source).__name__}",
            bucket,
        )
        remember_validated(checked, bucket)
        return checked

    def create_universe(
        self,
        *,
        reserve_currency: str,
        time_bucket: TimeBucket | str,
        pairs: Iterable[TradingPairIdentifier | str] | None = None,
        stop_loss_time_bucket: TimeBucket | str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> TradingUniverse:
        """Load candles for `pairs` (default: every known pair) and build the universe.

        The reserve asset is the token of those pairs whose symbol is `reserve_currency`, else
        of any known pair: a universe of DEV-WETH alone may hold USDC, traded through WETH-USDC.
        """
        chosen = [self.get_pair_by_ticker(p) if isinstance(p, str) else p for p in (pairs or self.pairs)]
        if not chosen:
            raise UserError("The trading universe has no pairs; list some in TRADING_PAIRS.")
        reserve = find_reserve_asset([*chosen, *self.pairs], reserve_currency)
        candles = {p: self.load_candles(p, time_bucket, start, end) for p in chosen}
        stop_loss = (
            {p: self.load_candles(p, stop_loss_time_bucket, start, end) for p in chosen}
            if stop_loss_time_bucket is not None
            else None
        )
        return TradingUniverse(
            reserve_asset=reserve,
            pairs=chosen,
            time_bucket=time_bucket,
            candles=candles,
            stop_loss_time_bucket=stop_loss_time_bucket,
            stop_loss_candles=stop_loss,
        )


def find_reserve_asset(pairs: Sequence[TradingPairIdentifier], symbol: str) -> AssetIdentifier:
    for p in pairs:
        for token in (p.quote, p.base):
            if token.symbol.upper() == symbol.upper():
                return token
    tickers = ", ".join(p.ticker for p in pairs)
    raise UserError(f"Reserve currency {symbol} is not a token of the pairs {tickers}; fix RESERVE_CURRENCY.")
