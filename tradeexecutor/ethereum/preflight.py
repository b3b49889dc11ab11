"""The facts `check-wallet` shows before going live, gathered without trading.

`check_wallet` collects everything and lists problems as sentences instead of stopping at
the first, so an operator fixes all of them in one go; `raise_for_problems` turns them
into one UserError for commands that must stop. A wrong chain stops at once (nothing else
is meaningful on the wrong chain).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from web3 import Web3

from tradeexecutor.errors import UserError
from tradeexecutor.ethereum.connection import check_chain_id
from tradeexecutor.ethereum.erc20 import balance_of, fetch_token
from tradeexecutor.ethereum.gas import (
    GasPricing,
    default_min_gas_balance,
    fetch_gas_pricing,
    gas_balance_problem,
    human,
    native_symbol,
)
from tradeexecutor.ethereum.settings import GasPriceMethod
from tradeexecutor.ethereum.uniswap_v2.deployments import UniswapV2Deployment, verify_deployment
from tradeexecutor.state.identifiers import AssetIdentifier, ChainId


@dataclass(frozen=True, slots=True)
class RoutingCheck:
    slug: str
    factory: str
    router: str
    routed_reserve: AssetIdentifier | None
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class WalletCheck:
    chain_id: int
    latest_block: int
    latest_block_at: datetime
    hot_wallet: str
    nonce: int
    gas_balance: Decimal
    gas_symbol: str
    min_gas_balance: Decimal
    reserve: AssetIdentifier | None
    reserve_balance: Decimal
    gas_pricing: GasPricing
    routing: tuple[RoutingCheck, ...]
    problems: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.problems

    def raise_for_problems(self) -> None:
        if self.problems:
            raise UserError(" ".join(self.problems))

    def problems_for_trading(self, *, holds_positions: bool) -> tuple[str, ...]:
        """What stops a live start: every problem, except an empty reserve while the state holds
        positions (all cash in positions is normal, and their stop losses must keep running)."""
        if not holds_positions or self.reserve is None:
            return self.problems
        empty = empty_reserve_problem(self.hot_wallet, self.reserve)
        return tuple(p for p in self.problems if p != empty)

    def lines(self) -> list[str]:
        """A human report in the order an operator checks things."""
        out = [
            "RPC details",
            f"  Chain id is {self.chain_id} ({ChainId.name_of(self.chain_id)})",
            f"  Latest block is {self.latest_block:,} at {self.latest_block_at:%Y-%m-%d %H:%M:%S} UTC",
            "Balance details",
            f"  Hot wallet is {self.hot_wallet} (next nonce {self.nonce})",
            f"  Gas money: {human(self.gas_balance)} {self.gas_symbol} (minimum {human(self.min_gas_balance)})",
        ]
        if self.reserve is not None:
            out += [
                f"Reserve asset: {self.reserve.symbol} ({self.reserve.address})",
                f"  Balance of {self.reserve.name or self.reserve.symbol}: {human(self.reserve_balance)} {self.reserve.symbol}",
            ]
        out += [f"Estimated gas fees for chain {self.chain_id}: {self.gas_pricing}", "Routing details"]
        for r in self.routing:
            out.append(f"  {r.slug}: factory {r.factory} uses router {r.router}")
            if r.routed_reserve is not None:
                out.append(f"  Routed reserve asset is {r.routed_reserve}")
            if r.problem:
                out.append(f"  PROBLEM: {r.problem}")
        out += [f"PROBLEM: {p}" for p in self.problems] or ["All ok"]
        return out


def empty_reserve_problem(hot_wallet: str, reserve: AssetIdentifier) -> str:
    return f"Hot wallet {hot_wallet} holds no {reserve.symbol} (the reserve currency): deposit some."


def require_ready_to_trade(
    web3: Web3,
    hot_wallet: str,
    expected_chain_id: int,
    reserve_address: str,
    deployments: Sequence[UniswapV2Deployment],
    gas_price_method: GasPriceMethod | str = GasPriceMethod.auto,
    min_gas_balance: Decimal | None = None,
    *,
    holds_positions: bool = False,
) -> WalletCheck:
    """`check-wallet`'s check before a live executor's first cycle: a UserError with its sentences
    instead of a strategy failing on an empty wallet somewhere inside decide_trades."""
    report = check_wallet(
        web3, hot_wallet, expected_chain_id, reserve_address, deployments, gas_price_method, min_gas_balance
    )
    problems = report.problems_for_trading(holds_positions=holds_positions)
    if problems:
        raise UserError(
            f"The hot wallet is not ready to trade: {' '.join(problems)} (`trade-executor check-wallet` "
            "shows the whole check.)"
        )
    return report


def check_wallet(
    web3: Web3,
    hot_wallet: str,
    expected_chain_id: int,
    reserve_address: str | None,
    deployments: Sequence[UniswapV2Deployment],
    gas_price_method: GasPriceMethod | str = GasPriceMethod.auto,
    min_gas_balance: Decimal | None = None,
) -> WalletCheck:
    chain_id = check_chain_id(web3, expected_chain_id)
    block = web3.eth.get_block("latest")
    problems: list[str] = []
    symbol = native_symbol(chain_id)
    minimum = default_min_gas_balance(chain_id) if min_gas_balance is None else min_gas_balance
    gas_balance = Decimal(web3.eth.get_balance(hot_wallet)).scaleb(-18)
    if gas_problem := gas_balance_problem(hot_wallet, gas_balance, chain_id, minimum):
        problems.append(gas_problem)
    reserve: AssetIdentifier | None = None
    reserve_balance = Decimal(0)
    if reserve_address:
        try:
            reserve = fetch_token(web3, reserve_address, chain_id)
        except UserError as e:
            problems.append(str(e))
        else:
            reserve_balance = reserve.to_decimal(balance_of(web3, reserve, hot_wallet))
            if reserve_balance <= 0:
                problems.append(empty_reserve_problem(hot_wallet, reserve))
    routing = []
    for d in deployments:
        problem = None
        if d.chain_id != chain_id:
            problem = f"{d.slug} is deployed on chain {d.chain_id}, not on chain {chain_id}."
        else:
            try:
                verify_deployment(web3, d)
            except UserError as e:
                problem = str(e)
        if problem:
            problems.append(problem)
        routing.append(RoutingCheck(d.slug, d.factory, d.router, reserve, problem))
    return WalletCheck(
        chain_id=chain_id,
        latest_block=block["number"],
        latest_block_at=datetime.fromtimestamp(block["timestamp"], UTC),
        hot_wallet=hot_wallet,
        nonce=web3.eth.get_transaction_count(hot_wallet, "pending"),
        gas_balance=gas_balance,
        gas_symbol=symbol,
        min_gas_balance=minimum,
        reserve=reserve,
        reserve_balance=reserve_balance,
        gas_pricing=fetch_gas_pricing(web3, gas_price_method),
        routing=tuple(routing),
        problems=tuple(problems),
    )
