"""What a deployment needs: execution types and the variables each one requires.

`check-config` decides from here what a configuration must contain. The names of the
execution types are those `trade-executor start` accepts (cli/live_start.py and the backtest
branch of cli/commands/start.py; a test keeps the two in step). No heavy imports.
"""

from __future__ import annotations

from enum import StrEnum

from tradeexecutor.config.validation import Requirement


class ExecutionType(StrEnum):
    """How the executor turns decided trades into fills."""

    uniswap_v2_hot_wallet = "uniswap_v2_hot_wallet"  # live: router swaps signed with PRIVATE_KEY
    dummy = "dummy"  # paper trading: prices from the chain, fills booked, nothing sent
    backtest = "backtest"  # simulated fills on historical candles

    @property
    def uses_chain(self) -> bool:
        """Reads prices from a node and an exchange (live and paper trading)."""
        return self is not ExecutionType.backtest

    @property
    def signs(self) -> bool:
        """Sends transactions from the hot wallet."""
        return self is ExecutionType.uniswap_v2_hot_wallet


# The image's working directory: compose mounts strategies/, state/ and cache/ under it, so
# a relative path in an env file means the same on the host (beside docker-compose.yml).
CONTAINER_WORKDIR = "/usr/src/trade-executor"

# Live execution trades on one exchange: a deployment file (devchain, any Uniswap v2 fork) or
# a built-in one by its slug (see execution/live/connect.py).
EXCHANGE_ALTERNATIVES = ("DEPLOYMENT_FILE", "EXCHANGE_SLUG")

# Options whose file must exist before the container starts.
PATHS_THAT_MUST_EXIST = frozenset({"STRATEGY_FILE"})

# Read by Python, requests or the image rather than by an option; fine in an env file.
RUNTIME_VARIABLES = (
    "GIT_REVISION",  # overrides the revision baked into the image (tradeexecutor/version.py)
    "ANVIL_BINARY",  # devchain: the anvil binary to run
    "TRADE_EXECUTOR_NODE_MODULES",  # devchain: where the npm tooling is
    "TS_PUBLIC_STRATEGIES",  # fleet dashboard: JSON list of {id, name, url}
    "TZ",
    "PYTHONUNBUFFERED",
    "PYTHONFAULTHANDLER",
    "PYTHONWARNINGS",
    "PYTHONDONTWRITEBYTECODE",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "REQUESTS_CA_BUNDLE",
    "SSL_CERT_FILE",
)

_FOR_COMPOSE = (
    "is read by docker compose when it reads docker-compose.yml (from your shell or a .env file "
    "beside it), not by the executor: remove it from this file."
)

# Variables the compose files interpolate (a test keeps this in step with the files).
COMPOSE_VARIABLES = {
    name: _FOR_COMPOSE
    for name in (
        "TRADE_EXECUTOR_VERSION",
        "EXECUTOR_UID",
        "EXECUTOR_GID",
        "SMA_CROSSOVER_ENV_FILE",
        "DEMO_HTTP_PORT",
    )
}


def required_variables(
    execution_type: ExecutionType | None,
    rpc_variable: str | None,
    chain_label: str | None,
    *,
    with_secrets: bool = True,
) -> list[Requirement]:
    """What a deployment of this execution type cannot start without.

    `rpc_variable` is the JSON_RPC_* of the strategy's chain (None when the strategy could not
    be loaded; its problem is reported instead). Secrets are left out when checking public
    files alone.
    """
    choices = " or ".join(t.value for t in ExecutionType)
    required = [
        Requirement("EXECUTION_TYPE", f"choose how trades are executed ({choices})"),
        Requirement("STRATEGY_FILE", "give the path of the strategy module to run"),
    ]
    if execution_type is ExecutionType.backtest:
        required += [
            Requirement("BACKTEST_START", "a backtest needs the first day of its range, e.g. 2024-01-01"),
            Requirement("BACKTEST_END", "a backtest needs the end of its range (exclusive), e.g. 2024-07-01"),
        ]
    if execution_type is not None and execution_type.signs and with_secrets:
        required.append(
            Requirement("PRIVATE_KEY", f"{execution_type.value} signs trades with the hot wallet's key", True)
        )
    if execution_type is not None and execution_type.uses_chain and with_secrets and rpc_variable is not None:
        required.append(
            Requirement(
                rpc_variable, f"the strategy trades on {chain_label}: give its JSON-RPC node URL(s)", True
            )
        )
    return required
