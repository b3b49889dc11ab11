"""Shared fixtures: one anvil chain with Uniswap v2 per test session, reverted after each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tradeexecutor.errors import UserError


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
