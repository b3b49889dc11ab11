"""A loopback HTTP proxy in front of anvil that can misbehave like a real RPC provider.

It stands in for the outside world only (a flaky or rate-limited node): requests it does
not tamper with go to the real anvil node unchanged.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests

# Returns None to forward, or (status, body) to answer instead.
Rule = Callable[[Any], tuple[int, bytes] | None]


class RpcProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.status: int | None = None  # answer every request with this HTTP status
        self.delay = 0.0  # sleep before answering
        self.rule: Rule | None = None
        self.requests: list[Any] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                payload = json.loads(body)
                proxy.requests.append(payload)
                if proxy.delay:
                    time.sleep(proxy.delay)
                if proxy.status is not None:
                    self._answer(proxy.status, b"<html>upstream unavailable</html>")
                    return
                if proxy.rule is not None:
                    custom = proxy.rule(payload)
                    if custom is not None:
                        self._answer(*custom)
                        return
                response = requests.post(
                    proxy.upstream, data=body, headers={"Content-Type": "application/json"}
                )
                self._answer(response.status_code, response.content)

            def _answer(self, status: int, content: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(content)))
                    self.end_headers()
                    self.wfile.write(content)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def methods(self) -> list[str]:
        out = []
        for r in self.requests:
            out += [x["method"] for x in r] if isinstance(r, list) else [r["method"]]
        return out

    def __enter__(self) -> RpcProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def json_rpc_error(payload: Any, code: int, message: str) -> tuple[int, bytes]:
    return 200, json.dumps(
        {"jsonrpc": "2.0", "id": payload.get("id"), "error": {"code": code, "message": message}}
    ).encode()
