"""Closed positions: the newest as objects, the rest archived in sealed, lazily decoded segments.

A long-running executor accumulates closed positions that never change again, yet every
load used to decode all of them (about 1 GB of Python objects at 100,000 positions) and
every save encoded all of them again. Here closed positions live in two places:

- `recent`: a plain dict of the newest closed positions, in the order they closed;
- `segments`: sealed `Segment`s of SEGMENT_SIZE older positions each. A segment keeps the
  exact bytes it was written as (every later save writes them verbatim) and a summary: its
  position and trade ids, the newest trade's plan time, the realised profit of its
  positions and a CRC-32 of the summary and the bytes. A load checks the CRC and builds the
  segment's positions only when something reads them, comparing them with the summary then.
  (A file that was only reformatted, e.g. pretty-printed, fails the CRC over its bytes; the
  loader then decodes the segment, re-encodes it as the executor writes it and checks the
  CRC of that, so only a change of content is refused.)

A save seals the oldest SEGMENT_SIZE recent positions once `recent` holds SEGMENT_SIZE +
KEEP_RECENT of them, so positions that just closed (which an audit may still book drift
against) stay editable objects for a while. A sealed position is history: it can be read
but never replaced or removed (`ArchivedPositionError`), and an in-place edit of one is not
saved; State operations refuse to book anything on it. Sealing checks once more that each
position is a proper closed one, since nothing checks an archived position's content again.

`ClosedPositions` is a MutableMapping over both, in closing order, so callers treat it like
the dict it replaced; key lookups, `in`, `len` and iterating ids never decode a segment.
"""

from __future__ import annotations

import datetime
import zlib
from collections.abc import Callable, ItemsView, Iterator, KeysView, Mapping, MutableMapping, ValuesView
from decimal import Decimal
from itertools import chain, islice
from typing import Any, Generic, Self, TypeVar

import msgspec

from tradeexecutor.state.errors import ArchivedPositionError, IntegrityError, StateFormatError
from tradeexecutor.state.position import PositionStatus, TradingPosition
from tradeexecutor.state.time import UTCDateTime

SEGMENT_SIZE = 1_000
KEEP_RECENT = 1_000

Positions = dict[int, TradingPosition]
T = TypeVar("T")


class SegmentSummary(msgspec.Struct, kw_only=True, frozen=True):
    """What a load needs to know about a segment without decoding it (see integrity.py)."""

    position_ids: list[int]  # in closing order
    trade_ids: list[int]
    last_planned_at: UTCDateTime  # the newest plan time of any of its trades
    realised_profit: Decimal  # sum over its positions, in reserve currency
    crc32: int  # of the summary (this field as 0) and the positions' bytes: see checksum()


class Sealed(Generic[T]):
    """A sealed block of history: its summary, its bytes and, once read, its objects.

    Subclasses name what they hold (`noun`, `describe`), what makes content unfit to archive
    (`problem`) and how it is summarised (`summarise`); sealing and checking decoded content
    against the summary are the same for every kind. Decoding happens at most once."""

    __slots__ = ("_content", "_decode", "raw", "summary")
    noun = "block"
    summary_parts = "its ids"  # what a summary mismatch may concern, for the message

    def __init__(
        self,
        summary: Any,
        raw: bytes | msgspec.Raw,
        *,
        content: T | None = None,
        decode: Callable[[bytes | memoryview | msgspec.Raw], T] | None = None,
    ) -> None:
        if content is None and decode is None:
            raise ValueError("A sealed block needs its content or a way to decode it.")
        self.summary = summary
        self.raw = raw
        self._content = content
        self._decode = decode

    @staticmethod
    def problem(content: Any) -> str | None:
        raise NotImplementedError

    @staticmethod
    def summarise(content: Any) -> Any:
        raise NotImplementedError

    @classmethod
    def seal(cls, content: T, encode: Callable[[T], bytes]) -> Self:
        """A new block of this content; IntegrityError if it is not fit to be archived."""
        problem = cls.problem(content)
        if problem is not None:
            raise IntegrityError(f"the {cls.noun} about to be archived {problem}")
        raw = encode(content)
        summary = cls.summarise(content)
        return cls(msgspec.structs.replace(summary, crc32=checksum(summary, raw)), raw, content=content)

    def verify(self, content: T) -> None:
        """Content read from the file is fit to be archived, exactly as summarised. The
        checksum passed, so a mismatch means a file written by hand or by a bug."""
        problem = self.problem(content)
        if problem is not None:
            raise StateFormatError(f"{self.describe()} {problem}")
        if content_of(self.summarise(content)) != content_of(self.summary):
            raise StateFormatError(f"{self.describe()} does not match its summary ({self.summary_parts})")

    @property
    def is_decoded(self) -> bool:
        return self._content is not None

    def describe(self) -> str:
        raise NotImplementedError

    def content(self) -> T:
        """The decoded objects, checked against the summary on first use."""
        content = self._content
        if content is None:
            assert self._decode is not None
            try:
                content = self._decode(self.raw)
            except StateFormatError as e:
                raise StateFormatError(f"{self.describe()} cannot be read: {e}") from None
            self.verify(content)
            self._content, self._decode = content, None
        return content

    def take_decoded_from(self, other: Sealed[T]) -> bool:
        """Share `other`'s decoded objects if it is the same block (same summary, checksum
        included) and this one is not decoded yet; whether it did."""
        if other._content is None or self._content is not None or other.summary != self.summary:
            return False
        self._content, self._decode = other._content, None
        return True


class Segment(Sealed[Positions]):
    """One sealed block of closed positions."""

    __slots__ = ()
    noun = "segment"
    summary_parts = "ids, plan time or profit"

    @staticmethod
    def problem(content: Positions) -> str | None:
        return closed_position_problem(content)

    @staticmethod
    def summarise(content: Positions) -> SegmentSummary:
        return summarise(content)

    @property
    def first_id(self) -> int:
        return self.summary.position_ids[0]

    @property
    def last_id(self) -> int:
        return self.summary.position_ids[-1]

    def positions(self) -> Positions:
        return self.content()

    def describe(self) -> str:
        return f"the archived segment of positions #{self.first_id}..#{self.last_id}"


def closed_position_problem(positions: Positions) -> str | None:
    """Why these cannot be archived as closed positions, or None: what the integrity check
    requires of a closed position, checked once more because an archived one is never
    checked again."""
    for pid, position in positions.items():
        if position.position_id != pid:
            return f"holds position #{position.position_id} under id {pid}"
        if position.status != PositionStatus.closed:
            return f"holds position #{pid}, which is {position.status}, not closed"
        if position.quantity_raw:
            return f"holds closed position #{pid}, which still holds {position.quantity_raw} raw units"
        for tid, trade in position.trades.items():
            if trade.trade_id != tid or trade.position_id != pid:
                return f"holds trade #{trade.trade_id} under id {tid} of position #{pid}"
            if trade.is_pending:
                return f"holds closed position #{pid}, whose trade #{tid} is pending"
            if trade.pair != position.pair:
                return f"holds trade #{tid}, which is not on its position #{pid}'s pair"
    return None


def summarise(positions: Positions) -> SegmentSummary:
    """The summary of these positions, without its checksum (0)."""
    trades = [t for p in positions.values() for t in p.trades.values()]
    return SegmentSummary(
        position_ids=list(positions),
        trade_ids=[t.trade_id for t in trades],
        last_planned_at=max((t.planned_at for t in trades), default=_EPOCH),
        realised_profit=sum((p.realised_profit() for p in positions.values()), Decimal(0)),
        crc32=0,
    )


def checksum(summary: Any, raw: bytes | memoryview | msgspec.Raw) -> int:
    """CRC-32 of a summary (its `crc32` field as 0) followed by the archived bytes."""
    return zlib.crc32(raw, zlib.crc32(_SUMMARY_ENCODER.encode(content_of(summary))))


def content_of(summary: Any) -> Any:
    """The summary without its checksum, for comparing a summary with recomputed content."""
    return msgspec.structs.replace(summary, crc32=0) if summary.crc32 else summary


# Deterministic: dict keys sorted, so a file whose keys were reordered keeps its checksums.
_SUMMARY_ENCODER = msgspec.json.Encoder(order="deterministic")


_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


class ClosedPositions(MutableMapping[int, TradingPosition]):
    """All closed positions by id, in closing order: sealed segments first, then `recent`."""

    __slots__ = ("_index", "_profit", "_trade_index", "encoding_tables", "recent", "segments")

    def __init__(self, recent: Positions | None = None) -> None:
        self.recent: Positions = {} if recent is None else recent
        self.segments: list[Segment] = []
        self._index: dict[int, Segment] = {}  # archived position id -> its segment
        self._trade_index: dict[int, Segment] | None = None  # built when first asked
        self._profit: tuple[int, int, Decimal] = (0, 0, Decimal(0))  # segments, recent, total
        # The serialiser's identifier tables (opaque here): archived bytes refer to pairs and
        # assets by index, so the tables must outlive every save that reuses those bytes.
        self.encoding_tables: Any = None

    # ---- archive --------------------------------------------------------------------------

    def add_segments(self, segments: list[Segment]) -> None:
        """Attach loaded segments (their ids must not overlap anything already here)."""
        for segment in segments:
            ids = segment.summary.position_ids
            if not ids:
                raise StateFormatError("an archived segment holds no positions")
            before = len(self._index)
            self._index.update(dict.fromkeys(ids, segment))
            if len(self._index) != before + len(ids):
                raise StateFormatError(f"{segment.describe()} repeats a position id of another segment")
            self.segments.append(segment)
        self._trade_index = None

    def seal_full_segments(self, encode: Callable[[Positions], bytes]) -> int:
        """Move the oldest recent positions into new segments while enough are recent; the count sealed."""
        sealed = 0
        while len(self.recent) >= SEGMENT_SIZE + KEEP_RECENT:
            oldest = dict(islice(self.recent.items(), SEGMENT_SIZE))
            segment = Segment.seal(oldest, encode)
            for pid in oldest:
                del self.recent[pid]
            self.add_segments([segment])
            sealed += len(oldest)
        return sealed

    def reuse_decoded(self, other: ClosedPositions) -> int:
        """Take over the already decoded positions of `other`'s identical segments (same
        summary, checksum included); the count reused. For read-only copies of one state
        decoded again after each save (the dashboard), so a save does not make them decode
        the whole history again. Both then share those position objects: neither may change them."""
        decoded = {s.summary.crc32: s for s in other.segments if s.is_decoded}
        return sum(
            segment.take_decoded_from(source)
            for segment in self.segments
            if (source := decoded.get(segment.summary.crc32)) is not None
        )

    def is_archived(self, position_id: int) -> bool:
        return position_id in self._index

    def archived_ids(self) -> KeysView[int]:
        return self._index.keys()

    def segment_of_trade(self, trade_id: int) -> Segment | None:
        if self._trade_index is None:
            self._trade_index = {tid: s for s in self.segments for tid in s.summary.trade_ids}
        return self._trade_index.get(trade_id)

    # ---- questions answered from summaries --------------------------------------------------

    def realised_profit(self) -> Decimal:
        """Realised profit of every closed position; O(new positions) per call after the first."""
        segments, counted, total = self._profit
        if segments != len(self.segments) or counted > len(self.recent):
            total = sum((s.summary.realised_profit for s in self.segments), Decimal(0))
            segments, counted = len(self.segments), 0
        for position in islice(self.recent.values(), counted, None):
            total += position.realised_profit()
        self._profit = (segments, len(self.recent), total)
        return total

    def has_trade_planned_at(self, at: datetime.datetime) -> bool:
        if any(t.planned_at == at for p in self.recent.values() for t in p.trades.values()):
            return True
        return any(
            t.planned_at == at
            for s in self.segments
            if s.summary.last_planned_at >= at
            for p in s.positions().values()
            for t in p.trades.values()
        )

    def newest(self) -> Iterator[TradingPosition]:
        """Newest closed first; decodes only as many segments as the caller reads."""
        yield from reversed(self.recent.values())
        for segment in reversed(self.segments):
            yield from reversed(segment.positions().values())

    # ---- the mapping --------------------------------------------------------------------

    def __getitem__(self, position_id: int) -> TradingPosition:
        position = self.recent.get(position_id)
        if position is not None:
            return position
        return self._index[position_id].positions()[position_id]

    def __contains__(self, position_id: object) -> bool:
        return position_id in self.recent or position_id in self._index

    def __len__(self) -> int:
        return len(self._index) + len(self.recent)

    def __iter__(self) -> Iterator[int]:
        return chain(chain.from_iterable(s.summary.position_ids for s in self.segments), self.recent)

    def __setitem__(self, position_id: int, position: TradingPosition) -> None:
        self._refuse_archived(position_id, "replaced")
        self.recent[position_id] = position

    def __delitem__(self, position_id: int) -> None:
        self._refuse_archived(position_id, "removed")
        del self.recent[position_id]

    def _refuse_archived(self, position_id: int, what: str) -> None:
        if position_id in self._index:
            raise ArchivedPositionError(
                f"Position #{position_id} is archived (closed long ago) and cannot be {what}."
            )

    def values(self) -> _Values:
        return _Values(self)

    def items(self) -> _Items:
        return _Items(self)

    def _iter_values(self) -> Iterator[TradingPosition]:
        for segment in self.segments:
            yield from segment.positions().values()
        yield from self.recent.values()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mapping):
            return NotImplemented
        return len(self) == len(other) and dict(self.items()) == dict(other.items())

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ClosedPositions({len(self)} positions, {len(self.segments)} archived segments)"


class _Values(ValuesView[TradingPosition]):
    _mapping: ClosedPositions

    def __iter__(self) -> Iterator[TradingPosition]:
        return self._mapping._iter_values()


class _Items(ItemsView[int, TradingPosition]):
    _mapping: ClosedPositions

    def __iter__(self) -> Iterator[tuple[int, TradingPosition]]:
        m = self._mapping
        return chain(
            chain.from_iterable(s.positions().items() for s in m.segments),
            m.recent.items(),
        )
