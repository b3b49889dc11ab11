"""Amounts typed by operators (`--initial-cash 10_000`, `--backtest-slippage-bps 2.5`) as Decimal.

A leaf module, so `start` parses its amounts without importing the backtest (and pandas)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from tradeexecutor.errors import UserError


def parse_decimal(text: str, flag: str) -> Decimal:
    try:
        value = Decimal(text.strip().replace("_", "").replace(",", ""))
    except (InvalidOperation, AttributeError):
        raise UserError(f"{flag} {text!r} is not a number; write e.g. 10000 or 2500.50.") from None
    if not value.is_finite():
        raise UserError(f"{flag} must be a finite number, got {text!r}.")
    return value


def parse_positive_decimal(text: str, flag: str) -> Decimal:
    """An amount that must be more than zero (starting cash): one sentence naming the option otherwise."""
    value = parse_decimal(text, flag)
    if value <= 0:
        raise UserError(
            f"{flag} must be more than 0, got {text.strip()}; give the starting cash, e.g. 10000."
        )
    return value
