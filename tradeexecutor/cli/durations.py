"""Durations typed by operators: `30s`, `5m`, `1h`, `1d` (or a plain number of seconds)."""

from __future__ import annotations

import datetime
import re

from tradeexecutor.errors import UserError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$", re.IGNORECASE)


def parse_interval(text: str | None, flag: str, *, allow_none: bool = True) -> datetime.timedelta | None:
    if text is None or (allow_none and text.strip().lower() in ("", "none", "off", "0")):
        return None
    m = _PATTERN.match(text)
    if not m or float(m.group(1)) <= 0:
        raise UserError(f"{flag} {text!r} is not a duration; write e.g. 30s, 5m, 1h or 1d.")
    seconds = float(m.group(1)) * _UNITS[(m.group(2) or "s").lower()]
    return datetime.timedelta(seconds=seconds)
