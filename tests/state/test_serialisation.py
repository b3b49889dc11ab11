"""The file format: exact round trips, the envelope, schema versions and migrations."""

from __future__ import annotations

import datetime
import tempfile
from decimal import Decimal
from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings

from tests.state.factories import ETH, T0, USDC, WETH, WETH_USDC, funded_state, many_closed_positions
from tests.state.strategies import states
from tradeexecutor.state.errors import SchemaTooNew, StateFormatError
from tradeexecutor.state.identifiers import AssetIdentifier
from tradeexecutor.state.integrity import check_integrity
from tradeexecutor.state.serialisation import (
    MIGRATIONS,
    SCHEMA_VERSION,
    TablesChanged,
    decode_state,
    encode_state,
    encode_state_chunks,
    inline_identifiers,
    read_schema_version,
)
from tradeexecutor.state.state import State
from tradeexecutor.state.store import JSONFileStore
from tradeexecutor.state.trade import TradeStatus


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(states())
def test_round_trip_is_exact_for_realistic_states(state: State) -> None:
    check_integrity(state)  # the generator only builds states a real executor could write
    data = encode_state(state)
    loaded = decode_state(data)
    assert loaded == state
    assert encode_state(loaded) == data  # byte-identical: every Decimal keeps its exact digits
    check_integrity(loaded, timestamps_verified=True)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(states())
def test_store_save_then_load_gives_the_same_state(state: State) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "executor.json"
        with JSONFileStore(path) as store:
            store.create(state)
            store.save(state)
        assert JSONFileStore(path, read_only=True).load() == state
        assert path.read_bytes() == encode_state(state)


def test_big_integers_decimals_and_utc_timestamps_survive() -> None:
    state = funded_state()
    huge = 2**200 + 12345
    state.record_deposit(ETH, huge, T0 + datetime.timedelta(microseconds=123456), reason="whale")
    trade = state.plan_trade(T0, WETH_USDC, price=Decimal("2000.000000000000000000001"), reserve=Decimal(10))
    loaded = decode_state(encode_state(state))
    assert loaded.portfolio.reserves[ETH.key].quantity_raw == 10**18 + huge
    assert loaded.ledger.entries[-1].amount_raw == huge
    loaded_trade = loaded.portfolio.get_trade(trade.trade_id)
    assert str(loaded_trade.planned_price) == "2000.000000000000000000001"
    assert str(loaded_trade.planned_reserve) == "10"
    at = loaded.ledger.entries[-1].at
    assert at.tzinfo is not None and at.utcoffset() == datetime.timedelta(0)
    assert at.microsecond == 123456


def test_envelope_always_starts_with_schema_version() -> None:
    data = encode_state(State(created_at=T0, last_updated_at=T0))  # even an all-defaults state
    assert data.startswith(b'{"schema_version":%d,' % SCHEMA_VERSION)
    assert read_schema_version(data) == SCHEMA_VERSION
    document = msgspec.json.decode(data)
    assert list(document) == ["schema_version", "assets", "pairs", "state"]


def test_identifiers_are_written_once_and_shared_after_load() -> None:
    state = many_closed_positions(50)
    data = encode_state(state)
    document = msgspec.json.decode(data)
    assert [a["symbol"] for a in document["assets"]] == ["USDC", "ETH", "WETH"]
    assert len(document["pairs"]) == 1
    assert data.count(WETH_USDC.pool_address.encode()) == 1
    loaded = decode_state(data)
    pairs = {id(t.pair) for p in loaded.portfolio.all_positions() for t in p.trades.values()}
    assert len(pairs) == 1  # one object, not 100 copies
    assert next(iter(loaded.portfolio.closed_positions.values())).pair == WETH_USDC


def test_hand_reordered_keys_and_whitespace_still_load() -> None:
    state = funded_state()
    state.plan_trade(T0, WETH_USDC, price=Decimal(2000), reserve=Decimal(10))
    document = msgspec.json.decode(encode_state(state))
    reordered = {"state": document["state"], "pairs": document["pairs"], "assets": document["assets"]}
    reordered["schema_version"] = document["schema_version"]
    pretty = msgspec.json.format(msgspec.json.encode(reordered), indent=2)
    assert decode_state(pretty) == state


def test_newer_schema_is_refused_with_both_versions() -> None:
    newer = b'"schema_version":%d' % (SCHEMA_VERSION + 1)
    data = encode_state(funded_state()).replace(b'"schema_version":%d' % SCHEMA_VERSION, newer, 1)
    with pytest.raises(SchemaTooNew) as e:
        decode_state(data)
    assert str(e.value) == f"schema {SCHEMA_VERSION + 1}, this version reads up to {SCHEMA_VERSION}"


def test_older_file_is_migrated_in_memory() -> None:
    """A registry of vN -> vN+1 functions is chained from the file's version up."""
    state = funded_state()
    v = SCHEMA_VERSION
    current = encode_state(state)
    calls: list[int] = []

    def step_one(doc: dict) -> dict:
        calls.append(1)
        doc["state"]["strategy_id"] = "renamed-in-next"
        return doc

    def step_two(doc: dict) -> dict:
        calls.append(2)
        assert doc["schema_version"] == v + 1
        doc["state"]["strategy_id"] += "+after"
        return doc

    loaded = decode_state(current, migrations={v: step_one, v + 1: step_two}, schema_version=v + 2)
    assert calls == [1, 2]
    assert loaded.strategy_id == "renamed-in-next+after"
    assert loaded.portfolio == state.portfolio
    with pytest.raises(StateFormatError, match=f"no migration from schema {v + 1} to {v + 2}"):
        decode_state(current, migrations={v: step_one}, schema_version=v + 2)
    assert sorted(MIGRATIONS) == list(range(1, SCHEMA_VERSION))


def test_a_version_1_file_loads_and_is_written_back_as_the_current_version() -> None:
    """Version 1 had no archive; its documents are version 2 documents without one."""
    state = many_closed_positions(30)
    v1 = encode_state(state).replace(b'{"schema_version":2,', b'{"schema_version":1,', 1)
    assert read_schema_version(v1) == 1
    loaded = decode_state(v1)
    assert loaded == state
    assert encode_state(loaded).startswith(b'{"schema_version":2,')


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "it is empty"),
        (b'{"schema_version":1,"assets":[],"pa', "not valid JSON (input data was truncated)"),
        (b"{not json}", "not valid JSON"),
        (b"[1, 2, 3]", "top level is not a JSON object"),
        (b'{"state": {}}', "no valid schema_version"),
        (b'{"schema_version": "1", "state": {}}', "no valid schema_version"),
        (b'{"schema_version": 0, "state": {}}', "schema_version 0 is not a valid version"),
        (b'{"schema_version": 1}', "no `state` object"),
        (
            b'{"schema_version": 1, "state": {"portfolio": {"next_position_id": "7"}}}',
            "expected `int`, got `str` - at `$.state.portfolio.next_position_id`",
        ),
        (
            b'{"schema_version": 1, "state": {"created_at": "2024-01-01T00:00:00"}}',
            "timezone",
        ),
        (
            b'{"schema_version":1,"assets":[],"pairs":[],"state":{"portfolio":{"reserves":{"x":{"asset":4}}}}}',
            "4 is not an index into the assets table",
        ),
    ],
)
def test_malformed_documents_are_explained(data: bytes, reason: str) -> None:
    with pytest.raises(StateFormatError) as e:
        decode_state(data)
    assert reason in str(e.value)


def test_inline_identifiers_hook_spells_out_pairs() -> None:
    state = funded_state()
    trade = state.plan_trade(T0, WETH_USDC, price=Decimal(2000), reserve=Decimal(10))
    assert trade.status == TradeStatus.planned
    encoded = msgspec.json.decode(msgspec.json.encode(trade, enc_hook=inline_identifiers))
    assert WETH.address in str(encoded) and USDC.symbol in str(encoded)


ARRAY_COLUMNS = {
    "TradeExecution": "trade_id position_id pair reserve_currency trade_type status planned_at planned_quantity "
    "planned_reserve planned_price slippage_tolerance_bps notes started_at broadcast_at executed_at failed_at "
    "repaired_at executed_quantity_raw executed_reserve_raw executed_price lp_fees_reserve gas_fees_native_raw "
    "gas_fees_reserve failure_reason repair_note blockchain_transactions",
    "BlockchainTransaction": "tx_hash chain_id from_address to_address nonce gas_limit signed_at signed_bytes "
    "function details max_fee_per_gas max_priority_fee_per_gas gas_price status broadcast_at confirmed_at "
    "block_number block_hash gas_used effective_gas_price revert_reason drop_reason gas_fee_booked",
    "LedgerEntry": "entry_id kind asset_key amount_raw at trade_id position_id tx_hash reason",
    "PortfolioSnapshot": "at total_equity free_cash open_positions realised_pnl unrealised_pnl",
    "VisualisationMessage": "at text",
}


def test_array_columns_are_pinned() -> None:
    """These objects are JSON arrays: a column moved or inserted silently changes old files'
    meaning. Append new fields at the end (and here, and in docs/state.md); anything else
    needs SCHEMA_VERSION + 1 and a migration."""
    from tradeexecutor.state.ledger import LedgerEntry
    from tradeexecutor.state.statistics import PortfolioSnapshot
    from tradeexecutor.state.trade import TradeExecution
    from tradeexecutor.state.transaction import BlockchainTransaction
    from tradeexecutor.state.visualisation import VisualisationMessage

    for cls in (
        TradeExecution,
        BlockchainTransaction,
        LedgerEntry,
        PortfolioSnapshot,
        VisualisationMessage,
    ):
        assert cls.__struct_config__.array_like
        columns = [f.name for f in msgspec.structs.fields(cls)]
        pinned = ARRAY_COLUMNS[cls.__name__].split()
        assert columns[: len(pinned)] == pinned, f"{cls.__name__} columns changed: see this test's docstring"


def test_chunks_join_to_the_same_file_and_unseen_identifiers_trigger_a_second_pass() -> None:
    state = many_closed_positions(5_000)
    stray = AssetIdentifier(chain_id=31337, address="0x" + "99" * 20, symbol="OLDUSD", decimals=6)
    # a recently closed position (older ones are archived, and sealing registers their identifiers)
    state.portfolio.closed_positions[4_900].trades[9_799].reserve_currency = stray  # found by no pre-scan
    with pytest.raises(TablesChanged):
        b"".join(encode_state_chunks(state))
    chunks = list(encode_state_chunks(state))  # second pass: the tables kept on the state are complete
    assert len(chunks) > 10  # closed positions and ledger rows come in pieces
    data = b"".join(chunks)
    assert data == encode_state(state)
    loaded = decode_state(data)
    assert loaded == state
    assert loaded.portfolio.get_trade(9_799).reserve_currency == stray


def test_an_older_file_with_visualisation_plots_loads_and_drops_them(tmp_path: Path) -> None:
    """`visualisation.plots` (a per-name list of points nothing ever drew) is gone: the series a
    strategy draws are `state.plots`. A file written before still loads through the store,
    keeps its messages, and the next save leaves the old points out."""
    import json

    state = funded_state()
    state.visualisation.add_message(T0, "Cycle at 2024-01-01T00:00:00+00:00 skipped: node down")
    state.plots.record(T0, "fast SMA", 2001.5, pair=WETH_USDC.key, ticker="WETH-USDC")
    document = json.loads(encode_state(state))
    old_plots = {"ema": {"name": "ema", "colour": "#f00", "points": [["2024-01-01T00:00:00Z", 1.5]]}}
    document["state"]["visualisation"]["plots"] = old_plots
    path = tmp_path / "old.json"
    path.write_text(json.dumps(document))

    with JSONFileStore(path) as store:
        loaded = store.load()
        assert [m.text for m in loaded.visualisation.messages] == [
            "Cycle at 2024-01-01T00:00:00+00:00 skipped: node down"
        ]
        assert loaded.plots == state.plots
        assert not hasattr(loaded.visualisation, "plots")
        store.save(loaded)
    saved = json.loads(path.read_text())
    assert "plots" not in saved["state"]["visualisation"]
    assert saved["state"]["plots"]["series"][f"fast SMA@{WETH_USDC.key}"]["values"] == [2001.5]
    assert decode_state(path.read_bytes()) == loaded
