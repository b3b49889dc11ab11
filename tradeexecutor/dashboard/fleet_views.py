"""`trade-executor dashboard`: one page listing many executors, its own pyramid app on waitress.

It reuses the webhook's server thread (`WebhookServer`), tween, static files and login
views; only the route table and the page differ.
"""

from __future__ import annotations

from typing import Any

from pyramid.config import Configurator
from pyramid.request import Request
from pyramid.response import Response

from tradeexecutor.dashboard import auth_views
from tradeexecutor.dashboard.fleet import fleet_totals
from tradeexecutor.dashboard.pages import render
from tradeexecutor.dashboard.views import base_context, dashboard, html_response, login_required
from tradeexecutor.webhook import views as api_views
from tradeexecutor.webhook.routes import Route, add_routes
from tradeexecutor.webhook.server import WebhookServer


@login_required
def fleet_page(request: Request) -> Response:
    """Every executor's status, value and last cycle, read from their webhooks."""
    poller = dashboard(request).fleet
    context = base_context(request, "Strategies", None)
    rows = poller.rows()
    return html_response(render("fleet.html", rows=rows, totals=fleet_totals(rows), **context))


FLEET_ROUTES: tuple[Route, ...] = (
    Route("fleet", "/", fleet_page, "The executors, their status, value and last cycle."),
    Route("ping", "/ping", api_views.ping, "Liveness.", public=True),
    Route("dashboard_login", "/login", auth_views.login, "Login form.", methods=("GET", "HEAD", "POST")),
    Route("dashboard_logout", "/logout", auth_views.logout, "Log out.", methods=("POST",)),
    Route("static", "/static/{name}", auth_views.static_file, "CSS and JS.", public=True),
)


class FleetServer(WebhookServer):
    """Serves FLEET_ROUTES instead of the executor's API and dashboards."""

    def make_app(self) -> Any:
        with Configurator(settings={"pyramid.reload_templates": False}) as config:
            config.registry.webhook_context = self.context
            add_routes(config, FLEET_ROUTES)
            config.add_notfound_view(api_views.not_found)
            config.add_exception_view(api_views.internal_error, context=Exception)
            config.add_tween("tradeexecutor.webhook.tweens.webhook_tween_factory")
            return config.make_wsgi_app()
