"""The preflight checks behind `check-wallet` and `check-universe`, as results to print.

Each check gathers every fact and every problem (so an operator fixes all of them in one
go) and returns a result with `lines()` for people and `document()` for `--json`; the
command prints one of them and exits 1 when there are problems. Nothing here trades.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tradeexecutor.errors import UserError
from tradeexecutor.state.identifiers import ChainId

if TYPE_CHECKING:
    from tradeexecutor.ethereum.preflight import WalletCheck
    from tradeexecutor.ethereum.settings import ExecutionSettings
    from tradeexecutor.ethereum.wallet import HotWallet
    from tradeexecutor.execution.live.connect import LiveSetup
    from tradeexecutor.strategy.freshness import UniverseFreshness


@dataclass(frozen=True)
class PairRoute:
    ticker: str
    route: str = ""  # "USDC -> WETH -> DEV"
    pools: tuple[str, ...] = ()
    problem: str | None = None


@dataclass(frozen=True)
class WalletReadiness:
    """What `check-wallet` found: the node, the wallet, the models and every pair's route."""

    wallet: WalletCheck
    models: tuple[tuple[str, str], ...]
    routes: tuple[PairRoute, ...]

    @property
    def problems(self) -> list[str]:
        return [*self.wallet.problems, *(r.problem for r in self.routes if r.problem)]

    def lines(self) -> list[str]:
        head = self.wallet.lines()
        at = head.index("Routing details")
        execution = ["Execution details", *(f"  {role} is {name}" for role, name in self.models)]
        body = [line for line in head[at:] if not line.startswith("PROBLEM: ") and line != "All ok"]
        routes = [
            f"  {r.ticker}: PROBLEM: {r.problem}"
            if r.problem
            else f"  {r.ticker} buys route {r.route} through {' and '.join(r.pools)}"
            for r in self.routes
        ]
        status = [f"PROBLEM: {p}" for p in self.problems] or ["All ok"]
        return [*head[:at], *execution, *body, *routes, *status]

    def document(self) -> dict[str, Any]:
        w = self.wallet
        pricing = w.gas_pricing
        return {
            "ok": not self.problems,
            "chain_id": w.chain_id,
            "chain": ChainId.name_of(w.chain_id),
            "latest_block": w.latest_block,
            "latest_block_at": w.latest_block_at,
            "hot_wallet": w.hot_wallet,
            "nonce": w.nonce,
            "gas": {"symbol": w.gas_symbol, "balance": w.gas_balance, "minimum": w.min_gas_balance},
            "reserve": None
            if w.reserve is None
            else {"symbol": w.reserve.symbol, "address": w.reserve.address, "balance": w.reserve_balance},
            "gas_pricing": {
                "method": pricing.method.value,
                "base_fee_wei": pricing.base_fee,
                "max_priority_fee_wei": pricing.max_priority_fee,
                "max_fee_wei": pricing.max_fee,
                "legacy_gas_price_wei": pricing.legacy_gas_price,
            },
            "models": dict(self.models),
            "exchanges": [
                {"slug": r.slug, "factory": r.factory, "router": r.router, "problem": r.problem}
                for r in w.routing
            ],
            "routes": [
                {"pair": r.ticker, "route": r.route or None, "pools": list(r.pools), "problem": r.problem}
                for r in self.routes
            ],
            "problems": self.problems,
        }


def check_wallet_readiness(
    setup: LiveSetup, wallet: HotWallet, settings: ExecutionSettings
) -> WalletReadiness:
    """Node, hot wallet, gas money, reserve, the live models and a route for every pair."""
    from tradeexecutor.ethereum.preflight import check_wallet
    from tradeexecutor.ethereum.uniswap_v2.routing import TradeSide
    from tradeexecutor.execution.live.stack import build_live_models

    found = check_wallet(
        setup.web3,
        wallet.address,
        setup.module.chain_id,
        setup.reserve.address,
        setup.deployments,
        settings.gas_price_method,
        settings.min_gas_balance,
    )
    models = build_live_models(
        setup.web3, wallet, setup.deployments, setup.reserve, settings, known_pairs=setup.pairs
    )
    routes = []
    for pair in setup.pairs:
        try:
            route = models.routing.route(TradeSide.buy, pair)
            models.routing.fetch([pair])  # every pool on the route exists and has reserves
            routes.append(PairRoute(pair.ticker, str(route), tuple(p.pool_address for p in route.pools)))
        except UserError as e:
            routes.append(PairRoute(pair.ticker, problem=str(e)))
    return WalletReadiness(found, tuple(models.names()), tuple(routes))


@dataclass(frozen=True)
class UniverseCheck:
    """What `check-universe` found: the universe's pairs and, pair by pair, how old its
    newest candle is (`strategy.freshness`, which also words the problems)."""

    pairs: tuple[str, ...]
    reserve: str
    freshness: UniverseFreshness
    checked_at: datetime.datetime
    max_data_delay: datetime.timedelta

    @property
    def problems(self) -> list[str]:
        return self.freshness.problems()

    def raise_for_problems(self) -> None:
        """One UserError naming every pair without recent data."""
        self.freshness.raise_for_problems()

    def lines(self) -> list[str]:
        head = (
            f"Universe: {len(self.pairs)} pair(s) ({', '.join(self.pairs) or 'none'}), reserve {self.reserve}"
        )
        return [head, *self.freshness.lines(), *([] if self.problems else ["All ok"])]

    def document(self) -> dict[str, Any]:
        newest = self.freshness.newest()
        return {
            "ok": not self.problems,
            "pairs": list(self.pairs),
            "reserve": self.reserve,
            "latest_candle_at": None if newest is None else newest.latest,
            "latest_candle_age_seconds": _seconds(newest.age) if newest is not None else None,
            "candles": [
                {
                    "pair": p.pair.ticker,
                    "latest_candle_at": p.latest,
                    "age_seconds": _seconds(p.age),
                    "ok": p.ok,
                }
                for p in self.freshness.pairs
            ],
            "max_data_delay_minutes": self.max_data_delay.total_seconds() / 60,
            "checked_at": self.checked_at,
            "problems": self.problems,
        }


def check_universe_freshness(
    setup: LiveSetup,
    cache_dir: Path,
    max_data_delay: datetime.timedelta,
    now: datetime.datetime | None = None,
) -> UniverseCheck:
    """Build the strategy's universe from on-chain candles; a problem per pair whose newest
    candle is missing or older than `max_data_delay`."""
    from tradeexecutor.strategy.freshness import pair_freshness

    universe = setup.create_universe(cache_dir)
    checked_at = now or datetime.datetime.now(datetime.UTC)
    freshness = pair_freshness(
        universe,
        checked_at,
        max_data_delay,
        limit=f"--max-data-delay-minutes {max_data_delay.total_seconds() / 60:g}",
        no_data=f"no swaps since block {setup.candle_start_block}; check the pairs and --candle-start-block",
    )
    return UniverseCheck(
        pairs=tuple(p.ticker for p in universe.pairs),
        reserve=universe.reserve_asset.symbol,
        freshness=freshness,
        checked_at=checked_at,
        max_data_delay=max_data_delay,
    )


def _seconds(age: datetime.timedelta | None) -> float | None:
    return None if age is None else round(age.total_seconds(), 3)
