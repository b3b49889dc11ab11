"""Rehearse on an anvil fork of the real chain: real pools and balances, no real money spent.

`start_fork()` runs anvil forking the configured node (through a loopback relay, so the
node URL and its API key never reach anvil), tops the hot wallet up with native token for
gas on the fork, and points the chain's `JSON_RPC_<CHAIN>` variable at the fork for the
duration of the `with` block. Anything inside that connects the usual way (`connect_live`,
`create_web3`) then talks to the fork. The real chain only ever receives reads.

`simulation()` adds the state side: the rehearsal writes to `<state>.simulated.json`, a
fresh copy of the real state taken when the fork starts (the fork starts from the real
chain's latest block, so the copy and the fork agree); the previous rehearsal's file is kept
as its first backup. The real state file is read once, without its lock, and never written.

With `continue_previous` (`--continue-simulation`) the previous rehearsal's state is kept
instead, and the wallet on the new fork is given exactly what that state books: its reserve,
its gas money and the tokens of its open positions. The market is today's (the fork is of
the latest block); the books are the rehearsal's. Its transactions existed only on the old
fork, so a rehearsal that left a trade unfinished cannot be continued.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_utils import keccak
from web3 import HTTPProvider, Web3

from tradeexecutor.devchain.anvil import AnvilProcess
from tradeexecutor.errors import UserError
from tradeexecutor.ethereum.connection import check_chain_id, parse_rpc_urls, redact_url, rpc_env_var
from tradeexecutor.ethereum.gas import human, native_symbol
from tradeexecutor.execution.live.rpc_relay import RpcRelay
from tradeexecutor.execution.live.sync import highest_known_block
from tradeexecutor.state.identifiers import AssetIdentifier, ChainId
from tradeexecutor.state.reserve import ReserveRole
from tradeexecutor.state.state import State

if TYPE_CHECKING:
    from tradeexecutor.state.store import JSONFileStore

logger = logging.getLogger(__name__)

GAS_FUNDING = Decimal(10)  # native tokens the hot wallet holds at least, on the fork only
BALANCE_SLOTS_SEARCHED = 100
BALANCE_OF = bytes.fromhex("70a08231")


@dataclass
class ForkSession:
    """A running fork. `url` is what `JSON_RPC_<CHAIN>` points at while the session is open."""

    anvil: AnvilProcess
    web3: Web3
    url: str
    chain_id: int
    env_var: str
    origin: str  # scheme and host of the forked node, for messages
    wallet_address: str
    fork_block: int
    gas_funded_wei: int | None  # what the wallet was topped up to, None if it had enough

    @property
    def native_symbol(self) -> str:
        return native_symbol(self.chain_id)

    def describe(self) -> str:
        gas = (
            f"hot wallet {self.wallet_address} given {human(Decimal(self.gas_funded_wei) / 10**18)} "
            f"{self.native_symbol} for gas"
            if self.gas_funded_wei is not None
            else f"hot wallet {self.wallet_address} keeps its own {self.native_symbol}"
        )
        return (
            f"SIMULATION on an anvil fork of {self.origin} ({ChainId.name_of(self.chain_id)}) at block "
            f"{self.fork_block}, served at {self.url}: {gas}; nothing is sent to the real chain."
        )

    def balance_of(self, token: str) -> int:
        data = "0x" + (BALANCE_OF + abi_encode(["address"], [self.wallet_address])).hex()
        raw = self.web3.eth.call({"to": Web3.to_checksum_address(token), "data": data})
        return int(abi_decode(["uint256"], bytes(raw))[0])

    def set_token_balance(self, token: str, amount_raw: int) -> None:
        """Give the wallet exactly `amount_raw` of an ERC-20 on the fork by writing its balance slot.

        The slot of `balances[wallet]` is found by trying the usual mapping layouts
        (Solidity keccak(key . slot), Vyper keccak(slot . key)) for the first slots and
        keeping the one that changes `balanceOf`; every other probe is put back.
        """
        if amount_raw < 0:
            raise ValueError("A token balance cannot be negative.")
        token = Web3.to_checksum_address(token)
        if self.balance_of(token) == amount_raw:
            return
        holder = abi_encode(["address"], [self.wallet_address])
        value = "0x" + amount_raw.to_bytes(32, "big").hex()
        for slot in range(BALANCE_SLOTS_SEARCHED):
            index = slot.to_bytes(32, "big")
            for key in (keccak(holder + index), keccak(index + holder)):
                where = "0x" + key.hex()
                original = self.web3.eth.get_storage_at(token, where)
                self._rpc("anvil_setStorageAt", [token, where, value])
                if self.balance_of(token) == amount_raw:
                    return
                self._rpc("anvil_setStorageAt", [token, where, "0x" + bytes(original).rjust(32, b"\0").hex()])
        raise UserError(
            f"Cannot find where token {token} keeps balances (not in its first {BALANCE_SLOTS_SEARCHED} storage "
            "slots): run the simulation without --simulate-reserve, with the wallet's real balance."
        )

    def catch_up(self, block: int | None) -> None:
        """Mine empty blocks until the fork reaches `block`. A continued rehearsal's state saw the
        previous fork's blocks, and a node behind what the state saw is refused as lagging."""
        behind = (block or 0) - self.web3.eth.block_number
        if behind > 0:
            self._rpc("anvil_mine", [hex(behind)])

    def hold(self, holdings: list[BookedHolding]) -> None:
        """Give the wallet exactly these balances on the fork (a continued rehearsal's books)."""
        for holding in holdings:
            if holding.native:
                self._rpc("anvil_setBalance", [self.wallet_address, hex(holding.quantity_raw)])
            else:
                self.set_token_balance(holding.asset.address, holding.quantity_raw)

    def _rpc(self, method: str, params: list[object]) -> object:
        answer = self.web3.provider.make_request(method, params)  # type: ignore[arg-type]
        if "error" in answer:
            raise UserError(f"The fork refused {method}: {answer['error']}.")
        return answer.get("result")


@contextmanager
def start_fork(
    rpc_url: str,
    chain_id: int,
    wallet_address: str,
    *,
    gas_funding: Decimal = GAS_FUNDING,
    env: MutableMapping[str, str] | None = None,
) -> Iterator[ForkSession]:
    """Fork `rpc_url` (one or more space-separated URLs) with anvil and point `JSON_RPC_<CHAIN>` at it.

    Inside the block every connection made from the environment reaches the fork; on exit
    the variable gets its old value back and anvil is stopped.
    """
    env = os.environ if env is None else env
    env_var = rpc_env_var(chain_id)
    urls = parse_rpc_urls(rpc_url, env_var)
    with RpcRelay(urls, env_var) as relay:
        check_chain_id(Web3(relay.provider), chain_id, env_var)  # the fork must not hide a wrong node
        anvil = AnvilProcess(chain_id=chain_id, fork_url=relay.url, extra_args=("--no-storage-caching",))
        try:
            url = anvil.start()
        except UserError as e:
            raise UserError(
                f"Cannot start an anvil fork of {env_var} ({relay.provider.hosts}): {e} Check that the node "
                "is up and serves historical state."
            ) from None
        try:
            web3 = Web3(HTTPProvider(url, request_kwargs={"timeout": 60}))
            wallet = Web3.to_checksum_address(wallet_address)
            session = ForkSession(
                anvil=anvil,
                web3=web3,
                url=url,
                chain_id=chain_id,
                env_var=env_var,
                origin=relay.provider.hosts if len(urls) > 1 else redact_url(urls[0]),
                wallet_address=wallet,
                fork_block=web3.eth.block_number,
                gas_funded_wei=None,
            )
            wanted = int(gas_funding * 10**18)
            if web3.eth.get_balance(wallet) < wanted:
                session._rpc("anvil_setBalance", [wallet, hex(wanted)])
                session.gas_funded_wei = wanted
            logger.info("%s", session.describe())
            previous = env.get(env_var)
            env[env_var] = url
            try:
                yield session
            finally:
                if previous is None:
                    env.pop(env_var, None)
                else:
                    env[env_var] = previous
        finally:
            anvil.stop()


# ---- the state side ----------------------------------------------------------------------------


class StateOrigin(StrEnum):
    copied = "copied"  # a fresh copy of the real state
    new = "new"  # no real state yet: the rehearsal starts an empty one
    continued = "continued"  # the previous rehearsal's state (--continue-simulation)


@dataclass(frozen=True)
class Books:
    """What a continued rehearsal's state books: the wallet's holdings and the newest block it saw."""

    holdings: list[BookedHolding]
    block: int | None


@dataclass(frozen=True)
class BookedHolding:
    """What a continued rehearsal's state says the wallet holds of one asset."""

    asset: AssetIdentifier
    quantity_raw: int
    native: bool  # the chain's gas token, a balance rather than an ERC-20


def booked_holdings(state: State) -> list[BookedHolding]:
    """Reserve, gas money and the tokens of open and frozen positions, as the state books them."""
    held: dict[str, BookedHolding] = {}
    for holding in state.portfolio.reserves.values():
        native = holding.role == ReserveRole.gas
        held[holding.asset.key] = BookedHolding(holding.asset, holding.quantity_raw, native)
    portfolio = state.portfolio
    for position in (*portfolio.open_positions.values(), *portfolio.frozen_positions.values()):
        base = position.pair.base
        before = held.get(base.key)
        held[base.key] = BookedHolding(
            base, (before.quantity_raw if before else 0) + position.quantity_raw, False
        )
    return list(held.values())


NO_BOOKS = Books([], None)


def simulated_state_path(real: Path) -> Path:
    """`state/foo.json` -> `state/foo.simulated.json`."""
    return real.with_name(f"{real.stem}.simulated{real.suffix or '.json'}")


def prepare_simulated_state(
    real: Path, simulated: Path, *, continue_previous: bool = False
) -> tuple[StateOrigin, Books]:
    """Make `simulated` a fresh copy of `real` (validated), or absent if there is no real state;
    with `continue_previous`, keep it as the previous rehearsal left it.

    Returns where the simulated state comes from and, when continued, what it books (for the
    fork's wallet). The simulated file is written under its own lock, so two rehearsals of one
    executor cannot share it; `real` is only read.
    """
    from tradeexecutor.state.store import JSONFileStore

    if simulated.resolve() == real.resolve():
        raise UserError(f"The simulated state file would be the real one ({real}): rename the state file.")
    with JSONFileStore(simulated) as store:
        if continue_previous:
            return StateOrigin.continued, _previous_rehearsal(store)
        source = JSONFileStore(real, read_only=True)
        if not source.exists():
            if store.exists():
                simulated.unlink()  # a previous rehearsal's trades never happened on this new fork
            return StateOrigin.new, NO_BOOKS
        state = source.load()
        if store.exists():
            store.save(state)  # the previous rehearsal stays as <state>.simulated.json.1
        else:
            store.create(state)
    return StateOrigin.copied, NO_BOOKS


def _previous_rehearsal(store: JSONFileStore) -> Books:
    if not store.exists():
        raise UserError(
            f"There is no previous rehearsal to continue ({store.path} does not exist): run with --simulate "
            "alone to start one from the real state."
        )
    state = store.load()
    unfinished = state.portfolio.pending_trades()
    if unfinished:
        raise UserError(
            f"The previous rehearsal in {store.path} left {len(unfinished)} trade(s) unfinished, whose "
            "transactions only existed on its fork: start a new rehearsal (without --continue-simulation)."
        )
    return Books(booked_holdings(state), highest_known_block(state))


@dataclass
class Simulation:
    fork: ForkSession
    state_path: Path
    real_state_path: Path
    origin: StateOrigin

    def describe(self) -> str:
        origin = {
            StateOrigin.copied: f"a copy of {self.real_state_path}",
            StateOrigin.new: "a new state",
            StateOrigin.continued: "the previous rehearsal, continued: the wallet on the fork holds what it books",
        }[self.origin]
        return f"{self.fork.describe()} State: {self.state_path} ({origin}); {self.real_state_path} is not touched."

    def fund_reserve(self, reserve: AssetIdentifier, amount: Decimal) -> str:
        self.fork.set_token_balance(reserve.address, reserve.to_raw(amount))
        return (
            f"SIMULATION: hot wallet holds {human(amount)} {reserve.symbol} on the fork (--simulate-reserve)."
        )


@contextmanager
def simulation(
    strategy_file: Path | None,
    real_state_path: Path,
    *,
    continue_previous: bool = False,
    env: MutableMapping[str, str] | None = None,
) -> Iterator[Simulation]:
    """A fork of the strategy's chain for the hot wallet, and the simulated state file to use on it
    (a fresh copy of the real state, or with `continue_previous` the previous rehearsal's)."""
    from tradeexecutor.ethereum.wallet import HotWallet
    from tradeexecutor.strategy.loader import load_strategy_module

    env = os.environ if env is None else env
    if strategy_file is None:
        raise UserError("No strategy file given; pass --strategy-file PATH or set STRATEGY_FILE.")
    chain_id = load_strategy_module(strategy_file).chain_id
    env_var = rpc_env_var(chain_id)
    if not env.get(env_var, "").strip():
        raise UserError(
            f"{env_var} is not set: --simulate forks the node in {env_var}, so give the JSON-RPC URL of a "
            f"{ChainId.name_of(chain_id)} node."
        )
    wallet = HotWallet.from_env(env)
    with start_fork(env[env_var], chain_id, wallet.address, env=env) as fork:
        simulated = simulated_state_path(real_state_path)
        origin, books = prepare_simulated_state(
            real_state_path, simulated, continue_previous=continue_previous
        )
        fork.hold(books.holdings)
        fork.catch_up(books.block)
        yield Simulation(fork=fork, state_path=simulated, real_state_path=real_state_path, origin=origin)
