"""Shared fixtures: one anvil chain with Uniswap v2 per test session, reverted after each test."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from tradeexecutor.errors import UserError


@pytest.fixture(autouse=True)
def _root_logging_as_it_was() -> Iterator[None]:
    """A command run in-process installs handlers on the root logger (with a redacting filter that
    drops `exc_info`); remove them after the test, so no test sees another's logging set-up."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture(scope="session")
def devchain_session() -> Iterator[object]:
    from tradeexecutor.devchain.chain import start_devchain

    try:
        chain = start_devchain()
    except UserError as e:
        pytest.fail(f"Cannot start the test chain: {e}", pytrace=False)
    with chain:
        yield chain


@pytest.fixture()
def devchain(devchain_session):
    """The session chain, with every change this test makes rolled back afterwards."""
    web3 = devchain_session.web3
    snapshot = web3.provider.make_request("evm_snapshot", [])["result"]
    yield devchain_session
    reverted = web3.provider.make_request("evm_revert", [snapshot])["result"]
    assert reverted, "evm_revert failed: the next test would see this test's chain changes"


# --- ethereum execution stack on the devchain ---------------------------------------------------


@pytest.fixture()
def eth(devchain):
    """Our own connection, hot wallet, routing and pipeline over the (reverted-per-test) devchain."""
    from types import SimpleNamespace

    from tradeexecutor.ethereum.connection import create_web3
    from tradeexecutor.ethereum.tx import TransactionPipeline
    from tradeexecutor.ethereum.uniswap_v2.deployments import (
        UniswapV2Deployment,
        assets_from_file,
        pairs_from_file,
    )
    from tradeexecutor.ethereum.uniswap_v2.execution import UniswapV2SwapExecutor
    from tradeexecutor.ethereum.uniswap_v2.routing import UniswapV2Routing
    from tradeexecutor.ethereum.wallet import HotWallet

    web3 = create_web3(31337, {"JSON_RPC_ANVIL": devchain.rpc_url})
    wallet = HotWallet.from_env({"PRIVATE_KEY": devchain.hot_wallet.key.to_0x_hex()})
    deployment = UniswapV2Deployment.from_file(devchain.deployment)
    routing = UniswapV2Routing(web3, deployment)
    pipeline = TransactionPipeline(web3, wallet)
    return SimpleNamespace(
        devchain=devchain,
        web3=web3,
        wallet=wallet,
        deployment=deployment,
        pairs=pairs_from_file(devchain.deployment),
        assets=assets_from_file(devchain.deployment),
        routing=routing,
        pipeline=pipeline,
        executor=UniswapV2SwapExecutor(pipeline, routing),
        recorded=[],
    )
