"""Exact decimal text, table rounding and export file naming: the parts that need no chain."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradeexecutor.errors import UserError
from tradeexecutor.toolbox.export import output_paths
from tradeexecutor.toolbox.positions import exact, rounded


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("1E-6"), "0.000001"),
        (Decimal("100.500"), "100.5"),
        (Decimal("1E+3"), "1000"),
        (Decimal("-0.000"), "0"),
        (Decimal(2**256 - 1).scaleb(-18), f"{Decimal(2**256 - 1).scaleb(-18):f}"),
    ],
)
def test_exact_is_plain_positional_text(value: Decimal, text: str) -> None:
    assert exact(value) == text


@given(st.integers(min_value=-(2**256), max_value=2**256), st.integers(min_value=0, max_value=30))
def test_exact_reads_back_to_the_same_number(raw: int, decimals: int) -> None:
    value = Decimal(raw).scaleb(-decimals)
    text = exact(value)
    assert text is not None and "E" not in text and Decimal(text) == value


def test_rounded_cells() -> None:
    assert rounded(Decimal("1234.5678"), 2) == "1,234.57"
    assert rounded(Decimal("0.10"), 8) == "0.1"
    assert rounded(Decimal(2**256), 2) == f"{2**256:,}"  # never overflows the decimal context
    assert rounded(None, 2) == "-"


def test_output_paths(tmp_path: Path) -> None:
    assert output_paths(tmp_path, None) == (tmp_path / "trades.csv", tmp_path / "ledger.csv", "csv")
    assert output_paths(tmp_path / "new", "PARQUET") == (
        tmp_path / "new" / "trades.parquet",
        tmp_path / "new" / "ledger.parquet",
        "parquet",
    )
    assert output_paths(tmp_path / "t.parquet", None) == (
        tmp_path / "t.parquet",
        tmp_path / "t.ledger.parquet",
        "parquet",
    )
    with pytest.raises(UserError, match="make them agree"):
        output_paths(tmp_path / "t.csv", "parquet")
    with pytest.raises(UserError, match="use --export-format csv or --export-format parquet"):
        output_paths(tmp_path, "xlsx")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(UserError, match="existing file"):
        output_paths(tmp_path / "notes.txt", None)


def test_csv_text_cells_never_become_spreadsheet_formulas() -> None:
    from tradeexecutor.toolbox.export import Kind, csv_bytes

    columns = [("pair", Kind.text), ("notes", Kind.text), ("amount", Kind.amount), ("trade_id", Kind.int)]
    rows = [
        {"pair": '=HYPERLINK("http://x")-USDC', "notes": "@SUM(A1)", "amount": Decimal("-5"), "trade_id": 7}
    ]
    text = csv_bytes(columns, rows).decode()
    assert "'=HYPERLINK" in text and "'@SUM(A1)" in text
    assert text.rstrip().endswith(",-5,7")  # numbers stay numbers


def test_a_close_never_accepts_less_than_the_minimum_the_operator_saw() -> None:
    from types import SimpleNamespace

    from tradeexecutor.toolbox.close import CloseQuote, slippage_keeping_minimum

    def quote(expected: str, slippage_bps: int = 50) -> CloseQuote:
        e = Decimal(expected)
        return CloseQuote(
            position=SimpleNamespace(),
            quantity=Decimal(1),
            price=e,
            expected_reserve=e,
            minimum_reserve=e * (10_000 - slippage_bps) / 10_000,
            reserve_symbol="USDC",
        )

    shown = quote("1000")  # at least 995
    assert slippage_keeping_minimum(shown, quote("1000"), 50) == 50  # nothing moved
    assert slippage_keeping_minimum(shown, quote("1100"), 50) == 50  # never more than --max-slippage
    tighter = slippage_keeping_minimum(shown, quote("997"), 50)
    assert tighter is not None and Decimal(997) * (10_000 - tighter) / 10_000 >= Decimal(995)
    assert tighter < 50
    assert slippage_keeping_minimum(shown, quote("995"), 50) is None  # fell to the minimum: refuse
    assert slippage_keeping_minimum(shown, quote("900"), 50) is None


def test_frames_are_numeric_and_parquet_keeps_every_digit(tmp_path: Path) -> None:
    import pandas as pd
    import pyarrow.parquet as pq

    from tests.dashboard.test_dashboard_units import traded_state
    from tradeexecutor.toolbox.export import export_state, ledger_frame, trades_frame

    state = traded_state()
    trades = trades_frame(state)
    numeric = ("executed_quantity", "executed_reserve", "executed_price", "gas_fees_reserve", "planned_price")
    assert all(pd.api.types.is_float_dtype(trades[c]) for c in numeric)
    assert str(trades["executed_quantity_raw"].dtype) == "Int64" and str(trades["trade_id"].dtype) == "Int64"
    assert str(trades["executed_at"].dtype) == "datetime64[us, UTC]"
    assert trades["executed_quantity"].tolist() == [1.0, -0.5]
    assert trades["executed_quantity_raw"].tolist() == [10**18, -(5 * 10**17)]
    assert trades["executed_reserve"].sum() == 3050.0  # maths works without Decimal objects
    ledger = ledger_frame(state)
    assert pd.api.types.is_float_dtype(ledger["amount"]) and ledger["amount_raw"].sum() == sum(
        e.amount_raw for e in state.ledger.entries
    )

    # a whale: more than int64 raw units stays exact in Parquet and as Python ints in the frame
    from tests.state.factories import T0, WETH, hours

    state.record_deposit(WETH, 2**100, T0 + hours(5), reason="whale")
    assert ledger_frame(state)["amount_raw"].iloc[-1] == 2**100
    export_state(state, tmp_path, "parquet")
    rows = pq.read_table(tmp_path / "ledger.parquet").to_pylist()
    assert rows[-1]["amount_raw"] == 2**100 and rows[-1]["amount"] == WETH.to_decimal(2**100)
    assert rows[-1]["amount"].as_tuple().exponent == -18  # WETH's scale


def test_parquet_refuses_a_number_it_cannot_hold_in_one_sentence(tmp_path: Path) -> None:
    from tradeexecutor.toolbox.export import Kind, write_parquet

    with pytest.raises(UserError, match="too many digits for a Parquet decimal .*--export-format csv"):
        write_parquet(tmp_path / "x.parquet", [("amount_raw", Kind.raw)], [{"amount_raw": 2**256 - 1}])
    assert not list(tmp_path.iterdir())  # nothing half written
