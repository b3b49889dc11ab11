"""A tiny atomic state file for the live tests (until the JSONFileStore is on main)."""

from __future__ import annotations

import os
from pathlib import Path

import msgspec

from tradeexecutor.state.state import State


def save_state(path: Path, state: State) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(msgspec.json.encode(state))
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)


def load_state(path: Path) -> State:
    return msgspec.json.decode(path.read_bytes(), type=State)
