"""Serve the real webhook (no trading) inside the image, for container checks.

Stands in for `trade-executor start` where a check needs an HTTP answer from the container
without a strategy, a chain or a wallet: the image's own pyramid/waitress stack serves
/ping, /status and /health (healthy: "waiting for the first cycle"). Exits on SIGTERM.

    python webhook_probe.py [ENV_FILE]

With ENV_FILE (the demo's devchain/devchain.env) it first proves the devchain is reachable
the way the executor would reach it: JSON_RPC_ANVIL from that file must answer eth_chainId.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import urllib.request
from pathlib import Path

from tradeexecutor.config.envfile import parse_env_file
from tradeexecutor.execution.run_state import RunState, StrategyMetadata
from tradeexecutor.webhook.server import WebhookConfig, WebhookServer


def chain_id_of(env_file: Path) -> int:
    rpc = next(e.value for e in parse_env_file(env_file) if e.name == "JSON_RPC_ANVIL")
    request = urllib.request.Request(
        rpc,
        data=json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return int(json.loads(response.read())["result"], 16)


def main() -> None:
    if len(sys.argv) > 1:
        print(f"devchain answers: chain id {chain_id_of(Path(sys.argv[1]))}", flush=True)
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
