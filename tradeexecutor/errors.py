"""Errors a user can fix.

Any layer raises `UserError` with one sentence naming what to fix; the CLI prints that
sentence (never a traceback) and exits non-zero. Anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations


class UserError(Exception):
    """A problem in the user's input or environment, described in one actionable sentence."""

    exit_code: int = 1
