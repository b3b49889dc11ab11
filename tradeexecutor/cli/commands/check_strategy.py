"""`trade-executor check-strategy`: load a strategy file and show what the executor understood.

A quick way to validate a strategy module before a backtest or a deployment: it prints the
module's settings, or every problem found in one list and exits non-zero.
"""

from __future__ import annotations

import typer

from tradeexecutor.cli.options import StrategyFile
from tradeexecutor.errors import UserError


def check_strategy(strategy_file: StrategyFile = None) -> None:
    """Load a strategy module and print its settings, or every problem found in it."""
    from tradeexecutor.strategy.loader import load_strategy_module

    if strategy_file is None:
        raise UserError("No strategy file given; pass --strategy-file PATH or set STRATEGY_FILE.")
    module = load_strategy_module(strategy_file)
    rows = module.settings()
    width = max(len(label) for label, _ in rows) + 1
    for label, value in rows:
        typer.echo(f"{label + ':':<{width}} {value}")
    if module.parameters:
        typer.echo("Parameters:")
        for name, value in module.parameters.items():
            typer.echo(f"  {name} = {value!r}")
    else:
        typer.echo(f"{'Parameters:':<{width}} none")
    typer.echo("Strategy module OK.")
