"""Deploy WETH9, Uniswap v2 (factory + Router02), test tokens and seeded pools on anvil.

Transactions come from anvil's first unlocked account (the deployer), which also mints
test tokens. The hot wallet is a separate key, funded here and used only by the product.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from eth_utils import keccak
from web3 import Web3
from web3.contract import Contract

from tradeexecutor.devchain.tooling import test_token_artifact, uniswap_artifact
from tradeexecutor.ethereum.uniswap_v2.deployment import PairInfo, TokenInfo, UniswapV2DeploymentFile

MAX_UINT = 2**256 - 1
DEADLINE = 2**63  # far future: the devchain's clock is under our control


@dataclass(frozen=True, slots=True)
class TokenSpec:
    symbol: str
    name: str
    decimals: int
    strict_approval: bool = False  # like USDT: an allowance must go back to 0 before it changes


@dataclass(frozen=True, slots=True)
class PoolSpec:
    """A pool priced at `price` quote tokens per base token, holding `quote_liquidity` quote tokens."""

    base: str
    quote: str
    price: Decimal
    quote_liquidity: Decimal


DEFAULT_TOKENS = (
    TokenSpec("USDC", "USD Coin (devchain)", 6),
    # DEV behaves like USDT on Ethereum, so every run proves the executor copes with such tokens.
    TokenSpec("DEV", "Devchain Token", 18, strict_approval=True),
)
DEFAULT_POOLS = (
    PoolSpec("WETH", "USDC", Decimal(2000), Decimal(2_000_000)),
    PoolSpec("DEV", "USDC", Decimal(5), Decimal(500_000)),
    PoolSpec("DEV", "WETH", Decimal("0.0025"), Decimal(250)),
)


def to_raw(amount: Decimal, decimals: int) -> int:
    return int((Decimal(amount) * (Decimal(10) ** decimals)).to_integral_value())


class Deployer:
    """Sends the deployment transactions and checks every receipt."""

    def __init__(self, web3: Web3, account: str | None = None) -> None:
        self.web3 = web3
        self.account = account or web3.eth.accounts[0]

    def transact(self, fn: Any, **tx: Any) -> Any:
        tx_hash = fn.transact({"from": self.account, **tx})
        receipt = self.web3.eth.wait_for_transaction_receipt(tx_hash, timeout=30, poll_latency=0.01)
        if receipt["status"] != 1:
            raise RuntimeError(f"Devchain deployment transaction {tx_hash.hex()} reverted.")
        return receipt

    def deploy(self, artifact: dict[str, Any], *args: Any) -> Contract:
        factory = self.web3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
        receipt = self.transact(factory.constructor(*args))
        return self.web3.eth.contract(address=receipt["contractAddress"], abi=artifact["abi"])


def deploy_devchain(
    web3: Web3,
    rpc_url: str,
    hot_wallet: str,
    tokens: tuple[TokenSpec, ...] = DEFAULT_TOKENS,
    pools: tuple[PoolSpec, ...] = DEFAULT_POOLS,
    reserve_symbol: str = "USDC",
    hot_wallet_gas: Decimal = Decimal(100),
    hot_wallet_reserve: Decimal = Decimal(10_000),
) -> UniswapV2DeploymentFile:
    d = Deployer(web3)
    weth = d.deploy(uniswap_artifact("v2-periphery", "WETH9"))
    factory = d.deploy(uniswap_artifact("v2-core", "UniswapV2Factory"), d.account)
    router = d.deploy(uniswap_artifact("v2-periphery", "UniswapV2Router02"), factory.address, weth.address)
    init_code_hash = "0x" + keccak(hexstr=uniswap_artifact("v2-core", "UniswapV2Pair")["bytecode"]).hex()

    contracts: dict[str, Contract] = {"WETH": weth}
    infos: dict[str, TokenInfo] = {"WETH": TokenInfo("WETH", weth.address, 18, "Wrapped Ether")}
    for spec in tokens:
        token = d.deploy(test_token_artifact(spec.strict_approval), spec.name, spec.symbol, spec.decimals)
        contracts[spec.symbol] = token
        infos[spec.symbol] = TokenInfo(spec.symbol, token.address, spec.decimals, spec.name)

    def fund_deployer(symbol: str, raw: int) -> None:
        if symbol == "WETH":
            d.transact(weth.functions.deposit(), value=raw)
        else:
            d.transact(contracts[symbol].functions.mint(d.account, raw))

    pairs: list[PairInfo] = []
    approved: set[str] = set()
    pair_abi = uniswap_artifact("v2-core", "UniswapV2Pair")["abi"]
    for pool in pools:
        base, quote = infos[pool.base], infos[pool.quote]
        quote_raw = to_raw(pool.quote_liquidity, quote.decimals)
        base_raw = to_raw(pool.quote_liquidity / pool.price, base.decimals)
        if pool.base == "WETH" or pool.quote == "WETH":
            web3.provider.make_request("anvil_setBalance", [d.account, hex(10**30)])
        fund_deployer(pool.base, base_raw)
        fund_deployer(pool.quote, quote_raw)
        for symbol in (pool.base, pool.quote):
            if symbol not in approved:  # once: a strict token refuses a second non-zero approval
                d.transact(contracts[symbol].functions.approve(router.address, MAX_UINT))
                approved.add(symbol)
        d.transact(
            router.functions.addLiquidity(
                base.address, quote.address, base_raw, quote_raw, 0, 0, d.account, DEADLINE
            )
        )
        pair_address = factory.functions.getPair(base.address, quote.address).call()
        pair = web3.eth.contract(address=pair_address, abi=pair_abi)
        pairs.append(
            PairInfo(
                base=pool.base,
                quote=pool.quote,
                address=pair_address,
                token0=pair.functions.token0().call(),
                token1=pair.functions.token1().call(),
                fee_bps=30,
            )
        )

    seed_price_accumulators(web3, d, [p.address for p in pairs], pair_abi)

    # The hot wallet: gas money and the reserve currency, nothing else.
    web3.provider.make_request("anvil_setBalance", [hot_wallet, hex(to_raw(hot_wallet_gas, 18))])
    reserve = infos[reserve_symbol]
    if reserve_symbol == "WETH":
        raise ValueError("Use a token other than WETH as the devchain reserve currency.")
    d.transact(
        contracts[reserve_symbol].functions.mint(hot_wallet, to_raw(hot_wallet_reserve, reserve.decimals))
    )

    return UniswapV2DeploymentFile(
        chain_id=web3.eth.chain_id,
        rpc_url=rpc_url,
        exchange_slug="devchain-uniswap-v2",
        factory=factory.address,
        router=router.address,
        weth=weth.address,
        init_code_hash=init_code_hash,
        reserve_symbol=reserve_symbol,
        tokens=infos,
        pairs=pairs,
        hot_wallet=hot_wallet,
        deployed_at_block=web3.eth.block_number,
    )


def seed_price_accumulators(web3: Web3, d: Deployer, pair_addresses: list[str], pair_abi: Any) -> None:
    """Make every pair write its price accumulators once.

    A pair updates price{0,1}CumulativeLast only when the block timestamp moved since its
    last update. Gas estimates run at the current timestamp and so miss that write for a
    fresh pool (~+44k gas), which turns into random out-of-gas reverts. Moving time one
    second and calling sync() (with a fixed gas limit, since estimating it would have the
    same blind spot) makes later swaps pay only the cheaper non-zero-to-non-zero writes.
    """
    web3.provider.make_request("evm_increaseTime", [1])
    web3.provider.make_request("evm_mine", [])
    for address in pair_addresses:
        pair = web3.eth.contract(address=address, abi=pair_abi)
        d.transact(pair.functions.sync(), gas=150_000)
