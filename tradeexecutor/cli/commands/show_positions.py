"""`trade-executor show-positions`: open, frozen and closed positions from the state file alone.

Reads the state without its lock and without a node, so it works next to a running executor
and while the chain is unreachable. `--json` prints the same rows with exact decimal strings.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import typer

from tradeexecutor.cli.options import Id, JsonOutput, StateFile, StrategyFile

if TYPE_CHECKING:
    from pathlib import Path

    from tradeexecutor.toolbox.positions import PositionRow, ReserveSummary


def show_positions(
    strategy_file: StrategyFile = None,
    state_file: StateFile = None,
    id: Id = None,
    json_output: JsonOutput = False,
) -> None:
    """List open, frozen and closed positions (pair, size, value, PnL, dates, last trade) from the state file."""
    from tradeexecutor.execution.live.state_access import state_path
    from tradeexecutor.state.store import JSONFileStore
    from tradeexecutor.toolbox.positions import position_rows, reserve_summary

    path = state_path(state_file, strategy_file, id)
    state = JSONFileStore(path, read_only=True).load()
    rows = position_rows(state)
    summary = reserve_summary(state)
    if json_output:
        document = {
            "state_file": str(path),
            "strategy_id": state.strategy_id,
            "last_updated_at": state.last_updated_at.isoformat(),
            "reserve": summary.to_json() if summary else None,
            "positions": [r.to_json() for r in rows],
        }
        typer.echo(json.dumps(document, indent=2))
        return
    _print_table(path, state.strategy_id, rows, summary)


def _print_table(
    path: Path, strategy_id: str, rows: list[PositionRow], summary: ReserveSummary | None
) -> None:
    from rich.console import Console
    from rich.table import Table

    from tradeexecutor.toolbox.positions import rounded

    # A pipe gets a wide console: a script or a log should see whole cells, not ellipses.
    console = Console(width=None if sys.stdout.isatty() else 240, highlight=False)
    title = f"Positions in {path}" + (f" ({strategy_id})" if strategy_id else "")
    if not rows:
        console.print(f"{title}: none.")
    else:
        table = Table(title=title, title_justify="left")
        for name, justify in (
            ("ID", "right"),
            ("Status", "left"),
            ("Pair", "left"),
            ("Size", "right"),
            ("Value", "right"),
            ("PnL", "right"),
            ("PnL %", "right"),
            ("Opened (UTC)", "left"),
            ("Closed/frozen (UTC)", "left"),
            ("Last trade", "left"),
        ):
            table.add_column(name, justify=justify)  # type: ignore[arg-type]
        for r in rows:
            size = r.quantity if r.status != "closed" else r.bought_quantity
            ended = r.closed_at or r.frozen_at
            pct = rounded(r.pnl_pct * 100, 2) + " %" if r.pnl_pct is not None else "-"
            table.add_row(
                str(r.position_id),
                r.status,
                r.pair,
                f"{rounded(size, 8)} {r.base_symbol}",
                f"{rounded(r.value, 2)} {r.reserve_symbol}",
                f"{rounded(r.pnl, 2)} {r.reserve_symbol}",
                pct,
                _minute(r.opened_at),
                _minute(ended),
                r.last_trade or "-",
            )
        console.print(table)
        for r in rows:
            if r.status == "frozen":
                console.print(
                    f"Position #{r.position_id} is frozen: {r.frozen_reason}. "
                    "Run `trade-executor repair` to see what is unfinished, `repair --yes` to resolve it."
                )
    if summary is None:
        console.print("Reserve: none booked yet (the wallet was never synced).")
    else:
        sync = f", last synced {_minute(summary.last_sync_at)} UTC" if summary.last_sync_at else ""
        console.print(
            f"Reserve: {rounded(summary.cash, 6)} {summary.symbol} cash ({rounded(summary.free_cash, 6)} free), "
            f"positions {rounded(summary.positions_value, 2)}, total equity {rounded(summary.total_equity, 2)} "
            f"{summary.symbol}{sync}. Values are the last booked valuations."
        )


def _minute(iso: str | None) -> str:
    return "-" if iso is None else iso[:16].replace("T", " ")
