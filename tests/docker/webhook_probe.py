"""Serve the real webhook (no trading) inside the image, for container checks.

Stands in for `trade-executor start` where a check needs an HTTP answer from a container
that has no strategy, chain or wallet (the plain image, the production compose service):
the image's own pyramid/waitress stack serves /ping, /status and /health (healthy: "waiting
for the first cycle"). Exits on SIGTERM.
"""

from __future__ import annotations

import os
import signal
import threading

from tradeexecutor.execution.run_state import RunState, StrategyMetadata
from tradeexecutor.webhook.server import WebhookConfig, WebhookServer


def main() -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    config = WebhookConfig.from_options(
        os.environ.get("HTTP_HOST", "0.0.0.0"), int(os.environ.get("HTTP_PORT", "3456"))
    )
    server = WebhookServer(config, RunState(StrategyMetadata(id="probe", name="webhook probe")))
    server.start()
    print(f"webhook probe listening on {server.url}", flush=True)
    stop.wait()
    server.stop()
    print("webhook probe stopped", flush=True)


if __name__ == "__main__":
    main()
