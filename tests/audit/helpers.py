"""Acting on the devchain around an executor: cycles through the real runner, outside transfers and swaps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from eth_abi import encode as abi_encode
from web3 import Web3

from tradeexecutor.audit.runner import AuditEngine, AuditSettings
from tradeexecutor.ethereum.abi import ERC20, UNISWAP_V2_ROUTER, WETH, abi
from tradeexecutor.execution.runner import CycleReport, CycleRunner

T0 = datetime(2024, 1, 1, tzinfo=UTC)
MINTABLE = ERC20 + ("function mint(address to, uint256 amount)",)
BALANCE_SLOT = 3  # TestToken: name, symbol, totalSupply, then balanceOf (immutables take no slot)


def run_cycle(live, decide, hour: int = 0) -> CycleReport:
    m = live.models
    runner = CycleRunner(
        state=live.state,
        pricing_model=m.pricing,
        execution_model=m.execution,
        sync_model=m.sync,
        valuation_model=m.valuation,
        decide=decide,
        checkpoint=live.checkpoint,
    )
    return runner.run_cycle(T0 + timedelta(hours=hour))


def engine(live, **settings) -> AuditEngine:
    return AuditEngine(live.eth.web3, live.eth.wallet.address, live.models.routing, AuditSettings(**settings))


def deployer(devchain) -> str:
    return devchain.web3.eth.accounts[0]


def token_address(devchain, symbol: str) -> str:
    return devchain.deployment.token(symbol).address


def mint(devchain, symbol: str, to: str, amount: int) -> None:
    web3 = devchain.web3
    token = web3.eth.contract(address=token_address(devchain, symbol), abi=abi(MINTABLE))
    web3.eth.wait_for_transaction_receipt(
        token.functions.mint(to, amount).transact({"from": deployer(devchain)})
    )


def send_weth(devchain, to: str, amount: int) -> None:
    """Another account wraps ETH and transfers WETH to `to`."""
    web3 = devchain.web3
    weth = web3.eth.contract(address=token_address(devchain, "WETH"), abi=abi(WETH))
    sender = deployer(devchain)
    web3.eth.wait_for_transaction_receipt(
        weth.functions.deposit().transact({"from": sender, "value": amount})
    )
    web3.eth.wait_for_transaction_receipt(weth.functions.transfer(to, amount).transact({"from": sender}))


def set_token_balance(devchain, symbol: str, owner: str, amount: int) -> None:
    """Overwrite a TestToken balance in storage, as a token with rounding or rebasing could change it."""
    slot = Web3.keccak(abi_encode(["address", "uint256"], [owner, BALANCE_SLOT]))
    value = "0x" + amount.to_bytes(32, "big").hex()
    devchain.web3.provider.make_request(
        "anvil_setStorageAt", [token_address(devchain, symbol), slot.to_0x_hex(), value]
    )


def swap_outside_executor(devchain, spend_usdc: int, buy: str = "WETH", to: str | None = None) -> str:
    """The hot wallet's own key approves and swaps on the router, bypassing the executor; returns the swap hash."""
    web3, account = devchain.web3, devchain.hot_wallet
    usdc, token_out = token_address(devchain, "USDC"), token_address(devchain, buy)
    router_address = devchain.deployment.router
    token = web3.eth.contract(address=usdc, abi=abi(ERC20))
    router = web3.eth.contract(address=router_address, abi=abi(UNISWAP_V2_ROUTER))
    nonce = web3.eth.get_transaction_count(account.address)
    common = {"from": account.address, "gas": 300_000, "gasPrice": web3.eth.gas_price * 2, "chainId": 31337}
    approve = token.functions.approve(router_address, spend_usdc).build_transaction(
        {**common, "nonce": nonce}
    )
    swap = router.functions.swapExactTokensForTokens(
        spend_usdc, 0, [usdc, token_out], to or account.address, 2**63
    ).build_transaction({**common, "nonce": nonce + 1})
    hashes = []
    for tx in (approve, swap):
        signed = account.sign_transaction(tx)
        hashes.append(web3.eth.send_raw_transaction(signed.raw_transaction))
        assert web3.eth.wait_for_transaction_receipt(hashes[-1])["status"] == 1
    return hashes[-1].to_0x_hex()
