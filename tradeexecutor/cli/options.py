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
    option(
        "--state-file",
        "JSON state file. Default: state/<id>.json (backtests: state/<id>-backtest.json).",
        show_default=False,
    ),
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

# --- backtest -----------------------------------------------------------------------------------

ExecutionType = Annotated[
    str | None,
    option(
        "--execution-type",
        "How to execute trades: backtest (simulated fills over historical candles).",
        show_default=False,
    ),
]
BacktestStart = Annotated[
    str | None,
    option(
        "--backtest-start",
        "First moment of the backtest, UTC: a date (2024-01-01) or an ISO datetime.",
        show_default=False,
    ),
]
BacktestEnd = Annotated[
    str | None,
    option(
        "--backtest-end",
        "End of the backtest (exclusive), UTC: a date (2024-07-01) or an ISO datetime.",
        show_default=False,
    ),
]
BacktestCandleTimeFrameOverride = Annotated[
    str | None,
    option(
        "--backtest-candle-time-frame-override",
        "Use candles (and cycles) of this width instead of the strategy's, e.g. 1d for a quick smoke test.",
        show_default=False,
    ),
]
BacktestStopLossTimeFrameOverride = Annotated[
    str | None,
    option(
        "--backtest-stop-loss-time-frame-override",
        "Check stop losses on candles of this width; the candle width or wider means on the strategy's candles.",
        show_default=False,
    ),
]
InitialCash = Annotated[
    str, option("--initial-cash", "Reserve currency the backtest starts with (e.g. 10000 USDC).")
]
CandleData = Annotated[
    Path | None,
    option(
        "--candle-data",
        "Candles for the backtest: a file BASE-QUOTE-BUCKET.csv|.parquet or a directory in the cache layout. "
        "Default: --cache-path.",
        show_default=False,
    ),
]
SyntheticData = Annotated[
    bool,
    option(
        "--synthetic-data",
        "Backtest on a generated random market for the strategy's pairs instead of candle files.",
    ),
]
SyntheticSeed = Annotated[
    int, option("--synthetic-seed", "Seed of the synthetic market (same seed, same candles).")
]
BacktestSlippageBps = Annotated[
    str,
    option(
        "--backtest-slippage-bps",
        "Fill every backtest trade this many basis points worse than the mid price.",
    ),
]
BacktestPoolLiquidity = Annotated[
    str | None,
    option(
        "--backtest-pool-liquidity",
        "Model price impact as a constant-product pool holding this much reserve currency per side.",
        show_default=False,
    ),
]
Report = Annotated[
    Path | None,
    option(
        "--report",
        "Write a self-contained HTML report (equity curve, trades) to this path.",
        show_default=False,
    ),
]
