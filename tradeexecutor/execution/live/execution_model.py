"""`ExecutionModel` for Uniswap v2: each planned trade to a final, booked outcome.

For every trade, in this order (sells first, so their proceeds are cash before buys spend):

    start -> plan the swap from fresh reserves -> [approval: sign -> record -> SAVE ->
    broadcast -> confirm -> book gas] -> swap: sign -> record -> SAVE -> broadcast -> confirm
    -> decode the pools' Swap events -> settle -> book gas -> SAVE

The save before every broadcast is what makes a crash harmless: whatever dies afterwards,
the state holds the signed bytes and `TradeRecovery` finds out from the chain what became
of them. Outcomes:

- the swap is mined and succeeds: settled with the executed amounts from the receipt;
- it is mined and reverts (slippage, expiry): the trade fails with the revert reason, its
  reserve is released, the gas it burnt is booked;
- it is refused before signing (it would revert, no gas money): the trade fails, nothing
  was sent, no nonce is used;
- the outcome is unknown (confirmation timeout, node gone): the trade stays `broadcast`
  and recovery resolves it at the next sync. Nothing is guessed; later trades of the
  cycle are failed unsent, since their nonces would queue behind the unconfirmed one;
- the node cannot be reached before anything is signed: `RPCUnavailable` goes up to the
  loop (a transient failure it retries); the next sync fails the unsent trades.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from eth_abi import encode as abi_encode
from web3 import Web3

from tradeexecutor.errors import UserError
from tradeexecutor.ethereum.batch import batch_rpc
from tradeexecutor.ethereum.connection import RPCUnavailable
from tradeexecutor.ethereum.gas import check_gas_balance
from tradeexecutor.ethereum.recovery import ResolutionStatus, resolve_transaction
from tradeexecutor.ethereum.revert import explain
from tradeexecutor.ethereum.settings import ExecutionSettings
from tradeexecutor.ethereum.tx import (
    BroadcastError,
    ConfirmationTimeout,
    ConfirmedTransaction,
    TransactionPipeline,
    TransactionRequest,
    TransactionWouldRevert,
)
from tradeexecutor.ethereum.uniswap_v2.routing import SwapPlan, approval_requests
from tradeexecutor.ethereum.wallet import HotWallet
from tradeexecutor.execution.failures import TransientFault
from tradeexecutor.execution.live.crash import crash_point
from tradeexecutor.execution.live.routes import LiveRouting
from tradeexecutor.execution.live.transactions import (
    APPROVE_FUNCTION,
    SWAP_FUNCTION,
    apply_confirmation,
    settle_swap,
    swap_details,
    to_state_transaction,
)
from tradeexecutor.reporting.log_context import log_context
from tradeexecutor.state.state import State
from tradeexecutor.state.time import utcnow
from tradeexecutor.state.trade import TradeExecution, TradeStatus
from tradeexecutor.state.transaction import BlockchainTransaction

logger = logging.getLogger(__name__)

Checkpoint = Callable[[], None]
DEFAULT_SETTINGS = ExecutionSettings()
ALLOWANCE_SELECTOR = "0xdd62ed3e"  # allowance(address,address)


class LowGasBalance(UserError, TransientFault):
    """The hot wallet holds less native token than --min-gas-balance: nothing was traded.

    Not a reason to halt: the executor retries (degraded) and trades again once gas money
    arrives, with no restart."""


@dataclass(frozen=True, slots=True)
class _Sent:
    """What became of one transaction of a trade."""

    confirmed: ConfirmedTransaction | None  # None: not sent, or outcome unknown
    unresolved: bool = False  # sent, outcome unknown: leave the trade for recovery


class UniswapV2ExecutionModel:
    """Executes trades from the hot wallet through Uniswap v2 routers, booking each step in the state."""

    def __init__(
        self,
        web3: Web3,
        wallet: HotWallet,
        routing: LiveRouting,
        settings: ExecutionSettings = DEFAULT_SETTINGS,
        *,
        chain_id: int | None = None,
        clock: Callable[[], datetime.datetime] = utcnow,
    ) -> None:
        self.web3 = web3
        self.wallet = wallet
        self.routing = routing
        self.settings = settings
        self.clock = clock
        self.pipeline = TransactionPipeline(
            web3,
            wallet,
            settings.gas_price_method,
            settings.confirmation_block_count,
            settings.confirmation_timeout,
            chain_id,
        )
        self.chain_id = self.pipeline.chain_id

    # --- the cycle's trades ----------------------------------------------------------------------

    def check_gas_money(self) -> Decimal:
        try:
            return check_gas_balance(
                self.web3, self.wallet.address, self.chain_id, self.settings.min_gas_balance
            )
        except RPCUnavailable:
            raise  # the node, not the wallet: transient
        except UserError as e:
            raise LowGasBalance(str(e)) from None

    def execute_trades(
        self,
        ts: datetime.datetime,
        state: State,
        trades: list[TradeExecution],
        checkpoint: Checkpoint,
    ) -> None:
        todo = sorted(
            (t for t in trades if t.status == TradeStatus.planned), key=lambda t: (not t.is_sell, t.trade_id)
        )
        if not todo:
            return
        try:
            self.check_gas_money()
        except LowGasBalance as e:
            for trade in todo:
                state.settle_trade_failure(trade, self.clock(), f"not executed: {e}")
            checkpoint()
            raise
        native_price = self.routing.native_price_in_reserve()
        for i, trade in enumerate(todo):
            with log_context(trade_id=trade.trade_id):
                finished = self.execute_trade(state, trade, checkpoint, native_price)
            if not finished:
                for later in todo[i + 1 :]:
                    state.settle_trade_failure(
                        later,
                        self.clock(),
                        f"not executed: trade #{trade.trade_id} has an unconfirmed transaction, and this "
                        "trade's transactions would queue behind it",
                    )
                checkpoint()
                return

    def execute_trade(
        self,
        state: State,
        trade: TradeExecution,
        checkpoint: Checkpoint,
        native_price: Decimal | None = None,
    ) -> bool:
        """Take one planned trade to success or failure; False when its outcome is left unknown."""
        state.start_trade(trade, self.clock())
        if trade.reserve_currency.key != self.routing.reserve.key:
            reason = (
                f"the state's reserve currency is {trade.reserve_currency.symbol} but the executor routes from "
                f"{self.routing.reserve.symbol}: fix RESERVE_CURRENCY or use the right state file"
            )
            self._fail(state, trade, reason, checkpoint)
            return True
        try:
            plan = self.plan(trade)
            approvals = self.approval_requests(plan)
        except RPCUnavailable:
            raise  # the node is down: nothing was sent; the cycle is retried and recovery fails this trade
        except UserError as e:
            self._fail(state, trade, f"the swap could not be planned: {e}", checkpoint)
            return True

        token = plan.route.token_in
        details = {"token": f"{token.symbol} {token.address}", "spender": plan.router}
        for approval in approvals:
            sent = self._transact(state, trade, approval, APPROVE_FUNCTION, details, checkpoint, native_price)
            if sent.unresolved:
                return False
            if sent.confirmed is None:
                return True  # refused before sending; the trade is already failed
            if not sent.confirmed.succeeded:
                reason = f"the approval {sent.confirmed.tx_hash} reverted: {sent.confirmed.revert_reason}"
                self._fail(state, trade, reason, checkpoint)
                return True

        sent = self._transact(
            state, trade, plan.swap_request(), SWAP_FUNCTION, swap_details(plan), checkpoint, native_price
        )
        if sent.unresolved:
            return False
        if sent.confirmed is None:
            return True
        at = self.clock()
        if sent.confirmed.succeeded:
            settle_swap(state, trade, plan.route, sent.confirmed.receipt, at)
        else:
            reason = explain(sent.confirmed.revert_reason or "reverted without a reason")
            state.settle_trade_failure(trade, at, f"the swap {sent.confirmed.tx_hash} reverted: {reason}")
        crash_point("swap", "settled")
        checkpoint()
        return True

    def plan(self, trade: TradeExecution) -> SwapPlan:
        """The router swap for a trade, from reserves read now and the trade's slippage tolerance."""
        routing = self.routing.routing_for(trade.pair)
        intermediate = self.routing.intermediate_for(trade.pair)
        slippage = trade.slippage_tolerance_bps
        if trade.is_buy:
            amount = trade.reserve_currency.to_raw(trade.planned_reserve)
            return routing.plan_buy(trade.pair, amount, self.wallet.address, intermediate, slippage)
        amount = trade.pair.base.to_raw(-trade.planned_quantity)
        return routing.plan_sell(trade.pair, amount, self.wallet.address, intermediate, slippage)

    def approval_requests(self, plan: SwapPlan) -> list[TransactionRequest]:
        """The approvals the swap needs (none when the router's allowance covers it).

        One raw `eth_call` instead of a web3 contract call: building a contract object and
        running web3's formatters per trade cost more than the node's answer.
        """
        token = plan.route.token_in
        data = (
            ALLOWANCE_SELECTOR + abi_encode(["address", "address"], [self.wallet.address, plan.router]).hex()
        )
        (result,) = batch_rpc(self.web3, [("eth_call", [{"to": token.address, "data": data}, "latest"])])
        return approval_requests(
            token, plan.router, int(result, 16), plan.amount_in, self.settings.approval_mode
        )

    # --- one transaction -----------------------------------------------------------------------

    def _transact(
        self,
        state: State,
        trade: TradeExecution,
        request: TransactionRequest,
        function: str,
        details: dict[str, str],
        checkpoint: Checkpoint,
        native_price: Decimal | None,
    ) -> _Sent:
        kind = "approve" if function == APPROVE_FUNCTION else "swap"
        try:
            signed = self.pipeline.sign(self.pipeline.build(request), request.description)
        except TransactionWouldRevert as e:
            self._fail(state, trade, f"nothing was sent: {e}", checkpoint)
            return _Sent(None)
        except RPCUnavailable:
            raise
        except UserError as e:
            self._fail(state, trade, f"nothing was sent: {e}", checkpoint)
            return _Sent(None)
        crash_point(kind, "signed")

        tx = to_state_transaction(signed, function, details)
        state.record_transaction(trade, tx)
        try:
            checkpoint()
        except BaseException:
            # not saved, so never sent: forget it and give the nonce back
            trade.blockchain_transactions.remove(tx)
            self.wallet.forget_nonce()
            raise
        crash_point(kind, "recorded")

        try:
            self.pipeline.broadcast(signed)
        except BroadcastError as e:
            logger.warning("%s; asking the chain what became of it", e)
            return self._resolve_after_broadcast_error(state, trade, tx, native_price, checkpoint)
        now = self.clock()
        tx.mark_broadcast(now)
        state.mark_broadcast(trade, now)
        crash_point(kind, "broadcast")

        try:
            confirmed = self.pipeline.wait(signed)
        except ConfirmationTimeout as e:
            logger.warning("%s; trade #%d is left for recovery at the next sync", e, trade.trade_id)
            checkpoint()
            return _Sent(None, unresolved=True)
        crash_point(kind, "confirmed")
        self._book_mined(state, trade, tx, confirmed, native_price)
        return _Sent(confirmed)

    def _book_mined(
        self,
        state: State,
        trade: TradeExecution,
        tx: BlockchainTransaction,
        confirmed: ConfirmedTransaction,
        native_price: Decimal | None,
    ) -> None:
        at = self.clock()
        apply_confirmation(tx, confirmed, at)
        state.book_gas_fee(tx, at, trade=trade, native_price_in_reserve=native_price)

    def _resolve_after_broadcast_error(
        self,
        state: State,
        trade: TradeExecution,
        tx: BlockchainTransaction,
        native_price: Decimal | None,
        checkpoint: Checkpoint,
    ) -> _Sent:
        """The node refused the transaction or could not be asked; it may still have gone out."""
        assert tx.signed_bytes is not None
        try:
            resolution = resolve_transaction(
                self.web3,
                tx.tx_hash,
                tx.signed_bytes,
                tx.nonce,
                confirmation_block_count=self.settings.confirmation_block_count,
                timeout=self.settings.confirmation_timeout,
            )
        except UserError as e:  # the node is gone: recovery will ask again
            logger.warning("Cannot resolve %s now (%s); left for recovery", tx.tx_hash, e)
            return _Sent(None, unresolved=True)
        if resolution.status == ResolutionStatus.mined:
            assert resolution.confirmed is not None
            state.mark_broadcast(trade, self.clock())
            self._book_mined(state, trade, tx, resolution.confirmed, native_price)
            return _Sent(resolution.confirmed)
        if resolution.status == ResolutionStatus.dropped:
            tx.mark_dropped(self.clock(), resolution.detail)
            self.wallet.forget_nonce()
            self._fail(
                state,
                trade,
                f"the node did not take transaction {tx.tx_hash}: {resolution.detail}",
                checkpoint,
            )
            return _Sent(None)
        state.mark_broadcast(trade, self.clock())
        checkpoint()
        return _Sent(None, unresolved=True)

    def _fail(self, state: State, trade: TradeExecution, reason: str, checkpoint: Checkpoint) -> None:
        logger.warning("Trade #%d (%s) failed: %s", trade.trade_id, trade.pair.ticker, reason)
        state.settle_trade_failure(trade, self.clock(), reason)
        checkpoint()
