"""`trade-executor healthcheck`: the Docker HEALTHCHECK, without curl in the image.

Asks the webhook of the executor running in this container for `/health` and exits 0
(healthy) or 1 (unhealthy), printing the webhook's reason for `docker inspect`. It reads the
same HTTP_* settings as `start`, so a changed port is followed automatically. Only the
standard library is used: it runs every 30 s and must start fast.
"""

from __future__ import annotations

import typer

from tradeexecutor.cli.options import HealthcheckTimeout, HttpEnabled, HttpHost, HttpPort

# Addresses a server listens on but a client cannot connect to: use loopback instead.
_ANY_ADDRESS = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1", "[::]": "::1"}


def health_url(host: str, port: int) -> str:
    host = _ANY_ADDRESS.get(host.strip(), host.strip())
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{port}/health"


def probe(url: str, timeout: float) -> tuple[bool, str]:
    """(healthy, one line saying why) for the /health endpoint at `url`."""
    import json
    import socket
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            status, body = response.status, response.read()
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read()
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", e)
        if isinstance(reason, socket.timeout | TimeoutError):
            reason = f"no answer within {timeout:g}s"
        return False, f"cannot reach {url}: {reason}"
    try:
        reason = json.loads(body).get("reason") or ""
    except (ValueError, AttributeError):
        reason = ""
    if status == 200:
        return True, f"healthy: {reason or 'HTTP 200'}"
    return False, f"unhealthy: HTTP {status}" + (f": {reason}" if reason else "")


def healthcheck(
    http_enabled: HttpEnabled = True,
    http_host: HttpHost = "127.0.0.1",
    http_port: HttpPort = 3456,
    healthcheck_timeout: HealthcheckTimeout = 5.0,
) -> None:
    """Exit 0 when the local executor's /health answers 200, else 1 (for Docker HEALTHCHECK)."""
    if not http_enabled:
        typer.echo("unhealthy: the webhook is disabled (HTTP_ENABLED=false), so health cannot be checked.")
        raise typer.Exit(1)
    healthy, message = probe(health_url(http_host, http_port), healthcheck_timeout)
    typer.echo(message)
    raise typer.Exit(0 if healthy else 1)
