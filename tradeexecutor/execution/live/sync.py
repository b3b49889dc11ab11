"""`SyncModel` for a hot wallet: first finish what a previous run left open, then book what changed.

At each cycle, before the strategy decides:

1. unfinished transactions are resolved from the chain (`TradeRecovery`), so trades the
   last run could not confirm are settled or failed before anything is compared;
2. the wallet's reserve token and native gas token balances are read at one block;
3. the first sync books them as deposits; later, any difference from what the state
   booked becomes a deposit or withdrawal ledger entry whose reason says what was found
   ("found 100 USDC more on chain than booked: external deposit");
4. both holdings are marked synced with that block number.

A node that answers from a block older than one this wallet was already synced at, or
older than a block one of its recent transactions was mined in, is lagging (a load
balancer's stale backend, a node catching up after a restart). Its balances would miss
trades already booked and be taken for withdrawals, so nothing is read from it: the sync
raises `NodeLagging`, a transient fault the loop retries until the node has caught up.

While a transaction is still unresolved, balances are not compared: its effect on them is
unknown, and booking the difference as a deposit would count it twice once it settles.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from web3 import Web3

from tradeexecutor.ethereum.batch import batch_rpc
from tradeexecutor.ethereum.connection import check_chain_id
from tradeexecutor.ethereum.gas import NATIVE_SYMBOLS, human
from tradeexecutor.execution.failures import TransientFault
from tradeexecutor.execution.live.recovery import RecoveryReport, TradeRecovery
from tradeexecutor.state.identifiers import AssetIdentifier, native_token
from tradeexecutor.state.reserve import ReserveRole
from tradeexecutor.state.state import State
from tradeexecutor.state.time import utcnow

logger = logging.getLogger(__name__)

BALANCE_OF_SELECTOR = "0x70a08231"
RECENT_TRADES = 20  # whose mined blocks bound the block a sync may read at


class NodeLagging(TransientFault):
    """The node answers from a block older than one we already saw: wait for it to catch up."""


def highest_known_block(state: State) -> int | None:
    """The newest block the state has seen: the last balance sync or a recent mined transaction."""
    blocks = [h.last_sync_block for h in state.portfolio.reserves.values() if h.last_sync_block is not None]
    for trade in state.portfolio.newest_trades(RECENT_TRADES):
        blocks += [tx.block_number for tx in trade.blockchain_transactions if tx.block_number is not None]
    return max(blocks, default=None)


class WalletSync:
    """Keeps the state's reserve and gas holdings equal to the hot wallet's balances."""

    def __init__(
        self,
        web3: Web3,
        wallet_address: str,
        reserve: AssetIdentifier,
        *,
        recovery: TradeRecovery | None = None,
        checkpoint: Callable[[], None] | None = None,
        clock: Callable[[], datetime.datetime] = utcnow,
    ) -> None:
        self.web3 = web3
        self.wallet_address = Web3.to_checksum_address(wallet_address)
        self.reserve = reserve
        symbol = NATIVE_SYMBOLS.get(reserve.chain_id, "NATIVE")  # type: ignore[call-overload]
        self.gas_asset = native_token(reserve.chain_id, symbol)
        self.recovery = recovery
        self.checkpoint = checkpoint
        self.clock = clock
        self.last_recovery: RecoveryReport | None = None

    def read_balances(self) -> tuple[int, int, int]:
        """(block number, reserve raw, native raw), both balances at the same block."""
        block = self.web3.eth.block_number
        call = {
            "to": self.reserve.address,
            "data": BALANCE_OF_SELECTOR + abi_encode(["address"], [self.wallet_address]).hex(),
        }
        reserve_hex, native_hex = batch_rpc(
            self.web3,
            [("eth_call", [call, hex(block)]), ("eth_getBalance", [self.wallet_address, hex(block)])],
        )
        (reserve_raw,) = abi_decode(["uint256"], bytes.fromhex(reserve_hex.removeprefix("0x")))
        return block, reserve_raw, int(native_hex, 16)

    def check_node(self, state: State) -> None:
        """One round trip: the node must be on our chain and not behind what the state already saw."""
        chain_hex, block_hex = batch_rpc(self.web3, [("eth_chainId", []), ("eth_blockNumber", [])])
        if int(chain_hex, 16) != self.reserve.chain_id:
            check_chain_id(self.web3, self.reserve.chain_id)  # raises ChainIdMismatch with the full sentence
        self.check_not_lagging(state, int(block_hex, 16))

    def check_not_lagging(self, state: State, block: int) -> None:
        """NodeLagging when the node's `block` is behind what the state already saw."""
        known = highest_known_block(state)
        if known is not None and block < known:
            raise NodeLagging(
                f"The node is at block {block}, {known - block} block(s) behind block {known} that this "
                "wallet was already synced at or traded in: nothing is read from it until it catches up."
            )

    def sync(self, ts: datetime.datetime, state: State) -> None:
        # before recovery too: a lagging node has not seen our transactions, another chain never will
        self.check_node(state)
        if self.recovery is not None:
            self.last_recovery = self.recovery.recover(state, self.checkpoint)
            if self.last_recovery.unresolved:
                logger.warning(
                    "Balances not synced: %d trade(s) still have unresolved transactions (%s)",
                    len(self.last_recovery.unresolved),
                    "; ".join(str(t) for t in self.last_recovery.unresolved),
                )
                return
        elif state.portfolio.pending_trades():
            logger.warning("Balances not synced: trades are still unfinished and no recovery is configured")
            return
        block, reserve_raw, native_raw = self.read_balances()
        self.check_not_lagging(state, block)  # a load balancer may have switched backends meanwhile
        at = self.clock()
        self._sync_one(state, self.reserve, ReserveRole.reserve, reserve_raw, at, block)
        self._sync_one(state, self.gas_asset, ReserveRole.gas, native_raw, at, block)

    def _sync_one(
        self,
        state: State,
        asset: AssetIdentifier,
        role: ReserveRole,
        on_chain: int,
        at: datetime.datetime,
        block: int,
    ) -> None:
        holding = state.portfolio.reserves.get(asset.key)
        if holding is None:
            state.track_reserve(asset, role)
            if on_chain > 0:
                state.record_deposit(
                    asset,
                    on_chain,
                    at,
                    role=role,
                    reason=f"first sync of hot wallet {self.wallet_address}: "
                    f"{human(asset.to_decimal(on_chain))} {asset.symbol} on chain at block {block}",
                )
        else:
            difference = on_chain - holding.quantity_raw
            amount = f"{human(asset.to_decimal(abs(difference)))} {asset.symbol}"
            if difference > 0:
                reason = f"found {amount} more on chain than booked at block {block}: external deposit"
                logger.warning("Wallet sync: %s", reason)
                state.record_deposit(asset, difference, at, role=role, reason=reason)
            elif difference < 0:
                reason = f"found {amount} less on chain than booked at block {block}: external withdrawal"
                logger.warning("Wallet sync: %s", reason)
                state.record_withdrawal(asset, -difference, at, reason=reason)
        state.mark_reserve_synced(asset, at, block)
