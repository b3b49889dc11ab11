"""Save and load a state file for the live tests, in the store's own format.

Atomic like the store, but without its lock: the crash tests' worker processes and the
test that inspects their file take turns, never run together.
"""

from __future__ import annotations

import os
from pathlib import Path

from tradeexecutor.state.serialisation import decode_state, encode_state
from tradeexecutor.state.state import State


def save_state(path: Path, state: State) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(encode_state(state))
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)


def load_state(path: Path) -> State:
    return decode_state(path.read_bytes())
