"""`WebhookServer`: the pyramid app on waitress, in a daemon thread.

Started before the first cycle and independent of the loop, so it keeps answering when
trading halts (that is when operators need `/status` most). We drive waitress's
`create_server` ourselves rather than using webtest's StopableWSGIServer, which serves local
files under `/__file__`. Stopping is done from inside waitress's own event loop (a trigger
thunk closes every socket there), then the thread and the worker pool are joined.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import sys
import threading
import warnings
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
# Measured in benchmarks/webhook.py: 2, 4 and 8 threads serve alike on 2 cores; 4 absorbs
# a few slow clients without queueing.
DEFAULT_THREADS = 4
# A CPU-bound cycle holds the GIL; a thread waiting for it (a request) gets it after at most
# the switch interval, and one request needs several hand-offs. At CPython's default 5 ms
# /status p99 was 30-64 ms during a busy cycle; at 1 ms it is 12-15 ms. Forced switches only
# happen while another thread waits, so an idle webhook costs the loop nothing.
DEFAULT_SWITCH_INTERVAL = 0.001


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


def _joinable_dispatcher() -> Any:
    """waitress's worker pool, but remembering its threads so `stop()` can join them.

    The stock pool forgets a worker just before it exits, so "stopped" could still leave
    threads running; these are also named `webhook-worker-N` for thread dumps.
    """
    from waitress.task import ThreadedTaskDispatcher

    class JoinableDispatcher(ThreadedTaskDispatcher):
        def __init__(self) -> None:
            super().__init__()
            self.started: list[threading.Thread] = []

        def start_new_thread(self, target: Any, thread_no: int) -> None:
            thread = threading.Thread(
                target=target, name=f"webhook-worker-{thread_no}", args=(thread_no,), daemon=True
            )
            self.started.append(thread)
            thread.start()

    return JoinableDispatcher()


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
        dispatcher = _joinable_dispatcher()
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
        self._server = server
        if self.config.switch_interval is not None:
            self._previous_switch_interval = sys.getswitchinterval()
            sys.setswitchinterval(min(self._previous_switch_interval, self.config.switch_interval))
        self._thread = threading.Thread(target=self._serve, name="webhook", daemon=True)
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
        if self._previous_switch_interval is not None:
            sys.setswitchinterval(self._previous_switch_interval)
            self._previous_switch_interval = None
        logger.info("Webhook stopped")

    def __enter__(self) -> WebhookServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
