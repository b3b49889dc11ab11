"""Thin pyramid views of the dashboards: read the snapshot, call the data functions, render.

Registered by `tradeexecutor.webhook.routes` (PAGES). Login, logout and static files are
in `auth_views`; this module holds the three dashboards.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from pyramid.request import Request
from pyramid.response import Response

from tradeexecutor.dashboard import charts, fund_data, ledger_data, strategy_data
from tradeexecutor.dashboard.config import DashboardConfig
from tradeexecutor.dashboard.pages import json_for_script, render, safe_url
from tradeexecutor.dashboard.timewindow import WINDOWS, BadQuery, TimeWindow, parse_window
from tradeexecutor.execution.run_state import RunSnapshot

KEPT_PARAMS = ("window", "start", "end", "pair", "asset")
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: https: http:; "
    "connect-src 'self'; font-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def dashboard(request: Request) -> DashboardConfig:
    config = request.registry.webhook_context.dashboard
    return config if config is not None else DashboardConfig()


def html_response(body: str, status: int = 200) -> Response:
    response = Response(body=body.encode("utf-8"), status=status, content_type="text/html", charset="utf-8")
    response.cache_control = "no-store"
    response.headers.update(
        {
            "Content-Security-Policy": CSP,
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "same-origin",
        }
    )
    return response


def kept_params(request: Request) -> dict[str, str]:
    return {k: request.GET[k] for k in KEPT_PARAMS if request.GET.get(k)}


def run_status(s: RunSnapshot) -> dict[str, str | None]:
    if not s.executor_running:
        return {"label": "Stopped", "css": "stopped", "reason": s.halted_reason or "trading is not running"}
    if s.exception is not None:
        return {"label": "Retrying after an error", "css": "retrying", "reason": None}
    return {"label": "Running", "css": "running", "reason": None}


def base_context(request: Request, title: str, active: str | None, *, charts: bool = False) -> dict[str, Any]:
    c = request.registry.webhook_context
    snapshot = c.run_state.snapshot
    config = dashboard(request)
    session = request.environ.get("tradeexecutor.session")
    window_params = {k: request.GET[k] for k in ("window", "start", "end") if request.GET.get(k)}
    suffix = "?" + urlencode(window_params) if window_params else ""
    nav = [
        ("Strategy", "/" + suffix, active == "strategy"),
        ("Fund", "/fund" + suffix, active == "fund"),
        ("Ledger", "/ledger" + suffix, active == "ledger"),
    ]
    saved = snapshot.state
    if config.fleet is not None:
        nav, footer = [], None
    else:
        footer = (
            f"state saved {saved.saved_at.strftime('%Y-%m-%d %H:%M:%S')}" if saved else "no state saved yet"
        )
    return {
        "title": title,
        "site_name": config.settings.display_name or snapshot.metadata.name or snapshot.metadata.id,
        "icon_url": safe_url(snapshot.metadata.icon_url),
        "home_url": "/",
        "nav": nav,
        "user": session.username if session is not None else None,
        "csrf_token": config.login.signer.csrf_token(session.nonce)
        if session is not None and config.login
        else "",
        "version": snapshot.version,
        "footer_note": footer,
        "charts": charts,
        "now": c.clock(),
    }


def error_page(request: Request, status: int, message: str, heading: str = "Bad request") -> Response:
    context = base_context(request, heading, None)
    body = render("error.html", heading=heading, message=message, back_url=request.path, **context)
    return html_response(body, status)


def login_required(view: Callable[[Request], Response]) -> Callable[[Request], Response]:
    """In login mode, a page needs a valid session cookie; otherwise go to the login page."""

    def wrapped(request: Request) -> Response:
        config = dashboard(request)
        if config.login is not None:
            from tradeexecutor.dashboard.auth.session import SESSION_COOKIE
            from tradeexecutor.dashboard.auth_views import redirect_to_login

            session = config.login.session(request.cookies.get(SESSION_COOKIE))
            if session is None:
                return redirect_to_login(request)
            request.environ["tradeexecutor.session"] = session
        return view(request)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


def _window(request: Request) -> TimeWindow:
    return parse_window(request.GET, request.registry.webhook_context.clock())


def _common(request: Request, title: str, active: str) -> tuple[dict[str, Any], Any, TimeWindow]:
    """Context, decoded state (None before the first save) and window; BadQuery on bad input."""
    snapshot = request.registry.webhook_context.run_state.snapshot
    config = dashboard(request)
    window = _window(request)
    state = config.state_cache.get(snapshot.state)
    context = base_context(request, title, active, charts=state is not None)
    settings = config.settings
    reserve = None
    if state is not None and state.portfolio.reserve_key is not None:
        reserve = state.ledger.assets.get(state.portfolio.reserve_key)
    context.update(
        snapshot=snapshot,
        meta=snapshot.metadata,
        status=run_status(snapshot),
        display_name=context["site_name"],
        params=kept_params(request),
        windows=list(WINDOWS),
        window=window,
        has_state=state is not None,
        price_currency=settings.price_currency or (reserve.symbol if reserve is not None else ""),
    )
    return context, state, window


@login_required
def strategy_page(request: Request) -> Response:
    """Status; candles of every pair with fills, plots and levels; equity; positions tables."""
    try:
        context, state, window = _common(request, "Strategy", "strategy")
        snapshot = context["snapshot"]
        pairs = strategy_data.chart_pairs(state, snapshot.price_series)
        shown = strategy_data.choose_pairs(pairs, request.GET.get("pair"))
    except BadQuery as e:
        return error_page(request, 400, str(e))
    settings = dashboard(request).settings
    context.update(
        pairs=pairs, pair=request.GET.get("pair"), counts={}, chart=None, open_rows=[], closed_rows=[]
    )
    if state is not None:
        context["open_rows"], context["closed_rows"] = strategy_data.position_tables(state, window)
        keys = {p.key for p in shown}
        context["counts"] = strategy_data.count_by_status(
            (t for t in state.portfolio.all_trades() if t.pair.key in keys), window
        )
    if shown or state is not None:
        frames, panes, equity = strategy_data.strategy_frames(
            state, snapshot.price_series, shown, window, settings.graph_volume_threshold
        )
        now = request.registry.webhook_context.clock()
        context["chart"] = json_for_script(
            charts.strategy_chart(
                frames,
                panes,
                equity,
                settings,
                start=window.start,  # None ("all", the default): the time axis fits the data
                end=window.end or (now if window.start is not None else None),
                currency=context["price_currency"],
            )
        )
        context["charts"] = True
    return html_response(render("strategy.html", **context))


@login_required
def fund_page(request: Request) -> Response:
    """Performance breakdown over the window, equity curve, summary statistics."""
    try:
        context, state, window = _common(request, "Fund", "fund")
    except BadQuery as e:
        return error_page(request, 400, str(e))
    context.update(breakdown=None, chart=None, summary=[])
    if state is not None:
        breakdown = fund_data.breakdown(state, window)
        context["breakdown"] = breakdown
        context["summary"] = fund_data.summary_table(state)
        if breakdown is not None:
            now: datetime.datetime = request.registry.webhook_context.clock()
            from tradeexecutor.analysis.chart_data import reserve_flows

            context["chart"] = json_for_script(
                charts.equity_chart(
                    fund_data.equity_points(state, window),
                    breakdown.reserve_symbol,
                    window.start,
                    window.end or now,
                    flows=reserve_flows(state),
                )
            )
    return html_response(render("fund.html", **context))


@login_required
def ledger_page(request: Request) -> Response:
    """Every ledger entry of one asset with its running balance; `?format=csv` downloads them."""
    fmt = (request.GET.get("format") or "html").lower()
    try:
        if fmt not in ("html", "csv"):
            raise BadQuery(f"format={request.GET['format']!r} is not known: use html or csv.")
        context, state, window = _common(request, "Ledger", "ledger")
        asset = ledger_data.choose_asset(state, request.GET.get("asset")) if state is not None else None
    except BadQuery as e:
        return error_page(request, 400, str(e))
    config = dashboard(request)
    rows = ledger_data.ledger_rows(state, asset, window, config.explorer_url) if asset is not None else []
    if fmt == "csv":
        if asset is None:
            return error_page(request, 404, "There are no ledger entries yet.", "Nothing to export")
        response = Response(
            body=ledger_data.ledger_csv(rows, asset).encode("utf-8"), content_type="text/csv", charset="utf-8"
        )
        stamp = context["now"].strftime("%Y%m%dT%H%M%SZ")
        filename = (
            f"ledger-{_file_part(context['snapshot'].metadata.id)}-{_file_part(asset.symbol)}-{stamp}.csv"
        )
        response.content_disposition = f'attachment; filename="{filename}"'
        response.cache_control = "no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response
    balance = state.ledger.balance(asset.key) if asset is not None else 0
    context.update(
        charts=False,
        asset=asset,
        assets=ledger_data.ledger_assets(state) if state is not None else [],
        rows=rows,
        balance=asset.to_decimal(balance) if asset is not None else 0,
    )
    return html_response(render("ledger.html", **context))


def _file_part(text: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in text)[:40] or "x"
