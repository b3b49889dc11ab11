"""A loopback JSON-RPC relay to the configured nodes, so another process never sees their URLs.

Node URLs carry API keys. A forking anvil would otherwise get them on its command line
(visible in process listings) and echo them in its logs and errors. It gets
`http://127.0.0.1:PORT` instead, and the relay forwards each request body through the same
failover provider the executor uses.

anvil hangs up on requests it no longer needs (its fork backend prefetches, and everything in
flight is dropped when the fork stops): answering such a request finds the socket closed. That
is not an error of the rehearsal, so it is logged at debug level instead of the standard
library's traceback on stderr (seen 7-14 per run before).
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from tradeexecutor.ethereum.connection import FailoverHTTPProvider, RPCUnavailable

logger = logging.getLogger(__name__)


NODE_CONNECTIONS = 16  # requests the relay has open to the node at once; more wait their turn


def _bounded_session() -> requests.Session:
    """A session with at most NODE_CONNECTIONS connections per node, reused.

    anvil asks many things at once while it forks; with requests' default pool (10, not
    blocking) every request over ten opened a connection of its own and logged "Connection
    pool is full, discarding connection" when done. Blocking bounds the load on the real node
    (public nodes rate-limit) and keeps the log quiet.
    """
    session = requests.Session()
    adapter = HTTPAdapter(pool_maxsize=NODE_CONNECTIONS, pool_block=True)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError):  # the client hung up: broken pipe, reset, aborted
            logger.debug("RPC relay: %s went away before its answer (%s)", client_address, error)
            return
        logger.error("RPC relay: a request from %s failed", client_address, exc_info=error)


class RpcRelay:
    """Serves POST / on 127.0.0.1 (a free port) until closed."""

    def __init__(self, urls: Sequence[str], source: str) -> None:
        self.provider = FailoverHTTPProvider(urls, source=source, session=_bounded_session())
        relay = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet: anvil asks a lot
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
                try:
                    answer = relay.provider.forward(body)
                except RPCUnavailable as e:
                    self._send(503, str(e).encode())
                    return
                self._send(200, json.dumps(answer).encode())

            def _send(self, status: int, data: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = _QuietServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, name="rpc-relay", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join()

    def __enter__(self) -> RpcRelay:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
