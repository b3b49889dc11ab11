"""The ledger: every change of a held balance, one entry each.

For every asset, the sum of its entries equals the balance the state holds (reserves plus
open and frozen positions in that token). Audits rely on that identity: the ledger audit
checks it inside the state, the balance audit compares the same number with the chain.
Amounts are raw integers in the token's units; there are no floats here.
"""

from __future__ import annotations

import datetime
from collections.abc import MutableSequence

import msgspec

from tradeexecutor.state.identifiers import AssetIdentifier
from tradeexecutor.state.ledger_archive import LedgerEntries
from tradeexecutor.state.ledger_entry import LedgerEntry, LedgerKind
from tradeexecutor.state.time import require_utc

__all__ = ["Ledger", "LedgerEntry", "LedgerKind"]


class Ledger(msgspec.Struct, kw_only=True, omit_defaults=True):
    """`entries` is decoded as a list and wrapped into LedgerEntries, which archives old
    rows (ledger_archive.py)."""

    next_entry_id: int = 1
    assets: dict[str, AssetIdentifier] = msgspec.field(default_factory=dict)
    entries: MutableSequence[LedgerEntry] = msgspec.field(default_factory=LedgerEntries)

    def __post_init__(self) -> None:
        if type(self.entries) is list:
            self.entries = LedgerEntries(self.entries)

    @property
    def rows(self) -> LedgerEntries:
        """`entries` with its archive-aware methods."""
        entries = self.entries
        assert isinstance(entries, LedgerEntries)
        return entries

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
        """Sum of entries per asset key (archived rows from their chunks' summaries)."""
        rows = self.rows
        totals = dict(rows.archived_totals())
        for e in rows.recent:
            totals[e.asset_key] = totals.get(e.asset_key, 0) + e.amount_raw
        return totals

    def balance(self, asset_key: str) -> int:
        return self.balances().get(asset_key, 0)

    def entries_for(self, asset_key: str) -> list[LedgerEntry]:
        return [e for e in self.entries if e.asset_key == asset_key]
