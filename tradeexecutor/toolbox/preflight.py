"""The preflight checks behind `check-wallet` and `check-universe`, as results to print.

Each check gathers every fact and every problem (so an operator fixes all of them in one
go) and returns a result with `lines()` for people and `document()` for `--json`; the
command prints one of them and exits 1 when there are problems. Nothing here trades.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tradeexecutor.errors import UserError
from tradeexecutor.state.identifiers import ChainId

if TYPE_CHECKING:
    from tradeexecutor.ethereum.preflight import WalletCheck
    from tradeexecutor.ethereum.settings import ExecutionSettings
    from tradeexecutor.ethereum.wallet import HotWallet
    from tradeexecutor.execution.live.connect import LiveSetup


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
class UniverseFreshness:
    """What `check-universe` found: the universe's pairs and how old its newest candle is."""

    pairs: tuple[str, ...]
    reserve: str
    latest_candle_at: datetime.datetime | None
    checked_at: datetime.datetime
    max_data_delay: datetime.timedelta
    candle_start_block: int | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def age(self) -> datetime.timedelta | None:
        return None if self.latest_candle_at is None else self.checked_at - self.latest_candle_at

    def lines(self) -> list[str]:
        out = [
            f"Universe: {len(self.pairs)} pair(s) ({', '.join(self.pairs) or 'none'}), reserve {self.reserve}"
        ]
        if self.latest_candle_at is not None and self.age is not None:
            out.append(
                f"Latest OHLCV candle is at: {self.latest_candle_at:%Y-%m-%d %H:%M:%S}, {_age(self.age)} ago"
            )
        if not self.problems:
            out.append("All ok")
        return out

    def document(self) -> dict[str, Any]:
        age = self.age
        return {
            "ok": not self.problems,
            "pairs": list(self.pairs),
            "reserve": self.reserve,
            "latest_candle_at": self.latest_candle_at,
            "latest_candle_age_seconds": None if age is None else round(age.total_seconds(), 3),
            "max_data_delay_minutes": self.max_data_delay.total_seconds() / 60,
            "checked_at": self.checked_at,
            "problems": self.problems,
        }


def check_universe_freshness(
    setup: LiveSetup,
    cache_dir: Path,
    max_data_delay: datetime.timedelta,
    now: datetime.datetime | None = None,
) -> UniverseFreshness:
    """Build the strategy's universe from on-chain candles; a problem when the newest is too old."""
    universe = setup.create_universe(cache_dir)
    latest = max(
        (s.frame.index[-1].to_pydatetime() for s in (universe.series(p) for p in universe.pairs) if len(s)),
        default=None,
    )
    checked_at = now or datetime.datetime.now(datetime.UTC)
    minutes = f"{max_data_delay.total_seconds() / 60:g}"
    problems = []
    if latest is None:
        problems.append(
            f"The universe has no candles at all (no swaps in its pools since block {setup.candle_start_block}): "
            "check the pairs and --candle-start-block."
        )
    elif checked_at - latest > max_data_delay:
        problems.append(
            f"The newest candle is {_age(checked_at - latest)} old, more than --max-data-delay-minutes {minutes}: "
            "the market data is stale (no recent swaps, or the node is behind)."
        )
    return UniverseFreshness(
        pairs=tuple(p.ticker for p in universe.pairs),
        reserve=universe.reserve_asset.symbol,
        latest_candle_at=latest,
        checked_at=checked_at,
        max_data_delay=max_data_delay,
        candle_start_block=setup.candle_start_block,
        problems=problems,
    )


def _age(delta: datetime.timedelta) -> str:
    return str(delta).split(".")[0]
