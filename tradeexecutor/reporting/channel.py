"""Failure bookkeeping for one reporting channel (Discord, Logstash, statsd, heartbeat, Sentry).

A reporting channel must never stop trading and never flood the log: the first failure of
an outage logs ONE warning, later failures only increment a counter that listeners (the
run state, so `/status` shows it, and the metrics registry) receive. When the channel works
again an info line says so, and the next outage warns again, but never more often than
once per `rewarn_after` seconds, so a flapping endpoint still cannot spam.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from tradeexecutor.config.redaction import redact

logger = logging.getLogger(__name__)

FailureListener = Callable[[str, int], None]
"""Called with (channel name, total failures so far) after every failure."""


class ChannelHealth:
    def __init__(self, name: str, rewarn_after: float = 3600.0, clock: Callable[[], float] = time.monotonic):
        self.name = name
        self.failures = 0
        self.warnings = 0
        self.last_error: str | None = None
        self._rewarn_after = rewarn_after
        self._clock = clock
        self._failing = False
        self._last_warning_at: float | None = None
        self._listeners: list[FailureListener] = []
        self._lock = threading.Lock()

    def add_listener(self, listener: FailureListener) -> None:
        """Subscribe; a listener added late is told the current count at once."""
        with self._lock:
            self._listeners.append(listener)
            count = self.failures
        if count:
            self._notify(listener, count)

    def failed(self, error: BaseException | str) -> None:
        text = redact(error if isinstance(error, str) else f"{error.__class__.__name__}: {error}")
        now = self._clock()
        with self._lock:
            self.failures += 1
            count = self.failures
            self.last_error = text
            warn = not self._failing and (
                self._last_warning_at is None or now - self._last_warning_at >= self._rewarn_after
            )
            self._failing = True
            if warn:
                self._last_warning_at = now
                self.warnings += 1
            listeners = list(self._listeners)
        if warn:
            logger.warning(
                "%s reporting failed (%s); trading goes on, further failures are only counted in /status",
                self.name,
                text,
            )
        for listener in listeners:
            self._notify(listener, count)

    def succeeded(self) -> None:
        with self._lock:
            recovered = self._failing
            self._failing = False
        if recovered:
            logger.info("%s reporting works again", self.name)

    def _notify(self, listener: FailureListener, count: int) -> None:
        try:
            listener(self.name, count)
        except Exception:  # a broken listener must not break the channel
            logger.debug("failure listener for %s raised", self.name, exc_info=True)
