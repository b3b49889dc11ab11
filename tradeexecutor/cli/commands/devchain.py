"""`trade-executor devchain up`: a local anvil chain with Uniswap v2, for demos and tests."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from tradeexecutor.cli.options import DeploymentFile, DevchainEnvFile, DevchainMarketMinutes, DevchainPort

if TYPE_CHECKING:
    from tradeexecutor.devchain.chain import Devchain
    from tradeexecutor.devchain.market import MarketSimulator

app = typer.Typer(help="Run a local anvil chain with Uniswap v2 deployed on it.", no_args_is_help=True)


@app.command("up")
def up(
    deployment_file: DeploymentFile = Path("state/devchain.json"),
    devchain_env_file: DevchainEnvFile = Path("state/devchain.env"),
    devchain_port: DevchainPort = 0,
    devchain_market_minutes: DevchainMarketMinutes = 0,
) -> None:
    """Start anvil, deploy WETH9, Uniswap v2, test tokens and pools, fund a hot wallet; run until stopped."""
    from tradeexecutor.cli.signals import install_sigterm_handler
    from tradeexecutor.devchain.anvil import wait_for_exit
    from tradeexecutor.devchain.chain import start_devchain, write_wallet_env

    install_sigterm_handler()
    # Files from a previous run describe a chain that no longer exists: whoever waits for
    # them (a compose health check, a script) must only ever see this run's.
    for stale in (deployment_file, devchain_env_file):
        stale.unlink(missing_ok=True)
    # with a market, the chain's clock starts in the past so its history can be replayed
    genesis = int(time.time()) - (devchain_market_minutes + 1) * 60 if devchain_market_minutes else None
    with start_devchain(port=devchain_port, genesis_timestamp=genesis) as chain:
        market = _start_market(chain, devchain_market_minutes) if devchain_market_minutes else None
        # written last: a reader of the env file (the demo's health check) finds a ready chain
        chain.deployment.write(deployment_file)
        write_wallet_env(devchain_env_file, chain)
        d = chain.deployment
        typer.echo(
            f"Devchain running at {chain.rpc_url} (chain id {d.chain_id}, anvil pid {chain.anvil.pid})"
        )
        typer.echo(f"  Uniswap v2 factory {d.factory}, router {d.router}")
        for p in d.pairs:
            typer.echo(f"  Pair {p.base}-{p.quote} at {p.address}")
        typer.echo(f"  Hot wallet {d.hot_wallet} funded with gas and {d.reserve_symbol}")
        typer.echo(f"Deployment written to {deployment_file}; wallet env to {devchain_env_file}.")
        if market is not None:
            typer.echo(
                f"  WETH-USDC: {devchain_market_minutes} minutes of history, a trade every few seconds"
            )
        typer.echo("Press Ctrl-C to stop.")
        try:
            wait_for_exit(chain.anvil)
        except KeyboardInterrupt:
            typer.echo("Stopping devchain.")
        else:
            raise typer.Exit(1)
        finally:
            if market is not None:
                market.stop()


def _start_market(chain: Devchain, minutes: int) -> MarketSimulator:
    """Backfill `minutes` of WETH-USDC swaps, then keep trading in a background thread."""
    from tradeexecutor.devchain.market import MarketSimulator

    market = MarketSimulator(chain.web3, chain.deployment, seed=int(time.time()))
    market.backfill(minutes)
    market.start(3.0)
    return market
