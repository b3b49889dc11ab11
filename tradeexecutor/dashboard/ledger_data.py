"""The ledger dashboard: every entry of one asset with its running balance, and a CSV export.

The running balance is computed over the whole ledger and then filtered by time, so the
first row of a window shows the true balance after it, as an exchange statement would.
"""

from __future__ import annotations

import csv
import datetime
import io
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from tradeexecutor.dashboard.explorer import tx_url
from tradeexecutor.dashboard.timewindow import BadQuery, TimeWindow
from tradeexecutor.reporting.csv_safety import spreadsheet_safe
from tradeexecutor.state.identifiers import AssetIdentifier
from tradeexecutor.state.state import State

KIND_LABELS = {
    "trade": "trade",
    "gas_fee": "gas",
    "deposit": "deposit",
    "withdrawal": "withdrawal",
    "drift": "drift",
}


@dataclass(frozen=True, slots=True)
class LedgerRow:
    entry_id: int
    at: datetime.datetime
    kind: str
    amount: Decimal
    balance: Decimal
    trade_id: int | None
    position_id: int | None
    tx_hash: str | None
    tx_url: str | None
    reason: str


def ledger_assets(state: State) -> list[AssetIdentifier]:
    """Assets with ledger entries: the reserve first, then by symbol."""
    reserve = state.portfolio.reserve_key
    assets = list(state.ledger.assets.values())
    return sorted(assets, key=lambda a: (a.key != reserve, a.symbol.upper(), a.key))


def choose_asset(state: State, wanted: str | None) -> AssetIdentifier | None:
    """`?asset=` by asset key (`chain:address`) or symbol; default the reserve currency."""
    assets = ledger_assets(state)
    if not wanted:
        return assets[0] if assets else None
    text = wanted.strip()
    for asset in assets:
        if asset.key == text.lower():
            return asset
    matches = [a for a in assets if a.symbol.upper() == text.upper()]
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(a.symbol for a in assets) or "none yet"
    if len(matches) > 1:
        raise BadQuery(
            f"asset={wanted!r} is ambiguous: use the asset key (chain:address) instead of the symbol."
        )
    raise BadQuery(f"asset={wanted!r} has no ledger entries: choose one of {known}.")


def ledger_rows(
    state: State, asset: AssetIdentifier, window: TimeWindow, explorer_override: str | None = None
) -> list[LedgerRow]:
    """Entries of `asset` inside the window, oldest first, each with the balance after it."""
    rows = []
    balance = 0
    swap_hashes, labels = _trade_index(state)
    for e in state.ledger.entries:
        if e.asset_key != asset.key:
            continue
        balance += e.amount_raw
        if not window.contains(e.at):
            continue
        rows.append(
            LedgerRow(
                entry_id=e.entry_id,
                at=e.at,
                kind=KIND_LABELS.get(e.kind.value, e.kind.value),
                amount=asset.to_decimal(e.amount_raw),
                balance=asset.to_decimal(balance),
                trade_id=e.trade_id,
                position_id=e.position_id,
                tx_hash=(tx := e.tx_hash or swap_hashes.get(e.trade_id)),
                tx_url=tx_url(asset.chain_id, tx, explorer_override),
                reason=e.reason or _describe(e.kind.value, e.trade_id, labels),
            )
        )
    return rows


def _trade_index(state: State) -> tuple[dict[int | None, str], dict[int | None, str]]:
    """(swap tx hash, "buy WETH-USDC") per trade id: a fill's ledger entry carries neither."""
    hashes: dict[int | None, str] = {}
    labels: dict[int | None, str] = {}
    for trade in state.portfolio.all_trades():
        swaps = [tx for tx in trade.blockchain_transactions if tx.function != "approve"]
        if swaps:
            hashes[trade.trade_id] = swaps[-1].tx_hash
        labels[trade.trade_id] = f"{'buy' if trade.is_buy else 'sell'} {trade.pair.ticker}"
    return hashes, labels


def _describe(kind: str, trade_id: int | None, labels: dict[int | None, str]) -> str:
    label = labels.get(trade_id)
    if label is None:
        return ""
    return f"{label} ({'gas' if kind == 'gas_fee' else 'fill'})"


CSV_HEADER = [
    "entry_id",
    "time_utc",
    "kind",
    "amount",
    "balance",
    "symbol",
    "trade_id",
    "position_id",
    "tx_hash",
    "reason",
]


def ledger_csv(rows: Iterable[LedgerRow], asset: AssetIdentifier) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for r in rows:
        writer.writerow(
            [
                r.entry_id,
                r.at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                r.kind,
                f"{r.amount:f}",
                f"{r.balance:f}",
                spreadsheet_safe(asset.symbol),
                "" if r.trade_id is None else r.trade_id,
                "" if r.position_id is None else r.position_id,
                r.tx_hash or "",
                spreadsheet_safe(r.reason),
            ]
        )
    return out.getvalue()
