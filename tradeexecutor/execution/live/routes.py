"""Which exchange and which pools each pair is traded through, starting from the reserve currency.

A pair quoted in the reserve currency (WETH-USDC with a USDC reserve) is traded directly on
its pool. A pair quoted in another token (DEV-WETH with a USDC reserve) goes through one
intermediate pool between that quote token and the reserve (WETH-USDC): buys route
USDC -> WETH -> DEV and sells the reverse, so every amount the state books is in the reserve
currency. The intermediate pool is taken from the known pairs (a deployment file lists them
with their fees) or computed with CREATE2 from the exchange's factory; a missing pool is
reported when its reserves are read.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from web3 import Web3

from tradeexecutor.errors import UserError
from tradeexecutor.ethereum.uniswap_v2.deployments import UniswapV2Deployment
from tradeexecutor.ethereum.uniswap_v2.pricing import PoolReserves, ReserveFetcher, get_amounts_out, mid_price
from tradeexecutor.ethereum.uniswap_v2.routing import (
    DEFAULT_MAX_SLIPPAGE_BPS,
    SwapRoute,
    TradeSide,
    UniswapV2Routing,
    trade_route,
)
from tradeexecutor.state.identifiers import AssetIdentifier, TradingPairIdentifier, address_key


def _tokens(pool: TradingPairIdentifier) -> frozenset[str]:
    return frozenset((address_key(pool.base.address), address_key(pool.quote.address)))


class LiveRouting:
    """Routes for every pair of a universe over one or more Uniswap v2 deployments."""

    def __init__(
        self,
        web3: Web3,
        deployments: Sequence[UniswapV2Deployment],
        reserve: AssetIdentifier,
        *,
        known_pairs: Sequence[TradingPairIdentifier] = (),
        max_slippage_bps: int = DEFAULT_MAX_SLIPPAGE_BPS,
        reserve_fetcher: ReserveFetcher | None = None,
    ) -> None:
        if not deployments:
            raise UserError("No exchange deployment was given: pass --deployment-file or --exchange-slug.")
        self.web3 = web3
        self.reserve = reserve
        self.reserves = reserve_fetcher or ReserveFetcher(web3)
        self.deployments = {d.slug: d for d in deployments}
        self.routings = {
            d.slug: UniswapV2Routing(web3, d, max_slippage_bps, reserve_fetcher=self.reserves)
            for d in deployments
        }
        self.known_pairs = tuple(known_pairs)
        self._intermediates: dict[str, TradingPairIdentifier | None] = {}

    # --- exchanges and pools -------------------------------------------------------------------

    def routing_for(self, pair: TradingPairIdentifier) -> UniswapV2Routing:
        try:
            return self.routings[pair.exchange_slug]
        except KeyError:
            known = ", ".join(sorted(self.routings))
            raise UserError(
                f"Pair {pair.ticker} trades on {pair.exchange_slug}, but the executor was given only {known}: "
                "pass that exchange's deployment."
            ) from None

    def deployment_for(self, pair: TradingPairIdentifier) -> UniswapV2Deployment:
        return self.routing_for(pair).deployment

    def intermediate_for(self, pair: TradingPairIdentifier) -> TradingPairIdentifier | None:
        """The pool between the pair's quote token and the reserve, or None for a direct pair."""
        if pair.key in self._intermediates:
            return self._intermediates[pair.key]
        reserve_key = address_key(self.reserve.address)
        if address_key(pair.quote.address) == reserve_key:
            found = None
        elif address_key(pair.base.address) == reserve_key:
            raise UserError(
                f"Pair {pair.ticker} has the reserve currency {self.reserve.symbol} as its base token: "
                f"list it as {pair.quote.symbol}-{pair.base.symbol} (base first, quoted in the reserve)."
            )
        else:
            wanted = frozenset((address_key(pair.quote.address), reserve_key))
            found = next(
                (
                    p
                    for p in self.known_pairs
                    if _tokens(p) == wanted and p.exchange_slug == pair.exchange_slug
                ),
                None,
            )
            if found is None:
                deployment = self.deployment_for(pair)
                found = TradingPairIdentifier(
                    base=pair.quote,
                    quote=self.reserve,
                    pool_address=deployment.pair_address(pair.quote.address, self.reserve.address),
                    exchange_slug=deployment.slug,
                    fee_bps=deployment.fee_bps,
                )
        self._intermediates[pair.key] = found
        return found

    def route(self, side: TradeSide | str, pair: TradingPairIdentifier) -> SwapRoute:
        return trade_route(side, pair, self.intermediate_for(pair))

    def pools(self, pair: TradingPairIdentifier) -> tuple[TradingPairIdentifier, ...]:
        self.routing_for(pair)  # an exchange we were given
        intermediate = self.intermediate_for(pair)
        return (pair,) if intermediate is None else (pair, intermediate)

    def fetch(self, pairs: Sequence[TradingPairIdentifier]) -> dict[str, PoolReserves]:
        """Reserves of every pool the pairs route through, at one block, in one batch."""
        pools: dict[str, TradingPairIdentifier] = {}
        for pair in pairs:
            for pool in self.pools(pair):
                pools.setdefault(pool.key, pool)
        return self.reserves.fetch(list(pools.values()))

    # --- amounts along a route -----------------------------------------------------------------

    @staticmethod
    def amounts_out(route: SwapRoute, reserves: dict[str, PoolReserves], amount_in: int) -> list[int]:
        hops = [
            reserves[pool.key].hop(token) for pool, token in zip(route.pools, route.path[:-1], strict=True)
        ]
        return get_amounts_out(amount_in, hops)

    @staticmethod
    def mid_rate(route: SwapRoute, reserves: dict[str, PoolReserves]) -> Decimal:
        """Human units of the route's last token per one of its first, at mid prices."""
        rate = Decimal(1)
        for pool, token in zip(route.pools, route.path[:-1], strict=True):
            mid = mid_price(reserves[pool.key])  # pool quote per pool base
            rate *= mid if address_key(token.address) == address_key(pool.base.address) else 1 / mid
        return rate

    def native_price_in_reserve(self) -> Decimal | None:
        """What one native token (gas) is worth in the reserve currency, via the wrapped native pool.

        Used to value gas fees in trades; None when no exchange has such a pool (the fee is
        still booked in the native token).
        """
        for deployment in self.deployments.values():
            if address_key(deployment.weth) == address_key(self.reserve.address):
                return Decimal(1)
            pool = TradingPairIdentifier(
                base=AssetIdentifier(
                    chain_id=self.reserve.chain_id, address=deployment.weth, symbol="WNATIVE", decimals=18
                ),
                quote=self.reserve,
                pool_address=deployment.pair_address(deployment.weth, self.reserve.address),
                exchange_slug=deployment.slug,
                fee_bps=deployment.fee_bps,
            )
            try:
                return mid_price(self.reserves.fetch_one(pool))
            except (UserError, ValueError):
                continue
        return None
