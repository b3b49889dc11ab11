"""Uniswap v2 prices from pool reserves: exact integer pool math, Decimal results.

The functions reproduce the pair contract's arithmetic (integer division where it divides),
so an amount computed here is the amount the pool will pay if its reserves have not moved.
Prices are quote tokens per one base token in human units. Nothing here touches the
network except `ReserveFetcher`, which reads every pool's reserves at one block in one
JSON-RPC batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from eth_abi import decode as abi_decode
from web3 import Web3

from tradeexecutor.errors import UserError
from tradeexecutor.ethereum.batch import BatchCallError, batch_rpc
from tradeexecutor.state.identifiers import AssetIdentifier, TradingPairIdentifier, address_key

BPS = 10_000
GET_RESERVES_SELECTOR = "0x0902f1ac"  # getReserves()


def get_amount_out(amount_in: int, reserve_in: int, reserve_out: int, fee_bps: int = 30) -> int:
    """What the pool pays for `amount_in` (UniswapV2Library.getAmountOut, fee in bps)."""
    if amount_in <= 0:
        raise ValueError("amount_in must be positive")
    if reserve_in <= 0 or reserve_out <= 0:
        raise ValueError("the pool has no liquidity")
    with_fee = amount_in * (BPS - fee_bps)
    return with_fee * reserve_out // (reserve_in * BPS + with_fee)


def get_amount_in(amount_out: int, reserve_in: int, reserve_out: int, fee_bps: int = 30) -> int:
    """What must go in to get `amount_out` (UniswapV2Library.getAmountIn)."""
    if amount_out <= 0:
        raise ValueError("amount_out must be positive")
    if reserve_in <= 0 or reserve_out <= amount_out:
        raise ValueError("the pool has not enough liquidity")
    return reserve_in * amount_out * BPS // ((reserve_out - amount_out) * (BPS - fee_bps)) + 1


def get_amounts_out(amount_in: int, hops: Sequence[tuple[int, int, int]]) -> list[int]:
    """Amounts along a path of (reserve_in, reserve_out, fee_bps) hops, like Router.getAmountsOut."""
    amounts = [amount_in]
    for reserve_in, reserve_out, fee_bps in hops:
        amounts.append(get_amount_out(amounts[-1], reserve_in, reserve_out, fee_bps))
    return amounts


@dataclass(frozen=True, slots=True)
class PoolReserves:
    """A pool's reserves at one block, oriented as the pair's base and quote."""

    pair: TradingPairIdentifier
    base: int
    quote: int
    block_number: int
    block_timestamp: datetime

    def reserve_of(self, token: AssetIdentifier | str) -> int:
        address = token.address if isinstance(token, AssetIdentifier) else token
        if address_key(address) == address_key(self.pair.base.address):
            return self.base
        if address_key(address) == address_key(self.pair.quote.address):
            return self.quote
        raise ValueError(f"{address} is not a token of {self.pair.ticker}")

    def hop(self, token_in: AssetIdentifier | str) -> tuple[int, int, int]:
        """(reserve_in, reserve_out, fee_bps) for a swap that puts `token_in` in."""
        address = token_in.address if isinstance(token_in, AssetIdentifier) else token_in
        if address_key(address) == address_key(self.pair.base.address):
            return self.base, self.quote, self.pair.fee_bps
        if address_key(address) == address_key(self.pair.quote.address):
            return self.quote, self.base, self.pair.fee_bps
        raise ValueError(f"{address} is not a token of {self.pair.ticker}")


@dataclass(frozen=True, slots=True)
class TradePrice:
    """The outcome of one swap of a given size against given reserves."""

    amount_in: int  # raw, of the token going in
    amount_out: int  # raw, of the token coming out
    price: Decimal  # quote per base, fee and price impact included
    mid_price: Decimal
    price_impact: Decimal  # fraction lost to moving the price, LP fee excluded
    lp_fee: Decimal  # in the input token's human units


def mid_price(reserves: PoolReserves) -> Decimal:
    """The marginal price: what an infinitely small trade would pay, fee aside."""
    pair = reserves.pair
    if reserves.base <= 0 or reserves.quote <= 0:
        raise ValueError(f"{pair.ticker} has no liquidity")
    return pair.quote.to_decimal(reserves.quote) / pair.base.to_decimal(reserves.base)


def buy_price(reserves: PoolReserves, quote_amount: int) -> TradePrice:
    """Spend exactly `quote_amount` (raw quote) on base tokens."""
    pair = reserves.pair
    base_out = get_amount_out(quote_amount, reserves.quote, reserves.base, pair.fee_bps)
    if base_out <= 0:
        raise ValueError(f"{quote_amount} raw {pair.quote.symbol} buys nothing on {pair.ticker}")
    without_fee = get_amount_out(quote_amount, reserves.quote, reserves.base, 0)
    mid = mid_price(reserves)
    spent = pair.quote.to_decimal(quote_amount)
    return TradePrice(
        amount_in=quote_amount,
        amount_out=base_out,
        price=spent / pair.base.to_decimal(base_out),
        mid_price=mid,
        price_impact=(spent / pair.base.to_decimal(without_fee)) / mid - 1,
        lp_fee=spent * pair.fee,
    )


def sell_price(reserves: PoolReserves, base_amount: int) -> TradePrice:
    """Sell exactly `base_amount` (raw base) for quote tokens."""
    pair = reserves.pair
    quote_out = get_amount_out(base_amount, reserves.base, reserves.quote, pair.fee_bps)
    without_fee = get_amount_out(base_amount, reserves.base, reserves.quote, 0)
    mid = mid_price(reserves)
    sold = pair.base.to_decimal(base_amount)
    return TradePrice(
        amount_in=base_amount,
        amount_out=quote_out,
        price=pair.quote.to_decimal(quote_out) / sold,
        mid_price=mid,
        price_impact=1 - (pair.quote.to_decimal(without_fee) / sold) / mid,
        lp_fee=sold * pair.fee,
    )


def value_position(reserves: PoolReserves, base_quantity: int) -> Decimal:
    """What a position of `base_quantity` (raw) would fetch if sold now, in quote units."""
    if base_quantity <= 0:
        return Decimal(0)
    return reserves.pair.quote.to_decimal(sell_price(reserves, base_quantity).amount_out)


class ReserveFetcher:
    """Reads many pools' reserves at the same block, in one JSON-RPC batch."""

    def __init__(self, web3: Web3) -> None:
        self.web3 = web3

    def fetch(
        self, pairs: Sequence[TradingPairIdentifier], block_number: int | None = None
    ) -> dict[str, PoolReserves]:
        """Reserves keyed by `pair.key`, all at `block_number` (default: the latest block)."""
        block = self.web3.eth.get_block("latest" if block_number is None else block_number)
        number = block["number"]
        timestamp = datetime.fromtimestamp(block["timestamp"], UTC)
        calls = [
            ("eth_call", [{"to": p.pool_address, "data": GET_RESERVES_SELECTOR}, hex(number)]) for p in pairs
        ]
        try:
            raw = batch_rpc(self.web3, calls)
        except BatchCallError as e:
            raise UserError(f"Reading pool reserves failed ({e}): check the pair addresses.") from None
        result: dict[str, PoolReserves] = {}
        for pair, data in zip(pairs, raw, strict=True):
            payload = bytes.fromhex(data.removeprefix("0x")) if data else b""
            if len(payload) < 96:
                raise UserError(
                    f"There is no Uniswap v2 pool for {pair.ticker} at {pair.pool_address} on chain "
                    f"{pair.chain_id}: check the pair address and the exchange."
                )
            reserve0, reserve1, _ = abi_decode(["uint112", "uint112", "uint32"], payload)
            base_is_token0 = address_key(pair.base.address) < address_key(pair.quote.address)
            base, quote = (reserve0, reserve1) if base_is_token0 else (reserve1, reserve0)
            result[pair.key] = PoolReserves(pair, base, quote, number, timestamp)
        return result

    def fetch_one(self, pair: TradingPairIdentifier, block_number: int | None = None) -> PoolReserves:
        return self.fetch([pair], block_number)[pair.key]
