"""Everything one audit run shares: the chain at one block, the wallet, routes, tolerances, receipts."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass, field

from web3 import Web3

from tradeexecutor.audit.chain import ReceiptCache
from tradeexecutor.audit.tolerance import Tolerances
from tradeexecutor.execution.live.routes import LiveRouting
from tradeexecutor.state.identifiers import TradingPairIdentifier
from tradeexecutor.state.state import State
from tradeexecutor.state.trade import TradeExecution
from tradeexecutor.state.transaction import BlockchainTransaction, TxStatus

MINED = (TxStatus.success, TxStatus.reverted)


@dataclass
class AuditContext:
    web3: Web3
    wallet_address: str  # checksummed
    routing: LiveRouting
    tolerances: Tolerances
    block: int  # every chain read of the run is made at this block
    at: datetime.datetime
    full: bool = False  # ignore the cursor: audit the whole history
    after_sync: bool = False  # reserve and gas holdings were synced just now
    audit_pairs: Sequence[TradingPairIdentifier] = ()  # AUDIT_PAIRS / TARGET_PAIRS of the strategy
    receipts: ReceiptCache = field(init=False)

    def __post_init__(self) -> None:
        self.receipts = ReceiptCache(self.web3)

    def since_block(self, state: State) -> int | None:
        """Blocks after this one are new to the audit; None: everything is."""
        return None if self.full else state.audit_cursor.last_block

    def trades_to_verify(self, state: State) -> list[TradeExecution]:
        """Trades with a mined transaction the audit has not verified against the chain yet."""
        since = self.since_block(state)
        chosen = []
        for trade in state.portfolio.all_trades():
            mined = [tx for tx in trade.blockchain_transactions if tx.status in MINED]
            if not mined:
                continue
            if since is None or any(tx.block_number is None or tx.block_number > since for tx in mined):
                chosen.append(trade)
        return sorted(chosen, key=lambda t: t.trade_id)

    def pairs(self, state: State) -> list[TradingPairIdentifier]:
        """Pairs traded since the last audit, those with open or frozen positions, and AUDIT_PAIRS."""
        found: dict[str, TradingPairIdentifier] = {}
        for trade in self.trades_to_verify(state):
            found.setdefault(trade.pair.key, trade.pair)
        portfolio = state.portfolio
        for position in (*portfolio.open_positions.values(), *portfolio.frozen_positions.values()):
            found.setdefault(position.pair.key, position.pair)
        for pair in self.audit_pairs:
            found.setdefault(pair.key, pair)
        return list(found.values())


def known_transactions(state: State) -> dict[str, tuple[TradeExecution, BlockchainTransaction]]:
    """Every transaction the state recorded, by lower-case hash."""
    return {
        tx.tx_hash.lower(): (trade, tx)
        for trade in state.portfolio.all_trades()
        for tx in trade.blockchain_transactions
    }


def checksum(address: str) -> str:
    return Web3.to_checksum_address(address)
