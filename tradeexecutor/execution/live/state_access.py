"""Open the executor's state file for a one-off command (perform-test-trade, repair).

Uses the state store (atomic saves, a lock against a running executor, backups); the
default path is `state/<id>.json`, the id being --id or the strategy file's name.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tradeexecutor.errors import UserError
from tradeexecutor.state.state import State

DEFAULT_STATE_DIRECTORY = Path("state")


def state_path(state_file: Path | None, strategy_file: Path | None, executor_id: str | None) -> Path:
    """The state file: `--state-file`, else `state/<id>.json`.

    Only the default directory `state/` is created when missing (one level, in the working
    directory, as the Docker image and the repository have it); the store refuses a given
    `--state-file` whose directory does not exist, naming it.
    """
    if state_file is not None:
        return state_file
    name = executor_id or (strategy_file.stem if strategy_file is not None else None)
    if not name:
        raise UserError(
            "No state file given; pass --state-file PATH (or --id / --strategy-file for state/<id>.json)."
        )
    try:
        DEFAULT_STATE_DIRECTORY.mkdir(exist_ok=True)
    except OSError as e:
        raise UserError(
            f"Cannot create the state directory {DEFAULT_STATE_DIRECTORY.resolve()} ({e.strerror}): create it, "
            "or pass --state-file PATH."
        ) from None
    return DEFAULT_STATE_DIRECTORY / f"{name}.json"


MIN_FREE_BYTES = 1 << 20  # room for logs and the lock file, beyond one copy of the state file


def require_disk_space(state_file: Path) -> None:
    """Refuse to start a live executor on a disk that cannot take its next save.

    A save writes the whole state beside the old one before replacing it, so the disk needs
    the state file's size again, plus room for logs: on a full disk the executor would
    otherwise start, fail writing its lock file, its logs or its first save, and say so in
    tracebacks. A missing directory is left to the store, which names it.
    """
    directory = state_file.parent
    try:
        disk = os.statvfs(directory)
        size = state_file.stat().st_size if state_file.exists() else 0
    except OSError:
        return
    free = disk.f_bavail * disk.f_frsize
    needed = size + MIN_FREE_BYTES
    if free < needed:
        raise UserError(
            f"The disk of {directory} is full: {free:,} bytes free, {needed:,} needed to save the state "
            f"file {state_file.name} safely; free some space, then start again."
        )


@contextmanager
def open_state(
    path: Path, *, create: bool, strategy_id: str = ""
) -> Iterator[tuple[State, Callable[[], None]]]:
    """(state, checkpoint) with the file locked for writing until the block ends."""
    from tradeexecutor.state.store import JSONFileStore

    with JSONFileStore(path) as store:
        if store.exists():
            state = store.load()
        elif create:
            state = State(strategy_id=strategy_id)
            store.create(state)
        else:
            raise UserError(f"The state file {path} does not exist; check --state-file.")
        yield state, lambda: store.save(state)
