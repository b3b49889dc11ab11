"""How big a balance difference may be and still be booked as drift instead of failing the audit.

Rounding in a token contract (fee-on-transfer, rebasing, interest-bearing tokens) or a
stray dust transfer can leave a wallet a few units away from what the executor booked.
Such a difference is booked as a drift ledger entry with its reason; anything larger fails
the audit. Defaults scale with the token's decimals so they stay far below a cent for any
sensible token:

    decimals <= 13  ->  10 raw units         (USDC: 0.00001 USDC)
    decimals  > 13  ->  10 ** (decimals - 12) (18 decimals: 10**6 wei = 0.000000000001 token)

`--audit-tolerance USDC=0.000001,WETH=0.0000000001` overrides per token symbol, in token
units (0 = exact).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from types import MappingProxyType

from tradeexecutor.errors import UserError
from tradeexecutor.state.identifiers import AssetIdentifier


def default_tolerance_raw(decimals: int) -> int:
    return max(10, 10 ** max(0, decimals - 12))


class Tolerances:
    """Per-token tolerance in raw units: an override by symbol, else the default for its decimals."""

    def __init__(self, overrides: Mapping[str, Decimal] | None = None) -> None:
        self.overrides = MappingProxyType({k.upper(): v for k, v in (overrides or {}).items()})

    @classmethod
    def parse(cls, text: str | None) -> Tolerances:
        """`USDC=0.000001,WETH=0.0000000001` -> Tolerances; a UserError naming the bad part."""
        overrides: dict[str, Decimal] = {}
        for part in (text or "").split(","):
            part = part.strip()
            if not part:
                continue
            symbol, sep, amount = part.partition("=")
            if not sep or not symbol.strip():
                raise UserError(
                    f"--audit-tolerance part {part!r} is not SYMBOL=AMOUNT (e.g. USDC=0.000001): fix it."
                )
            try:
                value = Decimal(amount.strip())
            except InvalidOperation:
                value = Decimal("NaN")
            if not value.is_finite() or value < 0:
                raise UserError(
                    f"--audit-tolerance for {symbol.strip()} must be a token amount of 0 or more, not {amount.strip()!r}."
                )
            overrides[symbol.strip().upper()] = value
        return cls(overrides)

    def raw(self, asset: AssetIdentifier) -> int:
        override = self.overrides.get(asset.symbol.upper())
        if override is not None:
            return asset.to_raw(override)
        return default_tolerance_raw(asset.decimals)

    def describe(self) -> str:
        if not self.overrides:
            return "defaults by decimals"
        return ", ".join(f"{k}={v}" for k, v in self.overrides.items())
