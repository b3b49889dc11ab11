"""`trade-executor dashboard` (the fleet view) and `trade-executor create-dashboard-user`."""

from __future__ import annotations

import os
import sys

import typer

from tradeexecutor.cli.options import (
    AppCookieSecret,
    DashboardCookieSecure,
    DashboardDbUrl,
    DashboardLogin,
    FleetTimeout,
    HttpHost,
    HttpPort,
    HttpTrustedProxy,
    LogFormat,
    PasswordStdin,
    Strategies,
    Username,
)
from tradeexecutor.errors import UserError


def dashboard(
    strategies: Strategies = None,
    http_host: HttpHost = "127.0.0.1",
    http_port: HttpPort = 3456,
    http_trusted_proxy: HttpTrustedProxy = None,
    dashboard_login: DashboardLogin = False,
    dashboard_db_url: DashboardDbUrl = None,
    app_cookie_secret: AppCookieSecret = None,
    dashboard_cookie_secure: DashboardCookieSecure = "auto",
    fleet_timeout: FleetTimeout = 3.0,
    log_format: LogFormat = "text",
) -> None:
    """Serve one page listing many executors (status, value, last cycle) read from their webhooks."""
    import signal
    import threading

    from tradeexecutor.dashboard.config import DashboardConfig, build_login
    from tradeexecutor.dashboard.fleet import PUBLIC_STRATEGIES_ENV, FleetPoller, load_strategies
    from tradeexecutor.dashboard.fleet_views import FleetServer
    from tradeexecutor.execution.run_state import RunState, StrategyMetadata
    from tradeexecutor.reporting.logging_setup import setup_logging
    from tradeexecutor.webhook.server import WebhookConfig

    entries = load_strategies(strategies, os.environ.get(PUBLIC_STRATEGIES_ENV))
    if not 0 < fleet_timeout <= 60:
        raise UserError(f"--fleet-timeout {fleet_timeout} is out of range: use 0.1 to 60 seconds.")
    config = WebhookConfig.from_options(http_host, http_port, trusted_proxy=http_trusted_proxy)
    log_setup = setup_logging("info", log_format=log_format, file_log_level=None, strategy_id="dashboard")
    login = (
        build_login(
            db_url=dashboard_db_url, cookie_secret=app_cookie_secret, cookie_secure=dashboard_cookie_secure
        )
        if dashboard_login
        else None
    )
    poller = FleetPoller(entries, timeout=fleet_timeout)
    run_state = RunState(StrategyMetadata("fleet", "Strategies"))
    server = FleetServer(config, run_state, dashboard=DashboardConfig(login=login, fleet=poller))
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    server.start()
    typer.echo(f"Fleet dashboard for {len(entries)} executor(s) on {server.url}/", err=True)
    try:
        stop.wait()
    finally:
        server.stop()
        poller.close()
        log_setup.close()


def create_dashboard_user(
    username: Username = None,
    password_stdin: PasswordStdin = False,
    dashboard_db_url: DashboardDbUrl = None,
) -> None:
    """Add a dashboard login to the user database (asks for the password, hidden, twice)."""
    from tradeexecutor.dashboard.auth.users import (
        DEFAULT_DB_URL,
        UserStore,
        check_password,
        check_username,
        redacted_url,
    )

    if username is None:
        if password_stdin:
            raise UserError(
                "--password-stdin needs --dashboard-username: a script cannot answer the username prompt."
            )
        username = typer.prompt("Username")
    name = check_username(username)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise UserError(
                "--password-stdin read an empty password: pipe the password in, e.g. printf '%s\\n' \"$PW\" | ..."
            )
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    check_password(password)
    url = dashboard_db_url or DEFAULT_DB_URL
    store = UserStore(url)
    try:
        store.add(name, password)
    finally:
        store.close()
    typer.echo(f"Dashboard user {name!r} added to {redacted_url(url)}.")
