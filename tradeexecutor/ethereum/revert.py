"""Why a transaction reverted, in words.

A receipt only says `status: 0`. The reason string lives in the revert data, which only a
call returns: replaying the transaction as an `eth_call` at its block gives it back
(`UniswapV2Router: INSUFFICIENT_OUTPUT_AMOUNT`). The replay runs on the state after that
block; a reverted transaction changed nothing but its sender's nonce and balance, so the
pool state it met is still there unless a later transaction in the same block moved it.
"""

from __future__ import annotations

from typing import Any

from web3 import Web3
from web3.exceptions import ContractLogicError, Web3RPCError

from tradeexecutor.ethereum.connection import RPCUnavailable

_PREFIX = "execution reverted"

HINTS = {
    "INSUFFICIENT_OUTPUT_AMOUNT": "the price moved more than the allowed slippage (--max-slippage) "
    "between the quote and execution",
    "EXCESSIVE_INPUT_AMOUNT": "the price moved more than the allowed slippage (--max-slippage)",
    "TRANSFER_FROM_FAILED": "the router could not take the input tokens: the approval (allowance) "
    "or the wallet's token balance is too small",
    "EXPIRED": "the transaction was mined after its deadline",
    "INSUFFICIENT_LIQUIDITY": "the pool has too little liquidity for this trade",
    "K": "the pool's invariant check failed (often a fee-on-transfer token)",
}


def reason_from_error(error: BaseException) -> str:
    """`execution reverted: X` -> `X`; other errors keep their message."""
    message = error.message if isinstance(error, ContractLogicError) and error.message else str(error)
    if isinstance(error, Web3RPCError) and isinstance(error.rpc_response, dict):
        rpc_error = error.rpc_response.get("error")
        if isinstance(rpc_error, dict) and rpc_error.get("message"):
            message = rpc_error["message"]
    return reason_from_message(message)


def reason_from_message(message: str) -> str:
    message = message.strip()
    if message.lower().startswith(_PREFIX):
        message = message[len(_PREFIX) :].lstrip(": ").strip()
    return message or "no reason given"


def hint_for(reason: str) -> str | None:
    """`UniswapV2Router: INSUFFICIENT_OUTPUT_AMOUNT` -> what that means for the operator."""
    return HINTS.get(reason.rsplit(":", 1)[-1].strip())


def explain(reason: str) -> str:
    hint = hint_for(reason)
    return f"{reason} ({hint})" if hint else reason


def replay_revert_reason(
    web3: Web3, tx: dict[str, Any], block_number: int, gas_used: int | None = None
) -> str:
    """Re-run a reverted transaction as a call at its block to read its reason string."""
    if gas_used is not None and tx.get("gas") and gas_used >= tx["gas"]:
        return f"out of gas (used all {gas_used:,} gas of its limit)"
    call = {k: tx[k] for k in ("from", "to", "data", "value", "gas") if tx.get(k) is not None}
    try:
        web3.eth.call(call, block_number)  # type: ignore[arg-type]
    except ContractLogicError as e:
        return reason_from_error(e)
    except Web3RPCError as e:
        return reason_from_error(e)
    except RPCUnavailable:
        return "unknown (the node could not be reached to replay the transaction)"
    return f"unknown (the call succeeds when replayed at block {block_number})"
