"""Stand-in for `tradeexecutor.state.store.JSONFileStore` until that branch is merged (remove then).

Atomic replace with fsync; no lock, no backups, no integrity check.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import msgspec

from tradeexecutor.state.state import State


class InterimStore:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def __enter__(self) -> InterimStore:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def exists(self) -> bool:
        return self.path.exists()

    def load(self) -> State:
        return msgspec.json.decode(self.path.read_bytes(), type=State)

    def create(self, state: State) -> None:
        self.save(state)

    def save(self, state: State) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(msgspec.json.encode(state))
            f.flush()
            os.fsync(f.fileno())
        tmp.replace(self.path)
