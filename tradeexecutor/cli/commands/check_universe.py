"""`trade-executor check-universe`: build the live trading universe and check the data is fresh.

Prints every pair's newest candle. Exit 0 when every pair has a candle that opened within
--max-data-delay-minutes; 1 otherwise, naming each pair without one (or on any connection or
strategy problem), so a deployment script can gate on it; `--json` prints the result as one
JSON object.
"""

from __future__ import annotations

from pathlib import Path

from tradeexecutor.cli.options import (
    CachePath,
    CandleStartBlock,
    ExchangeSlug,
    JsonOutput,
    MaxDataDelayMinutes,
    OptionalDeploymentFile,
    StrategyFile,
    TokenAddresses,
)
from tradeexecutor.cli.output import echo_result


def check_universe(
    strategy_file: StrategyFile = None,
    deployment_file: OptionalDeploymentFile = None,
    exchange_slug: ExchangeSlug = None,
    token_addresses: TokenAddresses = None,
    candle_start_block: CandleStartBlock = None,
    cache_path: CachePath = Path("cache"),
    max_data_delay_minutes: MaxDataDelayMinutes = 180,
    json_output: JsonOutput = False,
) -> None:
    """Build the strategy's universe from on-chain candles and check every pair's newest candle is recent."""
    from datetime import timedelta

    from tradeexecutor.execution.live.connect import connect_live
    from tradeexecutor.toolbox.preflight import check_universe_freshness

    setup = connect_live(
        strategy_file,
        deployment_file=deployment_file,
        exchange_slug=exchange_slug,
        token_addresses=token_addresses,
        candle_start_block=candle_start_block,
    )
    result = check_universe_freshness(
        setup, cache_path / "onchain-candles", timedelta(minutes=max_data_delay_minutes)
    )
    echo_result(result, json_output)
    result.raise_for_problems()
