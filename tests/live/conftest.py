"""The live models over the per-test devchain, with a state saved to a real file."""

from __future__ import annotations

from types import SimpleNamespace

import pytest


@pytest.fixture()
def live(eth, tmp_path):
    from tests.live.state_file import save_state
    from tradeexecutor.ethereum.settings import ExecutionSettings
    from tradeexecutor.execution.live.stack import build_live_models
    from tradeexecutor.state.state import State

    ns = SimpleNamespace(eth=eth, state=State(), path=tmp_path / "state.json", saves=0)

    def checkpoint() -> None:
        save_state(ns.path, ns.state)
        ns.saves += 1

    def build(**settings):
        ns.settings = ExecutionSettings(**{"confirmation_timeout": 30.0, **settings})
        ns.models = build_live_models(
            eth.web3,
            eth.wallet,
            [eth.deployment],
            eth.assets["USDC"],
            ns.settings,
            known_pairs=list(eth.pairs.values()),
            checkpoint=checkpoint,
            recovery_timeout=10.0,
        )
        return ns.models

    ns.checkpoint = checkpoint
    ns.build = build
    build()
    return ns


# --- operator toolbox: the installed command over the same devchain and state file --------------


@pytest.fixture()
def operator(live, tmp_path):
    """Run `trade-executor` as a subprocess on the `live` fixture's chain and state file, and make
    positions for it to work on with the live models in this process."""
    from tests.live.toolbox import Operator

    return Operator(live, tmp_path)
