"""Execute a planned swap: approval if needed, the swap, and what really happened.

The executed amounts come from the pools' Swap events in the receipt, never from the plan:
the first pool's event says what went in, the last one's what came out. Receipt logs are
filtered by emitting address and event topic before decoding, because web3's
`process_receipt` decodes every log it is given, foreign ones included.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any

from web3 import Web3
from web3.contract.contract import ContractEvent

from tradeexecutor.ethereum.abi import UNISWAP_V2_PAIR, abi
from tradeexecutor.ethereum.revert import explain
from tradeexecutor.ethereum.tx import ConfirmedTransaction, SignedTransactionInfo, TransactionPipeline
from tradeexecutor.ethereum.uniswap_v2.deployments import is_token0
from tradeexecutor.ethereum.uniswap_v2.routing import (
    ApprovalMode,
    SwapPlan,
    SwapRoute,
    TradeSide,
    UniswapV2Routing,
)

OnSigned = Callable[[SignedTransactionInfo], None]


class SwapFailed(Exception):
    """A swap or its approval was mined but reverted; carries the outcome for bookkeeping."""

    def __init__(
        self, message: str, outcome: SwapOutcome | None = None, tx: ConfirmedTransaction | None = None
    ):
        super().__init__(message)
        self.outcome = outcome
        self.tx = tx


@dataclass(frozen=True, slots=True)
class SwapOutcome:
    """What a mined swap did, from its receipt."""

    plan: SwapPlan
    tx: ConfirmedTransaction
    approval: ConfirmedTransaction | None
    amount_in: int  # raw, of plan.route.token_in; 0 if reverted
    amount_out: int  # raw, of plan.route.token_out; 0 if reverted

    @property
    def succeeded(self) -> bool:
        return self.tx.succeeded

    @property
    def revert_reason(self) -> str | None:
        return self.tx.revert_reason

    @property
    def base_amount(self) -> int:
        return self.amount_out if self.plan.side == TradeSide.buy else self.amount_in

    @property
    def reserve_amount(self) -> int:
        return self.amount_in if self.plan.side == TradeSide.buy else self.amount_out

    @property
    def executed_price(self) -> Decimal | None:
        """Reserve currency per base token actually paid or received."""
        if not self.succeeded or self.base_amount == 0:
            return None
        return self.plan.reserve.to_decimal(self.reserve_amount) / self.plan.pair.base.to_decimal(
            self.base_amount
        )

    @property
    def lp_fee(self) -> Decimal:
        """LP fees paid along the route, in the input token's human units."""
        if not self.succeeded:
            return Decimal(0)
        kept = Decimal(1)
        for pool in self.plan.route.pools:
            kept *= 1 - pool.fee
        return self.plan.route.token_in.to_decimal(self.amount_in) * (1 - kept)

    @property
    def lp_fee_in_reserve(self) -> Decimal:
        """LP fees valued in the reserve currency (a sell's fees are paid in base tokens)."""
        if self.plan.side == TradeSide.buy or self.executed_price is None:
            return self.lp_fee
        return self.lp_fee * self.executed_price

    @property
    def gas_used(self) -> int:
        return self.tx.gas_used + (self.approval.gas_used if self.approval else 0)

    @property
    def gas_cost_native(self) -> Decimal:
        """Native tokens spent on gas by the swap and its approval."""
        return self.tx.gas_cost_native + (self.approval.gas_cost_native if self.approval else Decimal(0))

    def raise_for_status(self) -> SwapOutcome:
        if not self.succeeded:
            raise SwapFailed(
                f"Swap {self.tx.tx_hash} ({self.plan.route}) reverted: {explain(self.revert_reason or 'no reason')}.",
                outcome=self,
                tx=self.tx,
            )
        return self


@cache
def _swap_event() -> ContractEvent:
    return Web3().eth.contract(abi=abi(UNISWAP_V2_PAIR)).events.Swap()


def swap_events(receipt: Any, pool_address: str) -> list[dict[str, Any]]:
    """The decoded Swap events one pool emitted in a receipt."""
    event = _swap_event()
    topic = bytes.fromhex(event.topic.removeprefix("0x"))
    pool = pool_address.lower()
    return [
        event.process_log(log)["args"]
        for log in receipt["logs"]
        if log["address"].lower() == pool and log["topics"] and bytes(log["topics"][0]) == topic
    ]


def decode_swap_amounts(route: SwapRoute, receipt: Any) -> tuple[int, int]:
    """(amount in, amount out) of a router swap along `route`, from the pools' events."""
    first = swap_events(receipt, route.pools[0].pool_address)
    last = swap_events(receipt, route.pools[-1].pool_address)
    if len(first) != 1 or len(last) != 1:
        raise ValueError(
            f"Expected one Swap event from each end of {route} in {receipt['transactionHash'].to_0x_hex()}, "
            f"found {len(first)} and {len(last)}."
        )
    token_in, after_first = route.path[0], route.path[1]
    token_out, before_last = route.path[-1], route.path[-2]
    amount_in = first[0]["amount0In"] if is_token0(token_in, after_first) else first[0]["amount1In"]
    amount_out = last[0]["amount0Out"] if is_token0(token_out, before_last) else last[0]["amount1Out"]
    return amount_in, amount_out


class UniswapV2SwapExecutor:
    """Runs planned swaps through the transaction pipeline."""

    def __init__(
        self,
        pipeline: TransactionPipeline,
        routing: UniswapV2Routing,
        approval_mode: ApprovalMode | str = ApprovalMode.exact,
    ) -> None:
        self.pipeline = pipeline
        self.routing = routing
        self.approval_mode = ApprovalMode(approval_mode)

    def approve_if_needed(self, plan: SwapPlan, *, on_signed: OnSigned) -> ConfirmedTransaction | None:
        """Send the approvals the swap needs; return the last one (None when none was needed)."""
        approval = None
        for request in self.routing.approval_requests(plan, self.pipeline.wallet.address, self.approval_mode):
            approval = self.pipeline.execute(request, on_signed=on_signed)
            if not approval.succeeded:
                raise SwapFailed(
                    f"Approval {approval.tx_hash} of {plan.route.token_in.symbol} reverted: {approval.revert_reason}.",
                    tx=approval,
                )
        return approval

    def execute(self, plan: SwapPlan, *, on_signed: OnSigned) -> SwapOutcome:
        """Approve (if the allowance is short), swap, and decode. A reverted swap is returned, not raised."""
        approval = self.approve_if_needed(plan, on_signed=on_signed)
        tx = self.pipeline.execute(plan.swap_request(), on_signed=on_signed)
        amount_in, amount_out = decode_swap_amounts(plan.route, tx.receipt) if tx.succeeded else (0, 0)
        return SwapOutcome(plan=plan, tx=tx, approval=approval, amount_in=amount_in, amount_out=amount_out)
