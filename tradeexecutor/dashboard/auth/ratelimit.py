"""Login rate limit, keyed so that nobody can lock someone else out.

Failed logins count against two keys: the client address with the username tried, and the
client address alone. After 5 failures for one username from one address, that address may
not try that username for 5 minutes; after 20 failures from one address (whatever the
usernames) it may not try at all. A username on its own is never a key: anyone could
otherwise lock the real owner out for the whole window by failing five times with the
owner's name. The owner, logging in from their own address, is only ever slowed by their own
failures. Guessing one password from many addresses is still slow: every guess costs a
scrypt derivation (32 MiB, tens of milliseconds) against a password of 10 characters or more.

The keys are the same whether or not the user exists, so the limit reveals nothing about
which names are real. Behind a reverse proxy the client address is the proxy's unless
`--http-trusted-proxy` names it (docs/dashboard.md).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable, Mapping

MAX_FAILURES_PER_USERNAME = 5  # from one address
MAX_FAILURES_PER_ADDRESS = 20  # any usernames
WINDOW_SECONDS = 300.0
MAX_KEYS = 10_000  # bounded memory under a flood of made-up names


def username_key(address: str | None, username: str) -> str:
    """A username tried from one address: what a successful login there clears."""
    return f"ip:{address or '?'} user:{username.strip().lower()}"


def login_keys(address: str | None, username: str) -> dict[str, int]:
    """The keys one login attempt counts against, each with its limit (failures per window)."""
    return {
        f"ip:{address or '?'}": MAX_FAILURES_PER_ADDRESS,
        username_key(address, username): MAX_FAILURES_PER_USERNAME,
    }


class LoginRateLimiter:
    def __init__(self, window: float = WINDOW_SECONDS) -> None:
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def retry_after(self, limits: Mapping[str, int], now: float | None = None) -> float | None:
        """Seconds to wait when any key has reached its limit, else None."""
        now = time.monotonic() if now is None else now
        wait = 0.0
        with self._lock:
            for key, limit in limits.items():
                times = self._recent(key, now)
                if len(times) >= limit:
                    wait = max(wait, times[-limit] + self.window - now)
        return wait if wait > 0 else None

    def failed(self, limits: Mapping[str, int], now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            if len(self._failures) >= MAX_KEYS:
                for key in list(self._failures):
                    self._recent(key, now)
                if len(self._failures) >= MAX_KEYS:
                    self._failures.clear()
            for key, limit in limits.items():
                self._failures.setdefault(key, deque(maxlen=limit)).append(now)

    def succeeded(self, keys: Iterable[str]) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)
