"""Immutable identifiers: chains, tokens and trading pairs.

Identifiers are frozen value objects: two with the same fields are the same thing, they
hash, and they can be used as dictionary keys. Addresses are stored checksummed as given
by the chain; comparisons go through `address_key` (lower case) so that a lower-case
address from a log and a checksummed one from a config file match.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from enum import IntEnum
from functools import cached_property

import msgspec


class ChainId(IntEnum):
    """Chains with a name we know; any other integer chain id is accepted as a plain int."""

    ethereum = 1
    binance = 56
    polygon = 137
    arbitrum = 42161
    base = 8453
    anvil = 31337

    @classmethod
    def name_of(cls, chain_id: int) -> str:
        try:
            return cls(chain_id).name
        except ValueError:
            return f"chain-{chain_id}"


def address_key(address: str) -> str:
    return address.lower()


class AssetIdentifier(msgspec.Struct, frozen=True, kw_only=True, dict=True):
    """An ERC-20 token (or the chain's native token, address `NATIVE_TOKEN_ADDRESS`) on one chain."""

    chain_id: int
    address: str
    symbol: str
    decimals: int
    name: str = ""

    def __post_init__(self) -> None:
        if not 0 <= self.decimals <= 77:
            raise ValueError(f"Token {self.symbol} has impossible decimals {self.decimals}.")

    @cached_property
    def key(self) -> str:
        """Stable dictionary key: chain and lower-case address (cached: `dict=True` gives the
        frozen struct a __dict__ for it; it is never serialised)."""
        return f"{self.chain_id}:{address_key(self.address)}"

    def to_raw(self, amount: Decimal) -> int:
        """Human amount -> on-chain integer, rounding towards zero (never claim more than exists)."""
        return int((amount * (Decimal(10) ** self.decimals)).to_integral_value(rounding=ROUND_DOWN))

    def to_decimal(self, raw: int) -> Decimal:
        """On-chain integer -> exact human amount."""
        return Decimal(raw).scaleb(-self.decimals)

    def __str__(self) -> str:
        return f"{self.symbol} ({self.address} on {ChainId.name_of(self.chain_id)})"


NATIVE_TOKEN_ADDRESS = "0x0000000000000000000000000000000000000000"


def native_token(chain_id: int, symbol: str = "ETH") -> AssetIdentifier:
    """The chain's gas token, tracked so gas fees have a ledger of their own."""
    return AssetIdentifier(chain_id=chain_id, address=NATIVE_TOKEN_ADDRESS, symbol=symbol, decimals=18)


class TradingPairIdentifier(msgspec.Struct, frozen=True, kw_only=True, dict=True):
    """A Uniswap v2 pool seen as base/quote: prices are quote tokens per one base token."""

    base: AssetIdentifier
    quote: AssetIdentifier
    pool_address: str
    exchange_slug: str
    fee_bps: int = 30

    def __post_init__(self) -> None:
        if self.base.chain_id != self.quote.chain_id:
            raise ValueError(f"Pair {self.ticker} mixes tokens from two chains.")
        if address_key(self.base.address) == address_key(self.quote.address):
            raise ValueError(f"Pair {self.ticker} has the same token as base and quote.")
        if not 0 <= self.fee_bps < 10_000:
            raise ValueError(f"Pair {self.ticker} has an impossible fee of {self.fee_bps} bps.")

    @property
    def chain_id(self) -> int:
        return self.base.chain_id

    @property
    def ticker(self) -> str:
        return f"{self.base.symbol}-{self.quote.symbol}"

    @cached_property
    def key(self) -> str:
        return f"{self.chain_id}:{address_key(self.pool_address)}"

    @property
    def fee(self) -> Decimal:
        """LP fee as a fraction, e.g. Decimal('0.003')."""
        return Decimal(self.fee_bps) / Decimal(10_000)

    def __str__(self) -> str:
        return f"{self.ticker} at {self.pool_address} on {self.exchange_slug}"
