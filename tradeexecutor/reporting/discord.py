"""Discord webhook notifications from a background thread.

Users of the reference executor saw Discord timeouts take the trading loop down. Here the
loop only enqueues (never blocks, never raises); one daemon thread posts with a timeout,
retries transient failures with exponential backoff, honours rate limits (HTTP 429 with a
`retry_after` JSON field or a `Retry-After` header) and gives up on permanent errors. When
the queue is full the oldest message is dropped and counted. Webhook URLs are secrets:
they are never logged, and errors are reported without them.

Standard library only (urllib): no extra dependency for one POST.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from tradeexecutor.reporting.bounded_queue import DropOldestQueue
from tradeexecutor.reporting.channel import ChannelHealth
from tradeexecutor.reporting.messages import clip

logger = logging.getLogger(__name__)

USER_AGENT = "trade-executor"  # Discord's edge rejects urllib's default agent
MAX_RATE_LIMIT_WAIT = 60.0


@dataclass(frozen=True, slots=True)
class DiscordMessage:
    content: str
    error: bool = False  # goes to the error webhook when one is configured


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    timeout: float = 10.0  # per HTTP request
    attempts: int = 4  # for timeouts, connection errors and 5xx
    backoff: float = 1.0  # first wait; doubles each retry
    max_backoff: float = 30.0
    rate_limit_waits: int = 5  # 429s honoured per message before giving up


class PermanentError(Exception):
    """The endpoint refused the message for good (4xx other than 429)."""


class RateLimited(Exception):
    def __init__(self, wait: float) -> None:
        super().__init__(f"rate limited for {wait:.1f}s")
        self.wait = wait


def retry_after_seconds(body: bytes, header: str | None) -> float:
    """Seconds to wait from a 429: Discord's JSON `retry_after` first, then the header, else 1 s."""
    try:
        value = json.loads(body.decode("utf-8") or "{}").get("retry_after")
        if isinstance(value, int | float) and value >= 0:
            return min(float(value), MAX_RATE_LIMIT_WAIT)
    except (ValueError, AttributeError, UnicodeDecodeError):
        pass
    try:
        return min(float(header), MAX_RATE_LIMIT_WAIT) if header else 1.0
    except ValueError:
        return 1.0


def post_json(url: str, payload: dict, timeout: float) -> None:
    """One POST; raises RateLimited, PermanentError, or OSError for retryable failures."""
    data = json.dumps(payload).encode("utf-8")
    request = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "application/json", "User-Agent": USER_AGENT}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
    except urllib.error.HTTPError as e:
        body = e.read() if e.fp is not None else b""
        if e.code == 429:
            raise RateLimited(retry_after_seconds(body, e.headers.get("Retry-After"))) from None
        if 400 <= e.code < 500:
            raise PermanentError(f"HTTP {e.code} {e.reason}") from None
        raise OSError(f"HTTP {e.code} {e.reason}") from None
    except urllib.error.URLError as e:
        raise OSError(f"cannot reach Discord: {e.reason}") from None
    except TimeoutError:
        raise OSError(f"no answer within {timeout:g}s") from None


class DiscordNotifier:
    """Non-blocking Discord sender; `send()` returns at once whatever the endpoint does."""

    def __init__(
        self,
        webhook_url: str,
        error_webhook_url: str | None = None,
        *,
        username: str | None = None,
        capacity: int = 100,
        policy: RetryPolicy = RetryPolicy(),
        on_drop: Callable[[], None] | None = None,
    ) -> None:
        self._url = webhook_url
        self._error_url = error_webhook_url or webhook_url
        self._username = username
        self._policy = policy
        self._on_drop = on_drop
        self.health = ChannelHealth("discord")
        self.delivered = 0
        self._queue: DropOldestQueue[DiscordMessage] = DropOldestQueue(capacity)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="discord-notifier", daemon=True)
        self._thread.start()

    def __repr__(self) -> str:  # never show the URLs
        return f"DiscordNotifier(delivered={self.delivered}, pending={len(self._queue)})"

    @property
    def dropped(self) -> int:
        return self._queue.dropped

    def send(self, content: str, *, error: bool = False) -> None:
        if self._stop.is_set():
            return
        if not self._queue.put(DiscordMessage(clip(content), error)):
            self.health.failed("queue full, dropped the oldest message")
            if self._on_drop is not None:
                self._on_drop()

    def flush(self, timeout: float) -> bool:
        """Wait until everything queued was delivered or given up; False on timeout."""
        return self._queue.wait_empty(timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Deliver what is queued within `timeout`, then stop (a hung request is abandoned)."""
        self.flush(timeout)
        self._stop.set()
        self._queue.wake()
        self._thread.join(min(timeout, 1.0))

    def _run(self) -> None:
        while not self._stop.is_set():
            message = self._queue.get(timeout=0.5)
            if message is None:
                continue
            try:
                self._deliver(message)
            except Exception as e:  # a bug here must not kill the thread
                self.health.failed(e)
            finally:
                self._queue.task_done()

    def _payload(self, message: DiscordMessage) -> dict:
        payload: dict = {"content": message.content, "allowed_mentions": {"parse": []}}
        if self._username:
            payload["username"] = self._username[:80]
        return payload

    def _deliver(self, message: DiscordMessage) -> None:
        url = self._error_url if message.error else self._url
        policy = self._policy
        attempts, rate_waits, delay = 0, 0, policy.backoff
        while not self._stop.is_set():
            try:
                post_json(url, self._payload(message), policy.timeout)
            except RateLimited as e:
                rate_waits += 1
                if rate_waits > policy.rate_limit_waits:
                    self.health.failed(f"still rate limited after {policy.rate_limit_waits} waits")
                    return
                self._stop.wait(e.wait)
                continue
            except PermanentError as e:
                self.health.failed(f"Discord refused the message: {e}")
                return
            except OSError as e:
                attempts += 1
                if attempts >= policy.attempts:
                    self.health.failed(f"gave up after {attempts} attempts: {e}")
                    return
                logger.debug("Discord post failed (%s), retrying in %.1fs", e, delay)
                self._stop.wait(delay)
                delay = min(delay * 2, policy.max_backoff)
                continue
            self.delivered += 1
            self.health.succeeded()
            return
