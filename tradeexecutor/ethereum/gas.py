"""Gas: fee pricing (EIP-1559 or legacy), padded gas limits, and the gas money check.

Why pad: a Uniswap v2 pair writes its price accumulators only when the block timestamp
moved since its last update, and nodes estimate at the current timestamp, so a swap mined a
second later can need more gas than estimated (see docs/execution.md). Every estimate is
multiplied by `GAS_LIMIT_PADDING`; the unused part is never charged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from web3 import Web3

from tradeexecutor.errors import UserError
from tradeexecutor.ethereum.batch import BatchCallError, batch_rpc
from tradeexecutor.ethereum.settings import GasPriceMethod
from tradeexecutor.state.identifiers import ChainId

GAS_LIMIT_PADDING = Decimal("1.2")
FALLBACK_PRIORITY_FEE = 1_000_000_000  # 1 gwei, when the node has no eth_maxPriorityFeePerGas
GWEI = Decimal(10**9)


NATIVE_SYMBOLS = {
    ChainId.ethereum: "ETH",
    ChainId.binance: "BNB",
    ChainId.polygon: "POL",
    ChainId.arbitrum: "ETH",
    ChainId.base: "ETH",
    ChainId.anvil: "ETH",
}

# Enough for a handful of swaps at busy-day fees on each chain; override with --min-gas-balance.
DEFAULT_MIN_GAS_BALANCE = {
    ChainId.ethereum: Decimal("0.05"),
    ChainId.binance: Decimal("0.01"),
    ChainId.polygon: Decimal("5"),
    ChainId.arbitrum: Decimal("0.002"),
    ChainId.base: Decimal("0.002"),
    ChainId.anvil: Decimal("0.01"),
}
FALLBACK_MIN_GAS_BALANCE = Decimal("0.01")


def native_symbol(chain_id: int) -> str:
    return NATIVE_SYMBOLS.get(chain_id, "native token")  # type: ignore[call-overload]


def default_min_gas_balance(chain_id: int) -> Decimal:
    return DEFAULT_MIN_GAS_BALANCE.get(chain_id, FALLBACK_MIN_GAS_BALANCE)  # type: ignore[call-overload]


def human(amount: Decimal) -> str:
    """`0.001000000000000000` -> `0.001`; `1E+2` -> `100`."""
    return f"{amount.normalize():f}"


def _gwei(wei: int | None) -> str:
    return "None" if wei is None else f"{Decimal(wei) / GWEI:.4f} gwei"


@dataclass(frozen=True, slots=True)
class GasPricing:
    """Fee fields for the next transactions; `legacy_gas_price` is set only for legacy."""

    method: GasPriceMethod
    base_fee: int | None = None
    max_priority_fee: int | None = None
    max_fee: int | None = None
    legacy_gas_price: int | None = None

    def tx_fields(self) -> dict[str, int]:
        if self.method == GasPriceMethod.legacy:
            assert self.legacy_gas_price is not None
            return {"gasPrice": self.legacy_gas_price}
        assert self.max_fee is not None and self.max_priority_fee is not None
        return {"maxFeePerGas": self.max_fee, "maxPriorityFeePerGas": self.max_priority_fee}

    def max_price(self) -> int:
        """The most one unit of gas can cost under these fields."""
        value = self.legacy_gas_price if self.method == GasPriceMethod.legacy else self.max_fee
        assert value is not None
        return value

    def __str__(self) -> str:
        return (
            f"<Gas pricing method:{self.method.value} base:{_gwei(self.base_fee)} "
            f"priority:{_gwei(self.max_priority_fee)} max:{_gwei(self.max_fee)} "
            f"legacy:{_gwei(self.legacy_gas_price)}>"
        )


def pricing_calls(method: GasPriceMethod | str) -> list[tuple[str, list[Any]]]:
    """The JSON-RPC calls whose answers `pricing_from_results` needs (batch them with others)."""
    if GasPriceMethod(method) == GasPriceMethod.legacy:
        return [("eth_gasPrice", [])]
    return [
        ("eth_getBlockByNumber", ["latest", False]),
        ("eth_maxPriorityFeePerGas", []),
        ("eth_gasPrice", []),
    ]


def pricing_from_results(method: GasPriceMethod | str, results: list[Any]) -> GasPricing:
    """Fees from the latest block: EIP-1559 max fee = 2 × base fee + tip, so two full blocks fit."""
    method = GasPriceMethod(method)
    if method == GasPriceMethod.legacy:
        return GasPricing(method=method, legacy_gas_price=_raise_or_int(results[0]))
    block, priority, gas_price = results
    if isinstance(block, BatchCallError):
        raise block
    base_fee = block.get("baseFeePerGas")
    if base_fee is None:
        if method == GasPriceMethod.auto:
            return GasPricing(method=GasPriceMethod.legacy, legacy_gas_price=_raise_or_int(gas_price))
        raise UserError(
            "--gas-price-method london was asked for, but this chain's blocks have no base fee: "
            "use --gas-price-method legacy (or auto)."
        )
    base = int(base_fee, 16)
    tip = FALLBACK_PRIORITY_FEE if isinstance(priority, BatchCallError) else int(priority, 16)
    return GasPricing(
        method=GasPriceMethod.london, base_fee=base, max_priority_fee=tip, max_fee=2 * base + tip
    )


def _raise_or_int(value: Any) -> int:
    if isinstance(value, BatchCallError):
        raise value
    return int(value, 16)


def fetch_gas_pricing(web3: Web3, method: GasPriceMethod | str = GasPriceMethod.auto) -> GasPricing:
    """Current fees in one round trip; `auto` picks london when the latest block has a base fee."""
    return pricing_from_results(method, batch_rpc(web3, pricing_calls(method), raise_errors=False))


# Nodes replace a pending transaction only when the new one pays at least 10 % more on every
# fee field (geth's default price bump); 12.5 % leaves room for rounding and stricter nodes.
REPLACEMENT_BUMP = Decimal("1.125")


def replacement_fees(
    current: GasPricing,
    *,
    max_fee: int | None = None,
    max_priority_fee: int | None = None,
    gas_price: int | None = None,
) -> dict[str, int]:
    """Fee fields for a transaction that must replace a pending one at the same nonce.

    The higher of today's price and the stuck transaction's price bumped by REPLACEMENT_BUMP,
    on each field: a replacement that only matched today's price would be refused as
    underpriced whenever fees fell since the stuck one was sent.
    """

    def bumped(old: int | None) -> int:
        return 0 if old is None else math.ceil(Decimal(old) * REPLACEMENT_BUMP) + 1

    if current.method == GasPriceMethod.legacy:
        old = gas_price if gas_price is not None else max_fee
        return {"gasPrice": max(current.max_price(), bumped(old))}
    assert current.max_fee is not None and current.max_priority_fee is not None
    old_tip = max_priority_fee if max_priority_fee is not None else gas_price
    old_cap = max_fee if max_fee is not None else gas_price
    tip = max(current.max_priority_fee, bumped(old_tip))
    return {"maxFeePerGas": max(current.max_fee, bumped(old_cap), tip), "maxPriorityFeePerGas": tip}


def pad_gas_limit(estimate: int) -> int:
    return math.ceil(Decimal(estimate) * GAS_LIMIT_PADDING)


def gas_balance_problem(address: str, balance: Decimal, chain_id: int, minimum: Decimal) -> str | None:
    """The sentence for a wallet with too little gas money (None when it has enough): one source for
    check-wallet, the start-up check and the execution model."""
    if balance >= minimum:
        return None
    symbol = native_symbol(chain_id)
    return (
        f"Hot wallet {address} has {human(balance)} {symbol} for gas, below the minimum of {human(minimum)} "
        f"{symbol} (--min-gas-balance): send {symbol} to it before trading."
    )


def check_gas_balance(web3: Web3, address: str, chain_id: int, minimum: Decimal | None = None) -> Decimal:
    """The wallet's native balance; a UserError when it is under the minimum for trading."""
    minimum = default_min_gas_balance(chain_id) if minimum is None else minimum
    balance = Decimal(web3.eth.get_balance(address)).scaleb(-18)
    problem = gas_balance_problem(address, balance, chain_id, minimum)
    if problem:
        raise UserError(problem)
    return balance
