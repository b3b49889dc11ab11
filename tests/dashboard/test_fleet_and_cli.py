"""`trade-executor dashboard` (fleet view) and `trade-executor create-dashboard-user`, run as the
installed command against real webhooks on loopback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest

from tests.dashboard.browser import screenshot_dir
from tests.webhook_client import get
from tradeexecutor.execution.run_state import PortfolioSummary, RunState, StrategyMetadata
from tradeexecutor.webhook.server import WebhookConfig, WebhookServer

COMMAND = [sys.executable, "-m", "tradeexecutor.cli"]


def cli(*args: str, env: dict[str, str] | None = None, stdin: str | None = None, cwd: Path | None = None):
    return subprocess.run(
        [str(Path(sys.executable).with_name("trade-executor")), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        cwd=cwd,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def executors():
    """Two executors' webhooks: one running, one halted after a failure."""
    running = RunState(
        StrategyMetadata("alpha", "Alpha <momentum>", icon_url="javascript:alert(1)"), version="1"
    )
    running.cycle_completed(
        12,
        duration=1.0,
        trades_succeeded=3,
        summary=PortfolioSummary(
            total_equity=Decimal("12345.678"), currency="USDC", profit=Decimal("345.678")
        ),
    )
    halted = RunState(StrategyMetadata("beta", "Beta mean reversion"), version="1")
    halted.cycle_completed(
        4,
        duration=1.0,
        summary=PortfolioSummary(total_equity=Decimal("1000"), currency="USDC", profit=Decimal("-50.5")),
    )
    halted.cycle_failed(RuntimeError("RPC node refused the transaction"), cycle=5, halt=True)
    servers = [WebhookServer(WebhookConfig(port=0), s) for s in (running, halted)]
    for s in servers:
        s.start()
    yield servers
    for s in servers:
        s.stop()


def test_fleet_dashboard_lists_executors_and_marks_unreachable_ones(executors, tmp_path, browser) -> None:
    dead_port = free_port()  # nothing listens here
    strategies = [
        {"id": "alpha", "name": "Alpha", "url": executors[0].url},
        {"id": "beta", "name": "Beta", "url": executors[1].url + "/"},
        {"id": "gamma", "name": "Gamma", "url": f"http://127.0.0.1:{dead_port}"},
    ]
    path = tmp_path / "strategies.json"
    path.write_text(json.dumps(strategies))
    port = free_port()
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("trade-executor")),
            "dashboard",
            "--strategies",
            str(path),
            "--http-port",
            str(port),
            "--fleet-timeout",
            "2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if get(port, "/ping").status == 200:
                    break
            except OSError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, (
                process.stderr.read() if process.poll() is not None else "no start"
            )
            time.sleep(0.1)
        page = browser.new_page()
        page.navigate(f"http://127.0.0.1:{port}/")
        page.settle()
        assert page.errors == []
        rows = page.evaluate(
            "Array.from(document.querySelectorAll('#fleet tbody tr')).map(tr => [tr.dataset.id, ...Array.from(tr.cells).map(c => c.innerText.trim())])"
        )
        by_id = {r[0]: r[1:] for r in rows}
        assert by_id["alpha"][0].startswith("Alpha <momentum>") and by_id["alpha"][1] == "Running"
        assert by_id["alpha"][2] == "12,345.68 USDC" and by_id["alpha"][3] == "+345.68 USDC"
        assert "#12" in by_id["alpha"][4]
        assert by_id["beta"][1] == "Stopped" and "RPC node refused" in by_id["beta"][5]
        assert by_id["beta"][3] == "-50.50 USDC"
        assert by_id["gamma"][1] == "Unreachable" and "refused" in by_id["gamma"][5].lower()
        total = page.evaluate(
            "Array.from(document.querySelectorAll('#fleet tfoot tr td')).map(c => c.innerText.trim())"
        )
        assert total[1:3] == ["13,345.68 USDC", "+295.18 USDC"]  # gamma did not report
        assert (
            page.evaluate("document.querySelectorAll('#fleet img').length") == 0
        )  # javascript: icon dropped
        page.screenshot(screenshot_dir() / "fleet.png")
    finally:
        process.terminate()
        process.wait(15)
    assert process.returncode == 0


def test_fleet_dashboard_reads_ts_public_strategies_and_refuses_bad_lists(tmp_path) -> None:
    result = cli("dashboard", env={"TS_PUBLIC_STRATEGIES": '[{"id": "x"}]', "STRATEGIES": ""})
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert 'Entry 0 in TS_PUBLIC_STRATEGIES needs an "id" and a "url"' in result.stderr
    result = cli("dashboard", env={"TS_PUBLIC_STRATEGIES": "", "STRATEGIES": ""})
    assert "pass --strategies strategies.json or set TS_PUBLIC_STRATEGIES" in result.stderr
    bad = tmp_path / "s.json"
    bad.write_text("{not json")
    result = cli("dashboard", "--strategies", str(bad))
    assert result.returncode != 0 and "is not valid JSON" in result.stderr


def test_create_dashboard_user_from_a_script_and_refusals(tmp_path) -> None:
    from tradeexecutor.dashboard.auth.users import UserStore

    url = f"sqlite:///{tmp_path / 'users.sqlite'}"
    env = {"DASHBOARD_DB_URL": url, "DASHBOARD_USERNAME": ""}
    result = cli(
        "create-dashboard-user",
        "--dashboard-username",
        "carol",
        "--password-stdin",
        env=env,
        stdin="a long password 1\n",
    )
    assert result.returncode == 0, result.stderr
    assert "a long password" not in result.stdout + result.stderr
    store = UserStore(url)
    assert store.usernames() == ["carol"]
    assert store.verify("carol", "a long password 1") and not store.verify("carol", "a long password 2")
    again = cli(
        "create-dashboard-user",
        "--dashboard-username",
        "carol",
        "--password-stdin",
        env=env,
        stdin="another password\n",
    )
    assert again.returncode != 0 and "already exists" in again.stderr and "Traceback" not in again.stderr
    short = cli(
        "create-dashboard-user", "--dashboard-username", "dave", "--password-stdin", env=env, stdin="short\n"
    )
    assert short.returncode != 0 and "at least 10 characters" in short.stderr
    no_name = cli("create-dashboard-user", "--password-stdin", env=env, stdin="a long password 1\n")
    assert no_name.returncode != 0 and "--password-stdin needs --dashboard-username" in no_name.stderr
    bad_db = cli(
        "create-dashboard-user",
        "--dashboard-username",
        "erin",
        "--password-stdin",
        "--dashboard-db-url",
        "nosuchdb://x",
        stdin="a long password 1\n",
        env={"DASHBOARD_USERNAME": ""},
    )
    assert (
        bad_db.returncode != 0
        and "not a usable database URL" in bad_db.stderr
        and "Traceback" not in bad_db.stderr
    )


def test_fleet_reads_executors_behind_basic_auth_with_credentials_from_the_environment(tmp_path) -> None:
    from tradeexecutor.dashboard.fleet import FleetPoller, parse_strategies

    state = RunState(StrategyMetadata("delta", "Delta"), version="1")
    state.cycle_completed(3, duration=1.0)
    server = WebhookServer(WebhookConfig(port=0, username="ops", password="fleet-pw-9"), state)
    server.start()
    try:
        listed = json.dumps(
            [
                {"id": "delta", "url": server.url, "credentials_env": "DELTA_WEBHOOK_AUTH"},
                {"id": "delta-no-login", "url": server.url},
            ]
        )
        entries = parse_strategies(listed, "strategies.json", {"DELTA_WEBHOOK_AUTH": "ops:fleet-pw-9"})
        assert "fleet-pw-9" not in repr(entries)
        poller = FleetPoller(entries, timeout=5)
        try:
            with_login, without = poller.rows()
        finally:
            poller.close()
        assert with_login.state == "running" and with_login.completed_cycle == 3
        assert without.state == "unreachable" and "credentials_env" in without.detail
    finally:
        server.stop()
    with pytest.raises(Exception, match="set DELTA_WEBHOOK_AUTH=user:password"):
        parse_strategies(listed, "strategies.json", {})


def test_fleet_rows_carry_currency_and_profit_and_total_per_currency(executors) -> None:
    """Over real HTTP from real webhooks, without a browser: amounts only add up within a currency."""
    from tradeexecutor.dashboard.fleet import FleetEntry, FleetPoller, FleetRow, fleet_totals

    entries = [FleetEntry("alpha", "Alpha", executors[0].url), FleetEntry("beta", "Beta", executors[1].url)]
    poller = FleetPoller(entries, timeout=5)
    try:
        alpha, beta = poller.rows()
    finally:
        poller.close()
    assert (alpha.currency, alpha.total_equity, alpha.profit) == (
        "USDC",
        Decimal("12345.678"),
        Decimal("345.678"),
    )
    assert (beta.currency, beta.profit) == ("USDC", Decimal("-50.5"))
    euro = FleetRow(
        "e", "E", "http://e/", None, "running", "Running", Decimal(7), None, None, "", "EURC", Decimal(1)
    )
    old = FleetRow(
        "o", "O", "http://o/", None, "running", "Running", Decimal(9), None, None, ""
    )  # no currency
    totals = fleet_totals([alpha, beta, euro, old])
    assert [(t.currency, t.total_equity, t.profit, t.executors) for t in totals] == [
        ("USDC", Decimal("13345.678"), Decimal("295.178"), 2),
        ("EURC", Decimal(7), Decimal(1), 1),
    ]
