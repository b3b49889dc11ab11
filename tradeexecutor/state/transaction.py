"""A blockchain transaction, recorded in the state *before* it is broadcast.

Recording the signed bytes, hash and nonce first means that after any crash the
executor can ask the chain what happened to exactly this transaction: it was mined (read
the receipt), it is still pending (wait), or it vanished (rebroadcast the same bytes, or
learn that the nonce was used by something else). The signed bytes are dropped once the
outcome is final: they are only needed for recovery, and keeping them would make the
state file grow for no reason.
"""

from __future__ import annotations

import datetime
from enum import StrEnum

import msgspec

from tradeexecutor.state.errors import IllegalTransition
from tradeexecutor.state.time import UTCDateTime, require_utc


class TxStatus(StrEnum):
    signed = "signed"  # signed and saved, not yet sent
    broadcast = "broadcast"  # sent to a node, outcome unknown
    success = "success"  # mined with status 1
    reverted = "reverted"  # mined with status 0: gas was spent, nothing else happened
    dropped = "dropped"  # never mined: the nonce was used by another transaction or it expired


_ALLOWED: dict[TxStatus, frozenset[TxStatus]] = {
    TxStatus.signed: frozenset({TxStatus.broadcast, TxStatus.success, TxStatus.reverted, TxStatus.dropped}),
    TxStatus.broadcast: frozenset({TxStatus.success, TxStatus.reverted, TxStatus.dropped}),
    TxStatus.success: frozenset(),
    TxStatus.reverted: frozenset(),
    TxStatus.dropped: frozenset(),
}


class BlockchainTransaction(msgspec.Struct, kw_only=True, omit_defaults=True, array_like=True):
    """Written as a JSON array in field order (docs/state.md lists the columns): a long-running
    executor keeps hundreds of thousands of these and the keys were a third of the file.
    Add new fields at the end only; anything else needs a schema migration."""

    tx_hash: str
    chain_id: int
    from_address: str
    to_address: str
    nonce: int
    gas_limit: int
    signed_at: UTCDateTime
    signed_bytes: str | None = None  # 0x-hex raw transaction; None once final
    function: str = ""  # e.g. "swapExactTokensForTokens", "approve"
    details: dict[str, str] = msgspec.field(default_factory=dict)  # human-readable arguments
    max_fee_per_gas: int | None = None  # EIP-1559
    max_priority_fee_per_gas: int | None = None  # EIP-1559
    gas_price: int | None = None  # legacy
    status: TxStatus = TxStatus.signed
    broadcast_at: UTCDateTime | None = None
    confirmed_at: UTCDateTime | None = None
    block_number: int | None = None
    block_hash: str | None = None
    gas_used: int | None = None
    effective_gas_price: int | None = None
    revert_reason: str | None = None
    drop_reason: str | None = None
    gas_fee_booked: bool = False  # the ledger holds this transaction's gas fee

    @property
    def is_final(self) -> bool:
        return self.status in (TxStatus.success, TxStatus.reverted, TxStatus.dropped)

    @property
    def gas_fee_raw(self) -> int:
        """Gas paid in native token units (wei); zero until mined."""
        if self.gas_used is None or self.effective_gas_price is None:
            return 0
        return self.gas_used * self.effective_gas_price

    def _move(self, to: TxStatus) -> None:
        if to not in _ALLOWED[self.status]:
            raise IllegalTransition(f"Transaction {self.tx_hash} cannot go from {self.status} to {to}.")
        self.status = to

    def mark_broadcast(self, at: datetime.datetime) -> None:
        self._move(TxStatus.broadcast)
        self.broadcast_at = require_utc(at)

    def mark_mined(
        self,
        at: datetime.datetime,
        *,
        success: bool,
        block_number: int,
        gas_used: int,
        effective_gas_price: int,
        block_hash: str | None = None,
        revert_reason: str | None = None,
    ) -> None:
        self._move(TxStatus.success if success else TxStatus.reverted)
        self.confirmed_at = require_utc(at)
        self.block_number = block_number
        self.block_hash = block_hash
        self.gas_used = gas_used
        self.effective_gas_price = effective_gas_price
        self.revert_reason = None if success else (revert_reason or "reverted without a reason")
        self.signed_bytes = None

    def mark_dropped(self, at: datetime.datetime, reason: str) -> None:
        self._move(TxStatus.dropped)
        self.confirmed_at = require_utc(at)
        self.drop_reason = reason
        self.signed_bytes = None
