"""A loopback JSON-RPC proxy in front of anvil that fails the way real nodes fail.

For tests and the chaos benchmark (benchmarks/chaos.py): it stands in for the outside world
only. What it does not tamper with reaches the real anvil node unchanged, so the executor
sees real connection errors, real timeouts and a real chain.

Faults (`mode`):

- `forward`: a healthy node.
- `refuse`: nothing listens: new connections are refused (ECONNREFUSED), like a node whose
  process is down.
- `blackhole`: connections are accepted and requests are never answered while the fault
  lasts, like a network partition; when it heals, held requests are delivered (as TCP would
  retransmit them) unless their client gave up meanwhile.
- `slow`: every call takes `slow_seconds` (5 s: an overloaded provider) before it is answered.

Also, for unit tests: `status` answers every request with that HTTP status; `rule(payload)`
may answer a request itself; `delay` sleeps before answering. `arm(predicate, action)` runs
`action` (once) when a request matches `predicate`, before that request is handled, which
is how a fault is timed to a phase of the executor's cycle: its first `eth_getLogs` (universe
build), its balance batch (reserve sync), `eth_sendRawTransaction` (broadcast), ...

The upstream can be swapped (`upstream = ...`) to put a lagging node or another chain's node
behind the same URL.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

Rule = Callable[[Any], tuple[int, bytes] | None]
"""Returns None to forward, or (HTTP status, body) to answer instead."""

FORWARD, REFUSE, BLACKHOLE, SLOW = "forward", "refuse", "blackhole", "slow"
MODES = (FORWARD, REFUSE, BLACKHOLE, SLOW)


def methods_of(payload: Any) -> list[str]:
    """The JSON-RPC methods in a request or a batch."""
    items = payload if isinstance(payload, list) else [payload]
    return [str(x.get("method")) for x in items if isinstance(x, dict)]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class RpcProxy:
    def __init__(self, upstream: str, port: int = 0) -> None:
        self.upstream = upstream
        self.status: int | None = None  # answer every request with this HTTP status
        self.delay = 0.0  # sleep before answering
        self.rule: Rule | None = None
        self.requests: list[Any] = []
        self.slow_seconds = 5.0
        self.held = 0  # requests waiting in a black hole now
        self._mode = FORWARD
        self._healed = threading.Event()
        self._healed.set()
        self._lock = threading.Lock()
        self._armed: list[tuple[Callable[[Any], bool], Callable[[Any], None]]] = []
        self._session = requests.Session()
        self._port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._listen()

    # --- lifecycle ----------------------------------------------------------------------------

    def _listen(self) -> None:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                proxy._handle(self, body)

        self._server = _Server(("127.0.0.1", self._port), Handler)
        self._port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="rpc-proxy", daemon=True
        )
        self._thread.start()

    def _close_listener(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def __enter__(self) -> RpcProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._healed.set()  # release anything held
        self._close_listener()

    # --- faults -------------------------------------------------------------------------------

    @property
    def mode(self) -> str:
        return self._mode

    def set_mode(self, mode: str) -> None:
        """Switch the fault on (refuse, blackhole, slow) or off (forward). Safe from any thread."""
        if mode not in MODES:
            raise ValueError(f"unknown proxy mode {mode!r}; use one of {', '.join(MODES)}")
        with self._lock:
            previous, self._mode = self._mode, mode
            if mode == BLACKHOLE:
                self._healed.clear()
            else:
                self._healed.set()
        if mode == REFUSE and previous != REFUSE:
            self._close_listener()  # handlers run on their own threads: safe to call from one
        elif previous == REFUSE and mode != REFUSE:
            self._listen()

    def heal(self) -> None:
        self.set_mode(FORWARD)

    def arm(self, predicate: Callable[[Any], bool], action: Callable[[Any], None]) -> None:
        """Run `action(payload)` once, on the first request matching `predicate`, before handling it."""
        with self._lock:
            self._armed.append((predicate, action))

    def disarm(self) -> None:
        with self._lock:
            self._armed.clear()

    def methods(self) -> list[str]:
        out: list[str] = []
        for r in self.requests:
            out += methods_of(r)
        return out

    # --- one request --------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        self.requests.append(payload)
        with self._lock:
            fired = [(p, a) for p, a in self._armed if _safe(p, payload)]
            self._armed = [x for x in self._armed if x not in fired]
        for _, action in fired:
            action(payload)
        mode = self._mode
        if mode == REFUSE:
            _drop(handler)  # arrived just as the node went away
            return
        if mode == BLACKHOLE:
            self.held += 1
            try:
                self._healed.wait()
            finally:
                self.held -= 1
            if self._mode == REFUSE:
                _drop(handler)
                return
        elif mode == SLOW:
            time.sleep(self.slow_seconds)
        if self.delay:
            time.sleep(self.delay)
        if self.status is not None:
            _answer(handler, self.status, b"<html>upstream unavailable</html>")
            return
        if self.rule is not None and payload is not None:
            custom = self.rule(payload)
            if custom is not None:
                _answer(handler, *custom)
                return
        try:
            response = self._session.post(
                self.upstream, data=body, headers={"Content-Type": "application/json"}, timeout=60
            )
        except requests.RequestException:
            _drop(handler)  # the node itself is down (restarting): the client sees the connection die
            return
        _answer(handler, response.status_code, response.content)


def _safe(predicate: Callable[[Any], bool], payload: Any) -> bool:
    try:
        return bool(predicate(payload))
    except Exception:
        return False


def _answer(handler: BaseHTTPRequestHandler, status: int, content: bytes) -> None:
    try:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(content)))
        handler.end_headers()
        handler.wfile.write(content)
    except (BrokenPipeError, ConnectionResetError):
        pass


def _drop(handler: BaseHTTPRequestHandler) -> None:
    """Close the connection without an answer (with a reset, as a dying node does)."""
    handler.close_connection = True
    try:
        handler.connection.setsockopt(
            socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
        )
        handler.connection.close()
    except OSError:
        pass


def json_rpc_error(payload: Any, code: int, message: str) -> tuple[int, bytes]:
    return 200, json.dumps(
        {"jsonrpc": "2.0", "id": payload.get("id"), "error": {"code": code, "message": message}}
    ).encode()
