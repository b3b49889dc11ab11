"""Ledger rows archived in sealed chunks: saved once, loaded lazily, never changed.

Chunks are made tiny (6 rows, 4 kept recent) so a few positions exercise everything."""

from __future__ import annotations

from functools import partial
from unittest import mock

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings

from tests.state.factories import T0, USDC, edit_archive, many_closed_positions
from tests.state.strategies import states
from tradeexecutor.state import ledger_archive
from tradeexecutor.state.errors import IntegrityError, StateError, StateFormatError
from tradeexecutor.state.integrity import check_integrity
from tradeexecutor.state.ledger_archive import ChunkSummary
from tradeexecutor.state.serialisation import decode_state, encode_state
from tradeexecutor.state.state import State


@pytest.fixture(autouse=True)
def tiny_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ledger_archive, "CHUNK_SIZE", 6)
    monkeypatch.setattr(ledger_archive, "KEEP_RECENT", 4)


def test_a_save_seals_the_oldest_rows_and_the_sequence_is_unchanged() -> None:
    state = many_closed_positions(4)  # 2 deposits + 6 rows per round trip = 26 rows
    before = list(state.ledger.entries)
    encode_state(state)
    rows = state.ledger.rows
    assert [c.summary.count for c in rows.chunks] == [6, 6, 6] and len(rows.recent) == 8
    assert list(rows) == before and len(rows) == 26
    assert rows[0] is before[0] and rows[-1] is before[-1] and rows[7] is before[7]
    assert rows[5:9] == before[5:9] and rows[-3:] == before[-3:]
    assert state.ledger.balances() == {k: v for k, v in _sums(before).items()}
    check_integrity(state)


def _sums(rows: list) -> dict[str, int]:
    totals: dict[str, int] = {}
    for r in rows:
        totals[r.asset_key] = totals.get(r.asset_key, 0) + r.amount_raw
    return totals


def test_a_load_builds_archived_rows_only_when_read_and_sums_come_from_summaries() -> None:
    state = many_closed_positions(4)
    data = encode_state(state)
    loaded = decode_state(data)
    check_integrity(loaded)
    rows = loaded.ledger.rows
    assert not any(c.is_decoded for c in rows.chunks)
    assert loaded.ledger.balances() == state.ledger.balances()
    assert loaded.ledger.balance(USDC.key) == state.ledger.balance(USDC.key)
    assert len(rows) == 26 and not any(c.is_decoded for c in rows.chunks)
    assert rows[8] == state.ledger.entries[8]
    assert [c.is_decoded for c in rows.chunks] == [False, True, False]
    assert loaded == state and encode_state(loaded) == data


def test_archived_rows_cannot_be_changed_but_new_ones_append() -> None:
    state = many_closed_positions(4)
    encode_state(state)
    entries = state.ledger.entries
    with pytest.raises(StateError, match="Ledger row 3 is archived and cannot be replaced"):
        entries[3] = entries[4]
    with pytest.raises(StateError, match="cannot be removed"):
        del entries[0]
    with pytest.raises(StateError, match="cannot be cleared"):
        entries.clear()
    with pytest.raises(IndexError):
        del entries[-27]  # as for a list: out of range, never another row
    with pytest.raises(StateError, match="cannot be moved"):
        entries.insert(-100, entries[-1])
    state.record_deposit(USDC, 5, T0)
    assert entries[-1].amount_raw == 5 and len(entries) == 27


_edit = partial(edit_archive, key="ledger_archive", summary_type=ChunkSummary, field="entries")


def test_damaged_chunks_and_wrong_summaries_are_refused() -> None:
    state = many_closed_positions(4)
    data = encode_state(state)

    def change_amount(chunks: list) -> None:
        chunks[1]["entries"][0][3] += 1

    with pytest.raises(StateFormatError, match=r"ledger chunk of entries #7\.\.#12 fails its checksum"):
        decode_state(_edit(data, change_amount, reseal=False))

    def inflate_sum(chunks: list) -> None:  # a writer bug: sums off, checksum recomputed
        key = next(iter(chunks[0]["totals"]))
        chunks[0]["totals"][key] += 1

    with pytest.raises(IntegrityError, match="the ledger sums"):
        check_integrity(decode_state(_edit(data, inflate_sum, reseal=True)))

    def overlap(chunks: list) -> None:
        chunks[1]["first_id"] = chunks[0]["last_id"]

    with pytest.raises(IntegrityError, match="comes after entry"):
        check_integrity(decode_state(_edit(data, overlap, reseal=True)))

    def unknown_trade(chunks: list) -> None:
        chunks[2]["trade_ids"].append(999)

    loaded = decode_state(_edit(data, unknown_trade, reseal=True))
    with pytest.raises(IntegrityError, match="refers to trade #999"):
        check_integrity(loaded)
    with pytest.raises(StateFormatError, match="does not match its summary"):
        list(loaded.ledger.entries)


def test_a_pretty_printed_or_key_sorted_file_with_archived_rows_still_loads() -> None:
    state = many_closed_positions(4)
    data = encode_state(state)
    loaded = decode_state(msgspec.json.format(data, indent=2))
    assert loaded == state and encode_state(loaded) == data
    document = msgspec.json.decode(data)
    for record in document["ledger_archive"]:  # the summaries' sums in another key order
        record["totals"] = dict(reversed(record["totals"].items()))
    assert decode_state(msgspec.json.encode(document)) == state


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(states())
def test_round_trip_is_exact_when_nearly_every_row_is_archived(state: State) -> None:
    with (
        mock.patch.object(ledger_archive, "CHUNK_SIZE", 1),
        mock.patch.object(ledger_archive, "KEEP_RECENT", 0),
    ):
        data = encode_state(state)
    assert not state.ledger.rows.recent
    loaded = decode_state(data)
    check_integrity(loaded, timestamps_verified=True)
    assert encode_state(loaded) == data
    assert loaded == state
    assert loaded.ledger.balances() == state.ledger.balances()
    assert sum(loaded.ledger.balances().values()) == sum(e.amount_raw for e in state.ledger.entries)
