"""Errors raised inside a user's strategy code, reported against the user's own file.

When `decide_trades` fails, the useful part of the traceback is the lines in the strategy
file (and what they called), not the executor's frames that led into it. We cut the
traceback at the first frame inside the strategy file and keep everything from there on.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tradeexecutor.errors import UserError


def _same_file(filename: str, path: Path) -> bool:
    try:
        return Path(filename).resolve() == path
    except (OSError, ValueError):
        return False


def format_user_traceback(exc: BaseException, strategy_path: Path) -> str:
    """The traceback of `exc`, starting at the first frame in `strategy_path`.

    Chained exceptions (`raise ... from ...`) are kept. If no frame is in the strategy file
    the whole traceback is returned: hiding frames would then hide the cause.
    """
    path = Path(strategy_path).resolve()
    te = traceback.TracebackException(type(exc), exc, exc.__traceback__)
    frames = list(te.stack)
    for i, frame in enumerate(frames):
        if _same_file(frame.filename, path):
            te.stack = traceback.StackSummary.from_list(frames[i:])
            break
    return "".join(te.format())


def innermost_user_frame(exc: BaseException, strategy_path: Path) -> traceback.FrameSummary | None:
    """The deepest frame of `exc`'s traceback that is in `strategy_path`."""
    path = Path(strategy_path).resolve()
    found = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if _same_file(frame.filename, path):
            found = frame
    return found


class StrategyRuntimeError(UserError):
    """A strategy function raised; the message ends with the traceback into the strategy file
    (just the summary line when what it raised is itself a UserError)."""

    def __init__(
        self, function: str, strategy_path: Path, original: BaseException, context: str = ""
    ) -> None:
        self.function = function
        self.strategy_path = Path(strategy_path)
        self.original = original
        self.user_traceback = format_user_traceback(original, self.strategy_path)
        frame = innermost_user_frame(original, self.strategy_path)
        where = f"{frame.filename}:{frame.lineno}" if frame else str(self.strategy_path)
        when = f" {context}" if context else ""
        self.summary = f"{function}() in {where} raised {type(original).__name__}{when}: {original}"
        if isinstance(original, UserError):
            # Already one sentence naming what to fix (bad data, an unknown pair): where it
            # was called from is enough, the executor's frames below it would only distract.
            self.exit_code = original.exit_code
            super().__init__(self.summary)
        else:
            super().__init__(f"{self.summary}\n{self.user_traceback}".rstrip())


def call_user_function(
    strategy_path: Path,
    name: str,
    function: Callable[..., Any],
    *args: Any,
    context: str | Callable[[], str] = "",
) -> Any:
    """Call a strategy function; anything it raises becomes a `StrategyRuntimeError`.

    `context` may be a callable so that describing the call costs nothing unless it fails
    (a backtest calls decide_trades tens of thousands of times).

    KeyboardInterrupt and SystemExit pass through: they are the operator's, not the strategy's.
    """
    try:
        return function(*args)
    except Exception as e:
        raise StrategyRuntimeError(name, strategy_path, e, context() if callable(context) else context) from e
