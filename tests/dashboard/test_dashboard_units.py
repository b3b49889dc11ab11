"""The dashboards' plain parts without a browser: windows, settings, figures, CSV, sessions, escaping."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from tests.state.factories import ETH, T0, USDC, WETH, WETH_USDC, funded_state, hours
from tests.webhook_client import get
from tradeexecutor.dashboard import fund_data, ledger_data
from tradeexecutor.dashboard.auth.passwords import hash_password, verify_password
from tradeexecutor.dashboard.auth.session import Signer
from tradeexecutor.dashboard.auth_views import safe_next
from tradeexecutor.dashboard.pages import json_for_script, safe_url
from tradeexecutor.dashboard.settings import DisplaySettings, display_settings
from tradeexecutor.dashboard.timewindow import BadQuery, parse_window
from tradeexecutor.errors import UserError

UTC = datetime.UTC
NOW = datetime.datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def test_window_toggles_and_iso_times() -> None:
    default = parse_window({}, NOW)  # all of it: the charts fit the data, however young the executor
    assert (default.start, default.end, default.label) == (None, None, "all")
    assert parse_window({"window": "30d"}, NOW).start == NOW - datetime.timedelta(days=30)
    assert parse_window({"window": "1d"}, NOW).start == NOW - datetime.timedelta(days=1)
    assert parse_window({"window": "all"}, NOW).start is None
    w = parse_window({"start": "2024-05-01T10:20:30Z", "end": "2024-05-02 10:20:31+02:00"}, NOW)
    assert w.start == datetime.datetime(2024, 5, 1, 10, 20, 30, tzinfo=UTC)
    assert w.end == datetime.datetime(2024, 5, 2, 8, 20, 31, tzinfo=UTC) and w.label == "custom"
    assert parse_window({"start": "2024-05-01"}, NOW).start == datetime.datetime(2024, 5, 1, tzinfo=UTC)
    assert parse_window({"end": "2024-05-10", "window": "7d"}, NOW).start == datetime.datetime(
        2024, 5, 3, tzinfo=UTC
    )
    for params, message in [
        ({"window": "2w"}, "window='2w' is not a known window: use one of 1d, 7d, 30d, all."),
        ({"start": "May 1"}, "start='May 1' is not an ISO 8601 time"),
        ({"end": ""}, "end is empty"),
        ({"start": "2024-05-02", "end": "2024-05-01"}, "must be before end"),
        ({"start": "2024-05-01", "end": "2024-05-01"}, "must be before end"),
        ({"start": "2024-13-45"}, "start='2024-13-45' is not an ISO 8601 time"),
        ({"start": "9999-12-31T23:59:59-14:00"}, "is out of range"),
        ({"start": "0001-01-01T00:00:00+14:00"}, "is out of range"),
        ({"end": "0001-01-01", "window": "7d"}, "leaves no room for the 7d window"),
    ]:
        with pytest.raises(BadQuery, match=message.replace("(", r"\(").replace(")", r"\)")):
            parse_window(params, NOW)


def test_display_settings_module_then_config_file(tmp_path) -> None:
    ini = tmp_path / "dashboards.conf"
    ini.write_text("[strategies:mm]\nprice_currency: USD\nbase_point_radius: 30\nposition_graph_min: -0.05\n")
    settings = display_settings("mm", {"PRICE_CURRENCY": "USDC", "volume_currency": "ETH"}, ini)
    assert settings == DisplaySettings(
        price_currency="USD", volume_currency="ETH", base_point_radius=30.0, position_graph_min=-0.05
    )
    toml = tmp_path / "d.toml"
    toml.write_text('[strategies.mm]\ndisplay_name = "Market maker"\ngraph_volume_threshold = 0.001\n')
    assert display_settings("mm", None, toml).graph_volume_threshold == Decimal("0.001")
    with pytest.raises(UserError, match="Unknown dashboard setting 'colour'"):
        display_settings("mm", {"colour": "red"})
    with pytest.raises(UserError, match="base_point_radius .* must be a number"):
        display_settings("mm", {"base_point_radius": "big"})
    ini.write_text("[other:mm]\nprice_currency: USD\n")
    with pytest.raises(UserError, match=r"must be named \[strategies:<id>\]"):
        display_settings("mm", None, ini)


def traded_state():
    """Buy 1 WETH at 2000, sell 0.5 at 2100, deposit, withdraw, drift, gas: every ledger kind."""
    state = funded_state()
    buy = state.plan_trade(T0 + hours(1), WETH_USDC, price=Decimal(2000), reserve=Decimal(2000))
    state.start_trade(buy, T0 + hours(1))
    state.settle_trade_success(
        buy,
        T0 + hours(1),
        executed_quantity_raw=10**18,
        executed_reserve_raw=2000 * 10**6,
        executed_price=Decimal(2000),
        lp_fees_reserve=Decimal(6),
    )
    state.record_statistics(T0 + hours(1))
    position = state.position_of(buy)
    sell = state.plan_trade(
        T0 + hours(2), WETH_USDC, price=Decimal(2100), quantity=Decimal("-0.5"), position=position
    )
    state.start_trade(sell, T0 + hours(2))
    state.settle_trade_success(
        sell,
        T0 + hours(2),
        executed_quantity_raw=-(5 * 10**17),
        executed_reserve_raw=1050 * 10**6,
        executed_price=Decimal(2100),
        lp_fees_reserve=Decimal("3.15"),
    )
    state.revalue_position(position, T0 + hours(3), Decimal(2200))
    state.record_deposit(USDC, 500 * 10**6, T0 + hours(3), reason="investor")
    state.record_withdrawal(USDC, 100 * 10**6, T0 + hours(3), reason='=HYPERLINK("http://x")')
    state.record_drift(USDC, -(2 * 10**6), T0 + hours(3), reason="audit found 2 USDC less")
    state.record_statistics(T0 + hours(4))
    return state


def test_fund_breakdown_adds_up_to_the_equity_change() -> None:
    state = traded_state()
    window = parse_window({"start": (T0 + hours(0.5)).isoformat()}, T0 + hours(5))
    b = fund_data.breakdown(state, window)
    assert b.equity_start == Decimal(10_000)  # deposits by then (no statistics yet)
    assert b.deposits == Decimal(500) and b.withdrawals == Decimal(100) and b.drift == Decimal(-2)
    assert b.lp_fees == Decimal("9.15") and b.trades_executed == 2
    realised = Decimal(1050) - Decimal(1000)
    unrealised = Decimal("0.5") * 2200 - 1000
    assert b.trading_revenue == realised + unrealised + b.lp_fees
    assert b.other == 0
    assert b.equity_end == b.equity_start + sum(v for _, v, _ in b.rows())
    assert b.net_result == b.equity_change - 500 + 100


def test_ledger_rows_running_balance_and_csv_is_safe_for_spreadsheets() -> None:
    state = traded_state()
    window = parse_window({"window": "all"}, T0 + hours(5))
    rows = ledger_data.ledger_rows(state, USDC, window)
    assert [r.kind for r in rows] == ["deposit", "trade", "trade", "deposit", "withdrawal", "drift"]
    assert rows[-1].balance == USDC.to_decimal(state.ledger.balance(USDC.key)) == Decimal(9448)
    assert rows[1].reason == "buy WETH-USDC (fill)"
    later = ledger_data.ledger_rows(state, USDC, parse_window({"start": (T0 + hours(2)).isoformat()}, T0))
    assert later[0].balance == Decimal(9050)  # balance includes what came before the window
    text = ledger_data.ledger_csv(rows, USDC)
    assert "'=HYPERLINK" in text and "\n=HYPERLINK" not in text and ",=HYPERLINK" not in text
    assert ledger_data.choose_asset(state, "usdc") == USDC
    assert ledger_data.choose_asset(state, ETH.key) == ETH
    with pytest.raises(BadQuery, match="asset='DOGE' has no ledger entries: choose one of"):
        ledger_data.choose_asset(state, "DOGE")
    assert ledger_data.choose_asset(state, "WETH") == WETH


def test_passwords_and_signed_sessions() -> None:
    encoded = hash_password("a long password 1")
    assert encoded.startswith("scrypt$15$8$1$") and "a long password" not in encoded
    assert verify_password("a long password 1", encoded) and not verify_password("a long password 2", encoded)
    assert not verify_password("x", "garbage")
    signer = Signer("s" * 32)
    cookie = signer.issue("alice", now=1000.0)
    assert signer.read(cookie, now=1001.0).username == "alice"
    assert signer.read(cookie, now=1000.0 + 13 * 3600) is None  # expired
    body, signature = cookie.split(".")
    assert signer.read(body[:-1] + ("A" if body[-1] != "A" else "B") + "." + signature, now=1001.0) is None
    assert Signer("t" * 32).read(cookie, now=1001.0) is None  # another secret
    assert signer.check_csrf("nonce", signer.csrf_token("nonce")) and not signer.check_csrf("nonce", "x")


def test_redirects_urls_and_script_json_cannot_break_out() -> None:
    assert safe_next("/fund?window=1d") == "/fund?window=1d"
    for evil in ("//evil.example", "https://evil.example", "/\\evil.example", None, "fund"):
        assert safe_next(evil) == "/"
    assert (
        safe_url("javascript:alert(1)") is None
        and safe_url("https://x.example/i.png") == "https://x.example/i.png"
    )
    assert "</script>" not in json_for_script({"a": "</script><script>alert(1)</script>"})


def test_pages_escape_strategy_text_and_static_files_are_cached(scenario) -> None:
    from tests.dashboard.conftest import published_run_state, serve
    from tradeexecutor.dashboard.config import DashboardConfig

    evil = '<script>alert("x")</script>'
    server = serve(
        published_run_state(scenario, name=evil, short_description=evil, icon_url="javascript:alert(1)"),
        DashboardConfig(),
    )
    try:
        for path in ("/", "/fund", "/ledger", "/?window=<b>x</b>"):
            answer = get(server.port, path)
            assert b"<script>alert" not in answer.body and b"javascript:" not in answer.body, path
            assert "script-src 'self'" in answer.headers["Content-Security-Policy"]
        assert b"&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in get(server.port, "/").body
        js = get(server.port, "/static/bokeh.min.js", {"Accept-Encoding": "gzip"})
        assert js.status == 200 and js.headers["Content-Encoding"] == "gzip"
        assert "immutable" in js.headers["Cache-Control"]
        assert get(server.port, "/static/bokeh.min.js", {"If-None-Match": js.headers["ETag"]}).status == 304
        assert get(server.port, "/static/..%2Fconfig.py").status == 404
        assert get(server.port, "/ledger?format=xml").status == 400
        assert get(server.port, "/?pair=FOO-USDC").status == 400
    finally:
        server.stop()


def test_login_mode_refuses_to_start_without_a_cookie_secret(tmp_path) -> None:
    from tradeexecutor.dashboard.config import build_dashboard_config

    url = f"sqlite:///{tmp_path / 'u.sqlite'}"
    with pytest.raises(UserError, match="--dashboard-login needs APP_COOKIE_SECRET"):
        build_dashboard_config("x", login=True, db_url=url)
    with pytest.raises(UserError, match="APP_COOKIE_SECRET is too short"):
        build_dashboard_config("x", login=True, db_url=url, cookie_secret="short")
    with pytest.raises(UserError, match="--dashboard-cookie-secure must be one of auto, always, never"):
        build_dashboard_config("x", login=True, db_url=url, cookie_secret="s" * 32, cookie_secure="yes")


def test_without_dashboards_the_webhook_serves_only_its_api() -> None:
    from tradeexecutor.execution.run_state import RunState, StrategyMetadata
    from tradeexecutor.webhook.server import WebhookConfig, WebhookServer

    server = WebhookServer(WebhookConfig(port=0), RunState(StrategyMetadata("x", "X"), version="1"))
    server.start()
    try:
        assert get(server.port, "/").status == 404 and get(server.port, "/status").status == 200
    finally:
        server.stop()


def test_fund_page_counts_trades_and_round_trips_one_way(scenario) -> None:
    """A "trade" is a filled swap and a "round trip" a closed position, on every line of /fund
    (it once showed "Trades executed 1" beside "Total trades done 0")."""
    import re

    from tests.dashboard.conftest import published_run_state, serve
    from tradeexecutor.dashboard.config import DashboardConfig

    state = scenario.state
    filled = sum(1 for t in state.portfolio.all_trades() if t.is_success)
    trips = sum(1 for p in state.portfolio.closed_positions.values() if p.has_executed_trades())
    server = serve(published_run_state(scenario), DashboardConfig())
    try:
        html = get(server.port, "/fund?window=all").body.decode()
    finally:
        server.stop()
    summary = dict(re.findall(r'<tr><th>([^<]+)</th><td class="num">([^<]*)</td></tr>', html))
    assert re.search(rf'data-row="Trades executed">{filled}<', html)
    assert summary["Trades executed"] == str(filled) and summary["Round trips"] == str(trips)
    assert filled > trips > 0
    assert "Total trades done" not in html
    # a run 8 hours long: nothing annualised
    assert summary["Sharpe"] == summary["Annualised return %"] == "n/a (needs ≥ 30 days)"
    # the process's cycle count is not the strategy's cycle number
    assert "Cycles this run" in html and "cycle #8 of the strategy" in html


def test_bad_start_and_end_answer_400_with_one_sentence_on_every_page() -> None:
    """Over real HTTP: malformed, reversed and out-of-range times never reach a 500."""
    from urllib.parse import quote

    from tests.dashboard.conftest import serve
    from tradeexecutor.dashboard.config import DashboardConfig
    from tradeexecutor.execution.run_state import RunState, StrategyMetadata

    server = serve(RunState(StrategyMetadata("x", "X")), DashboardConfig())
    try:
        for query, sentence in [
            ("start=2024-13-45", "start=&#39;2024-13-45&#39; is not an ISO 8601 time"),
            ("start=2024-06-01&end=2024-05-01", "must be before end"),
            ("start=" + quote("9999-12-31T23:59:59-14:00"), "is out of range"),
            ("end=0001-01-01&window=7d", "leaves no room for the 7d window"),
        ]:
            for page in ("/", "/fund", "/ledger"):
                answer = get(server.port, f"{page}?{query}")
                assert answer.status == 400, (page, query)
                assert sentence in answer.body.decode(), (page, query)
    finally:
        server.stop()


def test_strategy_page_before_anything_and_with_candles_only() -> None:
    """A fresh executor: no state, no candles yet; then candles published before the first trade."""
    from tests.dashboard.conftest import serve
    from tradeexecutor.dashboard.config import DashboardConfig
    from tradeexecutor.execution.run_state import RunState, StrategyMetadata

    run_state = RunState(StrategyMetadata("fresh", "Fresh"), version="1", clock=lambda: NOW)
    server = serve(run_state, DashboardConfig())
    try:
        empty = get(server.port, "/")
        assert empty.status == 200 and b"Nothing to draw yet" in empty.body
        candles = [
            (NOW - hours(3 - h), NOW - hours(2 - h), 2000.0 + h, 2010.0 + h, 1990.0, 2005.0) for h in range(3)
        ]
        run_state.publish(price_series={"WETH-USDC": candles})
        page = get(server.port, "/")
        assert page.status == 200 and b"Nothing to draw yet" not in page.body
        assert b'"name":"candles:WETH-USDC"' in page.body  # the price chart is there before any trade
        assert get(server.port, "/?pair=weth-usdc").status == 200
        assert get(server.port, "/?start=2024-06-01&end=2024-05-01").status == 400
    finally:
        server.stop()
