"""Start anvil, deploy Uniswap v2 on it, and hand back everything a caller needs."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import HTTPProvider, Web3

from tradeexecutor.devchain.anvil import AnvilProcess
from tradeexecutor.devchain.deploy import DEFAULT_POOLS, DEFAULT_TOKENS, PoolSpec, TokenSpec, deploy_devchain
from tradeexecutor.ethereum.uniswap_v2.deployment import UniswapV2DeploymentFile
from tradeexecutor.state.filewrite import write_atomic

ANVIL_CHAIN_ID = 31337


@dataclass
class Devchain:
    anvil: AnvilProcess
    web3: Web3
    deployment: UniswapV2DeploymentFile
    hot_wallet: LocalAccount

    @property
    def rpc_url(self) -> str:
        assert self.anvil.url
        return self.anvil.url

    def stop(self) -> None:
        self.anvil.stop()

    def __enter__(self) -> Devchain:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_devchain(
    port: int = 0,
    tokens: tuple[TokenSpec, ...] = DEFAULT_TOKENS,
    pools: tuple[PoolSpec, ...] = DEFAULT_POOLS,
    hot_wallet_key: str | None = None,
    hot_wallet_gas: Decimal = Decimal(100),
    hot_wallet_reserve: Decimal = Decimal(10_000),
    block_time: float | None = None,
    genesis_timestamp: int | None = None,
) -> Devchain:
    """Start a fresh chain with a funded hot wallet; stop() (or `with`) tears it down.

    `genesis_timestamp` starts the chain's clock in the past, so history can be replayed at
    past timestamps (see MarketSimulator.backfill).
    """
    extra = ("--timestamp", str(genesis_timestamp)) if genesis_timestamp is not None else ()
    anvil = AnvilProcess(port=port, chain_id=ANVIL_CHAIN_ID, block_time=block_time, extra_args=extra)
    url = anvil.start()
    try:
        web3 = Web3(HTTPProvider(url, request_kwargs={"timeout": 30}))
        hot_wallet: LocalAccount = Account.from_key(hot_wallet_key) if hot_wallet_key else Account.create()
        deployment = deploy_devchain(
            web3,
            url,
            hot_wallet.address,
            tokens=tokens,
            pools=pools,
            hot_wallet_gas=hot_wallet_gas,
            hot_wallet_reserve=hot_wallet_reserve,
        )
    except BaseException:
        anvil.stop()
        raise
    return Devchain(anvil=anvil, web3=web3, deployment=deployment, hot_wallet=hot_wallet)


def write_wallet_env(path: Path, devchain: Devchain) -> None:
    """Write PRIVATE_KEY and JSON_RPC_ANVIL for other commands, readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = (
        "# Written by `trade-executor devchain up`: a throwaway key for the local chain only.\n"
        f"PRIVATE_KEY={devchain.hot_wallet.key.to_0x_hex()}\n"
        f"JSON_RPC_ANVIL={devchain.rpc_url}\n"
    )
    write_atomic(path, text.encode(), mode=0o600)
