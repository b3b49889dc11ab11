"""The operator's Python console: the state and the live objects in one namespace.

The state comes first and always: it is opened (locked, or read-only) before anything
touches the network, and every failure to reach the chain, the wallet or the market data
only leaves the matching names as None with a warning in the banner. At 3 a.m. with the
node down the operator still gets the state to look at.
"""

from __future__ import annotations

import code
import datetime
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from tradeexecutor.errors import UserError
from tradeexecutor.state.errors import StateStoreError
from tradeexecutor.state.state import State
from tradeexecutor.state.store import JSONFileStore
from tradeexecutor.state.time import utcnow

LIVE_NAMES = ("web3", "wallet", "routing", "pricing_model", "valuation", "execution_model", "sync_model")
MAX_REPR = 160


@dataclass
class LiveObjects:
    """What the console could connect; any of it may be None, with the reasons in `warnings`."""

    values: dict[str, Any] = field(default_factory=lambda: dict.fromkeys((*LIVE_NAMES, "setup", "universe")))
    warnings: list[str] = field(default_factory=list)


def connect_for_console(
    strategy_file: Path | None,
    *,
    deployment_file: Path | None,
    exchange_slug: str | None,
    token_addresses: str | None,
    candle_start_block: int | None,
    cache_path: Path,
    settings: Any,
    read_only: bool = False,
) -> LiveObjects:
    """Connect as far as possible; never raise for an unreachable node, a missing key or no candles.

    `read_only` loads no wallet: a console that does not hold the state's lock (an executor may
    be running on it) must not be able to sign transactions the state would never know of."""
    live = LiveObjects()
    if strategy_file is None:
        live.warnings.append(
            "No --strategy-file given: only the state is loaded; web3, universe and the live models are None."
        )
        return live
    from tradeexecutor.ethereum.wallet import HotWallet
    from tradeexecutor.execution.live.connect import connect_live
    from tradeexecutor.execution.live.pricing import UniswapV2LivePricing
    from tradeexecutor.execution.live.routes import LiveRouting
    from tradeexecutor.execution.live.stack import build_live_models
    from tradeexecutor.execution.live.valuation import UniswapV2Valuation

    try:
        setup = connect_live(
            strategy_file,
            deployment_file=deployment_file,
            exchange_slug=exchange_slug,
            token_addresses=token_addresses,
            candle_start_block=candle_start_block,
        )
    except UserError as e:
        live.warnings.append(f"Not connected to the chain: {e} web3, universe and the live models are None.")
        return live
    v = live.values
    v["setup"], v["web3"] = setup, setup.web3
    if read_only:
        live.warnings.append(
            "Read-only: no hot wallet is loaded (wallet, execution_model and sync_model are None), so "
            "nothing can be signed behind a running executor's back."
        )
    else:
        try:
            v["wallet"] = HotWallet.from_env()
        except UserError as e:
            live.warnings.append(f"No hot wallet: {e} wallet, execution_model and sync_model are None.")
    if v["wallet"] is not None:
        models = build_live_models(
            setup.web3, v["wallet"], setup.deployments, setup.reserve, settings, known_pairs=setup.pairs
        )
        v["routing"], v["pricing_model"], v["valuation"] = models.routing, models.pricing, models.valuation
        v["execution_model"], v["sync_model"] = models.execution, models.sync
    else:
        routing = LiveRouting(setup.web3, setup.deployments, setup.reserve, known_pairs=setup.pairs)
        v["routing"], v["pricing_model"] = routing, UniswapV2LivePricing(routing)
        v["valuation"] = UniswapV2Valuation(routing)
    try:
        v["universe"] = setup.create_universe(cache_path / "onchain-candles")
    except UserError as e:
        live.warnings.append(f"No universe: {e}")
    except Exception as e:  # the strategy's own code: a bug there must not keep the operator out
        live.warnings.append(f"No universe: create_trading_universe() raised {type(e).__name__}: {e}")
    return live


def make_save(store: JSONFileStore, state: State) -> Callable[[], bool]:
    """`save()` for the namespace: writes the state, or says in one sentence why it cannot."""

    def save() -> bool:
        """Write the console's `state` to the state file (atomically, keeping backups)."""
        try:
            state.last_updated_at = utcnow()
            store.save(state)
        except StateStoreError as e:
            print(f"Not saved: {e}")
            return False
        print(f"Saved {store.path}.")
        return True

    return save


def build_namespace(
    store: JSONFileStore, state: State, live: LiveObjects, cache_path: Path
) -> dict[str, Any]:
    import pandas as pd

    return {
        "web3": live.values["web3"],
        "state": state,
        "store": store,
        "universe": live.values["universe"],
        "wallet": live.values["wallet"],
        "routing": live.values["routing"],
        "pricing_model": live.values["pricing_model"],
        "valuation": live.values["valuation"],
        "execution_model": live.values["execution_model"],
        "sync_model": live.values["sync_model"],
        "setup": live.values["setup"],
        "save": make_save(store, state),
        "datetime": datetime,
        "pd": pd,
        "cache_path": cache_path,
        "Decimal": Decimal,
    }


def describe(value: Any) -> str:
    """A one-line repr: the state and the store summarised, anything long cut."""
    if isinstance(value, State):
        p = value.portfolio
        trades = sum(len(pos.trades) for pos in p.all_positions())
        return (
            f"<State {value.strategy_id or '(no id)'}: {len(p.open_positions)} open, {len(p.frozen_positions)} frozen, "
            f"{len(p.closed_positions)} closed positions, {trades} trades, {len(value.ledger.entries)} ledger "
            f"entries, updated {value.last_updated_at:%Y-%m-%d %H:%M:%S} UTC>"
        )
    if isinstance(value, JSONFileStore):
        mode = "read-only, not locked" if value.read_only else "locked by this console"
        return f"<JSONFileStore {value.path} ({mode})>"
    if type(value).__name__ == "LiveSetup":
        pairs = ", ".join(p.ticker for p in value.pairs)
        exchanges = ", ".join(d.slug for d in value.deployments)
        return (
            f"<LiveSetup {value.module.path.name} on {exchanges} (chain {value.module.chain_id}): pairs {pairs}, "
            f"reserve {value.reserve.symbol}>"
        )
    if type(value).__name__ == "Web3":
        return f"<Web3 over {value.provider}>"
    if callable(value) and getattr(value, "__name__", "") == "save":
        return "save() writes `state` to the state file"
    text = repr(value)
    return text if len(text) <= MAX_REPR else text[: MAX_REPR - 3] + "..."


def banner(namespace: dict[str, Any], path: Path, read_only: bool, warnings: list[str]) -> str:
    if read_only:
        mode = "read-only: no lock taken, nothing can be saved"
    else:
        mode = "writable: the state file is locked until you leave; call save() to write your changes"
    lines = [f"trade-executor console on {path} ({mode})."]
    lines += [f"WARNING: {w}" for w in warnings]
    lines.append("Following classes and objects are available:")
    names = [n for n in namespace if not (read_only and n == "save")]
    lines += [f"{name:<30}: {describe(namespace[name])}" for name in names]
    return "\n".join(lines)


class CountingConsole(code.InteractiveConsole):
    """The stdlib console, counting errors so a script of commands can fail the process."""

    errors = 0

    def showtraceback(self) -> None:
        self.errors += 1
        super().showtraceback()

    def showsyntaxerror(self, filename: str | None = None, **kwargs: Any) -> None:
        self.errors += 1
        super().showsyntaxerror(filename, **kwargs)


def run_shell(namespace: dict[str, Any], interactive: bool) -> int:
    """IPython for a person at a terminal when installed, else the stdlib console; errors seen."""
    if interactive:
        try:
            import IPython  # noqa: F401  (optional: not a dependency)
        except ImportError:
            pass
        else:
            from IPython import start_ipython

            start_ipython(argv=["--no-confirm-exit"], user_ns=namespace)
            return 0
    else:
        sys.ps1 = sys.ps2 = ""  # commands from a pipe: no prompts in the output
    console = CountingConsole(namespace)
    hook, sys.excepthook = sys.excepthook, sys.__excepthook__  # the console's own, trimmed tracebacks
    try:
        console.interact(banner="", exitmsg="")
    finally:
        sys.excepthook = hook
    return console.errors
