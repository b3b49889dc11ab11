"""Immutable identifiers: chains, tokens and trading pairs.

Identifiers are frozen value objects: two with the same fields are the same thing, they
hash, and they can be used as dictionary keys. Addresses are stored checksummed as given
by the chain; comparisons go through `address_key` (lower case) so that a lower-case
address from a log and a checksummed one from a config file match.

They are small hand-written classes rather than msgspec Structs on purpose: every trade
and position points at a pair, and a Struct would be written out in full at each of those
places (about 1.2 KB per closed position). As plain classes msgspec hands them to the
serialiser's hooks, which write each distinct identifier once in a table and refer to it by
index; on load every reference resolves to one shared object. See docs/state.md.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Context, Decimal
from enum import IntEnum
from typing import Any, NoReturn

# Wide enough for any uint256 amount: conversions must never round in the context.
_WIDE = Context(prec=100)


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


class _Frozen:
    """Value-object plumbing: immutable slots, equality and hash over `_fields`."""

    __slots__ = ("_hash",)
    _fields: tuple[str, ...] = ()

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        raise AttributeError(f"{type(self).__name__} is immutable; build a new one instead.")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError(f"{type(self).__name__} is immutable.")

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, f) for f in self._fields)

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if type(other) is not type(self):
            return NotImplemented
        return self._hash == other._hash and self._values() == other._values()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        args = ", ".join(f"{f}={getattr(self, f)!r}" for f in self._fields)
        return f"{type(self).__name__}({args})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), {f: getattr(self, f) for f in self._fields}))

    def _init(self, **values: Any) -> None:
        for name, value in values.items():
            object.__setattr__(self, name, value)
        object.__setattr__(self, "_hash", hash(self._values()))


def _rebuild(cls: type, values: dict[str, Any]) -> Any:
    return cls(**values)


class AssetIdentifier(_Frozen):
    """An ERC-20 token (or the chain's native token, address `NATIVE_TOKEN_ADDRESS`) on one chain."""

    __slots__ = ("chain_id", "address", "symbol", "decimals", "name", "key")
    _fields = ("chain_id", "address", "symbol", "decimals", "name")
    chain_id: int
    address: str
    symbol: str
    decimals: int
    name: str
    key: str

    def __init__(self, *, chain_id: int, address: str, symbol: str, decimals: int, name: str = "") -> None:
        if not 0 <= decimals <= 77:
            raise ValueError(f"Token {symbol} has impossible decimals {decimals}.")
        self._init(chain_id=chain_id, address=address, symbol=symbol, decimals=decimals, name=name)
        # Stable dictionary key: chain and lower-case address (computed once: it is on hot paths).
        object.__setattr__(self, "key", f"{chain_id}:{address_key(address)}")

    def to_raw(self, amount: Decimal) -> int:
        """Human amount -> on-chain integer, rounding towards zero (never claim more than exists)."""
        return int(amount.scaleb(self.decimals, context=_WIDE).to_integral_value(rounding=ROUND_DOWN))

    def to_decimal(self, raw: int) -> Decimal:
        """On-chain integer -> exact human amount.

        Decimal arithmetic rounds to the context's 28 significant digits and token amounts
        can be longer than that, so the shift runs in the 100-digit context (any uint256
        amount fits): exact, and several times cheaper than rebuilding the number from its
        digit tuple, which matters because valuation converts amounts every cycle. Longer
        integers still take the digit route.
        """
        value = Decimal(raw)
        if value.adjusted() < _WIDE.prec:
            return value.scaleb(-self.decimals, context=_WIDE)
        sign, digits, _ = value.as_tuple()
        return Decimal((sign, digits, -self.decimals))

    def __str__(self) -> str:
        return f"{self.symbol} ({self.address} on {ChainId.name_of(self.chain_id)})"


NATIVE_TOKEN_ADDRESS = "0x0000000000000000000000000000000000000000"


def native_token(chain_id: int, symbol: str = "ETH") -> AssetIdentifier:
    """The chain's gas token, tracked so gas fees have a ledger of their own."""
    return AssetIdentifier(chain_id=chain_id, address=NATIVE_TOKEN_ADDRESS, symbol=symbol, decimals=18)


class TradingPairIdentifier(_Frozen):
    """A Uniswap v2 pool seen as base/quote: prices are quote tokens per one base token."""

    __slots__ = ("base", "quote", "pool_address", "exchange_slug", "fee_bps", "key")
    _fields = ("base", "quote", "pool_address", "exchange_slug", "fee_bps")
    base: AssetIdentifier
    quote: AssetIdentifier
    pool_address: str
    exchange_slug: str
    fee_bps: int
    key: str  # chain and lower-case pool address

    def __init__(
        self,
        *,
        base: AssetIdentifier,
        quote: AssetIdentifier,
        pool_address: str,
        exchange_slug: str,
        fee_bps: int = 30,
    ) -> None:
        ticker = f"{base.symbol}-{quote.symbol}"
        if base.chain_id != quote.chain_id:
            raise ValueError(f"Pair {ticker} mixes tokens from two chains.")
        if address_key(base.address) == address_key(quote.address):
            raise ValueError(f"Pair {ticker} has the same token as base and quote.")
        if not 0 <= fee_bps < 10_000:
            raise ValueError(f"Pair {ticker} has an impossible fee of {fee_bps} bps.")
        self._init(
            base=base, quote=quote, pool_address=pool_address, exchange_slug=exchange_slug, fee_bps=fee_bps
        )
        object.__setattr__(self, "key", f"{base.chain_id}:{address_key(pool_address)}")

    @property
    def chain_id(self) -> int:
        return self.base.chain_id

    @property
    def ticker(self) -> str:
        return f"{self.base.symbol}-{self.quote.symbol}"

    @property
    def fee(self) -> Decimal:
        """LP fee as a fraction, e.g. Decimal('0.003')."""
        return Decimal(self.fee_bps) / Decimal(10_000)

    def __str__(self) -> str:
        return f"{self.ticker} at {self.pool_address} on {self.exchange_slug}"
