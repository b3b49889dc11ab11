"""Every command line option, declared once.

Each option's environment variable is derived from its flag (`--strategy-file` ->
`STRATEGY_FILE`), so the two can never disagree. Commands reuse these annotated types
in their signatures; a test walks the whole CLI and checks the rule holds everywhere.

This module must stay cheap to import: `hello`, `version` and `--help` load it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer


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
