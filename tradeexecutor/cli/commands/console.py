"""`trade-executor console`: a Python prompt with the state, the store and the live objects loaded.

Writable by default, holding the state file's lock like an executor (so it refuses while one
runs on the same state); `--read-only` takes no lock and cannot save. Commands can be piped
on stdin for scripts; a piped session exits 1 if any command raised.
"""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from tradeexecutor.cli.options import (
    CachePath,
    CandleStartBlock,
    ExchangeSlug,
    GasPriceMethodOption,
    Id,
    MaxSlippage,
    OptionalDeploymentFile,
    ReadOnly,
    StateFile,
    StrategyFile,
    TokenAddresses,
)
from tradeexecutor.errors import UserError
from tradeexecutor.ethereum.settings import GasPriceMethod


def console(
    strategy_file: StrategyFile = None,
    state_file: StateFile = None,
    id: Id = None,
    read_only: ReadOnly = False,
    deployment_file: OptionalDeploymentFile = None,
    exchange_slug: ExchangeSlug = None,
    token_addresses: TokenAddresses = None,
    candle_start_block: CandleStartBlock = None,
    cache_path: CachePath = Path("cache"),
    gas_price_method: GasPriceMethodOption = GasPriceMethod.auto,
    max_slippage: MaxSlippage = 50,
) -> None:
    """Open a Python console with state, store, web3, universe, wallet, routing, pricing and valuation loaded."""
    from tradeexecutor.ethereum.settings import ExecutionSettings
    from tradeexecutor.execution.live.state_access import state_path
    from tradeexecutor.state.store import JSONFileStore
    from tradeexecutor.toolbox.console import banner, build_namespace, connect_for_console, run_shell

    path = state_path(state_file, strategy_file, id)
    # The lock (or the read-only open) comes first: refusing must not wait for the network.
    with JSONFileStore(path, read_only=read_only) as store:
        state = store.load()
        live = connect_for_console(
            strategy_file,
            deployment_file=deployment_file,
            exchange_slug=exchange_slug,
            token_addresses=token_addresses,
            candle_start_block=candle_start_block,
            cache_path=cache_path,
            settings=ExecutionSettings(gas_price_method=gas_price_method, max_slippage_bps=max_slippage),
            read_only=read_only,
        )
        namespace = build_namespace(store, state, live, cache_path)
        typer.echo(banner(namespace, path, read_only, live.warnings))
        interactive = sys.stdin.isatty()
        errors = run_shell(namespace, interactive)
    if errors and not interactive:
        raise UserError(f"{errors} console command(s) raised an error (shown above).")
