"""The data behind `check-wallet`: everything collected, every problem named."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tradeexecutor.errors import UserError
from tradeexecutor.ethereum.preflight import check_wallet
from tradeexecutor.ethereum.uniswap_v2.deployments import get_deployment


def test_healthy_wallet(eth) -> None:
    usdc = eth.assets["USDC"]
    report = check_wallet(eth.web3, eth.wallet.address, 31337, usdc.address, [eth.deployment])
    assert report.ok and report.chain_id == 31337
    assert report.latest_block == eth.web3.eth.block_number
    assert report.gas_balance == Decimal(100) and report.gas_symbol == "ETH"
    assert report.reserve.symbol == "USDC" and report.reserve_balance == Decimal(10_000)
    assert report.gas_pricing.method == "london"
    assert report.routing[0].router == eth.deployment.router and report.routing[0].problem is None
    text = "\n".join(report.lines())
    for needle in (
        "Chain id is 31337 (anvil)",
        f"Hot wallet is {eth.wallet.address}",
        "Gas money: 100 ETH",
        "Balance of USD Coin (devchain): 10000 USDC",
        f"factory {eth.deployment.factory} uses router",
        "Routed reserve asset is USDC",
        "method:london",
        "All ok",
    ):
        assert needle in text, needle
    report.raise_for_problems()


def test_every_problem_is_listed(eth) -> None:
    empty = eth.web3.eth.accounts[7]
    eth.web3.provider.make_request("anvil_setBalance", [empty, hex(10**15)])
    report = check_wallet(
        eth.web3, empty, 31337, eth.assets["USDC"].address, [eth.deployment, get_deployment("sushiswap")]
    )
    assert not report.ok and len(report.problems) == 3
    joined = " ".join(report.problems)
    assert "0.001 ETH for gas, below the minimum of 0.01 ETH" in joined
    assert "holds no USDC" in joined
    assert "sushiswap is deployed on chain 1, not on chain 31337" in joined
    with pytest.raises(UserError, match="holds no USDC"):
        report.raise_for_problems()


def test_wrong_chain_stops_at_once(eth) -> None:
    with pytest.raises(UserError, match="chain 31337 .* CHAIN_ID is 56 .* JSON_RPC_BINANCE"):
        check_wallet(eth.web3, eth.wallet.address, 56, None, [])


def test_unknown_reserve_token_is_named(eth) -> None:
    report = check_wallet(eth.web3, eth.wallet.address, 31337, eth.web3.eth.accounts[2], [eth.deployment])
    assert report.reserve is None
    assert any("There is no contract at token address" in p for p in report.problems)
