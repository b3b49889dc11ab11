"""Writing a backtest's output files: the state file and the report.

`write_state_file` is the one place a backtest persists its state. It goes through the
project's `JSONFileStore`, so a backtest's state file has exactly the format, integrity
check and atomic-save guarantees of a live executor's: the ledger and positions are checked
before anything is written, and a crash leaves either the previous file or the new one.
One backup of the previous run is kept (`<file>.1`).
"""

from __future__ import annotations

from pathlib import Path

from tradeexecutor.errors import UserError
from tradeexecutor.state.filewrite import write_atomic
from tradeexecutor.state.state import State
from tradeexecutor.state.store import JSONFileStore

BACKTEST_BACKUPS = 1


def write_state_file(state: State, path: Path) -> None:
    """Save `state` at `path` through the state store (integrity-checked, atomic)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UserError(f"Cannot write the state file {path} ({e.strerror}); check --state-file.") from None
    with JSONFileStore(path, backups=BACKTEST_BACKUPS) as store:
        store.save(state)


def write_file_atomically(path: Path, data: bytes, what: str, option: str) -> None:
    """Write `data` to `path` atomically; UserError naming `option` when the file cannot be written."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, data)
    except OSError as e:
        raise UserError(f"Cannot write the {what} {path} ({e.strerror}); check {option}.") from None


def read_state_file(path: Path) -> State:
    """Read a state file (for reports and tests); errors are one sentence naming the file."""
    return JSONFileStore(path, read_only=True).load()
