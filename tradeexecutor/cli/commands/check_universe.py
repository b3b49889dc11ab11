"""`trade-executor check-universe`: build the live trading universe and check the data is fresh.

Prints every pair's newest candle. Exit 0 when every pair has a candle that opened within
--max-data-delay-minutes; 1 otherwise, naming each pair without one (or on any connection or
strategy problem), so a deployment script can gate on it.
"""

from __future__ import annotations

from pathlib import Path

import typer

from tradeexecutor.cli.options import (
    CachePath,
    CandleStartBlock,
    ExchangeSlug,
    MaxDataDelayMinutes,
    OptionalDeploymentFile,
    StrategyFile,
    TokenAddresses,
)


def check_universe(
    strategy_file: StrategyFile = None,
    deployment_file: OptionalDeploymentFile = None,
    exchange_slug: ExchangeSlug = None,
    token_addresses: TokenAddresses = None,
    candle_start_block: CandleStartBlock = None,
    cache_path: CachePath = Path("cache"),
    max_data_delay_minutes: MaxDataDelayMinutes = 180,
) -> None:
    """Build the strategy's universe from on-chain candles and check every pair's newest candle is recent."""
    from datetime import UTC, datetime, timedelta

    from tradeexecutor.execution.live.connect import connect_live
    from tradeexecutor.strategy.freshness import pair_freshness

    setup = connect_live(
        strategy_file,
        deployment_file=deployment_file,
        exchange_slug=exchange_slug,
        token_addresses=token_addresses,
        candle_start_block=candle_start_block,
    )
    universe = setup.create_universe(cache_path / "onchain-candles")
    typer.echo(
        f"Universe: {len(universe.pairs)} pair(s) ({universe.tickers()}), reserve {universe.reserve_asset.symbol}"
    )
    report = pair_freshness(
        universe,
        datetime.now(UTC),
        timedelta(minutes=max_data_delay_minutes),
        limit=f"--max-data-delay-minutes {max_data_delay_minutes}",
        no_data=f"no swaps since block {setup.candle_start_block}; check the pairs and --candle-start-block",
    )
    for line in report.lines():
        typer.echo(line)
    report.raise_for_problems()
    typer.echo("All ok")
