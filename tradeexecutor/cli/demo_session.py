"""The demo: a local chain with a live market, and the SMA strategy trading it from a hot wallet.

Everything the demo writes lives under `state/demo/` and `cache/demo/` and is recreated on
every run (the chain is new each time, so yesterday's state and candles would not match it).
"""

from __future__ import annotations

import datetime
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import typer

from tradeexecutor.cli.live_start import HOT_WALLET, LiveOptions, run_live
from tradeexecutor.cli.monitoring import MonitoringOptions
from tradeexecutor.devchain.chain import start_devchain, write_wallet_env
from tradeexecutor.devchain.market import MarketSimulator
from tradeexecutor.devchain.tooling import PROJECT_ROOT

DEMO_STRATEGY = PROJECT_ROOT / "strategies" / "sma_crossover.py"


@dataclass(frozen=True)
class DemoOptions:
    strategy_file: Path = DEMO_STRATEGY
    http_port: int = 3456
    max_cycles: int | None = None
    backfill_minutes: int = 30
    market_interval: float = 3.0
    work_dir: Path = Path("state/demo")
    cache_dir: Path = Path("cache/demo")
    log_level: str = "info"


def run_demo(options: DemoOptions) -> int:
    for directory in (options.work_dir, options.cache_dir):
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
    typer.echo(
        f"Starting a local chain with Uniswap v2 and {options.backfill_minutes} minutes of market history ..."
    )
    genesis = int(time.time()) - (options.backfill_minutes + 1) * 60
    with start_devchain(genesis_timestamp=genesis) as chain:
        deployment_file = options.work_dir / "devchain.json"
        chain.deployment.write(deployment_file)
        write_wallet_env(options.work_dir / "devchain.env", chain)
        market = MarketSimulator(chain.web3, chain.deployment, seed=int(time.time()))
        market.backfill(options.backfill_minutes)
        market.start(options.market_interval)
        # the hot wallet key exists only for this chain and this process
        os.environ["PRIVATE_KEY"] = chain.hot_wallet.key.to_0x_hex()
        os.environ["JSON_RPC_ANVIL"] = chain.rpc_url
        base = f"http://127.0.0.1:{options.http_port}"
        typer.echo(
            f"Chain {chain.deployment.chain_id} at {chain.rpc_url}; hot wallet {chain.hot_wallet.address}"
        )
        typer.echo(
            f"WETH-USDC trades every {options.market_interval:g}s around {market.pool_price():.2f} USDC."
        )
        typer.echo(f"Strategy {options.strategy_file.name} trades it live every minute. Open:")
        for path in ("/", "/status", "/health", "/positions", "/trades", "/logs"):
            typer.echo(f"  {base}{path}")
        typer.echo("Press Ctrl-C to stop.")
        try:
            return run_live(
                LiveOptions(
                    execution_type=HOT_WALLET,
                    strategy_file=options.strategy_file,
                    state_file=options.work_dir / "demo.json",
                    executor_id="demo",
                    cache_path=options.cache_dir,
                    deployment_file=deployment_file,
                    max_data_delay=datetime.timedelta(minutes=5),
                    stop_loss_check_frequency=datetime.timedelta(seconds=10),
                    trade_immediately=True,
                    max_cycles=options.max_cycles,
                    name="Demo: WETH-USDC SMA crossover on a local chain",
                    monitoring=MonitoringOptions(
                        log_level=options.log_level,
                        log_file_dir=Path("logs"),
                        http_port=options.http_port,
                        heartbeat="none",
                    ),
                )
            )
        finally:
            market.stop()
            typer.echo(f"Demo stopped after {market.swaps} market swaps; the state is in {options.work_dir}.")
