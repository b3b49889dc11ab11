"""Writing a backtest's output files: the state file and the report.

`write_state_file` is the one place a backtest persists its state. It goes through the
project's `JSONFileStore`, so a backtest's state file has exactly the format, integrity
check and atomic-save guarantees of a live executor's: the ledger and positions are checked
before anything is written, and a crash leaves either the previous file or the new one.
One backup of the previous run is kept (`<file>.1`).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from tradeexecutor.errors import UserError
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
    """Write `data` to `path` via a temporary file, fsync and rename; UserError naming `option`
    when the file cannot be written."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise UserError(f"Cannot write the {what} {path} ({e.strerror}); check {option}.") from None
    tmp = Path(tmp_name)
    try:
        # mkstemp creates the file 0600; give it the mode a plain open() would (umask applied)
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise UserError(f"Cannot write the {what} {path} ({e.strerror}); check {option}.") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def read_state_file(path: Path) -> State:
    """Read a state file (for reports and tests); errors are one sentence naming the file."""
    return JSONFileStore(path, read_only=True).load()
