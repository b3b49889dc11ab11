"""One row of the ledger and its kinds (the ledger itself: ledger.py)."""

from __future__ import annotations

from enum import StrEnum

import msgspec

from tradeexecutor.state.time import UTCDateTime


class LedgerKind(StrEnum):
    trade = "trade"  # a fill moved tokens in or out
    gas_fee = "gas_fee"  # native token spent on a transaction
    deposit = "deposit"  # tokens arrived from outside the executor
    withdrawal = "withdrawal"  # tokens left to outside the executor
    drift = "drift"  # a small correction found by an audit, with its reason


class LedgerEntry(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, array_like=True, gc=False):
    """One row of the journal; written as a JSON array (field order below) because a
    long-running executor has hundreds of thousands of them and the keys would be most
    of their size. Only append fields at the end: the position is the format.

    It holds only scalars, so it can never be part of a reference cycle: `gc=False` keeps
    the garbage collector from scanning the many of these a long run accumulates."""

    entry_id: int
    kind: LedgerKind
    asset_key: str  # AssetIdentifier.key
    amount_raw: int  # signed: + into the wallet, - out of it
    at: UTCDateTime
    trade_id: int | None = None
    position_id: int | None = None
    tx_hash: str | None = None
    reason: str = ""
