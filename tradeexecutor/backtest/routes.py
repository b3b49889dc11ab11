"""Which pools a backtest prices and fills each pair through: the route live trading takes.

A pair quoted in the reserve currency (WETH-USDC with a USDC reserve) trades on its own pool.
A pair quoted in another token (DEV-WETH with a USDC reserve) trades, live, through one
intermediate pool between that quote token and the reserve: buys swap USDC -> WETH -> DEV,
sells the reverse (`tradeexecutor.execution.live.routes.LiveRouting`). A backtest does the
same: it prices the pair in the reserve through that pool and fills it hop by hop, so every
amount the state books is in the reserve currency, as live.

The intermediate pool is taken from the universe's pairs, else from the pairs the market
data offers (its candles are then loaded for pricing only: the strategy does not see it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from tradeexecutor.errors import UserError
from tradeexecutor.state.identifiers import AssetIdentifier, TradingPairIdentifier, address_key
from tradeexecutor.strategy.candle_series import CandleSeries
from tradeexecutor.strategy.market_data import MarketData
from tradeexecutor.strategy.universe import TradingUniverse


def _tokens(pool: TradingPairIdentifier) -> frozenset[str]:
    return frozenset((address_key(pool.base.address), address_key(pool.quote.address)))


def find_intermediate(
    pair: TradingPairIdentifier,
    reserve: AssetIdentifier,
    candidates: tuple[TradingPairIdentifier, ...],
) -> TradingPairIdentifier | None:
    """The pool between `pair`'s quote token and the reserve on the same exchange, None for a
    pair quoted in the reserve; UserError when the pair cannot be routed."""
    reserve_key = address_key(reserve.address)
    if address_key(pair.quote.address) == reserve_key:
        return None
    if address_key(pair.base.address) == reserve_key:
        raise UserError(
            f"Pair {pair.ticker} has the reserve currency {reserve.symbol} as its base token: "
            f"list it as {pair.quote.symbol}-{pair.base.symbol} (base first, quoted in the reserve)."
        )
    wanted = frozenset((address_key(pair.quote.address), reserve_key))
    for pool in candidates:
        if _tokens(pool) == wanted and pool.exchange_slug == pair.exchange_slug:
            return pool
    raise UserError(
        f"Pair {pair.ticker} is quoted in {pair.quote.symbol}, not the reserve {reserve.symbol}: live trading "
        f"routes it through a {pair.quote.symbol}-{reserve.symbol} pool, and the backtest needs that pool's "
        f"candles to price it; add {pair.quote.symbol}-{reserve.symbol} candles on {pair.exchange_slug} to the data."
    )


@dataclass(frozen=True)
class BacktestRoutes:
    """Intermediate pool per pair key, and the candles of every pool a fill can touch
    (strategy candles, then stop-loss candles when the universe has them)."""

    intermediates: Mapping[str, TradingPairIdentifier]
    candles: Mapping[str, tuple[CandleSeries, ...]]
    reserve: AssetIdentifier

    @classmethod
    def direct(cls, universe: TradingUniverse) -> BacktestRoutes:
        """Routes of a universe whose pairs are all quoted in the reserve (no data to load)."""
        return cls.build(universe, None)

    @classmethod
    def build(cls, universe: TradingUniverse, data: MarketData | None) -> BacktestRoutes:
        reserve = universe.reserve_asset
        fine = universe.stop_loss_time_bucket is not None
        candles: dict[str, tuple[CandleSeries, ...]] = {}
        for pair in universe.pairs:
            main = universe.series_by_key(pair.key)
            candles[pair.key] = (main, universe.series_by_key(pair.key, stop_loss=True)) if fine else (main,)
        offered = universe.pairs + (data.pairs if data is not None else ())
        intermediates: dict[str, TradingPairIdentifier] = {}
        for pair in universe.pairs:
            via = find_intermediate(pair, reserve, offered)
            if via is None:
                continue
            intermediates[pair.key] = via
            if via.key not in candles:
                assert data is not None  # found among the data's pairs
                buckets = (
                    (universe.time_bucket, universe.stop_loss_time_bucket)
                    if fine
                    else (universe.time_bucket,)
                )
                candles[via.key] = tuple(
                    CandleSeries(data.load_candles(via, bucket), bucket)
                    for bucket in buckets
                    if bucket is not None
                )
        return cls(intermediates=intermediates, candles=candles, reserve=reserve)

    def intermediate(self, pair: TradingPairIdentifier) -> TradingPairIdentifier | None:
        return self.intermediates.get(pair.key)

    def inverted(self, via: TradingPairIdentifier) -> bool:
        """True when the intermediate pool lists the reserve as its base (USDC-WETH): its price
        is then reserve per token's inverse."""
        return address_key(via.base.address) == address_key(self.reserve.address)
