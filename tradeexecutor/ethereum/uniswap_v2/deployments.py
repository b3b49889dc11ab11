"""Uniswap v2 style exchanges by slug, and pair addresses computed without a call.

Every fork has its own factory, router and pair init code hash (the keccak of the pair's
creation code, which CREATE2 mixes into every pair address), and some a different LP fee.
The built-in table was checked by computing a well-known pool of each from these constants
(tests/test_uniswap_v2_deployments.py); any other fork, and the devchain, comes from a
deployment file.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_utils import keccak, to_checksum_address
from web3 import Web3

from tradeexecutor.errors import UserError
from tradeexecutor.ethereum.abi import UNISWAP_V2_ROUTER, abi
from tradeexecutor.ethereum.uniswap_v2.deployment import UniswapV2DeploymentFile
from tradeexecutor.state.identifiers import AssetIdentifier, ChainId, TradingPairIdentifier

UNISWAP_V2_INIT_CODE_HASH = "0x96e8ac4277198ff8b6f785478aa9a39f403cb768dd02cbee326c3e7da348845f"


@dataclass(frozen=True, slots=True)
class UniswapV2Deployment:
    """Where one Uniswap v2 style exchange lives on one chain."""

    slug: str
    chain_id: int
    factory: str
    router: str
    init_code_hash: str
    weth: str  # the wrapped native token the router was deployed with
    fee_bps: int = 30

    def pair_address(self, token_a: str, token_b: str) -> str:
        return compute_pair_address(self.factory, token_a, token_b, self.init_code_hash)

    @classmethod
    def from_file(cls, file: UniswapV2DeploymentFile) -> UniswapV2Deployment:
        fees = {p.fee_bps for p in file.pairs} or {30}
        if len(fees) != 1:
            raise UserError(f"Deployment file for {file.exchange_slug} mixes LP fees {sorted(fees)}.")
        return cls(
            slug=file.exchange_slug,
            chain_id=file.chain_id,
            factory=to_checksum_address(file.factory),
            router=to_checksum_address(file.router),
            init_code_hash=file.init_code_hash,
            weth=to_checksum_address(file.weth),
            fee_bps=fees.pop(),
        )


KNOWN_DEPLOYMENTS: dict[str, UniswapV2Deployment] = {
    d.slug: d
    for d in (
        UniswapV2Deployment(
            slug="uniswap-v2",
            chain_id=ChainId.ethereum,
            factory="0x5C69bEe701ef814a2B6a3EDD4B1652CB9cc5aA6f",
            router="0x7a250d5630B4cF539739dF2C5dAcb4c659F2488D",
            init_code_hash=UNISWAP_V2_INIT_CODE_HASH,
            weth="0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2",
        ),
        UniswapV2Deployment(
            slug="sushiswap",
            chain_id=ChainId.ethereum,
            factory="0xC0AEe478e3658e2610c5F7A4A2E1777cE9e4f2Ac",
            router="0xd9e1cE17f2641f24aE83637ab66a2cca9C378B9F",
            init_code_hash="0xe18a34eb0e04b04f7a0ac29a6e80748dca96319b42c54d679cb821dca90c6303",
            weth="0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2",
        ),
        UniswapV2Deployment(
            slug="pancakeswap-v2",
            chain_id=ChainId.binance,
            factory="0xcA143Ce32Fe78f1f7019d7d551a6402fC5350c73",
            router="0x10ED43C718714eb63d5aA57B78B54704E256024E",
            init_code_hash="0x00fb7f630766e6a796048ea87d01acd3068e8ff67d078148a3fa3f4a84f69bd5",
            weth="0xbb4CdB9CBd36B01bD1cBaEBF2De08d9173bc095c",
            fee_bps=25,  # PancakeLibrary.getAmountOut uses 9975/10000
        ),
        UniswapV2Deployment(
            slug="quickswap",
            chain_id=ChainId.polygon,
            factory="0x5757371414417b8C6CAad45bAeF941aBc7d3Ab32",
            router="0xa5E0829CaCEd8fFDD4De3c43696c57F7D7A678ff",
            init_code_hash=UNISWAP_V2_INIT_CODE_HASH,  # an unmodified Uniswap v2 fork
            weth="0x0d500B1d8E8eF31E21C99d1Db9A6444d3ADf1270",
        ),
    )
}


def get_deployment(slug: str) -> UniswapV2Deployment:
    try:
        return KNOWN_DEPLOYMENTS[slug]
    except KeyError:
        known = ", ".join(sorted(KNOWN_DEPLOYMENTS))
        raise UserError(
            f"Unknown exchange {slug!r}: use one of {known}, or describe it in a deployment file."
        ) from None


def sort_tokens(token_a: str, token_b: str) -> tuple[str, str]:
    """Uniswap orders a pair's tokens by address: token0 is the smaller one."""
    a, b = token_a.lower(), token_b.lower()
    if a == b:
        raise ValueError("A pair needs two different tokens.")
    return (token_a, token_b) if a < b else (token_b, token_a)


def compute_pair_address(factory: str, token_a: str, token_b: str, init_code_hash: str) -> str:
    """CREATE2: keccak(0xff ++ factory ++ keccak(token0 ++ token1) ++ init_code_hash)[12:]."""
    token0, token1 = sort_tokens(token_a, token_b)
    salt = keccak(bytes.fromhex(token0[2:]) + bytes.fromhex(token1[2:]))
    digest = keccak(b"\xff" + bytes.fromhex(factory[2:]) + salt + bytes.fromhex(init_code_hash[2:]))
    return to_checksum_address(digest[12:])


def is_token0(token: AssetIdentifier | str, other: AssetIdentifier | str) -> bool:
    a = token.address if isinstance(token, AssetIdentifier) else token
    b = other.address if isinstance(other, AssetIdentifier) else other
    return sort_tokens(a, b)[0].lower() == a.lower()


def make_pair(
    deployment: UniswapV2Deployment, base: AssetIdentifier, quote: AssetIdentifier
) -> TradingPairIdentifier:
    """A trading pair whose pool address comes from CREATE2 (check it exists with `require_pair`)."""
    return TradingPairIdentifier(
        base=base,
        quote=quote,
        pool_address=deployment.pair_address(base.address, quote.address),
        exchange_slug=deployment.slug,
        fee_bps=deployment.fee_bps,
    )


def require_pair(web3: Web3, pair: TradingPairIdentifier) -> TradingPairIdentifier:
    """A UserError naming the pair when no pool is deployed at its address."""
    if not web3.eth.get_code(Web3.to_checksum_address(pair.pool_address)):
        raise UserError(
            f"There is no {pair.exchange_slug} pool for {pair.ticker} ({pair.base.address} / "
            f"{pair.quote.address}) on chain {pair.chain_id}: check the token addresses and the exchange."
        )
    return pair


def verify_deployment(web3: Web3, deployment: UniswapV2Deployment) -> None:
    """Check that the router is there and belongs to the factory we compute pairs from."""
    if not web3.eth.get_code(Web3.to_checksum_address(deployment.router)):
        raise UserError(
            f"There is no router contract at {deployment.router} for {deployment.slug} on chain "
            f"{web3.eth.chain_id}: check the exchange slug or the deployment file."
        )
    router = web3.eth.contract(
        address=Web3.to_checksum_address(deployment.router), abi=abi(UNISWAP_V2_ROUTER)
    )
    factory = router.functions.factory().call()
    if factory.lower() != deployment.factory.lower():
        raise UserError(
            f"The {deployment.slug} router {deployment.router} uses factory {factory}, not "
            f"{deployment.factory}: fix the deployment's factory address."
        )


def pairs_from_file(file: UniswapV2DeploymentFile) -> dict[str, TradingPairIdentifier]:
    """Every pair of a deployment file as identifiers, keyed by ticker (`WETH-USDC`)."""
    tokens = assets_from_file(file)
    return {
        f"{p.base}-{p.quote}": TradingPairIdentifier(
            base=tokens[p.base],
            quote=tokens[p.quote],
            pool_address=to_checksum_address(p.address),
            exchange_slug=file.exchange_slug,
            fee_bps=p.fee_bps,
        )
        for p in file.pairs
    }


def assets_from_file(file: UniswapV2DeploymentFile) -> dict[str, AssetIdentifier]:
    return {
        symbol: AssetIdentifier(
            chain_id=file.chain_id,
            address=to_checksum_address(t.address),
            symbol=t.symbol,
            decimals=t.decimals,
            name=t.name,
        )
        for symbol, t in file.tokens.items()
    }
