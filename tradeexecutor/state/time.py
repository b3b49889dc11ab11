"""Timestamps in the state are timezone-aware UTC, always."""

from __future__ import annotations

import datetime
from typing import Annotated

import msgspec

UTC = datetime.UTC

# A datetime that must carry a timezone. Model fields use it so that decoding a state file
# refuses a naive timestamp at C speed, instead of a Python walk over every object on load.
UTCDateTime = Annotated[datetime.datetime, msgspec.Meta(tz=True)]


def require_utc(at: datetime.datetime, what: str = "timestamp") -> datetime.datetime:
    """Reject naive datetimes: a naive time in a ledger is ambiguous forever after."""
    if at.tzinfo is UTC:  # the common case, checked cheaply: called several times per cycle
        return at
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"The {what} {at.isoformat()} has no timezone; use timezone-aware UTC.")
    return at.astimezone(UTC)


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(UTC)
