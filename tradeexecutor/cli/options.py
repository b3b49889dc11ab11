"""Every command line option, declared once.

Each option's environment variable is derived from its flag (`--strategy-file` ->
`STRATEGY_FILE`), so the two can never disagree. Commands reuse these annotated types
in their signatures; a test walks the whole CLI and checks the rule holds everywhere.

This module must stay cheap to import: `hello`, `version` and `--help` load it.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer

from tradeexecutor.ethereum.settings import ApprovalMode as _ApprovalMode
from tradeexecutor.ethereum.settings import GasPriceMethod as _GasPriceMethod


def env_name(flag: str) -> str:
    """`--strategy-file` -> `STRATEGY_FILE`."""
    return flag.lstrip("-").replace("-", "_").upper()


def option(flag: str, help: str, *aliases: str, **kwargs: Any) -> Any:
    """A typer option whose env var is the flag's name; aliases get their own env var too."""
    envvars = [env_name(flag), *(env_name(a) for a in aliases)]
    return typer.Option(flag, *aliases, envvar=envvars if aliases else envvars[0], help=help, **kwargs)


# --- strategy and state -------------------------------------------------------------------------

StrategyFile = Annotated[
    Path | None, option("--strategy-file", "Python strategy module to load.", show_default=False)
]
StateFile = Annotated[
    Path | None,
    option("--state-file", "JSON state file. Default: state/<id>.json.", show_default=False),
]
Id = Annotated[
    str | None,
    option("--id", "Executor id used in file names and reports. Default: the strategy file's name."),
]
CachePath = Annotated[Path, option("--cache-path", "Directory for downloaded and scanned market data.")]

# --- devchain -----------------------------------------------------------------------------------

DeploymentFile = Annotated[
    Path,
    option("--deployment-file", "JSON file describing a Uniswap v2 deployment (written by devchain up)."),
]
DevchainPort = Annotated[
    int, option("--devchain-port", "Loopback port for the local anvil node; 0 picks a free one.")
]
DevchainEnvFile = Annotated[
    Path,
    option(
        "--devchain-env-file",
        "Where devchain up writes PRIVATE_KEY and JSON_RPC_ANVIL for the hot wallet (mode 0600).",
    ),
]

# --- logging ------------------------------------------------------------------------------------

LogLevel = Annotated[
    str, option("--log-level", "Console log level: debug, info, warning, error.", case_sensitive=False)
]

# --- ethereum execution -------------------------------------------------------------------------
# Enums come from tradeexecutor.ethereum.settings, which imports no web3.


def _non_negative_decimal(text: str | Decimal) -> Decimal:
    """Amounts stay Decimal from the command line on (a float would round 0.1)."""
    try:
        value = Decimal(str(text).strip())
    except ArithmeticError:
        raise typer.BadParameter(f"{text!r} is not a number.") from None
    if not value.is_finite() or value < 0:
        raise typer.BadParameter(f"{text!r} must be a number of 0 or more.")
    return value


GasPriceMethodOption = Annotated[
    _GasPriceMethod,
    option(
        "--gas-price-method",
        "Transaction fees: london (EIP-1559), legacy (gasPrice), or auto (london when blocks have a base fee).",
        case_sensitive=False,
    ),
]
MaxSlippage = Annotated[
    int,
    option(
        "--max-slippage",
        "Most a swap may get below the price quoted from pool reserves, in bps (50 = 0.5 %); else it reverts.",
        min=0,
        max=9999,
    ),
]
ApprovalModeOption = Annotated[
    _ApprovalMode,
    option(
        "--approval-mode",
        "Token approvals for the router: exact (each swap's amount) or unlimited (once per token).",
        case_sensitive=False,
    ),
]
ConfirmationBlockCount = Annotated[
    int,
    option(
        "--confirmation-block-count",
        "Blocks a transaction must be buried under (1 = mined) before its result is trusted.",
        min=1,
    ),
]
ConfirmationTimeout = Annotated[
    float,
    option(
        "--confirmation-timeout",
        "Seconds to wait for a broadcast transaction to confirm before reporting it unconfirmed.",
        min=1,
    ),
]
MinGasBalance = Annotated[
    Decimal | None,
    option(
        "--min-gas-balance",
        "Least native token (ETH, BNB, POL) the hot wallet must hold to trade. Default: per chain.",
        parser=_non_negative_decimal,
        show_default=False,
    ),
]
