"""All live models for one hot wallet, built together so they share one routing and one view of the chain."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from web3 import Web3

from tradeexecutor.ethereum.settings import ExecutionSettings
from tradeexecutor.ethereum.uniswap_v2.deployments import UniswapV2Deployment
from tradeexecutor.ethereum.wallet import HotWallet
from tradeexecutor.execution.live.execution_model import DEFAULT_SETTINGS, UniswapV2ExecutionModel
from tradeexecutor.execution.live.pricing import UniswapV2LivePricing
from tradeexecutor.execution.live.recovery import DEFAULT_RECOVERY_TIMEOUT, TradeRecovery
from tradeexecutor.execution.live.routes import LiveRouting
from tradeexecutor.execution.live.sync import WalletSync
from tradeexecutor.execution.live.valuation import UniswapV2Valuation
from tradeexecutor.state.identifiers import AssetIdentifier, TradingPairIdentifier


@dataclass(frozen=True, slots=True)
class LiveModels:
    routing: LiveRouting
    pricing: UniswapV2LivePricing
    valuation: UniswapV2Valuation
    execution: UniswapV2ExecutionModel
    recovery: TradeRecovery
    sync: WalletSync

    def names(self) -> list[tuple[str, str]]:
        """(role, class path) rows for check-wallet and logs."""

        def path(obj: object) -> str:
            return f"{type(obj).__module__}.{type(obj).__qualname__}"

        return [
            ("Execution model", path(self.execution)),
            ("Routing model", path(self.routing)),
            ("Token pricing model", path(self.pricing)),
            ("Position valuation model", path(self.valuation)),
            ("Sync model", path(self.sync)),
        ]


def build_live_models(
    web3: Web3,
    wallet: HotWallet,
    deployments: Sequence[UniswapV2Deployment],
    reserve: AssetIdentifier,
    settings: ExecutionSettings = DEFAULT_SETTINGS,
    *,
    known_pairs: Sequence[TradingPairIdentifier] = (),
    checkpoint: Callable[[], None] | None = None,
    recovery_timeout: float = DEFAULT_RECOVERY_TIMEOUT,
) -> LiveModels:
    """Pricing, valuation, execution, recovery and wallet sync over the given exchanges.

    `checkpoint` (persist the state now) lets recovery save after each trade it resolves
    during a sync; the cycle runner passes its own checkpoint to execution.
    """
    routing = LiveRouting(
        web3, deployments, reserve, known_pairs=known_pairs, max_slippage_bps=settings.max_slippage_bps
    )
    execution = UniswapV2ExecutionModel(web3, wallet, routing, settings, chain_id=reserve.chain_id)
    recovery = TradeRecovery(
        web3,
        routing,
        confirmation_block_count=settings.confirmation_block_count,
        timeout=min(recovery_timeout, settings.confirmation_timeout),
    )
    sync = WalletSync(web3, wallet.address, reserve, recovery=recovery, checkpoint=checkpoint)
    return LiveModels(
        routing=routing,
        pricing=UniswapV2LivePricing(routing),
        valuation=UniswapV2Valuation(routing),
        execution=execution,
        recovery=recovery,
        sync=sync,
    )
