"""Plan Uniswap v2 router swaps: route, expected amounts, slippage bound, deadline, approvals.

A buy spends an exact amount of the reserve currency; a sell sells an exact base quantity.
Both go through `swapExactTokensForTokens`, directly on the pair or through one
intermediate pool (USDC -> WETH -> DEV trades DEV-WETH with a USDC reserve).

`amountOutMin` is computed here, locally, from reserves read at one block with the pair's
own integer formula, then cut by `--max-slippage`. Asking the router for a quote later
would let a price that already moved set its own bound.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum

from eth_abi import encode as abi_encode
from eth_utils import function_signature_to_4byte_selector
from web3 import Web3

from tradeexecutor.errors import UserError
from tradeexecutor.ethereum.erc20 import allowance
from tradeexecutor.ethereum.gas import human
from tradeexecutor.ethereum.settings import ApprovalMode
from tradeexecutor.ethereum.tx import TransactionRequest
from tradeexecutor.ethereum.uniswap_v2.deployments import UniswapV2Deployment
from tradeexecutor.ethereum.uniswap_v2.pricing import PoolReserves, ReserveFetcher, get_amounts_out
from tradeexecutor.state.identifiers import AssetIdentifier, TradingPairIdentifier, address_key

MAX_UINT256 = 2**256 - 1
DEFAULT_MAX_SLIPPAGE_BPS = 50
DEFAULT_DEADLINE_SECONDS = 300

_SWAP = function_signature_to_4byte_selector(
    "swapExactTokensForTokens(uint256,uint256,address[],address,uint256)"
)
_APPROVE = function_signature_to_4byte_selector("approve(address,uint256)")


class TradeSide(StrEnum):
    buy = "buy"
    sell = "sell"


@dataclass(frozen=True, slots=True)
class SwapRoute:
    """The tokens from what we pay to what we get, and the pools in between."""

    path: tuple[AssetIdentifier, ...]
    pools: tuple[TradingPairIdentifier, ...]

    @property
    def token_in(self) -> AssetIdentifier:
        return self.path[0]

    @property
    def token_out(self) -> AssetIdentifier:
        return self.path[-1]

    def __str__(self) -> str:
        return " -> ".join(t.symbol for t in self.path)


def _other(pool: TradingPairIdentifier, token: AssetIdentifier) -> AssetIdentifier:
    if address_key(pool.base.address) == address_key(token.address):
        return pool.quote
    if address_key(pool.quote.address) == address_key(token.address):
        return pool.base
    raise UserError(f"Pool {pool.ticker} does not hold {token.symbol}: the route is not connected.")


def make_route(token_in: AssetIdentifier, pools: tuple[TradingPairIdentifier, ...]) -> SwapRoute:
    path = [token_in]
    for pool in pools:
        path.append(_other(pool, path[-1]))
    return SwapRoute(tuple(path), pools)


def reserve_of_pair(
    pair: TradingPairIdentifier, intermediate: TradingPairIdentifier | None
) -> AssetIdentifier:
    """The reserve currency a pair is traded with: its quote, or the far side of the intermediate pool."""
    return pair.quote if intermediate is None else _other(intermediate, pair.quote)


def trade_route(
    side: TradeSide | str, pair: TradingPairIdentifier, intermediate: TradingPairIdentifier | None = None
) -> SwapRoute:
    """The route of a buy (reserve -> base) or a sell (base -> reserve) of `pair`.

    Also what crash recovery needs to decode a recorded swap's receipt: side, pair and
    intermediate pool are enough, no plan has to be kept.
    """
    if TradeSide(side) == TradeSide.buy:
        pools = (pair,) if intermediate is None else (intermediate, pair)
        return make_route(reserve_of_pair(pair, intermediate), pools)
    pools = (pair,) if intermediate is None else (pair, intermediate)
    return make_route(pair.base, pools)


@dataclass(frozen=True, slots=True)
class SwapPlan:
    """One router swap, fully decided before anything is signed."""

    side: TradeSide
    pair: TradingPairIdentifier  # base is what we hold after a buy
    reserve: AssetIdentifier
    route: SwapRoute
    router: str
    recipient: str
    amount_in: int
    expected_amount_out: int
    amount_out_min: int
    max_slippage_bps: int
    deadline: int  # unix seconds
    block_number: int  # reserves were read at this block

    @property
    def expected_price(self) -> Decimal:
        """Reserve currency per base token, fee and price impact included."""
        if self.side == TradeSide.buy:
            return self.reserve.to_decimal(self.amount_in) / self.pair.base.to_decimal(
                self.expected_amount_out
            )
        return self.reserve.to_decimal(self.expected_amount_out) / self.pair.base.to_decimal(self.amount_in)

    def swap_request(self) -> TransactionRequest:
        args = abi_encode(
            ["uint256", "uint256", "address[]", "address", "uint256"],
            [
                self.amount_in,
                self.amount_out_min,
                [t.address for t in self.route.path],
                self.recipient,
                self.deadline,
            ],
        )
        return TransactionRequest(
            to=self.router,
            data="0x" + (_SWAP + args).hex(),
            description=(
                f"{self.side.value} {self.pair.ticker}: swap {human(self.route.token_in.to_decimal(self.amount_in))} "
                f"{self.route} (min out {human(self.route.token_out.to_decimal(self.amount_out_min))})"
            ),
        )


def approve_request(token: AssetIdentifier, spender: str, amount: int) -> TransactionRequest:
    data = _APPROVE + abi_encode(["address", "uint256"], [spender, amount])
    what = "unlimited" if amount == MAX_UINT256 else human(token.to_decimal(amount))
    return TransactionRequest(
        to=token.address, data="0x" + data.hex(), description=f"approve {what} {token.symbol}"
    )


def approval_requests(
    token: AssetIdentifier, spender: str, current: int, needed: int, mode: ApprovalMode | str
) -> list[TransactionRequest]:
    """The approvals a swap spending `needed` needs, given the spender's `current` allowance.

    None when the allowance covers it. A leftover non-zero allowance (a swap that reverted
    after its approval) is first set back to 0: tokens like USDT on Ethereum refuse to change
    an allowance from one non-zero value to another, and would otherwise refuse every later
    approval, failing every trade in that token.
    """
    if current >= needed:
        return []
    amount = MAX_UINT256 if ApprovalMode(mode) == ApprovalMode.unlimited else needed
    approve = approve_request(token, spender, amount)
    if not current:
        return [approve]
    reset = approve_request(token, spender, 0)
    reset = replace(reset, description=f"reset the {token.symbol} allowance to 0 before changing it")
    return [reset, approve]


class UniswapV2Routing:
    """Plans swaps on one Uniswap v2 deployment from fresh reserves."""

    def __init__(
        self,
        web3: Web3,
        deployment: UniswapV2Deployment,
        max_slippage_bps: int = DEFAULT_MAX_SLIPPAGE_BPS,
        deadline_seconds: int = DEFAULT_DEADLINE_SECONDS,
        reserve_fetcher: ReserveFetcher | None = None,
    ) -> None:
        if not 0 <= max_slippage_bps < 10_000:
            raise UserError(f"--max-slippage must be between 0 and 9999 bps, not {max_slippage_bps}.")
        self.web3 = web3
        self.deployment = deployment
        self.max_slippage_bps = max_slippage_bps
        self.deadline_seconds = deadline_seconds
        self.reserves = reserve_fetcher or ReserveFetcher(web3)

    def check_pool(self, pool: TradingPairIdentifier) -> None:
        """The pool must be this exchange's pool for its two tokens (CREATE2 from our factory)."""
        expected = self.deployment.pair_address(pool.base.address, pool.quote.address)
        if address_key(expected) != address_key(pool.pool_address):
            raise UserError(
                f"Pair {pool.ticker} at {pool.pool_address} is not a {self.deployment.slug} pool (its factory "
                f"would put it at {expected}): check the pair's exchange and addresses."
            )

    def plan_buy(
        self,
        pair: TradingPairIdentifier,
        reserve_amount: int,
        recipient: str,
        intermediate: TradingPairIdentifier | None = None,
        max_slippage_bps: int | None = None,
    ) -> SwapPlan:
        """Spend exactly `reserve_amount` (raw reserve currency) on `pair.base`."""
        reserve = reserve_of_pair(pair, intermediate)
        return self._plan(
            TradeSide.buy,
            pair,
            reserve,
            trade_route(TradeSide.buy, pair, intermediate),
            reserve_amount,
            recipient,
            max_slippage_bps,
        )

    def plan_sell(
        self,
        pair: TradingPairIdentifier,
        base_quantity: int,
        recipient: str,
        intermediate: TradingPairIdentifier | None = None,
        max_slippage_bps: int | None = None,
    ) -> SwapPlan:
        """Sell exactly `base_quantity` (raw base) for the reserve currency."""
        reserve = reserve_of_pair(pair, intermediate)
        return self._plan(
            TradeSide.sell,
            pair,
            reserve,
            trade_route(TradeSide.sell, pair, intermediate),
            base_quantity,
            recipient,
            max_slippage_bps,
        )

    def _plan(
        self,
        side: TradeSide,
        pair: TradingPairIdentifier,
        reserve: AssetIdentifier,
        route: SwapRoute,
        amount_in: int,
        recipient: str,
        max_slippage_bps: int | None,
    ) -> SwapPlan:
        if amount_in <= 0:
            raise UserError(f"A {side.value} of {pair.ticker} needs a positive amount, not {amount_in}.")
        for pool in route.pools:
            self.check_pool(pool)
        fetched = self.reserves.fetch(list(route.pools))
        reserves: list[PoolReserves] = [fetched[p.key] for p in route.pools]
        hops = [r.hop(token) for r, token in zip(reserves, route.path[:-1], strict=True)]
        try:
            expected = get_amounts_out(amount_in, hops)[-1]
        except ValueError as e:
            raise UserError(f"Cannot {side.value} {pair.ticker}: {e}.") from None
        slippage = self.max_slippage_bps if max_slippage_bps is None else max_slippage_bps
        amount_out_min = expected * (10_000 - slippage) // 10_000
        if amount_out_min <= 0:
            raise UserError(
                f"A {side.value} of {human(route.token_in.to_decimal(amount_in))} {route.token_in.symbol} on "
                f"{pair.ticker} would get nothing back: trade a larger amount."
            )
        # The later of chain time and wall time: a stalled chain's last block is old, and a
        # test chain's clock may run ahead of ours.
        now = max(int(reserves[0].block_timestamp.timestamp()), int(time.time()))
        return SwapPlan(
            side=side,
            pair=pair,
            reserve=reserve,
            route=route,
            router=self.deployment.router,
            recipient=Web3.to_checksum_address(recipient),
            amount_in=amount_in,
            expected_amount_out=expected,
            amount_out_min=amount_out_min,
            max_slippage_bps=slippage,
            deadline=now + self.deadline_seconds,
            block_number=reserves[0].block_number,
        )

    def approval_requests(
        self, plan: SwapPlan, owner: str, mode: ApprovalMode | str
    ) -> list[TransactionRequest]:
        """The approvals this swap needs (none when the router's allowance already covers it)."""
        token = plan.route.token_in
        current = allowance(self.web3, token, owner, plan.router)
        return approval_requests(token, plan.router, current, plan.amount_in, mode)
