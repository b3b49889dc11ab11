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
from enum import StrEnum
from typing import Any

from web3 import Web3
from web3.exceptions import Web3RPCError

from tradeexecutor.errors import UserError
from tradeexecutor.state.identifiers import ChainId

GAS_LIMIT_PADDING = Decimal("1.2")
FALLBACK_PRIORITY_FEE = 1_000_000_000  # 1 gwei, when the node has no eth_maxPriorityFeePerGas
GWEI = Decimal(10**9)


class GasPriceMethod(StrEnum):
    """How fees are set: `auto` picks london when the latest block has a base fee."""

    auto = "auto"
    london = "london"
    legacy = "legacy"


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


def detect_method(block: Any) -> GasPriceMethod:
    return GasPriceMethod.london if block.get("baseFeePerGas") is not None else GasPriceMethod.legacy


def fetch_gas_pricing(
    web3: Web3, method: GasPriceMethod | str = GasPriceMethod.auto, block: Any = None
) -> GasPricing:
    """Fees from the latest block: EIP-1559 max fee = 2 × base fee + tip, so two full blocks fit."""
    method = GasPriceMethod(method)
    if method == GasPriceMethod.legacy:
        return GasPricing(method=method, legacy_gas_price=web3.eth.gas_price)
    block = block if block is not None else web3.eth.get_block("latest")
    if method == GasPriceMethod.auto:
        method = detect_method(block)
        if method == GasPriceMethod.legacy:
            return GasPricing(method=method, legacy_gas_price=web3.eth.gas_price)
    base_fee = block.get("baseFeePerGas")
    if base_fee is None:
        raise UserError(
            "--gas-price-method london was asked for, but this chain's blocks have no base fee: "
            "use --gas-price-method legacy (or auto)."
        )
    try:
        priority = web3.eth.max_priority_fee
    except Web3RPCError:
        priority = FALLBACK_PRIORITY_FEE
    return GasPricing(
        method=GasPriceMethod.london,
        base_fee=base_fee,
        max_priority_fee=priority,
        max_fee=2 * base_fee + priority,
    )


def pad_gas_limit(estimate: int) -> int:
    return math.ceil(Decimal(estimate) * GAS_LIMIT_PADDING)


def check_gas_balance(web3: Web3, address: str, chain_id: int, minimum: Decimal | None = None) -> Decimal:
    """The wallet's native balance; a UserError when it is under the minimum for trading."""
    minimum = default_min_gas_balance(chain_id) if minimum is None else minimum
    balance = Decimal(web3.eth.get_balance(address)).scaleb(-18)
    if balance < minimum:
        symbol = native_symbol(chain_id)
        raise UserError(
            f"Hot wallet {address} has {balance:f} {symbol} for gas, below the minimum of {minimum:f} "
            f"{symbol} (--min-gas-balance): send {symbol} to it before trading."
        )
    return balance
