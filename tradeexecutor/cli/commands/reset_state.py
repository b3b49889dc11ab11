"""`trade-executor reset-state`: start over with an empty state, keeping the old file as a backup.

For a state that is beyond repair (or a deliberate fresh start). The old file is kept as
`<state>.reset-<UTC time>` before the empty state replaces it atomically; a state that does
not even load (corrupt, too new) can be reset too. Refuses while an executor holds the lock.
"""

from __future__ import annotations

import typer

from tradeexecutor.cli.options import Id, StateFile, StrategyFile, Yes
from tradeexecutor.errors import UserError


def reset_state(
    strategy_file: StrategyFile = None,
    state_file: StateFile = None,
    id: Id = None,
    yes: Yes = False,
) -> None:
    """Replace the state file with an empty state after backing it up (asks first; --yes for scripts)."""
    from tradeexecutor.cli.prompt import confirm_or_stop
    from tradeexecutor.execution.live.state_access import state_path
    from tradeexecutor.state.errors import StateFileCorrupt, StateFileTooNew
    from tradeexecutor.state.state import State
    from tradeexecutor.state.store import JSONFileStore
    from tradeexecutor.toolbox.reset import backup_for_reset, describe_for_reset

    path = state_path(state_file, strategy_file, id)
    with JSONFileStore(path) as store:  # the lock: never under a running executor
        if not store.exists():
            raise UserError(
                f"The state file {path} does not exist: there is nothing to reset; check --state-file."
            )
        try:
            old: State | None = store.load()
        except (StateFileCorrupt, StateFileTooNew) as e:
            old, unreadable = None, str(e)
        else:
            unreadable = ""
        for line in describe_for_reset(path, old, unreadable):
            typer.echo(line)
        confirm_or_stop(f"Replace {path} with an empty state?", yes, f"{path} was not reset")
        backup = backup_for_reset(path)
        strategy_id = (
            old.strategy_id if old is not None else (id or (strategy_file.stem if strategy_file else ""))
        )
        store.save(State(strategy_id=strategy_id))
    typer.echo(f"The old state is kept as {backup}.")
    typer.echo(
        f"{path} is now an empty state: the next start (or perform-test-trade) books the wallet's balances "
        "as deposits at its first sync."
    )
