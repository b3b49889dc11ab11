"""Asking before an irreversible step, with `--yes` for scripts."""

from __future__ import annotations

import typer

from tradeexecutor.errors import UserError


def confirm_or_stop(question: str, yes: bool, nothing_done: str) -> None:
    """Return when confirmed (or --yes); otherwise raise one sentence saying nothing was done.

    A closed or empty stdin (a script without --yes) counts as no.
    """
    if yes:
        return
    try:
        confirmed = typer.confirm(question, default=False)
    except typer.Abort:
        confirmed = False
    if not confirmed:
        raise UserError(f"{nothing_done}: it was not confirmed (answer y at the prompt, or pass --yes).")
