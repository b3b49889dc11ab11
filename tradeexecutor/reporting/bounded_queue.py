"""A bounded queue whose `put` never blocks: when full, the oldest item is dropped and counted.

The trading loop hands messages to background senders through these queues; a dead or
hanging endpoint must cost the loop nothing, and under a long outage the newest news (the
latest cycle, the failure) is worth more than the oldest.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class DropOldestQueue(Generic[T]):
    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self.dropped = 0
        self._items: deque[T] = deque()
        self._cond = threading.Condition()
        self._unfinished = 0

    def put(self, item: T) -> bool:
        """Enqueue; return False when an older item had to be dropped to make room."""
        with self._cond:
            dropped = len(self._items) >= self.capacity
            if dropped:
                self._items.popleft()
                self.dropped += 1
                self._unfinished -= 1
            self._items.append(item)
            self._unfinished += 1
            self._cond.notify_all()
        return not dropped

    def get(self, timeout: float | None = None) -> T | None:
        """The oldest item, or None after `timeout` seconds (or when woken by `wake`)."""
        with self._cond:
            if not self._items:
                self._cond.wait(timeout)
            return self._items.popleft() if self._items else None

    def task_done(self) -> None:
        with self._cond:
            self._unfinished = max(0, self._unfinished - 1)
            self._cond.notify_all()

    def wait_empty(self, timeout: float) -> bool:
        """Wait until every item taken has been marked done; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._unfinished > 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    def wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def __len__(self) -> int:
        return len(self._items)
