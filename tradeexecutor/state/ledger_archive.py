"""Ledger rows: the newest as objects, older ones archived in sealed, lazily decoded chunks.

The ledger only grows (six rows per round trip), and its rows never change once written.
As with closed positions (archive.py), a save seals the oldest CHUNK_SIZE rows once
CHUNK_SIZE + KEEP_RECENT are recent. A chunk keeps the bytes it was written as and a
summary that the integrity check and the balances need: its first and last entry ids, its
row count, the sum per asset, and the trades and positions its rows refer to, all covered
by a CRC-32 with the bytes. A load builds a chunk's rows only when something reads them.

`LedgerEntries` is a MutableSequence over the chunks and the recent rows, so callers use it
like the list it replaced. Archived rows cannot be replaced or removed.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Iterator, MutableSequence, Sequence
from itertools import chain
from typing import Any, overload

import msgspec

from tradeexecutor.state.archive import Sealed
from tradeexecutor.state.errors import StateError
from tradeexecutor.state.ledger_entry import LedgerEntry

CHUNK_SIZE = 10_000
KEEP_RECENT = 10_000

Rows = list[LedgerEntry]


class ChunkSummary(msgspec.Struct, kw_only=True, frozen=True):
    first_id: int
    last_id: int
    count: int
    totals: dict[str, int]  # asset key -> sum of the rows' amounts
    trade_ids: list[int]  # trades the rows refer to, ascending
    position_ids: list[int]  # positions the rows refer to, ascending
    crc32: int  # of the summary (this field as 0) and the rows' bytes: archive.checksum


def summarise(rows: Rows) -> ChunkSummary:
    """The summary of these rows, without its checksum (0)."""
    totals: dict[str, int] = {}
    for row in rows:
        totals[row.asset_key] = totals.get(row.asset_key, 0) + row.amount_raw
    trades = {row.trade_id for row in rows}
    positions = {row.position_id for row in rows}
    trades.discard(None)
    positions.discard(None)
    return ChunkSummary(
        first_id=rows[0].entry_id,
        last_id=rows[-1].entry_id,
        count=len(rows),
        totals=totals,
        trade_ids=sorted(trades),  # type: ignore[type-var]
        position_ids=sorted(positions),  # type: ignore[type-var]
        crc32=0,
    )


def _order_problem(rows: Rows) -> str | None:
    previous = 0
    for row in rows:
        if row.entry_id <= previous:
            return f"has entry #{row.entry_id} after entry #{previous}: ids must increase"
        previous = row.entry_id
    return None


class LedgerChunk(Sealed[Rows]):
    """One sealed block of ledger rows."""

    __slots__ = ()
    noun = "ledger chunk"
    summary_parts = "ids, sums or references"

    @staticmethod
    def problem(content: Rows) -> str | None:
        return _order_problem(content) if content else "holds no rows"

    @staticmethod
    def summarise(content: Rows) -> ChunkSummary:
        return summarise(content)

    def describe(self) -> str:
        return f"the archived ledger chunk of entries #{self.summary.first_id}..#{self.summary.last_id}"

    def rows(self) -> Rows:
        return self.content()


class LedgerEntries(MutableSequence[LedgerEntry]):
    """Every ledger row in order: archived chunks first, then `recent`."""

    __slots__ = ("_archived", "_offsets", "_totals", "chunks", "recent")

    def __init__(self, recent: Iterable[LedgerEntry] | None = None) -> None:
        self.recent: Rows = [] if recent is None else recent if isinstance(recent, list) else list(recent)
        self.chunks: list[LedgerChunk] = []
        self._offsets: list[int] = []  # index of each chunk's first row
        self._archived = 0
        self._totals: tuple[int, dict[str, int]] = (0, {})  # chunks counted, their sums

    # ---- archive --------------------------------------------------------------------------

    def add_chunks(self, chunks: Iterable[LedgerChunk]) -> None:
        for chunk in chunks:
            self._offsets.append(self._archived)
            self.chunks.append(chunk)
            self._archived += chunk.summary.count

    def seal_full_chunks(self, encode: Callable[[Rows], bytes]) -> int:
        sealed = 0
        while len(self.recent) >= CHUNK_SIZE + KEEP_RECENT:
            chunk = LedgerChunk.seal(self.recent[:CHUNK_SIZE], encode)
            del self.recent[:CHUNK_SIZE]
            self.add_chunks([chunk])
            sealed += chunk.summary.count
        return sealed

    def archived_totals(self) -> dict[str, int]:
        """Sum per asset of the archived rows, from the summaries."""
        counted, totals = self._totals
        if counted != len(self.chunks):
            totals = {}
            for chunk in self.chunks:
                for key, amount in chunk.summary.totals.items():
                    totals[key] = totals.get(key, 0) + amount
            self._totals = (len(self.chunks), totals)
        return totals

    def reuse_decoded(self, other: LedgerEntries) -> int:
        """As ClosedPositions.reuse_decoded: share rows already built from identical chunks."""
        decoded = {c.summary.crc32: c for c in other.chunks if c.is_decoded}
        return sum(
            chunk.take_decoded_from(source)
            for chunk in self.chunks
            if (source := decoded.get(chunk.summary.crc32)) is not None
        )

    # ---- the sequence ---------------------------------------------------------------------

    def __len__(self) -> int:
        return self._archived + len(self.recent)

    def __iter__(self) -> Iterator[LedgerEntry]:
        return chain(chain.from_iterable(c.rows() for c in self.chunks), self.recent)

    @overload
    def __getitem__(self, index: int) -> LedgerEntry: ...

    @overload
    def __getitem__(self, index: slice) -> Rows: ...

    def __getitem__(self, index: int | slice) -> LedgerEntry | Rows:
        archived = self._archived
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step == 1 and start >= archived:
                return self.recent[start - archived : max(stop - archived, 0)]
            return [self[i] for i in range(start, stop, step)]
        i = index + len(self) if index < 0 else index
        if not 0 <= i < len(self):
            raise IndexError("ledger entry index out of range")
        if i >= archived:
            return self.recent[i - archived]
        n = bisect.bisect_right(self._offsets, i) - 1
        return self.chunks[n].rows()[i - self._offsets[n]]

    def __setitem__(self, index: Any, value: Any) -> None:
        self.recent[self._recent_index(index, "replaced")] = value

    def __delitem__(self, index: Any) -> None:
        del self.recent[self._recent_index(index, "removed")]

    def insert(self, index: int, value: LedgerEntry) -> None:
        if index >= len(self):
            self.recent.append(value)
        else:  # as list.insert: a negative index counts from the end, clamped at the start
            i = max(index + len(self), 0) if index < 0 else index
            self.recent.insert(self._recent_index(i, "moved"), value)

    def clear(self) -> None:
        if self.chunks:
            raise StateError("The ledger has archived rows and cannot be cleared.")
        self.recent.clear()

    def append(self, value: LedgerEntry) -> None:
        self.recent.append(value)

    def _recent_index(self, index: Any, what: str) -> int:
        if not isinstance(index, int):
            raise TypeError("Only single ledger rows can be changed, by index.")
        i = index + len(self) if index < 0 else index
        if not 0 <= i <= len(self):
            raise IndexError("ledger entry index out of range")
        if i < self._archived:
            raise StateError(f"Ledger row {index} is archived and cannot be {what}.")
        return i - self._archived

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence) or isinstance(other, str | bytes):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"LedgerEntries({len(self)} rows, {len(self.chunks)} archived chunks)"
