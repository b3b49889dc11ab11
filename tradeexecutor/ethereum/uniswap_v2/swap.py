"""One direct Uniswap v2 router swap from a local key, with its outcome decoded from the receipt.

This is the smallest honest swap: quote from the router, bound by slippage, sign locally,
broadcast, wait for the receipt and read the amounts from the pair's Swap event (not from
the quote). The execution model builds on the same steps and adds state bookkeeping.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal

from eth_account.signers.local import LocalAccount
from web3 import Web3

from tradeexecutor.ethereum.abi import ERC20, UNISWAP_V2_PAIR, UNISWAP_V2_ROUTER, abi

GAS_PADDING = Decimal("1.2")  # v2 estimates miss the price-accumulator write; see docs/facts


@dataclass(frozen=True, slots=True)
class SwapResult:
    tx_hash: str
    amount_in: int
    amount_out: int
    gas_used: int
    effective_gas_price: int
    block_number: int


def pad_gas(estimate: int) -> int:
    return int(Decimal(estimate) * GAS_PADDING)


def send_signed(web3: Web3, account: LocalAccount, tx: dict) -> dict:
    """Fill nonce, padded gas and chain id, sign, broadcast and wait for the receipt."""
    tx = dict(tx)
    tx.setdefault("from", account.address)
    tx.setdefault("nonce", web3.eth.get_transaction_count(account.address, "pending"))
    tx.setdefault("chainId", web3.eth.chain_id)
    if "gas" not in tx:
        tx["gas"] = pad_gas(web3.eth.estimate_gas(tx))
    signed = account.sign_transaction(tx)
    tx_hash = web3.eth.send_raw_transaction(signed.raw_transaction)
    return web3.eth.wait_for_transaction_receipt(tx_hash, timeout=60, poll_latency=0.05)


def swap_exact_in(
    web3: Web3,
    account: LocalAccount,
    router_address: str,
    pair_address: str,
    token_in: str,
    token_out: str,
    amount_in: int,
    max_slippage_bps: int = 50,
    deadline_seconds: int = 300,
) -> SwapResult:
    """Swap exactly `amount_in` of token_in for at least quote×(1-slippage) of token_out."""
    router = web3.eth.contract(address=router_address, abi=abi(UNISWAP_V2_ROUTER))
    erc20 = web3.eth.contract(address=token_in, abi=abi(ERC20))
    if erc20.functions.allowance(account.address, router_address).call() < amount_in:
        approve = erc20.functions.approve(router_address, amount_in).build_transaction(
            {"from": account.address}
        )
        receipt = send_signed(web3, account, approve)
        if receipt["status"] != 1:
            raise RuntimeError(f"Approval transaction {receipt['transactionHash'].to_0x_hex()} reverted.")

    path = [token_in, token_out]
    quoted = router.functions.getAmountsOut(amount_in, path).call()[-1]
    amount_out_min = quoted * (10_000 - max_slippage_bps) // 10_000
    # the chain's clock, not ours, decides expiry (a test chain may run ahead of the wall clock)
    chain_now = web3.eth.get_block("latest")["timestamp"]
    deadline = max(chain_now, int(time.time())) + deadline_seconds
    swap = router.functions.swapExactTokensForTokens(
        amount_in, amount_out_min, path, account.address, deadline
    ).build_transaction({"from": account.address})
    receipt = send_signed(web3, account, swap)
    tx_hash = receipt["transactionHash"].to_0x_hex()
    if receipt["status"] != 1:
        raise RuntimeError(f"Swap transaction {tx_hash} reverted.")

    pair = web3.eth.contract(address=pair_address, abi=abi(UNISWAP_V2_PAIR))
    token0 = pair.functions.token0().call()
    swap_event = pair.events.Swap()
    topic = bytes.fromhex(swap_event.topic.removeprefix("0x"))
    logs = [
        log
        for log in receipt["logs"]
        if log["address"].lower() == pair_address.lower() and bytes(log["topics"][0]) == topic
    ]
    if len(logs) != 1:
        raise RuntimeError(f"Expected one Swap event from {pair_address} in {tx_hash}, found {len(logs)}.")
    args = swap_event.process_log(logs[0])["args"]
    if token_in.lower() == token0.lower():
        got_in, got_out = args["amount0In"], args["amount1Out"]
    else:
        got_in, got_out = args["amount1In"], args["amount0Out"]
    return SwapResult(
        tx_hash=tx_hash,
        amount_in=got_in,
        amount_out=got_out,
        gas_used=receipt["gasUsed"],
        effective_gas_price=receipt["effectiveGasPrice"],
        block_number=receipt["blockNumber"],
    )
