"""Turn SIGTERM into the same clean unwinding as Ctrl-C.

Python's default SIGTERM action kills the interpreter without running `finally` blocks or
context-manager exits, which would orphan child processes and skip the last state save.
"""

from __future__ import annotations

import signal
from types import FrameType


class Terminated(KeyboardInterrupt):
    """Raised in the main thread when the process receives SIGTERM."""


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated(f"signal {signum}")


def install_sigterm_handler() -> None:
    signal.signal(signal.SIGTERM, _raise_terminated)
