"""`trade-executor healthcheck` (the image's HEALTHCHECK) against a real webhook on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from tradeexecutor.cli.commands.healthcheck import health_url
from tradeexecutor.cli.main import app
from tradeexecutor.execution.run_state import RunState, StrategyMetadata
from tradeexecutor.webhook.server import WebhookConfig, WebhookServer

runner = CliRunner()


@pytest.fixture()
def webhook() -> Iterator[tuple[WebhookServer, RunState]]:
    state = RunState(StrategyMetadata("hc", "health check"))
    server = WebhookServer(WebhookConfig(port=0), state)
    server.start()
    yield server, state
    server.stop()


def healthcheck(*args: str, env: dict[str, str] | None = None):
    return runner.invoke(app, ["healthcheck", *args], env={"HTTP_ENABLED": None, **(env or {})})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_healthy_executor_exits_0_with_the_reason(webhook) -> None:
    server, _ = webhook
    result = healthcheck(env={"HTTP_HOST": "0.0.0.0", "HTTP_PORT": str(server.port)})
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "healthy: running; waiting for the first cycle to report its period"


def test_halted_executor_exits_1_with_the_reason(webhook) -> None:
    server, state = webhook
    state.halted("strategy raised ZeroDivisionError")
    result = healthcheck("--http-port", str(server.port))
    assert result.exit_code == 1
    assert (
        result.output.strip() == "unhealthy: HTTP 503: trading is halted: strategy raised ZeroDivisionError"
    )


def test_nothing_listening_is_unhealthy() -> None:
    port = free_port()
    result = healthcheck("--http-port", str(port))
    assert result.exit_code == 1
    assert result.output.startswith(f"cannot reach http://127.0.0.1:{port}/health:")


def test_webhook_disabled_cannot_be_healthy() -> None:
    result = healthcheck(env={"HTTP_ENABLED": "false"})
    assert result.exit_code == 1
    assert "webhook is disabled" in result.output


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("0.0.0.0", "http://127.0.0.1:3456/health"),
        ("::", "http://[::1]:3456/health"),
        ("10.0.0.5", "http://10.0.0.5:3456/health"),
        ("::1", "http://[::1]:3456/health"),
    ],
)
def test_listen_address_becomes_a_connectable_url(host: str, url: str) -> None:
    assert health_url(host, 3456) == url


def test_healthcheck_stays_light() -> None:
    """It runs every 30 s in the container: no web3, pandas or pyramid."""
    code = (
        "import sys\nfrom tradeexecutor.cli.main import run\n"
        f"try:\n    run(['healthcheck', '--http-port', '{free_port()}'])\nexcept SystemExit:\n    pass\n"
        "print('HEAVY', [m for m in ('web3', 'pandas', 'pyramid') if m in sys.modules])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ)
    )
    assert "HEAVY []" in result.stdout, result.stdout + result.stderr
