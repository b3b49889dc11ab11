"""Errors raised by the domain model when an operation would break its rules."""

from __future__ import annotations


class StateError(Exception):
    """An operation on the state would make it inconsistent; nothing was changed."""


class IllegalTransition(StateError):
    """A lifecycle step that is not allowed from the current status (e.g. success -> broadcast)."""


class InsufficientBalance(StateError):
    """A trade or fee needs more of an asset than the state holds."""
