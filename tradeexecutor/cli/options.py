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


# Options that must come from the person at the keyboard, never from an environment or a .env
# file: a `YES=true` left in a deployment file would silently confirm destructive commands.
NO_ENV_FLAGS = frozenset({"--yes"})


def option(flag: str, help: str, *aliases: str, **kwargs: Any) -> Any:
    """A typer option whose env var is the flag's name; aliases get their own env var too.

    A boolean switch is written `--x/--no-x`; its env var comes from the first half.
    """
    if flag in NO_ENV_FLAGS:
        return typer.Option(flag, *aliases, help=help, **kwargs)
    envvars = [env_name(flag.split("/")[0]), *(env_name(a) for a in aliases)]
    return typer.Option(flag, *aliases, envvar=envvars if aliases else envvars[0], help=help, **kwargs)


# --- strategy and state -------------------------------------------------------------------------

StrategyFile = Annotated[
    Path | None, option("--strategy-file", "Python strategy module to load.", show_default=False)
]
Param = Annotated[
    list[str] | None,
    option(
        "--param",
        "Override one of the strategy's PARAMETERS, NAME=VALUE (repeatable; the env var takes several "
        "separated by spaces); checked against PARAMETERS.",
        show_default=False,
    ),
]
StateFile = Annotated[
    Path | None,
    option(
        "--state-file",
        "JSON state file. Default: state/<id>.json (backtests: state/<id>-backtest.json). Live commands "
        "refuse a directory that does not exist; only the default state/ is created.",
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

DevchainMarketMinutes = Annotated[
    int,
    option(
        "--devchain-market-minutes",
        "Replay this many minutes of WETH-USDC trading, then keep a simulated trader moving the price "
        "(what the demo does); 0 deploys a quiet chain.",
        min=0,
    ),
]

# --- logging ------------------------------------------------------------------------------------

LogLevel = Annotated[
    str, option("--log-level", "Console log level: debug, info, warning, error.", case_sensitive=False)
]
FileLogLevel = Annotated[
    str,
    option(
        "--file-log-level",
        "Level for the rotating log file <log-file-dir>/<id>.log: debug, info, warning, error, or none.",
        case_sensitive=False,
    ),
]
LogFileDir = Annotated[Path, option("--log-file-dir", "Directory for rotating log files (10 MB x 5 kept).")]
LogFormat = Annotated[
    str,
    option(
        "--log-format",
        "Console log format: text (human-readable lines on stderr) or json (one JSON object per line on "
        "stdout, for container log collectors).",
        case_sensitive=False,
    ),
]

# --- webhook ------------------------------------------------------------------------------------

HttpEnabled = Annotated[
    bool, option("--http-enabled/--http-disabled", "Serve /ping, /status and the other webhook endpoints.")
]
HttpHost = Annotated[str, option("--http-host", "Address the webhook binds to; 0.0.0.0 inside Docker.")]
HttpPort = Annotated[int, option("--http-port", "Webhook TCP port.")]
HttpUsername = Annotated[
    str | None,
    option(
        "--http-username", "Basic auth user for every endpoint but /ping and /health.", show_default=False
    ),
]
HttpPassword = Annotated[
    str | None,
    option("--http-password", "Basic auth password (never logged or shown).", show_default=False),
]
HttpCorsOrigins = Annotated[
    str | None,
    option(
        "--http-cors-origins",
        "Comma-separated origins allowed to read the webhook from a browser (* for any), and to post "
        "the dashboard's login form (* excluded).",
        show_default=False,
    ),
]
HttpTrustedProxy = Annotated[
    str | None,
    option(
        "--http-trusted-proxy",
        "IP address of the reverse proxy in front of the webhook (* for any, when only the proxy can "
        "reach it): its X-Forwarded-For, -Proto and -Host headers are believed, so logins are limited "
        "per real client address. Default: no proxy headers are believed.",
        show_default=False,
    ),
]

# --- reporting and alerting ---------------------------------------------------------------------

DiscordWebhookUrl = Annotated[
    str | None,
    option(
        "--discord-webhook-url", "Discord webhook for start, trades, failures and stop.", show_default=False
    ),
]
DiscordErrorWebhookUrl = Annotated[
    str | None,
    option(
        "--discord-error-webhook-url",
        "Separate Discord webhook for failures only (default: the main one).",
        show_default=False,
    ),
]
LogstashServer = Annotated[
    str | None,
    option(
        "--logstash-server",
        "Send logs as JSON over UDP to host[:port] (port 5959 by default).",
        show_default=False,
    ),
]
StatsdHost = Annotated[
    str | None, option("--statsd-host", "Send metrics to this statsd host (UDP).", show_default=False)
]
StatsdPort = Annotated[int, option("--statsd-port", "statsd UDP port.")]
StatsdPrefix = Annotated[str, option("--statsd-prefix", "Prefix of every statsd metric name.")]
Heartbeat = Annotated[
    str | None,
    option(
        "--heartbeat",
        "Heartbeat file touched after every cycle and trigger check; none to disable. "
        "Default: monit/heartbeat/<id>.txt.",
        show_default=False,
    ),
]
SentryDsn = Annotated[
    str | None,
    option("--sentry-dsn", "Send exceptions to Sentry (off unless set).", show_default=False),
]
ExplorerUrl = Annotated[
    str | None,
    option(
        "--explorer-url",
        "Block explorer base URL for transaction links in Discord and the dashboards, e.g. "
        "https://etherscan.io. Default: the known explorer of the strategy's chain (none for anvil).",
        show_default=False,
    ),
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

# --- live execution -----------------------------------------------------------------------------

# The same --deployment-file option as above, optional: live commands take it or --exchange-slug.
OptionalDeploymentFile = Annotated[Path | None, DeploymentFile.__metadata__[0]]
ExchangeSlug = Annotated[
    str | None,
    option(
        "--exchange-slug",
        "Built-in exchange to trade on (uniswap-v2, sushiswap, pancakeswap-v2, quickswap) instead of "
        "--deployment-file.",
        show_default=False,
    ),
]
TokenAddresses = Annotated[
    str | None,
    option(
        "--token-addresses",
        "With --exchange-slug: SYMBOL=0xADDRESS pairs, comma-separated, for every token of TRADING_PAIRS.",
        show_default=False,
    ),
]
CandleStartBlock = Annotated[
    int | None,
    option(
        "--candle-start-block",
        "First block scanned for on-chain candles. Default: the deployment file's block, or 50,000 blocks back.",
        min=0,
        show_default=False,
    ),
]
MaxDataDelayMinutes = Annotated[
    int,
    option(
        "--max-data-delay-minutes",
        "Newest candle may be at most this old: check-universe fails, and a live cycle refuses to trade.",
        min=1,
    ),
]
TestTradeSize = Annotated[
    Decimal,
    option(
        "--test-trade-size",
        "Reserve currency spent by perform-test-trade (then sold back).",
        parser=_non_negative_decimal,
    ),
]
TestTradePair = Annotated[
    str | None,
    option(
        "--test-trade-pair",
        "Pair to test-trade (e.g. WETH-USDC). Default: the strategy's only pair.",
        show_default=False,
    ),
]
RepairYes = Annotated[
    bool,
    option(
        "--yes",
        "Act without asking: repair resolves what the chain can tell and cancels stuck transactions "
        "(default: only list); close-position, close-all and reset-state skip their confirmation prompt.",
    ),
]

# --- operator toolbox ---------------------------------------------------------------------------
# Also used by these commands: StateFile, Id, StrategyFile, OptionalDeploymentFile, ExchangeSlug,
# TokenAddresses, CachePath, the execution options above, and RepairYes (--yes) for prompts.

Yes = RepairYes
ReadOnly = Annotated[
    bool,
    option(
        "--read-only",
        "console: open the state without taking its lock (works while an executor runs); nothing can be saved.",
    ),
]
JsonOutput = Annotated[bool, option("--json", "Print machine-readable JSON instead of a table.")]
ExportFormat = Annotated[
    str | None,
    option(
        "--export-format",
        "export-trades: csv or parquet. Default: from the --output suffix, else csv.",
        show_default=False,
    ),
]
ExportOutput = Annotated[
    Path | None,
    option(
        "--output",
        "export-trades: a directory (gets trades.<format> and ledger.<format>) or a file for the trades "
        "(the ledger goes next to it as <name>.ledger.<format>). Default: state/<id>-export/.",
        show_default=False,
    ),
]
Simulate = Annotated[
    bool,
    option(
        "--simulate",
        "Rehearse on an anvil fork of the configured node: real pools, no real money; the state goes to "
        "<state>.simulated.json, a fresh copy of the real state (never touched) unless --continue-simulation.",
    ),
]
ContinueSimulation = Annotated[
    bool,
    option(
        "--continue-simulation",
        "With --simulate: continue the previous rehearsal's <state>.simulated.json instead of a fresh copy of "
        "the real state; the wallet on the new fork is given the balances that state books.",
    ),
]
SimulateReserve = Annotated[
    Decimal | None,
    option(
        "--simulate-reserve",
        "With --simulate: give the hot wallet this much reserve currency on the fork (default: what it holds).",
        parser=_non_negative_decimal,
        show_default=False,
    ),
]

# --- audit --------------------------------------------------------------------------------------

Audit = Annotated[
    bool,
    option(
        "--audit/--no-audit",
        "Audit the hot wallet against the state every --audit-tick cycles (docs/audit.md).",
    ),
]
AuditTick = Annotated[
    int, option("--audit-tick", "With --audit: run the audits every this many cycles.", min=1)
]
AuditTypes = Annotated[
    str,
    option("--audit-types", "Audits to run, comma-separated: balance, ledger, order."),
]
AuditTolerance = Annotated[
    str | None,
    option(
        "--audit-tolerance",
        "Balance differences booked as drift instead of failing, per token in token units "
        "(e.g. USDC=0.000001,WETH=0.0000000001). Default: 10 raw units, 10**(decimals-12) for 18-decimal tokens.",
        show_default=False,
    ),
]
WalletAddress = Annotated[
    str | None,
    option(
        "--wallet-address",
        "audit: the hot wallet to audit. Default: the wallet the state file trades from (no private key needed).",
        show_default=False,
    ),
]

# --- backtest -----------------------------------------------------------------------------------

ExecutionType = Annotated[
    str | None,
    option(
        "--execution-type",
        "How to execute trades: uniswap_v2_hot_wallet (live), dummy (paper: chain prices, nothing sent) or backtest.",
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
    str,
    option(
        "--initial-cash",
        "Reserve currency a backtest or paper trading (dummy) starts with: more than 0 (e.g. 10000 USDC).",
    ),
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

# --- live loop (start) --------------------------------------------------------------------------

StrategyName = Annotated[
    str | None,
    option("--name", "Strategy name shown in /metadata, Discord and dashboards.", show_default=False),
]
ShortDescription = Annotated[
    str | None, option("--short-description", "One-line description for /metadata.", show_default=False)
]
LongDescription = Annotated[
    str | None, option("--long-description", "Longer description for /metadata.", show_default=False)
]
IconUrl = Annotated[
    str | None,
    option("--icon-url", "Square logo image URL for /metadata and dashboards.", show_default=False),
]
CycleDurationOverride = Annotated[
    str | None,
    option(
        "--cycle-duration",
        "Run decide_trades this often instead of the strategy's TRADING_STRATEGY_CYCLE (1m ... 7d).",
        show_default=False,
    ),
]
CycleOffsetMinutes = Annotated[
    float,
    option(
        "--cycle-offset-minutes",
        "Minutes after each cycle timestamp to run it, so the candle that just closed is in the data.",
        "--tick-offset-minutes",
        min=0,
    ),
]
StopLossCheckFrequency = Annotated[
    str,
    option(
        "--stop-loss-check-frequency",
        "How often to check stop losses and take profits between cycles: 30s, 1m, 5m, 1h; none to disable.",
    ),
]
TradeImmediately = Annotated[
    bool,
    option("--trade-immediately", "Run the cycle that is due now at start instead of waiting for the next."),
]
MaxCycles = Annotated[
    int | None,
    option("--max-cycles", "Stop after this many cycles (exit 0).", min=1, show_default=False),
]
RunSingleCycle = Annotated[
    bool,
    option(
        "--run-single-cycle",
        "Run the due cycle now and exit: 0 on success, 1 on failure (for cron-style runs and checks).",
    ),
]
WatchdogTimeout = Annotated[
    str | None,
    option(
        "--watchdog-timeout",
        "Alert, and answer /health with 503 (stalled), when one cycle or stop-loss check runs longer than "
        "this (30s, 5m, 1h). Default: the cycle duration, at least 5m.",
        show_default=False,
    ),
]
StopChecksAfterHalt = Annotated[
    bool,
    option(
        "--stop-checks-after-halt/--no-stop-checks-after-halt",
        "After a strategy error halts trading, keep checking the stop losses and take profits of open "
        "positions (the default). --no-stop-checks-after-halt stops them too. An invariant violation always "
        "stops them.",
    ),
]

# --- dashboard ----------------------------------------------------------------------------------

DashboardEnabled = Annotated[
    bool,
    option(
        "--dashboard-enabled/--dashboard-disabled",
        "Serve the strategy, fund and ledger dashboards (/, /fund, /ledger) from the webhook.",
    ),
]
DashboardLogin = Annotated[
    bool,
    option(
        "--dashboard-login/--no-dashboard-login",
        "Require a dashboard login (users from create-dashboard-user) instead of public read-only pages.",
    ),
]
DashboardDbUrl = Annotated[
    str | None,
    option(
        "--dashboard-db-url",
        "SQLAlchemy URL of the dashboard user database. Default: sqlite:///state/dashboard-users.sqlite.",
        show_default=False,
    ),
]
AppCookieSecret = Annotated[
    str | None,
    option(
        "--app-cookie-secret",
        "Secret that signs dashboard session cookies; required with --dashboard-login (never shown).",
        show_default=False,
    ),
]
DashboardCookieSecure = Annotated[
    str,
    option(
        "--dashboard-cookie-secure",
        "Mark session cookies Secure: auto (when the request came over https), always, or never.",
    ),
]
DashboardConfigFile = Annotated[
    Path | None,
    option(
        "--dashboard-config",
        "INI or TOML file with [strategies:<id>] display settings (currencies, symbol size, ranges).",
        show_default=False,
    ),
]
Strategies = Annotated[
    Path | None,
    option(
        "--strategies",
        "JSON file listing executors as [{id, name, url}] for the fleet dashboard "
        "(or the JSON itself in TS_PUBLIC_STRATEGIES).",
        show_default=False,
    ),
]
FleetTimeout = Annotated[
    float, option("--fleet-timeout", "Seconds to wait for each executor's /status and /metadata.")
]
Username = Annotated[
    str | None,
    option(
        "--dashboard-username", "Dashboard username to create (asked when not given).", show_default=False
    ),
]
PasswordStdin = Annotated[
    bool,
    option(
        "--password-stdin/--no-password-stdin",
        "Read the password from standard input (first line) instead of asking, for scripts.",
    ),
]

# --- deployment: Docker, configuration files ----------------------------------------------------

HealthcheckTimeout = Annotated[
    float, option("--healthcheck-timeout", "Seconds to wait for the webhook's /health answer.", min=0.1)
]
ConfigEnvFiles = Annotated[
    list[Path] | None,
    option(
        "--env-file",
        "A .env file to splice, in order (later files win); every file but the last is public, "
        "the last one holds the secrets.",
        show_default=False,
    ),
]
ConfigOutput = Annotated[
    Path | None,
    option(
        "--output",
        "Write the spliced, validated Docker env file here (mode 0600), only when no problem is found.",
        show_default=False,
    ),
]
PublicOnly = Annotated[
    bool,
    option(
        "--public-only",
        "Every --env-file is public: flag any secret in them and do not require the secret variables.",
    ),
]


# --- sweep: many backtests on Dask ---------------------------------------------------------------

Grid = Annotated[
    list[str] | None,
    option(
        "--grid",
        "A parameter to sweep, NAME=LOW:HIGH:STEP (both ends included) or NAME=V1,V2,... (repeatable).",
        show_default=False,
    ),
]
Samples = Annotated[
    int | None,
    option("--samples", "Run this many random combinations of the grid instead of all.", show_default=False),
]
Trials = Annotated[
    int | None,
    option("--trials", "Search the grid with Optuna for this many trials instead.", show_default=False),
]
Objective = Annotated[
    str,
    option(
        "--objective",
        "What the results are sorted by and Optuna optimises: sharpe, cagr, calmar, return, profit, "
        "win_rate, max_drawdown (lowest first) or any summary column.",
    ),
]
ResultsDir = Annotated[
    Path | None,
    option(
        "--results-dir",
        "Directory for results.parquet, results.csv and report.html; runs already in it are not repeated. "
        "Default: sweeps/<strategy file name>.",
        show_default=False,
    ),
]
DaskScheduler = Annotated[
    str | None,
    option(
        "--dask-scheduler",
        "Run on this Dask cluster (tcp://host:8786) instead of an embedded one on this machine.",
        show_default=False,
    ),
]
DaskWorkers = Annotated[
    int | None,
    option(
        "--dask-workers",
        "Worker processes of the embedded cluster. Default: one per CPU core.",
        show_default=False,
        min=1,
    ),
]
SweepSeed = Annotated[int, option("--sweep-seed", "Seed for --samples and --trials (same seed, same picks).")]
