"""Every webhook route, in one table: path, view, whether it is public, and what it is for.

The app, the auth tween and the OpenAPI document are all built from this table, so a
route cannot exist without being documented, and a public route is public everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pyramid.config import Configurator

from tradeexecutor.webhook import views


@dataclass(frozen=True, slots=True)
class Route:
    name: str
    path: str
    view: Callable
    summary: str
    public: bool = False  # served without basic auth (liveness probes)


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

PUBLIC_PATHS = frozenset(r.path for r in ROUTES if r.public)


def includeme(config: Configurator) -> None:
    for route in ROUTES:
        config.add_route(route.name, route.path)
        config.add_view(route.view, route_name=route.name, request_method=("GET", "HEAD"))
    config.add_notfound_view(views.not_found)
    config.add_exception_view(views.internal_error, context=Exception)
