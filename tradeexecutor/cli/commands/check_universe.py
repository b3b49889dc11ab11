"""`trade-executor check-universe`: build the live trading universe and check the data is fresh.

Exit 0 when the newest candle opened within --max-data-delay-minutes, 1 otherwise (or on
any connection or strategy problem), so a deployment script can gate on it.
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
from tradeexecutor.errors import UserError


def check_universe(
    strategy_file: StrategyFile = None,
    deployment_file: OptionalDeploymentFile = None,
    exchange_slug: ExchangeSlug = None,
    token_addresses: TokenAddresses = None,
    candle_start_block: CandleStartBlock = None,
    cache_path: CachePath = Path("cache"),
    max_data_delay_minutes: MaxDataDelayMinutes = 180,
) -> None:
    """Build the strategy's universe from on-chain candles and check the newest candle is recent."""
    from datetime import UTC, datetime, timedelta

    from tradeexecutor.execution.live.connect import connect_live

    setup = connect_live(
        strategy_file,
        deployment_file=deployment_file,
        exchange_slug=exchange_slug,
        token_addresses=token_addresses,
        candle_start_block=candle_start_block,
    )
    universe = setup.create_universe(cache_path / "onchain-candles")
    series = [universe.series(p) for p in universe.pairs]
    latest = max((s.frame.index[-1] for s in series if len(s)), default=None)
    typer.echo(
        f"Universe: {len(universe.pairs)} pair(s) ({universe.tickers()}), reserve {universe.reserve_asset.symbol}"
    )
    if latest is None:
        raise UserError(
            f"The universe has no candles at all (no swaps in its pools since block {setup.candle_start_block}): "
            "check the pairs and --candle-start-block."
        )
    now = datetime.now(UTC)
    age = now - latest.to_pydatetime()
    typer.echo(f"Latest OHLCV candle is at: {latest:%Y-%m-%d %H:%M:%S}, {_age(age)} ago")
    if age > timedelta(minutes=max_data_delay_minutes):
        raise UserError(
            f"The newest candle is {_age(age)} old, more than --max-data-delay-minutes {max_data_delay_minutes}: "
            "the market data is stale (no recent swaps, or the node is behind)."
        )
    typer.echo("All ok")


def _age(delta: object) -> str:
    text = str(delta)
    return text.split(".")[0]
