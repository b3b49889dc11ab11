"""A test seam: kill the process at a named step of a trade, to prove crash consistency.

Set `TRADE_EXECUTOR_CRASH_AT=<point>` and the executor sends itself SIGKILL (no cleanup,
no `finally`, no atexit: the same as a power cut) when it reaches that point. A point is
`<step>` (the first transaction to reach it), `<kind>.<step>` (`approve.recorded`,
`swap.confirmed`) or either followed by `#N` for the N-th time it is reached in this
process (`swap.recorded#2`). Steps: `signed` (signed, not yet recorded), `recorded`
(recorded and saved, not yet broadcast), `broadcast` (sent, not yet waited for),
`confirmed` (mined, result not yet booked or saved), `settled` (booked, not yet saved).

Only tests set this variable; unset, each check is one dictionary lookup.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

CRASH_ENV = "TRADE_EXECUTOR_CRASH_AT"
_reached: Counter[str] = Counter()


def crash_point(kind: str, step: str) -> None:
    wanted = os.environ.get(CRASH_ENV)
    if not wanted:
        return
    name, _, nth = wanted.partition("#")
    if name not in (step, f"{kind}.{step}"):
        return
    _reached[name] += 1
    if _reached[name] == int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
