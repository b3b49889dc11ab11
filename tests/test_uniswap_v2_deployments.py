"""Known Uniswap v2 deployments and CREATE2 pair addresses."""

from __future__ import annotations

import pytest

from tradeexecutor.devchain.tooling import uniswap_artifact
from tradeexecutor.errors import UserError
from tradeexecutor.ethereum.abi import UNISWAP_V2_FACTORY, abi
from tradeexecutor.ethereum.uniswap_v2.deployments import (
    KNOWN_DEPLOYMENTS,
    UNISWAP_V2_INIT_CODE_HASH,
    compute_pair_address,
    get_deployment,
    make_pair,
    require_pair,
    verify_deployment,
)
from tradeexecutor.state.identifiers import AssetIdentifier


@pytest.mark.parametrize(
    ("slug", "token_a", "token_b", "known_pool"),
    [
        # Well-known pools, published by each exchange's explorers: if a factory or an init
        # code hash in our table were wrong, these would not come out.
        (
            "uniswap-v2",
            "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2",  # WETH
            "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48",  # USDC
            "0xB4e16d0168e52d35CaCD2c6185b44281Ec28C9Dc",
        ),
        (
            "sushiswap",
            "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2",
            "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48",
            "0x397FF1542f962076d0BFE58eA045FfA2d347ACa0",
        ),
        (
            "pancakeswap-v2",
            "0xbb4CdB9CBd36B01bD1cBaEBF2De08d9173bc095c",  # WBNB
            "0xe9e7CEA3DedcA5984780Bafc599bD69ADd087D56",  # BUSD
            "0x58F876857a02D6762E0101bb5C46A8c1ED44Dc16",
        ),
        (
            "quickswap",
            "0x0d500B1d8E8eF31E21C99d1Db9A6444d3ADf1270",  # WMATIC
            "0x2791Bca1f2de4661ED88A30C99A7a9449Aa84174",  # USDC.e
            "0x6e7a5FAFcec6BB1e78bAE2A1F0B612012BF14827",
        ),
    ],
)
def test_known_deployments_compute_their_famous_pools(slug, token_a, token_b, known_pool) -> None:
    deployment = get_deployment(slug)
    assert deployment.pair_address(token_a, token_b) == known_pool
    assert deployment.pair_address(token_b, token_a) == known_pool  # order does not matter


def test_forks_differ_where_they_should() -> None:
    assert KNOWN_DEPLOYMENTS["sushiswap"].init_code_hash != UNISWAP_V2_INIT_CODE_HASH
    assert KNOWN_DEPLOYMENTS["quickswap"].init_code_hash == UNISWAP_V2_INIT_CODE_HASH
    assert KNOWN_DEPLOYMENTS["pancakeswap-v2"].fee_bps == 25
    assert {d.chain_id for d in KNOWN_DEPLOYMENTS.values()} == {1, 56, 137}


def test_unknown_slug_lists_the_known_ones() -> None:
    with pytest.raises(
        UserError, match="Unknown exchange 'uniswap-v5'.*pancakeswap-v2, quickswap, sushiswap, uniswap-v2"
    ):
        get_deployment("uniswap-v5")


def test_create2_equals_factory_get_pair_on_the_devchain(eth) -> None:
    factory = eth.web3.eth.contract(address=eth.deployment.factory, abi=abi(UNISWAP_V2_FACTORY))
    for pair in eth.pairs.values():
        on_chain = factory.functions.getPair(pair.base.address, pair.quote.address).call()
        assert (
            compute_pair_address(
                eth.deployment.factory, pair.base.address, pair.quote.address, eth.deployment.init_code_hash
            )
            == on_chain
            == pair.pool_address
        )


def test_devchain_init_code_hash_is_the_pair_bytecode_hash(eth) -> None:
    from eth_utils import keccak

    bytecode = uniswap_artifact("v2-core", "UniswapV2Pair")["bytecode"]
    assert "0x" + keccak(hexstr=bytecode).hex() == eth.deployment.init_code_hash == UNISWAP_V2_INIT_CODE_HASH


def test_router_belongs_to_factory(eth) -> None:
    verify_deployment(eth.web3, eth.deployment)
    wrong = KNOWN_DEPLOYMENTS["uniswap-v2"]
    with pytest.raises(UserError, match="There is no router contract at 0x7a250d"):
        verify_deployment(eth.web3, wrong)


def test_unknown_pair_is_a_clear_error(eth) -> None:
    usdc, weth = eth.assets["USDC"], eth.assets["WETH"]
    stranger = AssetIdentifier(chain_id=31337, address="0x" + "12" * 20, symbol="XYZ", decimals=18)
    with pytest.raises(UserError, match="There is no devchain-uniswap-v2 pool for XYZ-USDC"):
        require_pair(eth.web3, make_pair(eth.deployment, stranger, usdc))
    assert (
        require_pair(eth.web3, make_pair(eth.deployment, weth, usdc)).pool_address
        == eth.pairs["WETH-USDC"].pool_address
    )
