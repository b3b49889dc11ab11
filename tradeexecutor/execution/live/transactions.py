"""Between the transaction pipeline and the state: recording, confirming and settling.

Used by the execution model as it goes and by recovery after a restart, so a trade is
booked the same way whichever of the two saw its receipt.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from tradeexecutor.ethereum.gas import human
from tradeexecutor.ethereum.tx import ConfirmedTransaction, SignedTransactionInfo
from tradeexecutor.ethereum.uniswap_v2.execution import decode_swap_amounts
from tradeexecutor.ethereum.uniswap_v2.routing import SwapRoute
from tradeexecutor.execution.live.pricing import route_fee_fraction
from tradeexecutor.state.state import State
from tradeexecutor.state.trade import TradeExecution
from tradeexecutor.state.transaction import BlockchainTransaction, TxStatus

SWAP_FUNCTION = "swapExactTokensForTokens"
APPROVE_FUNCTION = "approve"


def to_state_transaction(
    signed: SignedTransactionInfo, function: str, details: dict[str, str]
) -> BlockchainTransaction:
    """Everything needed to find the transaction again after a crash, signed bytes included."""
    return BlockchainTransaction(
        tx_hash=signed.tx_hash,
        chain_id=signed.chain_id,
        from_address=signed.from_address,
        to_address=signed.to,
        nonce=signed.nonce,
        gas_limit=signed.gas_limit,
        signed_at=signed.signed_at,
        signed_bytes=signed.raw_transaction,
        function=function,
        details={"description": signed.description, **details},
        max_fee_per_gas=signed.max_fee_per_gas,
        max_priority_fee_per_gas=signed.max_priority_fee_per_gas,
        gas_price=signed.gas_price,
    )


def apply_confirmation(
    tx: BlockchainTransaction, confirmed: ConfirmedTransaction, at: datetime.datetime
) -> None:
    """Mark a recorded transaction mined (success or reverted) from its receipt."""
    if tx.status == TxStatus.signed:  # rebroadcast by recovery, or mined before we marked it sent
        tx.mark_broadcast(at)
    tx.mark_mined(
        at,
        success=confirmed.succeeded,
        block_number=confirmed.block_number,
        block_hash=confirmed.block_hash,
        gas_used=confirmed.gas_used,
        effective_gas_price=confirmed.effective_gas_price,
        revert_reason=confirmed.revert_reason,
    )


def settle_swap(
    state: State, trade: TradeExecution, route: SwapRoute, receipt: Any, at: datetime.datetime
) -> None:
    """Book a mined, successful swap from the pools' Swap events in its receipt."""
    amount_in, amount_out = decode_swap_amounts(route, receipt)
    if trade.is_buy:
        base_raw, reserve_raw = amount_out, amount_in
    else:
        base_raw, reserve_raw = amount_in, amount_out
    price = trade.reserve_currency.to_decimal(reserve_raw) / trade.pair.base.to_decimal(base_raw)
    lp_fee = route.token_in.to_decimal(amount_in) * route_fee_fraction(route.pools)
    state.settle_trade_success(
        trade,
        at,
        executed_quantity_raw=base_raw if trade.is_buy else -base_raw,
        executed_reserve_raw=reserve_raw,
        executed_price=price,
        lp_fees_reserve=lp_fee if trade.is_buy else lp_fee * price,
    )


def book_gas(
    state: State,
    tx: BlockchainTransaction,
    trade: TradeExecution,
    at: datetime.datetime,
    native_price_in_reserve: Decimal | None,
) -> None:
    state.book_gas_fee(tx, at, trade=trade, native_price_in_reserve=native_price_in_reserve)


def swap_details(plan: Any) -> dict[str, str]:
    """Human-readable arguments of a planned swap for the state and /status."""
    route = plan.route
    return {
        "side": plan.side.value,
        "pair": plan.pair.ticker,
        "route": str(route),
        "pools": " ".join(p.pool_address for p in route.pools),
        "router": plan.router,
        "amount_in": f"{human(route.token_in.to_decimal(plan.amount_in))} {route.token_in.symbol}",
        "expected_out": f"{human(route.token_out.to_decimal(plan.expected_amount_out))} {route.token_out.symbol}",
        "min_out": f"{human(route.token_out.to_decimal(plan.amount_out_min))} {route.token_out.symbol}",
        "max_slippage_bps": str(plan.max_slippage_bps),
        "deadline": str(plan.deadline),
        "quoted_at_block": str(plan.block_number),
    }
