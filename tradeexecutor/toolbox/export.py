"""Every trade and ledger entry as flat rows for accountants: CSV, Parquet or a DataFrame.

- **CSV**: amounts are exact decimal text (`Decimal(text)` reads them back without loss).
- **Parquet**: amounts are decimal columns (`decimal256`, read back as `Decimal`): a token
  amount column has the scale of its token (18 for WETH, 6 for USDC; a column mixing tokens
  takes the largest), so every amount is exact; derived values (planned amounts, prices,
  fees valued in the reserve currency) are rounded to 18 decimals; raw token units are
  decimals of scale 0. decimal256 holds 76 digits: a number with more (10^76 units, far
  beyond any real balance) stops the export with a sentence pointing to CSV.
- **DataFrame** (`trades_frame`, `ledger_frame`): numbers are numbers, for analysis: amounts
  and values as float64 beside the exact raw integers (`*_raw`), ids as nullable Int64,
  times as UTC datetimes.

Timestamps are ISO 8601 in UTC in CSV and UTC timestamps elsewhere. Files are written to a
temporary name and renamed, so a reader never sees half an export.
"""

from __future__ import annotations

import contextlib
import csv
import io
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

from tradeexecutor.errors import UserError
from tradeexecutor.reporting.csv_safety import spreadsheet_safe
from tradeexecutor.state.filewrite import replacing
from tradeexecutor.state.identifiers import AssetIdentifier, native_token
from tradeexecutor.state.ledger import LedgerKind
from tradeexecutor.state.state import State
from tradeexecutor.state.trade import TradeExecution
from tradeexecutor.toolbox.positions import exact


class Kind(StrEnum):
    int = "int"
    text = "text"
    time = "time"
    amount = "amount"  # a token amount, exact at its token's scale
    value = "value"  # a derived decimal (a price, a planned amount, a fee valued in reserve)
    raw = "raw"  # an integer number of token units, any size


VALUE_SCALE = 18  # decimals kept of derived values in Parquet
PARQUET_PRECISION = 76  # decimal256's largest


Columns = Sequence[tuple[str, Kind]]

TRADE_COLUMNS: Columns = (
    ("trade_id", Kind.int),
    ("position_id", Kind.int),
    ("trade_type", Kind.text),
    ("status", Kind.text),
    ("side", Kind.text),
    ("pair", Kind.text),
    ("chain_id", Kind.int),
    ("exchange", Kind.text),
    ("pool_address", Kind.text),
    ("base_symbol", Kind.text),
    ("base_address", Kind.text),
    ("quote_symbol", Kind.text),
    ("quote_address", Kind.text),
    ("reserve_symbol", Kind.text),
    ("reserve_address", Kind.text),
    ("planned_at", Kind.time),
    ("executed_at", Kind.time),
    ("failed_at", Kind.time),
    ("planned_quantity", Kind.value),
    ("planned_reserve", Kind.value),
    ("planned_price", Kind.value),
    ("executed_quantity", Kind.amount),
    ("executed_quantity_raw", Kind.raw),
    ("executed_reserve", Kind.amount),
    ("executed_reserve_raw", Kind.raw),
    ("executed_price", Kind.value),
    ("lp_fees_reserve", Kind.value),
    ("gas_fees_native", Kind.amount),
    ("gas_fees_native_raw", Kind.raw),
    ("native_symbol", Kind.text),
    ("gas_fees_reserve", Kind.value),
    ("swap_tx_hash", Kind.text),
    ("tx_hashes", Kind.text),
    ("block_number", Kind.int),
    ("failure_reason", Kind.text),
    ("notes", Kind.text),
)

LEDGER_COLUMNS: Columns = (
    ("entry_id", Kind.int),
    ("at", Kind.time),
    ("kind", Kind.text),
    ("chain_id", Kind.int),
    ("asset_symbol", Kind.text),
    ("asset_address", Kind.text),
    ("amount", Kind.amount),
    ("amount_raw", Kind.raw),
    ("gas_fee_reserve", Kind.value),
    ("reserve_symbol", Kind.text),
    ("trade_id", Kind.int),
    ("position_id", Kind.int),
    ("tx_hash", Kind.text),
    ("reason", Kind.text),
)

FORMATS = ("csv", "parquet")


def _native_asset(state: State, chain_id: int) -> AssetIdentifier:
    gas = state.portfolio.gas_holding()
    return gas.asset if gas is not None else native_token(chain_id)


def trade_rows(state: State) -> list[dict[str, Any]]:
    """One row per trade of every position, in trade id order."""
    trades = sorted(state.portfolio.all_trades(), key=lambda t: t.trade_id)
    return [_trade_row(state, t) for t in trades]


def _trade_row(state: State, t: TradeExecution) -> dict[str, Any]:
    native = _native_asset(state, t.pair.chain_id)
    txs = t.blockchain_transactions
    swaps = [tx for tx in txs if tx.function.startswith("swap")]
    mined = [tx.block_number for tx in txs if tx.block_number is not None]
    executed = t.executed_quantity_raw is not None
    return {
        "trade_id": t.trade_id,
        "position_id": t.position_id,
        "trade_type": str(t.trade_type),
        "status": str(t.status),
        "side": "buy" if t.is_buy else "sell",
        "pair": t.pair.ticker,
        "chain_id": t.pair.chain_id,
        "exchange": t.pair.exchange_slug,
        "pool_address": t.pair.pool_address,
        "base_symbol": t.pair.base.symbol,
        "base_address": t.pair.base.address,
        "quote_symbol": t.pair.quote.symbol,
        "quote_address": t.pair.quote.address,
        "reserve_symbol": t.reserve_currency.symbol,
        "reserve_address": t.reserve_currency.address,
        "planned_at": t.planned_at,
        "executed_at": t.executed_at,
        "failed_at": t.failed_at,
        "planned_quantity": t.planned_quantity,
        "planned_reserve": t.planned_reserve,
        "planned_price": t.planned_price,
        "executed_quantity": t.executed_quantity if executed else None,
        "executed_quantity_raw": t.executed_quantity_raw,
        "executed_reserve": t.executed_reserve if t.executed_reserve_raw is not None else None,
        "executed_reserve_raw": t.executed_reserve_raw,
        "executed_price": t.executed_price,
        "lp_fees_reserve": t.lp_fees_reserve,
        "gas_fees_native": native.to_decimal(t.gas_fees_native_raw),
        "gas_fees_native_raw": t.gas_fees_native_raw,
        "native_symbol": native.symbol,
        "gas_fees_reserve": t.gas_fees_reserve,
        "swap_tx_hash": swaps[-1].tx_hash if swaps else None,
        "tx_hashes": " ".join(tx.tx_hash for tx in txs) or None,
        "block_number": max(mined) if mined else None,
        "failure_reason": t.failure_reason,
        "notes": t.notes or None,
    }


def ledger_rows(state: State) -> list[dict[str, Any]]:
    """One row per ledger entry, in booking order; gas entries of a trade carry their reserve value."""
    trades = {t.trade_id: t for t in state.portfolio.all_trades()}
    reserve_symbol = None
    if state.portfolio.reserve_key is not None and state.portfolio.reserve_key in state.portfolio.reserves:
        reserve_symbol = state.portfolio.reserve_holding().asset.symbol
    rows = []
    for e in state.ledger.entries:
        asset = state.ledger.assets[e.asset_key]
        gas_reserve = None
        trade = trades.get(e.trade_id) if e.trade_id is not None else None
        if e.kind == LedgerKind.gas_fee and trade is not None and trade.gas_fees_native_raw:
            # a trade's gas value is booked per trade; each transaction gets its share
            gas_reserve = trade.gas_fees_reserve * Decimal(-e.amount_raw) / Decimal(trade.gas_fees_native_raw)
        rows.append(
            {
                "entry_id": e.entry_id,
                "at": e.at,
                "kind": str(e.kind),
                "chain_id": asset.chain_id,
                "asset_symbol": asset.symbol,
                "asset_address": asset.address,
                "amount": asset.to_decimal(e.amount_raw),
                "amount_raw": e.amount_raw,
                "gas_fee_reserve": gas_reserve,
                "reserve_symbol": reserve_symbol if gas_reserve is not None else None,
                "trade_id": e.trade_id,
                "position_id": e.position_id,
                "tx_hash": e.tx_hash,
                "reason": e.reason or None,
            }
        )
    return rows


# ---- output -----------------------------------------------------------------------------


def iso_utc(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(UTC).isoformat()


def _csv_cell(value: Any, kind: Kind) -> str:
    if value is None:
        return ""
    if kind == Kind.time:
        return iso_utc(value)
    if kind in (Kind.amount, Kind.value):
        return exact(value) or ""
    return spreadsheet_safe(str(value)) if kind == Kind.text else str(value)


def csv_bytes(columns: Columns, rows: list[dict[str, Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([name for name, _ in columns])
    for row in rows:
        writer.writerow([_csv_cell(row[name], kind) for name, kind in columns])
    return buffer.getvalue().encode("utf-8")


@contextlib.contextmanager
def _output(path: Path) -> Iterator[Path]:
    """A temp file to fill that then replaces `path` atomically; a failure is one sentence."""
    try:
        with replacing(path) as tmp:
            yield tmp
    except OSError as e:
        raise UserError(f"Cannot write {path} ({e.strerror}): check --output and its permissions.") from None


def write_csv(path: Path, columns: Columns, rows: list[dict[str, Any]]) -> None:
    data = csv_bytes(columns, rows)
    with _output(path) as tmp:
        tmp.write_bytes(data)


def _places(value: Decimal) -> int:
    """Decimal places as written: a token amount from `AssetIdentifier.to_decimal` carries its
    token's (1 WETH is 1.000000000000000000)."""
    exponent = value.as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _decimal_column(name: str, kind: Kind, values: list[Decimal | int | None]) -> tuple[Any, Any]:
    """(pyarrow type, values) of an amount, value or raw column; UserError if one cannot fit."""
    import pyarrow as pa

    numbers = [None if v is None else Decimal(v) for v in values]
    if kind == Kind.value:
        scale = VALUE_SCALE
        numbers = [None if v is None else v.quantize(Decimal(1).scaleb(-scale)) for v in numbers]
    else:  # exact: the column takes the scale of the token with the most decimals in it
        scale = max((_places(v) for v in numbers if v is not None), default=0)
    for v in numbers:
        if v is not None and v.adjusted() + 1 + scale > PARQUET_PRECISION:
            raise UserError(
                f"The {name} {v} has too many digits for a Parquet decimal ({PARQUET_PRECISION}); "
                "export it with --export-format csv, which keeps any number of digits."
            )
    return pa.decimal256(PARQUET_PRECISION, scale), numbers


def write_parquet(path: Path, columns: Columns, rows: list[dict[str, Any]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    types = {Kind.int: pa.int64(), Kind.text: pa.string(), Kind.time: pa.timestamp("us", tz="UTC")}
    fields, arrays = [], []
    for name, kind in columns:
        values = [row[name] for row in rows]
        if kind in (Kind.amount, Kind.value, Kind.raw):
            arrow_type, values = _decimal_column(name, kind, values)
        else:
            arrow_type = types[kind]
            if kind == Kind.time:
                values = [v.astimezone(UTC) if v is not None else None for v in values]
        fields.append(pa.field(name, arrow_type))
        arrays.append(pa.array(values, type=arrow_type))
    table = pa.Table.from_arrays(arrays, schema=pa.schema(fields))

    with _output(path) as tmp:
        pq.write_table(table, tmp)


def rows_frame(columns: Columns, rows: list[dict[str, Any]]) -> Any:
    """A pandas DataFrame with numeric columns: amounts and values float64 (NaN when
    missing), raw units as Int64
    (Python ints where one exceeds int64), ids Int64, times UTC datetimes."""
    import numpy as np
    import pandas as pd

    data: dict[str, Any] = {}
    for name, kind in columns:
        values = [row[name] for row in rows]
        if kind in (Kind.amount, Kind.value):
            data[name] = np.array([np.nan if v is None else float(v) for v in values], dtype="float64")
        elif kind in (Kind.int, Kind.raw):
            try:
                data[name] = pd.array(values, dtype="Int64")
            except (OverflowError, TypeError):
                data[name] = pd.array(values, dtype=object)
        elif kind == Kind.time:
            data[name] = pd.to_datetime(values, utc=True).as_unit("us")
        else:
            data[name] = pd.array(values, dtype="string")
    return pd.DataFrame(data)


def trades_frame(state: State) -> Any:
    """`trade_rows` as a DataFrame for analysis (see the module docstring)."""
    return rows_frame(TRADE_COLUMNS, trade_rows(state))


def ledger_frame(state: State) -> Any:
    """`ledger_rows` as a DataFrame for analysis (see the module docstring)."""
    return rows_frame(LEDGER_COLUMNS, ledger_rows(state))


def output_paths(output: Path, fmt: str | None) -> tuple[Path, Path, str]:
    """(trades file, ledger file, format) for an --output directory or trades file name."""
    suffix = output.suffix.lower().lstrip(".")
    is_file = suffix in FORMATS and not output.is_dir()
    if fmt is not None:
        fmt = fmt.strip().lower()
        if fmt not in FORMATS:
            raise UserError(
                f"Unknown export format {fmt!r}: use --export-format csv or --export-format parquet."
            )
        if is_file and suffix != fmt:
            raise UserError(
                f"--output {output} ends in .{suffix} but --export-format is {fmt}: make them agree."
            )
    chosen = fmt or (suffix if is_file else "csv")
    if is_file:
        return output, output.with_name(f"{output.stem}.ledger.{chosen}"), chosen
    if output.exists() and not output.is_dir():
        raise UserError(
            f"--output {output} is an existing file that is not .csv or .parquet: give a directory or a "
            "trades file name ending in .csv or .parquet."
        )
    return output / f"trades.{chosen}", output / f"ledger.{chosen}", chosen


def export_state(state: State, output: Path, fmt: str | None = None) -> tuple[Path, Path, int, int]:
    """Write trades and ledger; return (trades path, ledger path, trade count, entry count)."""
    trades_path, ledger_path, chosen = output_paths(output, fmt)
    try:
        trades_path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"Cannot create {trades_path.parent} ({e.strerror}): check --output.") from None
    trades, ledger = trade_rows(state), ledger_rows(state)
    write = write_csv if chosen == "csv" else write_parquet
    write(trades_path, TRADE_COLUMNS, trades)
    write(ledger_path, LEDGER_COLUMNS, ledger)
    return trades_path, ledger_path, len(trades), len(ledger)
