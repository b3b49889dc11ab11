"""`trade-executor export-trades`: every trade and ledger entry to CSV or Parquet for accounting.

Read-only: takes no lock and needs no node, so it can run next to a live executor.
"""

from __future__ import annotations

from pathlib import Path

import typer

from tradeexecutor.cli.options import ExportFormat, ExportOutput, Id, StateFile, StrategyFile


def export_trades(
    strategy_file: StrategyFile = None,
    state_file: StateFile = None,
    id: Id = None,
    format: ExportFormat = None,
    output: ExportOutput = None,
) -> None:
    """Write every trade and ledger entry to trades.csv + ledger.csv (or Parquet): exact amounts, UTC times."""
    from tradeexecutor.execution.live.state_access import state_path
    from tradeexecutor.state.store import JSONFileStore
    from tradeexecutor.toolbox.export import export_state

    path = state_path(state_file, strategy_file, id)
    state = JSONFileStore(path, read_only=True).load()
    target = output if output is not None else default_output(path)
    trades_path, ledger_path, trades, entries = export_state(state, target, format)
    typer.echo(f"Wrote {trades} trade(s) to {trades_path}")
    typer.echo(f"Wrote {entries} ledger entr{'y' if entries == 1 else 'ies'} to {ledger_path}")


def default_output(state_path: Path) -> Path:
    """`state/foo.json` -> `state/foo-export/`: next to the state, so a Docker volume keeps it."""
    return state_path.with_name(f"{state_path.stem}-export")
