"""From command line settings to a connected live setup: strategy, node, exchange, pairs, reserve.

Shared by the preflight commands (check-universe, check-wallet, perform-test-trade), repair
and the live loop, so they all connect the same way and fail with the same sentences.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from web3 import Web3

from tradeexecutor.errors import UserError
from tradeexecutor.ethereum.connection import create_web3
from tradeexecutor.ethereum.uniswap_v2.deployment import UniswapV2DeploymentFile
from tradeexecutor.ethereum.uniswap_v2.deployments import UniswapV2Deployment, get_deployment
from tradeexecutor.execution.live.market_data import (
    LiveCandleSource,
    pairs_for_exchange,
    pairs_from_deployment_file,
    parse_token_addresses,
)
from tradeexecutor.state.identifiers import AssetIdentifier, ChainId, TradingPairIdentifier
from tradeexecutor.strategy.loader import load_strategy_module
from tradeexecutor.strategy.market_data import MarketData, find_reserve_asset
from tradeexecutor.strategy.module import ExecutionMode, StrategyModule
from tradeexecutor.strategy.universe import TradingUniverse

DEFAULT_CANDLE_LOOKBACK_BLOCKS = 50_000


@dataclass(frozen=True)
class LiveSetup:
    module: StrategyModule
    web3: Web3
    deployments: tuple[UniswapV2Deployment, ...]
    pairs: tuple[TradingPairIdentifier, ...]
    reserve: AssetIdentifier
    candle_start_block: int

    def market_data(self, cache_dir: Path) -> MarketData:
        source = LiveCandleSource(
            self.web3, self.pairs, cache_dir=cache_dir, start_block=self.candle_start_block
        )
        return MarketData(source, self.pairs)

    def create_universe(self, cache_dir: Path) -> TradingUniverse:
        """The strategy's universe as a live run builds it: on-chain candles up to now."""
        data = self.market_data(cache_dir)
        universe_input = self.module.universe_input(
            timestamp=datetime.now(UTC), execution_mode=ExecutionMode.live, data=data
        )
        return self.module.create_trading_universe(universe_input)

    def pair_by_ticker(self, ticker: str) -> TradingPairIdentifier:
        matches = [p for p in self.pairs if p.ticker.upper() == ticker.strip().upper()]
        if len(matches) != 1:
            known = ", ".join(p.ticker for p in self.pairs)
            raise UserError(f"Pair {ticker} is not in the deployment (it has {known}): fix --pair.")
        return matches[0]


def connect_live(
    strategy_file: Path | None,
    *,
    parameters: tuple[str, ...] = (),
    deployment_file: Path | None = None,
    exchange_slug: str | None = None,
    token_addresses: str | None = None,
    candle_start_block: int | None = None,
) -> LiveSetup:
    if strategy_file is None:
        raise UserError("No strategy file given; pass --strategy-file PATH or set STRATEGY_FILE.")
    module = load_strategy_module(strategy_file, parameters)
    if deployment_file is not None and exchange_slug:
        raise UserError("Give either --deployment-file or --exchange-slug, not both.")
    if deployment_file is None and not exchange_slug:
        raise UserError(
            "No exchange given: pass --deployment-file PATH (devchain or any Uniswap v2 fork) or --exchange-slug "
            "(uniswap-v2, sushiswap, pancakeswap-v2, quickswap)."
        )
    file = UniswapV2DeploymentFile.read(deployment_file) if deployment_file is not None else None
    deployment = (
        UniswapV2Deployment.from_file(file) if file is not None else get_deployment(exchange_slug or "")
    )
    if deployment.chain_id != module.chain_id:
        raise UserError(
            f"The exchange {deployment.slug} is on chain {deployment.chain_id} ({ChainId.name_of(deployment.chain_id)}) "
            f"but the strategy's CHAIN_ID is {module.chain_id} ({module.chain_name}): use an exchange on that chain."
        )
    web3 = create_web3(module.chain_id)
    if file is not None:
        pairs = pairs_from_deployment_file(file)
        start = file.deployed_at_block if candle_start_block is None else candle_start_block
    else:
        pairs = pairs_for_exchange(
            web3, deployment, module.trading_pairs, parse_token_addresses(token_addresses or "")
        )
        if candle_start_block is None:
            start = max(0, web3.eth.block_number - DEFAULT_CANDLE_LOOKBACK_BLOCKS)
        else:
            start = candle_start_block
    return LiveSetup(
        module=module,
        web3=web3,
        deployments=(deployment,),
        pairs=tuple(pairs),
        reserve=find_reserve_asset(pairs, module.reserve_currency),
        candle_start_block=start,
    )
