"""The state file format: a versioned JSON envelope around the State, and its migrations.

    {"schema_version": 2, "assets": [...], "pairs": [...], "archive": [...], "state": {...}}

`schema_version` is always the first key, so `head -c 40` tells which version wrote a file.
Tokens and pairs are written once, in the `assets` and `pairs` tables, and referred to by
their index everywhere else: a state with 100,000 positions would otherwise repeat the same
pair 300,000 times, and decoding those copies was the largest cost of a load (measured in
benchmarks/state_store.py, explained in docs/state.md). On load each index resolves to one
shared identifier object.

`archive` (absent while empty) holds the sealed segments of old closed positions (see
archive.py): each is its summary plus `positions`, the segment's closed positions exactly as
they were first encoded. A save writes those bytes again without encoding anything; a load
checks each segment's CRC-32 and decodes its positions only when they are read. Because
archived bytes refer to the tables by index, the tables only ever grow: an index, once
given, keeps its meaning in every later file of the same state.

Decimals are JSON strings (exact), raw token amounts are JSON integers of any size, and
timestamps are RFC 3339 strings in UTC (`...Z`); a timestamp without a timezone is refused.

A file older than SCHEMA_VERSION is upgraded in memory by the functions in MIGRATIONS
(`N -> function turning a version N document, as plain dicts and lists, into version N+1`);
the file itself is only rewritten by the next save. A newer file is refused.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import msgspec

from tradeexecutor.state.archive import Sealed, Segment, SegmentSummary, checksum
from tradeexecutor.state.errors import SchemaTooNew, StateFormatError
from tradeexecutor.state.identifiers import AssetIdentifier, TradingPairIdentifier
from tradeexecutor.state.ledger_archive import ChunkSummary, LedgerChunk, Rows
from tradeexecutor.state.ledger_entry import LedgerEntry
from tradeexecutor.state.position import TradingPosition
from tradeexecutor.state.state import State

SCHEMA_VERSION = 2

Document = dict[str, Any]
Migration = Callable[[Document], Document]

# from_version -> function(document of from_version) -> document of from_version + 1
MIGRATIONS: dict[int, Migration] = {}


def migration(from_version: int) -> Callable[[Migration], Migration]:
    """Register `migrate_vN_to_vN+1`; the loader chains them from the file's version up."""

    def register(func: Migration) -> Migration:
        if from_version in MIGRATIONS:
            raise ValueError(f"A migration from schema {from_version} is already registered.")
        MIGRATIONS[from_version] = func
        return func

    return register


@migration(1)
def migrate_v1_to_v2(document: Document) -> Document:
    """Version 2 added the optional `archive` of sealed closed positions; a version 1
    document is a valid version 2 document without one. The next save archives."""
    return document


# ---- the envelope -----------------------------------------------------------------------


class _AssetRecord(msgspec.Struct, kw_only=True, omit_defaults=True):
    chain_id: int
    address: str
    symbol: str
    decimals: int
    name: str = ""


class _PairRecord(msgspec.Struct, kw_only=True, omit_defaults=True):
    base: int  # index into assets
    quote: int
    pool_address: str
    exchange_slug: str
    fee_bps: int = 30


class _SegmentRecord(SegmentSummary, kw_only=True, frozen=True):
    positions: msgspec.Raw  # a JSON object: position id -> position


class _ChunkRecord(ChunkSummary, kw_only=True, frozen=True):
    entries: msgspec.Raw  # a JSON array of ledger rows


class _Head(msgspec.Struct, kw_only=True):
    """Read first and loosely: the version decides how the rest may be read."""

    schema_version: int
    assets: msgspec.Raw = msgspec.field(default_factory=lambda: msgspec.Raw(b"[]"))
    pairs: msgspec.Raw = msgspec.field(default_factory=lambda: msgspec.Raw(b"[]"))
    archive: list[_SegmentRecord] = msgspec.field(default_factory=list)
    ledger_archive: list[_ChunkRecord] = msgspec.field(default_factory=list)
    state: msgspec.Raw = msgspec.field(default_factory=lambda: msgspec.Raw(b""))


class IdentifierTables(dict):
    """Collects identifiers while the state is encoded; maps each to its table index.

    Used as `enc_hook=tables.__getitem__`: the hook runs once per reference (500,000 times
    for 100,000 positions), and a dict lookup in C (identifiers cache their hash) is about
    twice as fast as a Python hook function. Misses land in __missing__, which registers.
    """

    def __init__(self) -> None:
        super().__init__()
        self.assets: list[_AssetRecord] = []
        self.pairs: list[_PairRecord] = []

    def __missing__(self, obj: Any) -> int:
        if type(obj) is TradingPairIdentifier:
            base, quote = self[obj.base], self[obj.quote]
            index = len(self.pairs)
            self.pairs.append(
                _PairRecord(
                    base=base,
                    quote=quote,
                    pool_address=obj.pool_address,
                    exchange_slug=obj.exchange_slug,
                    fee_bps=obj.fee_bps,
                )
            )
        elif type(obj) is AssetIdentifier:
            index = len(self.assets)
            self.assets.append(
                _AssetRecord(
                    chain_id=obj.chain_id,
                    address=obj.address,
                    symbol=obj.symbol,
                    decimals=obj.decimals,
                    name=obj.name,
                )
            )
        else:
            raise NotImplementedError(f"Objects of type {type(obj).__name__} cannot be written to the state.")
        self[obj] = index
        return index


# ---- encode -----------------------------------------------------------------------------


POSITIONS_PER_CHUNK = 2_000
ENTRIES_PER_CHUNK = 20_000


class TablesChanged(Exception):
    """An identifier first seen after the header was produced; encode again (the tables now hold it)."""


def encode_state(state: State) -> bytes:
    """The complete file contents for `state` (no integrity check here: the store does it)."""
    while True:
        try:
            return b"".join(encode_state_chunks(state))
        except TablesChanged:
            continue  # the second pass starts with complete tables


def identifier_tables(state: State) -> IdentifierTables:
    """The state's tables, kept on its closed positions for as long as archived bytes use them."""
    closed = state.portfolio.closed
    if closed.encoding_tables is None:
        closed.encoding_tables = IdentifierTables()
    return closed.encoding_tables


def seal_due(state: State) -> int:
    """Archive the recent closed positions and ledger rows that are due (archive.py,
    ledger_archive.py); IntegrityError if one is not fit to be archived. The number sealed."""
    encoder = msgspec.json.Encoder(enc_hook=identifier_tables(state).__getitem__)
    positions = state.portfolio.closed.seal_full_segments(encoder.encode)
    return positions + state.ledger.rows.seal_full_chunks(_PLAIN.encode)


_PLAIN = msgspec.json.Encoder()
SealedT = TypeVar("SealedT", bound=Sealed[Any])
SummaryT = TypeVar("SummaryT", bound=msgspec.Struct)


def encode_state_chunks(state: State) -> Iterator[bytes]:
    """The file contents in pieces, so the store can write (and fsync) while encoding goes on.

    First the recent closed positions and ledger rows that are due are sealed into the
    archive (whose bytes every later save reuses). The identifier tables come first in the file but are
    filled while encoding, so identifiers are collected up front from the places they live
    (reserves, ledger assets, position pairs). A trade whose pair or reserve currency is equal
    to one of those resolves to the same index; an identifier found nowhere else raises
    TablesChanged at the end, and the caller starts again: the tables then hold it.

    Recent closed positions and ledger rows are encoded in chunks: the state is encoded once
    with a NUL byte standing in for each of them (a NUL cannot occur in msgspec output:
    strings escape control characters), then split there. Archived segments and ledger
    chunks are written as the bytes they were sealed as.
    """
    tables = identifier_tables(state)
    portfolio, ledger = state.portfolio, state.ledger
    closed = portfolio.closed
    encoder = msgspec.json.Encoder(enc_hook=tables.__getitem__)
    seal_due(state)  # the store has done it already, after its integrity check
    for holding in portfolio.reserves.values():
        tables[holding.asset]
    for asset in ledger.assets.values():
        tables[asset]
    for bucket in (portfolio.open_positions, portfolio.frozen_positions, closed.recent):
        for position in bucket.values():
            tables[position.pair]
    known = (len(tables.assets), len(tables.pairs))

    recent, rows = closed.recent, ledger.rows
    entries = rows.recent
    shell = msgspec.structs.replace(
        state,
        portfolio=msgspec.structs.replace(
            portfolio, closed_positions=msgspec.Raw(b"\x00" if recent else b"{}")
        ),
        ledger=msgspec.structs.replace(ledger, entries=msgspec.Raw(b"\x00" if entries else b"[]")),
    )
    pieces = encoder.encode(shell).split(b"\x00")

    plain = msgspec.json.Encoder()
    yield b"".join(
        (
            b'{"schema_version":',
            str(SCHEMA_VERSION).encode(),
            b',"assets":',
            plain.encode(tables.assets),
            b',"pairs":',
            plain.encode(tables.pairs),
        )
    )
    yield from _archive_section(b"archive", closed.segments, b"positions", plain)
    yield from _archive_section(b"ledger_archive", rows.chunks, b"entries", plain)
    yield b',"state":' + pieces[0]
    rest = iter(pieces[1:])
    if recent:
        items = list(recent.items())
        yield b"{"
        for start in range(0, len(items), POSITIONS_PER_CHUNK):
            chunk = encoder.encode(dict(items[start : start + POSITIONS_PER_CHUNK]))
            yield chunk[1:-1] if start == 0 else b"," + chunk[1:-1]
        yield b"}"
        yield next(rest)
    if entries:
        yield b"["
        for start in range(0, len(entries), ENTRIES_PER_CHUNK):
            chunk = plain.encode(entries[start : start + ENTRIES_PER_CHUNK])
            yield chunk[1:-1] if start == 0 else b"," + chunk[1:-1]
        yield b"]"
        yield next(rest)
    yield b"}"
    if (len(tables.assets), len(tables.pairs)) != known:
        raise TablesChanged


def _archive_section(
    key: bytes, blocks: Sequence[Sealed[Any]], field: bytes, plain: msgspec.json.Encoder
) -> Iterator[bytes]:
    """`,"<key>":[{<summary fields>,"<field>":<sealed bytes>},...]`, or nothing when empty."""
    if not blocks:
        return
    yield b',"' + key + b'":['
    for i, block in enumerate(blocks):
        head = plain.encode(block.summary)[:-1] + b',"' + field + b'":'
        yield head if i == 0 else b"," + head
        yield block.raw
        yield b"}"
    yield b"]"


def inline_identifiers(obj: Any) -> Any:
    """enc_hook for writing parts of the state elsewhere (e.g. a JSON API) with identifiers spelled out."""
    if type(obj) is AssetIdentifier:
        return {f: getattr(obj, f) for f in AssetIdentifier._fields}
    if type(obj) is TradingPairIdentifier:
        return {f: getattr(obj, f) for f in TradingPairIdentifier._fields}
    raise NotImplementedError(f"Objects of type {type(obj).__name__} cannot be encoded.")


# ---- decode -----------------------------------------------------------------------------


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Decoding allocates millions of objects and none of them is garbage; without this the
    collector rescans the growing heap again and again (4x slower at 10,000 positions)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _describe(error: msgspec.MsgspecError, prefix: str = "") -> str:
    text = str(error).rstrip(".")
    if prefix:
        text = text.replace("`$", f"`$.{prefix}")
    if isinstance(error, msgspec.DecodeError) and not isinstance(error, msgspec.ValidationError):
        return f"it is not valid JSON ({text[0].lower() + text[1:]})"
    return text[0].lower() + text[1:]


def read_schema_version(data: bytes | memoryview) -> int:
    """The file's schema version, or StateFormatError saying why it has none."""
    return _read_head(data).schema_version


_TABLES_SPAN = 1 << 20  # the pairs table is far smaller; a false hit only costs the fast path
_CANONICAL_START = re.compile(rb'\{"schema_version":([1-9][0-9]{0,8}),"assets":')


def _split_canonical(data: bytes | memoryview) -> _Head | None:
    """Slice a file in exactly the layout encode_state writes, without a parsing pass.

    Finding the parts by their keys is sound: `,"pairs":` cannot occur inside a JSON string
    (its quote would be escaped), the small tables are checked to be JSON here, and the
    state slice is decoded strictly afterwards. Anything else (hand-edited, truncated,
    migrated, or a slice that fails to decode) goes through the general parser, whose
    verdict is the one reported. Saves a full skip pass (~0.2 s at 100,000 positions).
    A file with an archive is read generally: the archive's summaries need parsing anyway.
    """
    raw = data if isinstance(data, bytes) else bytes(data)
    match = _CANONICAL_START.match(raw)
    if match is None:
        return None
    pairs_at = raw.find(b',"pairs":', match.end())
    span = pairs_at + _TABLES_SPAN
    if (
        raw.find(b',"archive":[', pairs_at, span) >= 0
        or raw.find(b',"ledger_archive":[', pairs_at, span) >= 0
    ):
        return None  # the archive follows the small tables: its summaries need parsing anyway
    state_at = raw.find(b',"state":', pairs_at)
    end = len(raw.rstrip())
    if pairs_at < 0 or state_at < 0 or raw[end - 1 : end] != b"}":
        return None
    view = memoryview(raw)
    assets, pairs = view[match.end() : pairs_at], view[pairs_at + 9 : state_at]
    try:
        msgspec.json.decode(assets)
        msgspec.json.decode(pairs)
    except msgspec.DecodeError:
        return None
    return _Head(
        schema_version=int(match.group(1)),
        assets=msgspec.Raw(assets),
        pairs=msgspec.Raw(pairs),
        state=msgspec.Raw(view[state_at + 9 : end - 1]),
    )


def _read_head(data: bytes | memoryview) -> _Head:
    if not len(data):
        raise StateFormatError("it is empty")
    try:
        head = msgspec.json.decode(data, type=_Head)
    except msgspec.ValidationError as e:
        if str(e).startswith("Expected `object`, got"):
            raise StateFormatError(f"its top level is not a JSON object ({_describe(e)})") from None
        if "schema_version" in str(e):
            raise StateFormatError(f"it has no valid schema_version ({_describe(e)})") from None
        raise StateFormatError(_describe(e)) from None
    except msgspec.DecodeError as e:
        raise StateFormatError(_describe(e)) from None
    if head.schema_version < 1:
        raise StateFormatError(f"its schema_version {head.schema_version} is not a valid version")
    return head


def decode_state(
    data: bytes | memoryview,
    *,
    migrations: Mapping[int, Migration] = MIGRATIONS,
    schema_version: int = SCHEMA_VERSION,
) -> State:
    """Parse, migrate if older, and type-check a state file's contents.

    Raises SchemaTooNew for a file from a newer version and StateFormatError (with a reason
    that fits after "the file is corrupt: ") for anything else that is wrong.
    """
    fast = _split_canonical(data) if schema_version == SCHEMA_VERSION else None
    if fast is not None and fast.schema_version == schema_version:
        try:
            return _decode_body(fast)
        except StateFormatError:
            pass  # let the general parser give the authoritative reason
    head = _read_head(data)
    if head.schema_version > schema_version:
        raise SchemaTooNew(head.schema_version, schema_version)
    if head.schema_version < schema_version:
        head = _read_head(_migrate(data, head.schema_version, schema_version, migrations))
    return _decode_body(head)


def _table_error(table: str, error: Exception) -> StateFormatError:
    reason = _describe(error, table) if isinstance(error, msgspec.MsgspecError) else str(error)
    return StateFormatError(f"its {table} table is invalid ({reason})")


def _decode_body(head: _Head) -> State:
    if not len(head.state):
        raise StateFormatError("it has no `state` object")
    try:
        assets = [
            AssetIdentifier(**msgspec.structs.asdict(r))
            for r in msgspec.json.decode(head.assets, type=list[_AssetRecord])
        ]
    except (msgspec.MsgspecError, ValueError) as e:
        raise _table_error("assets", e) from None
    try:
        pairs = []
        for i, r in enumerate(msgspec.json.decode(head.pairs, type=list[_PairRecord])):
            if not (0 <= r.base < len(assets) and 0 <= r.quote < len(assets)):
                raise ValueError(f"pair {i} refers to an asset that is not in the asset table")
            pairs.append(
                TradingPairIdentifier(
                    base=assets[r.base],
                    quote=assets[r.quote],
                    pool_address=r.pool_address,
                    exchange_slug=r.exchange_slug,
                    fee_bps=r.fee_bps,
                )
            )
    except (msgspec.MsgspecError, ValueError) as e:
        raise _table_error("pairs", e) from None

    def dec_hook(typ: type, obj: Any) -> Any:
        if typ is TradingPairIdentifier:
            table, kind = pairs, "pairs"
        elif typ is AssetIdentifier:
            table, kind = assets, "assets"
        else:
            raise NotImplementedError(f"cannot decode {typ.__name__}")
        if type(obj) is not int or not 0 <= obj < len(table):
            raise ValueError(f"{obj!r} is not an index into the {kind} table")
        return table[obj]

    decoder = msgspec.json.Decoder(State, dec_hook=dec_hook)
    try:
        with _gc_paused():
            state = decoder.decode(head.state)
    except msgspec.MsgspecError as e:
        raise StateFormatError(_describe(e, "state")) from None
    closed = state.portfolio.closed
    closed.encoding_tables = tables = _reopen_tables(assets, pairs)
    canonical = msgspec.json.Encoder(enc_hook=tables.__getitem__)
    closed.add_segments(_read_archive(head.archive, dec_hook, canonical))
    state.ledger.rows.add_chunks(_read_ledger_archive(head.ledger_archive))
    return state


def _block_decoder(decoder: msgspec.json.Decoder[Any]) -> Callable[[bytes | memoryview | msgspec.Raw], Any]:
    """Decode an archived block's bytes, GC paused, errors as StateFormatError."""

    def decode(raw: bytes | memoryview | msgspec.Raw) -> Any:
        try:
            with _gc_paused():
                return decoder.decode(raw)
        except msgspec.MsgspecError as e:
            raise StateFormatError(_describe(e)) from None

    return decode


_decode_rows: Callable[[bytes | memoryview | msgspec.Raw], Rows] = _block_decoder(
    msgspec.json.Decoder(list[LedgerEntry])
)


def _read_ledger_archive(records: list[_ChunkRecord]) -> list[LedgerChunk]:
    """Archived ledger chunks with their checksums verified (see _read_archive)."""
    return [
        _read_block(LedgerChunk, _summary_part(r, ChunkSummary), r.entries, _decode_rows, _PLAIN.encode)
        for r in records
    ]


def _reopen_tables(assets: list[AssetIdentifier], pairs: list[TradingPairIdentifier]) -> IdentifierTables:
    """The file's tables, indices unchanged, for saves that reuse archived bytes."""
    tables = IdentifierTables()
    for asset in assets:
        tables[asset]
    if len(tables.assets) != len(assets):
        raise StateFormatError("its assets table lists an asset twice")
    for pair in pairs:
        tables[pair]
    if len(tables.pairs) != len(pairs) or len(tables.assets) != len(assets):
        raise StateFormatError("its pairs table lists a pair twice")
    return tables


def _read_archive(
    records: list[_SegmentRecord], dec_hook: Callable[[type, Any], Any], canonical: msgspec.json.Encoder
) -> list[Segment]:
    """Archived segments with their checksums verified; positions stay bytes until read."""
    decode = _block_decoder(msgspec.json.Decoder(dict[int, TradingPosition], dec_hook=dec_hook))

    segments = []
    for i, record in enumerate(records):
        if not record.position_ids:
            raise StateFormatError(f"archived segment {i} lists no positions")
        summary = _summary_part(record, SegmentSummary)
        segments.append(_read_block(Segment, summary, record.positions, decode, canonical.encode))
    return segments


def _read_block(
    kind: type[SealedT],
    summary: Any,
    raw: msgspec.Raw,
    decode: Callable[[Any], Any],
    encode: Callable[[Any], bytes],
) -> SealedT:
    """One archived block as read: left as bytes when its checksum passes, otherwise
    accepted only as a reformatted copy of what was sealed (_reformatted)."""
    block = kind(summary, raw, decode=decode)
    return block if checksum(summary, raw) == summary.crc32 else _reformatted(block, decode, encode)


def _summary_part(record: Any, summary_type: type[SummaryT]) -> SummaryT:
    """The summary fields of a record read from the file (which also holds the bytes)."""
    return summary_type(**{name: getattr(record, name) for name in summary_type.__struct_fields__})


def _reformatted(block: SealedT, decode: Callable[[Any], Any], encode: Callable[[Any], bytes]) -> SealedT:
    """A sealed block whose bytes are not as the executor wrote them: accepted only if
    re-encoding its content gives bytes that pass the checksum (the file was reformatted,
    e.g. pretty-printed, not changed). The block returned holds the canonical bytes."""
    try:
        content = decode(block.raw)
    except StateFormatError as e:
        raise StateFormatError(f"{block.describe()} fails its checksum and cannot be read ({e})") from None
    again = encode(content)
    if checksum(block.summary, again) != block.summary.crc32:
        raise StateFormatError(
            f"{block.describe()} fails its checksum: its contents changed after it was archived"
        )
    block.verify(content)
    return type(block)(block.summary, again, content=content)


def _migrate(data: bytes | memoryview, found: int, target: int, migrations: Mapping[int, Migration]) -> bytes:
    document = msgspec.json.decode(data)
    for version in range(found, target):
        step = migrations.get(version)
        if step is None:
            raise StateFormatError(f"no migration from schema {version} to {version + 1} exists")
        try:
            document = step(document)
        except (KeyError, TypeError, ValueError, IndexError) as e:
            raise StateFormatError(
                f"the migration from schema {version} to {version + 1} failed ({e!r})"
            ) from None
        document["schema_version"] = version + 1
    return msgspec.json.encode(document)
