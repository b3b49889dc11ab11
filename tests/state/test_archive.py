"""Closed positions archived in sealed segments: saved once, loaded lazily, never edited.

Segments are made tiny here (5 positions, 3 kept recent) so a few dozen positions exercise
everything a 100,000-position state does.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from functools import partial
from pathlib import Path
from unittest import mock

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings

from tests.state.factories import T0, USDC, WETH, WETH_USDC, edit_archive, hours, many_closed_positions
from tests.state.strategies import states
from tradeexecutor.execution import publish
from tradeexecutor.state import archive
from tradeexecutor.state.archive import SegmentSummary
from tradeexecutor.state.errors import (
    ArchivedPositionError,
    IntegrityError,
    StateFileCorrupt,
    StateFormatError,
    StateSaveRefused,
)
from tradeexecutor.state.identifiers import AssetIdentifier, TradingPairIdentifier
from tradeexecutor.state.integrity import check_integrity
from tradeexecutor.state.serialisation import decode_state, encode_state
from tradeexecutor.state.state import State
from tradeexecutor.state.store import JSONFileStore


@pytest.fixture(autouse=True)
def tiny_segments(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archive, "SEGMENT_SIZE", 5)
    monkeypatch.setattr(archive, "KEEP_RECENT", 3)


def archived_state(count: int = 22) -> tuple[State, bytes]:
    state = many_closed_positions(count)
    return state, encode_state(state)  # encoding seals what is due


def test_a_save_seals_the_oldest_closed_positions_and_keeps_the_newest_as_objects() -> None:
    state = many_closed_positions(22)
    before = dict(state.portfolio.closed_positions)
    encode_state(state)
    closed = state.portfolio.closed
    # sealed while 8 or more were recent: 22 -> 17 -> 12 -> 7
    assert [s.summary.position_ids for s in closed.segments] == [
        [1, 2, 3, 4, 5],
        [6, 7, 8, 9, 10],
        [11, 12, 13, 14, 15],
    ]
    assert list(closed.recent) == list(range(16, 23))
    # the mapping is unchanged: same ids, same order, the same objects
    assert list(closed) == list(before) and len(closed) == 22
    assert all(closed[pid] is before[pid] for pid in before)
    assert [p.position_id for p in closed.values()] == list(before)
    check_integrity(state)


def test_a_load_keeps_archived_positions_as_bytes_until_one_is_read() -> None:
    state, data = archived_state()
    loaded = decode_state(data)
    check_integrity(loaded)
    closed = loaded.portfolio.closed
    assert [s.is_decoded for s in closed.segments] == [False, False, False]
    # ids, membership and length come from the summaries
    assert list(closed) == list(range(1, 23)) and 7 in closed and 23 not in closed and len(closed) == 22
    assert [s.is_decoded for s in closed.segments] == [False, False, False]
    assert closed[7] == state.portfolio.closed_positions[7]
    assert [s.is_decoded for s in closed.segments] == [False, True, False]
    assert loaded == state


def test_saving_a_loaded_state_writes_the_archived_bytes_again_unchanged(tmp_path: Path) -> None:
    state, data = archived_state()
    path = tmp_path / "state.json"
    path.write_bytes(data)
    with JSONFileStore(path) as store:
        loaded = store.load()
        segments = loaded.portfolio.closed.segments
        snapshot = store.save(loaded)
        assert path.read_bytes() == data
        written = snapshot._chunks
        assert all(any(chunk is s.raw for chunk in written) for s in segments)  # reused, not re-encoded
        assert not any(s.is_decoded for s in segments)


def test_archived_identifiers_keep_their_table_index_when_new_ones_appear(tmp_path: Path) -> None:
    state, data = archived_state()
    path = tmp_path / "state.json"
    path.write_bytes(data)
    link = AssetIdentifier(chain_id=31337, address="0x" + "44" * 20, symbol="LINK", decimals=18)
    link_usdc = TradingPairIdentifier(
        base=link, quote=USDC, pool_address="0x" + "55" * 20, exchange_slug="test"
    )
    with JSONFileStore(path) as store:
        loaded = store.load()
        trade = loaded.plan_trade(T0 + hours(100), link_usdc, price=Decimal(10), reserve=Decimal(50))
        store.save(loaded)
    again = JSONFileStore(path, read_only=True).load()
    assert again.portfolio.closed_positions[1].pair == WETH_USDC
    assert again.portfolio.open_positions[trade.position_id].pair == link_usdc
    assert again.portfolio.get_trade(1).reserve_currency == USDC


def test_archived_positions_cannot_be_replaced_removed_or_booked_on() -> None:
    state, _ = archived_state()
    closed = state.portfolio.closed_positions
    with pytest.raises(ArchivedPositionError, match="Position #3 is archived"):
        closed[3] = closed[3]
    with pytest.raises(ArchivedPositionError, match="cannot be removed"):
        del closed[3]
    with pytest.raises(ArchivedPositionError, match="book it on the reserve"):
        state.record_drift(WETH, 5, T0 + hours(1), "dust", position=closed[3])
    del closed[20]  # a recent one is still a plain entry
    assert 20 not in closed


def test_a_damaged_segment_fails_its_checksum_and_the_file_is_left_alone(tmp_path: Path) -> None:
    _, data = archived_state()
    at = data.index(b'"opened_at":"2024', data.index(b'"positions":{'))
    damaged = data.replace(data[at : at + 17], b'"opened_at":"2025', 1)  # still valid JSON
    with pytest.raises(StateFormatError, match=r"archived segment of positions #1\.\.#5 fails its checksum"):
        decode_state(damaged)
    path = tmp_path / "state.json"
    path.write_bytes(damaged)
    with pytest.raises(StateFileCorrupt, match="fails its checksum"):
        JSONFileStore(path, read_only=True).load()
    assert path.read_bytes() == damaged


_edit_archive = partial(edit_archive, key="archive", summary_type=SegmentSummary, field="positions")


def test_a_trade_listed_by_two_segments_fails_the_integrity_check() -> None:
    _, data = archived_state()

    def duplicate(segments: list) -> None:
        segments[1]["trade_ids"][0] = segments[0]["trade_ids"][0]

    with pytest.raises(IntegrityError, match="trade #1 appears in more than one archived position"):
        check_integrity(decode_state(_edit_archive(data, duplicate)))


def test_a_summary_that_disagrees_with_its_positions_is_found_when_they_are_read() -> None:
    _, data = archived_state()

    def swap(segments: list) -> None:
        ids = segments[0]["trade_ids"]
        ids[0], ids[1] = ids[1], ids[0]

    loaded = decode_state(_edit_archive(data, swap))  # checksums recomputed: they pass
    with pytest.raises(StateFormatError, match=r"positions #1\.\.#5 does not match its summary"):
        loaded.portfolio.closed_positions[2]


def test_a_position_both_archived_and_recent_fails_the_integrity_check() -> None:
    _, data = archived_state()
    document = msgspec.json.decode(data)
    document["state"]["portfolio"]["closed_positions"]["3"] = document["archive"][0]["positions"]["3"]
    with pytest.raises(IntegrityError, match="position #3 is both archived and recently closed"):
        check_integrity(decode_state(msgspec.json.encode(document)))


def test_segment_checksums_cover_the_summary_and_the_positions_bytes() -> None:
    _, data = archived_state()
    document = msgspec.json.decode(data)
    for record in document["archive"]:
        summary = SegmentSummary(**{k: v for k, v in record.items() if k != "positions"})
        assert archive.checksum(summary, msgspec.json.encode(record["positions"])) == record["crc32"]

    def inflate_profit(segments: list) -> None:  # a damaged summary, not resealed
        segments[0]["realised_profit"] = "9" + segments[0]["realised_profit"]

    with pytest.raises(StateFormatError, match=r"positions #1\.\.#5 fails its checksum"):
        decode_state(_edit_archive(data, inflate_profit, reseal=False))


def test_a_pretty_printed_file_still_loads_but_a_changed_archived_position_does_not() -> None:
    state, data = archived_state()
    pretty = msgspec.json.format(data, indent=2)
    loaded = decode_state(pretty)
    assert loaded == state
    assert encode_state(loaded) == data  # written back exactly as the executor writes it

    document = msgspec.json.decode(data)
    document["archive"][1]["positions"]["7"]["notes"] = "changed by hand"
    with pytest.raises(
        StateFormatError, match=r"positions #6\.\.#10 fails its checksum: its contents changed"
    ):
        decode_state(msgspec.json.format(msgspec.json.encode(document), indent=2))


def test_a_closed_position_edited_in_memory_is_not_archived(tmp_path: Path) -> None:
    """The save check skips closed positions it verified before; sealing checks them again."""
    state = many_closed_positions(7)  # one short of sealing
    path = tmp_path / "state.json"
    with JSONFileStore(path) as store:
        store.create(state)
        state.portfolio.closed_positions[2].quantity_adjustment_raw = 7  # behind the State's back
        state.portfolio.closed_positions[8] = many_closed_positions(8).portfolio.closed_positions[8]
        state.portfolio.next_position_id, state.portfolio.next_trade_id = 9, 17
        before = path.read_bytes()
        with pytest.raises(StateSaveRefused, match="closed position #2, which still holds 7 raw units"):
            store.save(state)
    assert path.read_bytes() == before


def test_figures_from_summaries_match_a_full_read() -> None:
    state, data = archived_state()
    loaded = decode_state(data)
    p = loaded.portfolio
    every = sum((x.realised_profit() for x in state.portfolio.closed_positions.values()), Decimal(0))
    assert p.closed_realised_profit() == every
    assert not any(s.is_decoded for s in p.closed.segments)
    # trades: a planned time found in an archived segment, and lookups by id
    third = state.portfolio.closed_positions[3]
    assert p.has_trade_planned_at(next(iter(third.trades.values())).planned_at)
    assert not p.has_trade_planned_at(T0 - datetime.timedelta(days=1))
    assert p.get_trade(5).position_id == 3


def test_published_lists_read_only_the_newest_segments(monkeypatch: pytest.MonkeyPatch) -> None:
    state, data = archived_state()
    loaded = decode_state(data)
    monkeypatch.setattr(publish, "MAX_PUBLISHED_CLOSED_POSITIONS", 9)
    monkeypatch.setattr(publish, "MAX_PUBLISHED_TRADES", 16)
    positions = publish.positions_documents(loaded)
    assert [d["position_id"] for d in positions] == list(range(14, 23))
    trades = publish.trades_documents(loaded)
    assert [d["trade_id"] for d in trades] == list(range(29, 45))  # ascending: /trades pages by id
    assert [s.is_decoded for s in loaded.portfolio.closed.segments] == [False, False, True]
    every = sorted((t.trade_id for t in state.portfolio.all_trades()), reverse=True)[:16]
    assert [d["trade_id"] for d in trades] == every[::-1]


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(states())
def test_round_trip_is_exact_when_every_closed_position_is_archived(state: State) -> None:
    with mock.patch.object(archive, "SEGMENT_SIZE", 1), mock.patch.object(archive, "KEEP_RECENT", 0):
        data = encode_state(state)
    assert not state.portfolio.closed.recent
    loaded = decode_state(data)
    check_integrity(loaded, timestamps_verified=True)
    assert encode_state(loaded) == data
    assert loaded == state
    assert loaded.portfolio.closed_realised_profit() == state.portfolio.closed_realised_profit()


def test_a_copy_decoded_after_the_next_save_reuses_the_history_already_built() -> None:
    state, data = archived_state()
    first = decode_state(data)
    first.portfolio.closed_positions[2]  # segment 1 built
    first.portfolio.closed_positions[12]  # segment 3 built
    state.plan_trade(T0 + hours(200), WETH_USDC, price=Decimal(2000), reserve=Decimal(10))
    second = decode_state(encode_state(state))  # the next save: same segments, new open position
    assert second.portfolio.closed.reuse_decoded(first.portfolio.closed) == 2
    assert [s.is_decoded for s in second.portfolio.closed.segments] == [True, False, True]
    assert second.portfolio.closed_positions[2] is first.portfolio.closed_positions[2]
    assert second == state

    # a segment whose bytes differ is decoded afresh
    changed = many_closed_positions(22)
    changed.portfolio.closed_positions[2].notes = "edited before it was sealed"
    everything = decode_state(data)
    list(everything.portfolio.closed_positions.values())
    third = decode_state(encode_state(changed))
    assert third.portfolio.closed.reuse_decoded(everything.portfolio.closed) == 2
    assert [s.is_decoded for s in third.portfolio.closed.segments] == [False, True, True]
    assert third.portfolio.closed_positions[2].notes == "edited before it was sealed"
