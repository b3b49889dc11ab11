"""Every webhook route, in two tables: path, view, whether it is public, and what it is for.

ROUTES is the JSON API: the app, the auth tween and the OpenAPI document are all built from
it, so a route cannot exist without being documented, and a public route is public
everywhere. PAGES are the HTML dashboards (tradeexecutor/dashboard/): they follow basic
auth like the API unless dashboard login is on, in which case they need a login session
instead; static files (BokehJS, CSS) are always public.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pyramid.config import Configurator

from tradeexecutor.dashboard import auth_views
from tradeexecutor.dashboard import views as pages
from tradeexecutor.webhook import views


@dataclass(frozen=True, slots=True)
class Route:
    name: str
    path: str
    view: Callable
    summary: str
    public: bool = False  # served without basic auth (liveness probes, static files)
    methods: tuple[str, ...] = ("GET", "HEAD")


ROUTES: tuple[Route, ...] = (
    Route("ping", "/ping", views.ping, "Liveness: the webhook answers.", public=True),
    Route(
        "health",
        "/health",
        views.health,
        "200 when trading runs and cycles are on time, else 503.",
        public=True,
    ),
    Route("status", "/status", views.status, "What the executor is doing: cycles, failures, lag, version."),
    Route("metadata", "/metadata", views.metadata, "Strategy name, descriptions, icon and headline figures."),
    Route("state", "/state", views.state, "The last saved state file (ETag, gzip)."),
    Route("positions", "/positions", views.positions, "Positions, paginated."),
    Route("trades", "/trades", views.trades, "Trades, paginated."),
    Route("logs", "/logs", views.logs, "Recent log records from memory (redacted)."),
    Route("source", "/source", views.source, "The strategy module's source code."),
    Route("metrics", "/metrics", views.metrics, "Prometheus text format: the same figures as statsd."),
    Route("openapi", "/openapi.json", views.openapi, "This API described as OpenAPI 3.1."),
)

PAGES: tuple[Route, ...] = (
    Route(
        "dashboard_strategy",
        "/",
        pages.strategy_page,
        "Strategy dashboard: trades, position, PnL, positions.",
    ),
    Route(
        "dashboard_fund", "/fund", pages.fund_page, "Fund dashboard: performance breakdown, equity, summary."
    ),
    Route("dashboard_ledger", "/ledger", pages.ledger_page, "Ledger of one asset with running balance; CSV."),
    Route(
        "dashboard_login",
        "/login",
        auth_views.login,
        "Login form (login mode).",
        methods=("GET", "HEAD", "POST"),
    ),
    Route(
        "dashboard_logout", "/logout", auth_views.logout, "Log out (POST with CSRF token).", methods=("POST",)
    ),
    Route(
        "static", "/static/{name}", auth_views.static_file, "BokehJS, CSS and JS of the pages.", public=True
    ),
)

PUBLIC_PATHS = frozenset(r.path for r in ROUTES if r.public)
PAGE_PATHS = frozenset(r.path for r in PAGES if not r.public)
STATIC_PREFIX = "/static/"


def basic_auth_applies(path: str, dashboard_login: bool) -> bool:
    """Basic auth (when configured) guards the API, and the pages unless they have their own login."""
    if path in PUBLIC_PATHS or path.startswith(STATIC_PREFIX):
        return False
    return not (dashboard_login and path in PAGE_PATHS)


def add_routes(config: Configurator, routes: tuple[Route, ...]) -> None:
    """Declare the routes; their methods are kept for the 405 answer's `Allow` header."""
    registry = config.registry
    if not hasattr(registry, "route_methods"):
        registry.route_methods = {}
    methods = registry.route_methods
    for route in routes:
        config.add_route(route.name, route.path)
        config.add_view(route.view, route_name=route.name, request_method=route.methods)
        methods[route.name] = route.methods


def includeme(config: Configurator) -> None:
    add_routes(config, ROUTES)
    if config.registry.webhook_context.dashboard is not None:
        add_routes(config, PAGES)
    config.add_notfound_view(views.not_found)
    config.add_exception_view(views.internal_error, context=Exception)
