"""Live execution settings and the choices the CLI offers for them.

Kept free of web3 imports so `cli/options.py` can use them without slowing `--help`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class GasPriceMethod(StrEnum):
    """How fees are set: `auto` picks london when the latest block has a base fee."""

    auto = "auto"
    london = "london"
    legacy = "legacy"


class ApprovalMode(StrEnum):
    """`exact`: approve each swap's input amount; `unlimited`: approve once, forever."""

    exact = "exact"
    unlimited = "unlimited"


@dataclass(frozen=True, slots=True)
class ExecutionSettings:
    """The live execution options in one value (see cli/options.py for each one's meaning)."""

    gas_price_method: GasPriceMethod = GasPriceMethod.auto
    max_slippage_bps: int = 50
    approval_mode: ApprovalMode = ApprovalMode.exact
    confirmation_block_count: int = 1
    confirmation_timeout: float = 300.0
    min_gas_balance: Decimal | None = None  # None: the chain's default (ethereum.gas)
