"""Helpers that act on the devchain as other market participants would."""

from __future__ import annotations


def move_market(devchain, sell_symbol: str, buy_symbol: str, amount: int) -> None:
    """Another trader (anvil's deployer account) swaps on the devchain router."""
    from tradeexecutor.ethereum.abi import ERC20, UNISWAP_V2_ROUTER, WETH, abi

    web3, d = devchain.web3, devchain.deployment
    trader = web3.eth.accounts[0]
    token_in, token_out = d.token(sell_symbol), d.token(buy_symbol)
    if sell_symbol == "WETH":
        weth = web3.eth.contract(address=token_in.address, abi=abi(WETH))
        web3.eth.wait_for_transaction_receipt(
            weth.functions.deposit().transact({"from": trader, "value": amount})
        )
    else:
        token = web3.eth.contract(
            address=token_in.address, abi=abi(ERC20 + ("function mint(address to, uint256 amount)",))
        )
        web3.eth.wait_for_transaction_receipt(token.functions.mint(trader, amount).transact({"from": trader}))
    router = web3.eth.contract(address=d.router, abi=abi(UNISWAP_V2_ROUTER))
    tx = router.functions.swapExactTokensForTokens(
        amount, 0, [token_in.address, token_out.address], trader, 2**63
    ).transact({"from": trader, "gas": 300_000})
    assert web3.eth.wait_for_transaction_receipt(tx)["status"] == 1
