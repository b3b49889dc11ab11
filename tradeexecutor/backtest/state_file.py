"""Writing a backtest's output files: the state file and the report.

`write_state_file` is the one place a backtest persists its state: swap its body for the
project's JSON state store when that lands. It writes atomically (temporary file in the same
directory, fsync, rename, fsync of the directory), so a crash or a full disk leaves either
the previous file or the new one, never half of one.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import msgspec

from tradeexecutor.errors import UserError
from tradeexecutor.state.state import State


def write_state_file(state: State, path: Path) -> None:
    """Save `state` as JSON at `path`, atomically."""
    write_file_atomically(Path(path), msgspec.json.encode(state), "state file", "--state-file")


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
    """Read a state file written by `write_state_file` (for reports and tests)."""
    try:
        return msgspec.json.decode(Path(path).read_bytes(), type=State)
    except FileNotFoundError:
        raise UserError(f"State file {path} does not exist.") from None
    except msgspec.DecodeError as e:
        raise UserError(f"State file {path} is not a valid state ({e}).") from None
