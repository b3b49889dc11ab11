"""`WebhookServer`: the pyramid app on waitress, in a daemon thread.

Started before the first cycle and independent of the loop, so it keeps answering when
trading halts (that is when operators need `/status` most). We drive waitress's
`create_server` ourselves rather than using webtest's StopableWSGIServer, which serves local
files under `/__file__`. Stopping is done from inside waitress's own event loop (a trigger
thunk closes every socket there), then the thread and the worker pool are joined.

The cheap JSON endpoints are answered by waitress's loop thread itself (INLINE_PATHS), the
rest by its worker pool: see docs/webhook.md#performance and benchmarks/webhook.py.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import sys
import threading
import warnings
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tradeexecutor.config.redaction import redactor
from tradeexecutor.errors import UserError
from tradeexecutor.execution.run_state import RunState
from tradeexecutor.webhook.context import LogSource, MetricsSource, WebhookContext
from tradeexecutor.webhook.http import BasicAuth, parse_origins

if TYPE_CHECKING:
    from tradeexecutor.dashboard.config import DashboardConfig

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 3456
# Workers for the requests not answered inline (INLINE_PATHS): /state, /logs, /metrics and
# the HTML pages. 4 absorbs a few slow clients without queueing.
DEFAULT_THREADS = 4
# A CPU-bound cycle holds the GIL; a thread waiting for it (a request) gets it after at most
# the switch interval, and one request needs several hand-offs. At CPython's default 5 ms
# /status p99 was 30-64 ms during a busy cycle; at 1 ms it is 12-15 ms. Forced switches only
# happen while another thread waits, so an idle webhook costs the loop nothing.
DEFAULT_SWITCH_INTERVAL = 0.001
# Answered by waitress's loop thread itself instead of a worker: each is tens of microseconds
# of work on bytes rendered once per snapshot, while handing a request to a worker and back
# (the pool's lock and condition, a wake-up of the worker, a trigger write to wake the loop)
# costs more than the work and makes the threads queue behind one another for the GIL.
# /state (large bodies that may wait for the socket), /logs, /metrics and the HTML pages keep
# going to the worker pool.
INLINE_PATHS = frozenset(
    {"/ping", "/health", "/status", "/metadata", "/positions", "/trades", "/openapi.json"}
)


@dataclass(frozen=True)
class WebhookConfig:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    cors_origins: frozenset[str] = frozenset()
    threads: int = DEFAULT_THREADS
    switch_interval: float | None = DEFAULT_SWITCH_INTERVAL
    trusted_proxy: str | None = None  # its X-Forwarded-* headers are believed (waitress applies them)
    inline_paths: frozenset[str] = INLINE_PATHS

    @classmethod
    def from_options(
        cls,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        username: str | None = None,
        password: str | None = None,
        cors_origins: str | None = None,
        threads: int = DEFAULT_THREADS,
        *,
        trusted_proxy: str | None = None,
    ) -> WebhookConfig:
        """Validate the --http-* options; raise UserError naming the option to fix."""
        if not 0 <= port <= 65535:
            raise UserError(
                f"--http-port {port} is out of range: use a port from 1 to 65535 (0 picks a free one)."
            )
        if not host.strip():
            raise UserError("--http-host is empty: use 127.0.0.1 (default) or 0.0.0.0 inside Docker.")
        if bool(username) != bool(password):
            raise UserError("Only one of --http-username and --http-password is set: set both, or neither.")
        if password:
            redactor.register(password)
        proxy = (trusted_proxy or "").strip() or None
        if proxy is not None and proxy != "*":
            try:
                proxy = str(ipaddress.ip_address(proxy))
            except ValueError:
                raise UserError(
                    f"--http-trusted-proxy {proxy!r} is not an IP address: give the address the proxy "
                    "connects from (e.g. 127.0.0.1), or * when nothing but the proxy can reach the webhook."
                ) from None
        return cls(
            host.strip(),
            port,
            username or None,
            password or None,
            parse_origins(cors_origins),
            threads,
            trusted_proxy=proxy,
        )

    @property
    def auth(self) -> BasicAuth | None:
        if self.username and self.password:
            return BasicAuth(self.username, self.password)
        return None


PROXY_HEADERS = frozenset({"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"})


def _proxy_settings(trusted_proxy: str | None) -> dict[str, Any]:
    """waitress rewrites REMOTE_ADDR, the scheme and the host from a trusted proxy's headers (and
    only from its: other clients' X-Forwarded-* headers are dropped)."""
    if trusted_proxy is None:
        return {}
    return {
        "trusted_proxy": trusted_proxy,
        "trusted_proxy_count": 1,
        "trusted_proxy_headers": set(PROXY_HEADERS),
    }


def _dispatcher_and_channel(inline_paths: frozenset[str]) -> tuple[Any, type]:
    """waitress's worker pool and channel, adapted in two ways.

    - The pool remembers its threads so `stop()` can join them (the stock pool forgets a
      worker just before it exits); they are named `webhook-worker-N` for thread dumps.
    - Requests for `inline_paths` are served by the loop thread itself, after it has read
      them, and their answer is sent at once, without a round trip through the pool.
    """
    from waitress.channel import HTTPChannel
    from waitress.task import ThreadedTaskDispatcher

    class WebhookDispatcher(ThreadedTaskDispatcher):
        def __init__(self) -> None:
            super().__init__()
            self.started: list[threading.Thread] = []
            self.loop_thread: threading.Thread | None = None
            self.inline: deque[Any] = deque()

        def start_new_thread(self, target: Any, thread_no: int) -> None:
            thread = threading.Thread(
                target=target, name=f"webhook-worker-{thread_no}", args=(thread_no,), daemon=True
            )
            self.started.append(thread)
            thread.start()

        def add_task(self, channel: Any) -> None:
            if (
                threading.current_thread() is self.loop_thread
                and channel.requests
                and channel.requests[0].error is None
                and getattr(channel.requests[0], "path", None) in inline_paths
            ):
                # Called from inside the channel's `received()`, which holds its requests lock
                # that `service()` takes too: serve it once the read is done (WebhookChannel).
                self.inline.append(channel)
            else:
                super().add_task(channel)

        def serve_inline(self) -> None:
            while self.inline:
                channel = self.inline.popleft()
                channel.service()  # a pipelined next request comes back through add_task
                if channel.connected and channel.total_outbufs_len and not channel.requests:
                    channel._flush_exception(channel._flush_some)

    class WebhookChannel(HTTPChannel):
        def handle_read(self) -> None:
            try:
                super().handle_read()
            finally:
                self.server.task_dispatcher.serve_inline()

    return WebhookDispatcher(), WebhookChannel


class WebhookServer:
    def __init__(
        self,
        config: WebhookConfig,
        run_state: RunState,
        *,
        logs: LogSource | None = None,
        metrics: MetricsSource | None = None,
        dashboard: DashboardConfig | None = None,
    ) -> None:
        self.config = config
        self.context = WebhookContext(
            run_state=run_state,
            logs=logs,
            metrics=metrics,
            auth=config.auth,
            cors_origins=config.cors_origins,
            dashboard=dashboard,
        )
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._previous_switch_interval: float | None = None
        self._stopping = False

    @property
    def port(self) -> int:
        """The bound port (useful with port 0)."""
        if self._server is None:
            raise RuntimeError("the webhook server is not started")
        return int(self._server.effective_port)

    @property
    def url(self) -> str:
        host = self.config.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    def start(self) -> None:
        # pyramid imports pkg_resources, which warns on every start; nothing a user can act on.
        warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
        from waitress.server import create_server

        # "Task queue depth is N" is waitress thinking aloud under load, not a problem.
        logging.getLogger("waitress.queue").setLevel(logging.ERROR)

        if self._server is not None:
            raise RuntimeError("the webhook server is already started")
        app = self.make_app()
        host, port = self.config.host, self.config.port
        dispatcher, channel_class = _dispatcher_and_channel(self.config.inline_paths)
        try:
            server = create_server(
                app,
                _dispatcher=dispatcher,  # waitress calls it a test shim; stable across 2.x and 3.x
                host=host,
                port=port,
                threads=self.config.threads,
                ident="trade-executor",
                expose_tracebacks=False,
                asyncore_use_poll=True,
                clear_untrusted_proxy_headers=True,
                **_proxy_settings(self.config.trusted_proxy),
                channel_timeout=60,
            )
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise UserError(
                    f"Port {port} on {host} is already in use: stop the other process or choose another "
                    "port with --http-port."
                ) from None
            reason = e.strerror or str(e)
            raise UserError(
                f"Cannot listen on {host}:{port} ({reason}): check --http-host and --http-port."
            ) from None
        except ValueError as e:
            raise UserError(
                f"Cannot listen on {host}:{port} ({e}): check --http-host and --http-port."
            ) from None
        dispatcher.set_thread_count(self.config.threads)
        server.channel_class = channel_class
        self._server = server
        if self.config.switch_interval is not None:
            self._previous_switch_interval = sys.getswitchinterval()
            sys.setswitchinterval(min(self._previous_switch_interval, self.config.switch_interval))
        self._thread = threading.Thread(target=self._serve, name="webhook", daemon=True)
        dispatcher.loop_thread = self._thread
        wake = server.pull_trigger

        def pull_trigger() -> None:
            # A request served inline ends with a wake-up call to the loop: it is the loop.
            if threading.current_thread() is self._thread:
                return
            try:
                wake()
            except OSError:
                if not self._stopping:  # stop() closed the trigger: there is nothing to wake
                    raise

        server.pull_trigger = pull_trigger
        self._thread.start()
        logger.info("Webhook listening on %s", self.url)

    def make_app(self) -> Any:
        """The WSGI app to serve; the fleet dashboard overrides this to serve its own pages."""
        from tradeexecutor.webhook.app import make_app

        return make_app(self.context)

    def _serve(self) -> None:
        try:
            self._server.run()
        except Exception:
            logger.exception("The webhook server stopped unexpectedly")

    def stop(self, timeout: float = 5.0) -> None:
        """Close every socket from inside waitress's loop, join the thread and the workers."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        self._stopping = True
        from waitress import trigger, wasyncore

        socket_map = server.map if hasattr(server, "map") else server._map
        waker = getattr(server, "trigger", None) or next(
            (d for d in list(socket_map.values()) if isinstance(d, trigger.trigger)), None
        )
        if thread.is_alive() and waker is not None:
            try:
                waker.pull_trigger(lambda: wasyncore.close_all(socket_map, ignore_all=True))
            except OSError as e:
                # The wake-up pipe is gone (seen once: its fd closed under us). Close the
                # sockets from here instead; the loop notices an empty map within its 1 s poll.
                logger.warning("Webhook wake-up failed (%s); closing its sockets directly", e)
                wasyncore.close_all(socket_map, ignore_all=True)
            thread.join(timeout)
        if thread.is_alive():
            logger.warning("The webhook thread did not stop within %.0fs", timeout)
        else:
            wasyncore.close_all(socket_map, ignore_all=True)
        server.task_dispatcher.shutdown(cancel_pending=True, timeout=timeout)
        for worker in getattr(server.task_dispatcher, "started", []):
            worker.join(timeout)
        self._server = None
        self._thread = None
        self._stopping = False
        if self._previous_switch_interval is not None:
            sys.setswitchinterval(self._previous_switch_interval)
            self._previous_switch_interval = None
        logger.info("Webhook stopped")

    def __enter__(self) -> WebhookServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
