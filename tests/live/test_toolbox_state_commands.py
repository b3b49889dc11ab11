"""show-positions, export-trades and reset-state on a state made by real trades on the devchain."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from decimal import Decimal

import pyarrow.parquet as pq

from tests.live.toolbox import hold_lock, one_sentence_error, release
from tradeexecutor.state.time import utcnow


def make_history(operator) -> None:
    """A closed WETH position (bought, sold by close-all), an open DEV position and a frozen WETH one."""
    operator.open("WETH-USDC", Decimal(300))
    assert operator.run("close-all", "--yes").returncode == 0
    operator.live.state = operator.load()
    operator.open("DEV-USDC", Decimal(50))
    frozen = operator.open("WETH-USDC", Decimal(25))
    state = operator.live.state
    state.freeze_position(state.portfolio.open_positions[frozen], utcnow(), "operator is checking it")
    operator.live.checkpoint()


def test_show_positions_table_and_json_from_the_file_alone(operator) -> None:
    make_history(operator)
    dead = "http://127.0.0.1:9/"  # no node needed, and the lock of a running executor does not matter
    holder = hold_lock(operator.state_path)
    try:
        table = operator.run("show-positions", JSON_RPC_ANVIL=dead)
        as_json = operator.run("show-positions", "--json", JSON_RPC_ANVIL=dead)
    finally:
        release(holder)
    assert table.returncode == 0, table.stderr
    rows = {line.split("│")[1].strip(): line for line in table.stdout.splitlines() if line.count("│") > 5}
    assert set(rows) == {"1", "2", "3"}
    assert "open" in rows["2"] and "DEV-USDC" in rows["2"] and "DEV" in rows["2"] and "50 USDC" in rows["2"]
    assert "frozen" in rows["3"] and "#4 buy rebalance success" in rows["3"]
    assert "closed" in rows["1"] and "#2 sell manual success" in rows["1"]
    assert (
        "Position #3 is frozen: operator is checking it." in table.stdout and "repair --yes" in table.stdout
    )
    assert "total equity" in table.stdout

    assert as_json.returncode == 0, as_json.stderr
    document = json.loads(as_json.stdout)
    state = operator.load()
    by_id = {p["position_id"]: p for p in document["positions"]}
    assert [p["status"] for p in document["positions"]] == ["open", "frozen", "closed"]
    dev = state.portfolio.open_positions[2]
    assert Decimal(by_id[2]["quantity"]) == dev.quantity and Decimal(by_id[2]["value"]) == dev.value()
    closed = state.portfolio.closed_positions[1]
    assert Decimal(by_id[1]["realised_pnl"]) == closed.realised_profit() < 0  # fees both ways
    assert by_id[1]["closed_at"] == closed.closed_at.isoformat()
    assert by_id[3]["frozen_reason"] == "operator is checking it"
    assert Decimal(document["reserve"]["cash"]) == state.portfolio.cash()


def test_export_trades_csv_and_parquet_read_back_exactly(operator) -> None:
    make_history(operator)
    state = operator.load()
    trades = sorted(state.portfolio.all_trades(), key=lambda t: t.trade_id)

    out = operator.run("export-trades", "--output", "books")
    assert out.returncode == 0, out.stderr
    assert f"Wrote {len(trades)} trade(s) to books/trades.csv" in out.stdout
    with open(operator.dir / "books" / "trades.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    with open(operator.dir / "books" / "ledger.csv", newline="") as f:
        ledger = list(csv.DictReader(f))

    assert [int(r["trade_id"]) for r in rows] == [t.trade_id for t in trades]
    for row, trade in zip(rows, trades, strict=True):
        assert Decimal(row["executed_quantity"]) == trade.executed_quantity
        assert Decimal(row["executed_reserve"]) == trade.executed_reserve
        assert Decimal(row["executed_price"]) == trade.executed_price
        assert Decimal(row["planned_price"]) == trade.planned_price
        assert Decimal(row["gas_fees_native"]) == Decimal(trade.gas_fees_native_raw).scaleb(-18) > 0
        assert Decimal(row["gas_fees_reserve"]) == trade.gas_fees_reserve > 0
        assert row["native_symbol"] == "ETH" and row["reserve_symbol"] == "USDC"
        assert (
            row["base_address"] == trade.pair.base.address and row["pool_address"] == trade.pair.pool_address
        )
        assert row["swap_tx_hash"] == trade.blockchain_transactions[-1].tx_hash
        assert datetime.fromisoformat(row["executed_at"]) == trade.executed_at
        assert row["executed_at"].endswith("+00:00") and "E" not in row["executed_quantity"]
    assert rows[1]["trade_type"] == "manual" and rows[1]["side"] == "sell"

    assert len(ledger) == len(state.ledger.entries)
    for row, entry in zip(ledger, state.ledger.entries, strict=True):
        asset = state.ledger.assets[entry.asset_key]
        assert int(row["amount_raw"]) == entry.amount_raw
        assert Decimal(row["amount"]) == asset.to_decimal(entry.amount_raw)
        assert row["asset_symbol"] == asset.symbol and row["asset_address"] == asset.address
    sums: dict[str, int] = {}
    for row in ledger:
        sums[row["asset_address"].lower()] = sums.get(row["asset_address"].lower(), 0) + int(
            row["amount_raw"]
        )
    assert {k: v for k, v in sums.items() if v} == {
        key.split(":")[1]: v for key, v in state.ledger.balances().items() if v
    }
    gas_rows = [r for r in ledger if r["kind"] == "gas_fee" and r["trade_id"]]
    for trade in trades:
        shares = [Decimal(r["gas_fee_reserve"]) for r in gas_rows if int(r["trade_id"]) == trade.trade_id]
        assert abs(sum(shares) - trade.gas_fees_reserve) < Decimal("1e-20")

    parquet = operator.run("export-trades", "--export-format", "parquet", "--output", "books")
    assert parquet.returncode == 0, parquet.stderr
    parquet_trades = pq.read_table(operator.dir / "books" / "trades.parquet")
    table = parquet_trades.to_pylist()
    # decimal columns at the token's scale: exact Decimals, not strings
    assert str(parquet_trades.schema.field("executed_reserve").type) == "decimal256(76, 6)"  # USDC
    assert str(parquet_trades.schema.field("executed_quantity").type) == "decimal256(76, 18)"  # WETH
    assert [r["executed_reserve"] for r in table] == [t.executed_reserve for t in trades]
    assert [r["executed_quantity_raw"] for r in table] == [t.executed_quantity_raw for t in trades]
    assert table[0]["executed_at"] == trades[0].executed_at and table[0]["executed_at"].tzinfo is not None
    assert table[0]["executed_at"].utcoffset().total_seconds() == 0
    ledger_pq = pq.read_table(operator.dir / "books" / "ledger.parquet").to_pylist()
    assert [r["amount"] for r in ledger_pq] == [Decimal(r["amount"]) for r in ledger]
    assert [r["amount_raw"] for r in ledger_pq] == [e.amount_raw for e in state.ledger.entries]

    single = operator.run("export-trades", "--output", "tax/2024.csv")
    assert single.returncode == 0, single.stderr
    assert (operator.dir / "tax" / "2024.csv").exists() and (
        operator.dir / "tax" / "2024.ledger.csv"
    ).exists()
    one_sentence_error(
        operator.run("export-trades", "--output", "x.csv", "--export-format", "parquet"), "make them agree"
    )
    one_sentence_error(
        operator.run("export-trades", "--export-format", "xlsx"),
        "use --export-format csv or --export-format parquet",
    )

    default = operator.run("export-trades")
    assert default.returncode == 0 and (operator.dir / "state-export" / "trades.csv").exists()


def test_reset_state_keeps_a_backup_and_asks(operator) -> None:
    operator.open("WETH-USDC", Decimal(100))
    before = operator.state_path.read_bytes()

    refused = operator.run("reset-state")  # a script without --yes: stdin is empty
    one_sentence_error(refused, "was not reset: it was not confirmed")
    assert "1 open, 0 frozen, 0 closed positions" in refused.stdout
    assert "WARNING: positions #1 " in refused.stdout and "close-all" in refused.stdout
    assert operator.state_path.read_bytes() == before

    holder = hold_lock(operator.state_path)
    try:
        one_sentence_error(operator.run("reset-state", "--yes"), f"(PID {holder.pid})")
    finally:
        release(holder)

    done = operator.run("reset-state", input="y\n")
    assert done.returncode == 0, done.stderr
    (backup,) = operator.dir.glob("state.json.reset-*")
    assert backup.read_bytes() == before
    assert f"The old state is kept as {backup}" in done.stdout
    fresh = operator.load()
    assert not list(fresh.portfolio.all_positions()) and not fresh.ledger.entries

    # a state that does not even load can be reset too
    operator.state_path.write_text('{"not": "a state"')
    corrupt = operator.run("reset-state", "--yes")
    assert corrupt.returncode == 0, corrupt.stderr
    assert "cannot be loaded" in corrupt.stdout
    assert len(list(operator.dir.glob("state.json.reset-*"))) == 2
    assert not list(operator.load().portfolio.all_positions())
    assert datetime.now(UTC) >= operator.load().created_at
