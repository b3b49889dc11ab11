"""The last N log records in memory, served by the webhook's `/logs`.

Operators look at `/logs` when something is wrong and they have no shell on the box, so
the buffer keeps already-redacted, already-formatted entries (plain dicts) and never holds
references to exceptions or frames.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from typing import Any

DEFAULT_CAPACITY = 2000


class LogRingBuffer(logging.Handler):
    def __init__(self, capacity: int = DEFAULT_CAPACITY, level: int = logging.DEBUG) -> None:
        super().__init__(level)
        self._entries: deque[dict[str, Any]] = deque(maxlen=capacity)
        self._entries_lock = threading.Lock()
        self.capacity = capacity

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            if record.exc_text:
                message = f"{message}\n{record.exc_text}"
            entry = {
                "at": record.created,
                "level": record.levelname.lower(),
                "levelno": record.levelno,
                "logger": record.name,
                "message": message,
                "strategy_id": getattr(record, "strategy_id", None),
                "cycle": getattr(record, "cycle", None),
                "trade_id": getattr(record, "trade_id", None),
            }
        except Exception:
            self.handleError(record)
            return
        with self._entries_lock:
            self._entries.append(entry)

    def entries(self, min_level: int = logging.NOTSET, limit: int | None = None) -> list[dict[str, Any]]:
        """The newest `limit` entries at or above `min_level`, oldest first (without `levelno`)."""
        with self._entries_lock:
            snapshot = list(self._entries)
        selected = [e for e in snapshot if e["levelno"] >= min_level]
        if limit is not None:
            selected = selected[-limit:] if limit > 0 else []
        return [{k: v for k, v in e.items() if k != "levelno"} for e in selected]

    def __len__(self) -> int:
        return len(self._entries)
