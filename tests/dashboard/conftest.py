"""Fixtures: one executor that traded on anvil (module scope), its webhook with the dashboards,
public and login-protected, and a headless Chromium (skipped cleanly when not installed)."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from tests.dashboard.browser import Browser, find_chromium
from tests.dashboard.scenario import Scenario, run_scenario

PASSWORD = "correct horse battery staple"
SECRET = "test-cookie-secret-0123456789abcdef"


@pytest.fixture(scope="session")
def scenario(tmp_path_factory) -> Scenario:
    return run_scenario(tmp_path_factory.mktemp("dashboard-scenario"))


def published_run_state(scenario: Scenario, **metadata):
    from tradeexecutor.execution import publish
    from tradeexecutor.execution.run_state import RunState, StrategyMetadata

    now = scenario.now
    fields = {
        "id": "dashboard-demo",
        "name": "WETH and DEV momentum",
        "short_description": "Buys strength and sells weakness on WETH-USDC and DEV-USDC.",
        "long_description": "A demonstration strategy that traded on a local anvil chain.",
        **metadata,
    }
    run_state = RunState(StrategyMetadata(**fields), version="0.1.0", clock=lambda: now)
    run_state.cycle_started(8, expected_duration=3600, at=now - datetime.timedelta(minutes=21))
    run_state.cycle_completed(
        8,
        at=now - datetime.timedelta(minutes=20),
        duration=1.4,
        trades_succeeded=9,
        summary=publish.portfolio_summary(scenario.state),
        positions=publish.positions_documents(scenario.state),
        trades=publish.trades_documents(scenario.state),
        price_series=scenario.price_series,
    )
    run_state.update_state_bytes(scenario.state_bytes, saved_at=now - datetime.timedelta(minutes=20))
    return run_state


def serve(run_state, dashboard, **config):
    from tradeexecutor.webhook.server import WebhookConfig, WebhookServer

    server = WebhookServer(WebhookConfig.from_options(port=0, **config), run_state, dashboard=dashboard)
    server.context.clock = run_state.now
    server.start()
    return server


@pytest.fixture(scope="module")
def public_server(scenario) -> Iterator[object]:
    from tradeexecutor.dashboard.config import build_dashboard_config

    dashboard = build_dashboard_config(
        "dashboard-demo", module_settings={"price_currency": "USDC", "base_point_radius": 16}
    )
    server = serve(published_run_state(scenario), dashboard)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def login_server(scenario, tmp_path_factory) -> Iterator[SimpleNamespace]:
    from tradeexecutor.dashboard.auth.users import UserStore
    from tradeexecutor.dashboard.config import build_dashboard_config

    url = f"sqlite:///{tmp_path_factory.mktemp('users') / 'users.sqlite'}"
    UserStore(url).add("alice", PASSWORD)
    dashboard = build_dashboard_config("dashboard-demo", login=True, db_url=url, cookie_secret=SECRET)
    server = serve(published_run_state(scenario), dashboard, username="ops", password="api-password-1")
    yield SimpleNamespace(server=server, dashboard=dashboard, db_url=url)
    server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = find_chromium()
    if executable is None:
        pytest.skip("Chromium is not installed (run `make browser-deps`)")
    b = Browser(executable)
    yield b
    b.close()
