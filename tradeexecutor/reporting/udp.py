"""Fire-and-forget UDP datagrams to `host:port`, sent from a background thread.

Used by Logstash and statsd. Resolving a host name can block for seconds (or fail) and
`sendto` with a name resolves on every call, so doing it in the caller would let a bad
DNS entry stall the trading loop on every log line. Here the caller only enqueues; the
thread resolves once, re-resolves after a failure at most every `resolve_retry` seconds
(dropping datagrams meanwhile) and reports problems through a `ChannelHealth`.
"""

from __future__ import annotations

import logging
import socket
import threading
import time

from tradeexecutor.reporting.bounded_queue import DropOldestQueue
from tradeexecutor.reporting.channel import ChannelHealth

logger = logging.getLogger(__name__)


def parse_host_port(value: str, default_port: int, what: str) -> tuple[str, int]:
    """`host`, `host:port` or `[v6]:port` -> (host, port); ValueError with one sentence otherwise."""
    text = value.strip()
    if not text:
        raise ValueError(f"{what} is empty: give host or host:port.")
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, ""
    if not port_text:
        return host, default_port
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"{what} {value!r} has a bad port: use host:port with a port from 1 to 65535.")
    return host, int(port_text)


class UdpSender:
    def __init__(
        self,
        host: str,
        port: int,
        health: ChannelHealth,
        *,
        capacity: int = 10_000,
        resolve_retry: float = 60.0,
    ) -> None:
        self.host = host
        self.port = port
        self.health = health
        self.sent = 0
        self.dropped_unresolved = 0
        self._queue: DropOldestQueue[bytes] = DropOldestQueue(capacity)
        self._resolve_retry = resolve_retry
        self._address: tuple | None = None
        self._socket: socket.socket | None = None
        self._next_resolve = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"udp-{health.name}", daemon=True)
        self._thread.start()

    @property
    def dropped(self) -> int:
        return self._queue.dropped + self.dropped_unresolved

    def submit(self, data: bytes) -> None:
        """Never blocks; drops the oldest datagram when the queue is full."""
        if not self._stop.is_set():
            self._queue.put(data)

    def flush(self, timeout: float = 2.0) -> bool:
        return self._queue.wait_empty(timeout)

    def close(self, timeout: float = 2.0) -> None:
        self.flush(timeout)
        self._stop.set()
        self._queue.wake()
        self._thread.join(timeout)
        if self._socket is not None:
            self._socket.close()

    def _run(self) -> None:
        while not self._stop.is_set():
            data = self._queue.get(timeout=0.5)
            if data is None:
                continue
            try:
                self._send(data)
            finally:
                self._queue.task_done()

    def _resolve(self) -> bool:
        if self._address is not None:
            return True
        now = time.monotonic()
        if now < self._next_resolve:
            return False
        try:
            family, kind, proto, _, address = socket.getaddrinfo(
                self.host, self.port, type=socket.SOCK_DGRAM
            )[0]
            self._socket = socket.socket(family, kind, proto)
            self._address = address
            return True
        except OSError as e:
            self._next_resolve = now + self._resolve_retry
            self.health.failed(f"cannot resolve {self.host}:{self.port}: {e}")
            return False

    def _send(self, data: bytes) -> None:
        if not self._resolve():
            self.dropped_unresolved += 1
            return
        assert self._socket is not None
        try:
            self._socket.sendto(data, self._address)
        except OSError as e:
            self.health.failed(f"cannot send to {self.host}:{self.port}: {e}")
            return
        self.sent += 1
        self.health.succeeded()
