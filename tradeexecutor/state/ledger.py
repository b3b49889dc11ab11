"""The ledger: every change of a held balance, one entry each.

For every asset, the sum of its entries equals the balance the state holds (reserves plus
open and frozen positions in that token). Audits rely on that identity: the ledger audit
checks it inside the state, the balance audit compares the same number with the chain.
Amounts are raw integers in the token's units; there are no floats here.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from enum import StrEnum

import msgspec

from tradeexecutor.state.identifiers import AssetIdentifier
from tradeexecutor.state.time import UTCDateTime, require_utc


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


class Ledger(msgspec.Struct, kw_only=True, omit_defaults=True, dict=True):
    """`dict=True` leaves room for the serialiser's cache of encoded rows (never saved)."""

    next_entry_id: int = 1
    assets: dict[str, AssetIdentifier] = msgspec.field(default_factory=dict)
    entries: list[LedgerEntry] = msgspec.field(default_factory=list)

    def append(
        self,
        kind: LedgerKind,
        asset: AssetIdentifier,
        amount_raw: int,
        at: datetime.datetime,
        *,
        trade_id: int | None = None,
        position_id: int | None = None,
        tx_hash: str | None = None,
        reason: str = "",
    ) -> LedgerEntry:
        if amount_raw == 0:
            raise ValueError(f"A ledger entry for {asset.symbol} must move a non-zero amount.")
        at = require_utc(at, "ledger entry time")
        self.assets.setdefault(asset.key, asset)
        entry = LedgerEntry(
            entry_id=self.next_entry_id,
            kind=kind,
            asset_key=asset.key,
            amount_raw=amount_raw,
            at=at,
            trade_id=trade_id,
            position_id=position_id,
            tx_hash=tx_hash,
            reason=reason,
        )
        self.entries.append(entry)
        self.next_entry_id += 1
        return entry

    def balances(self) -> dict[str, int]:
        """Sum of entries per asset key."""
        totals: dict[str, int] = defaultdict(int)
        for e in self.entries:
            totals[e.asset_key] += e.amount_raw
        return dict(totals)

    def balance(self, asset_key: str) -> int:
        return sum(e.amount_raw for e in self.entries if e.asset_key == asset_key)

    def entries_for(self, asset_key: str) -> list[LedgerEntry]:
        return [e for e in self.entries if e.asset_key == asset_key]
