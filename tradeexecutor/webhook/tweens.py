"""The one tween every request passes: count it, answer CORS preflights, enforce basic auth
(on the API always, on the dashboard pages unless they use their own login), refuse query
parameters the API's OpenAPI document does not declare."""

from __future__ import annotations

from collections.abc import Callable

from pyramid.registry import Registry
from pyramid.request import Request
from pyramid.response import Response

from tradeexecutor.webhook.context import WebhookContext
from tradeexecutor.webhook.http import PREFLIGHT_HEADERS, cors_headers
from tradeexecutor.webhook.routes import basic_auth_applies
from tradeexecutor.webhook.views import error_response


def unknown_query(request: Request, declared: dict[str, frozenset[str]]) -> str | None:
    """A sentence naming the first query parameter the route does not take, or None."""
    allowed = declared.get(request.path)
    if allowed is None or not request.query_string:
        return None
    for name in request.GET:
        if name not in allowed:
            takes = ", ".join(sorted(allowed)) if allowed else "no query parameters"
            return f"unknown query parameter {name!r}: {request.path} takes {takes}"
    return None


def webhook_tween_factory(handler: Callable[[Request], Response], registry: Registry):
    context: WebhookContext = registry.webhook_context
    login_pages = context.dashboard is not None and context.dashboard.login is not None

    def webhook_tween(request: Request) -> Response:
        context.count_request()
        origin = request.headers.get("Origin")
        cors = cors_headers(origin, context.cors_origins)
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            # Browsers send preflights without credentials: answer them before auth.
            response = Response(status=204)
            response.content_type = None
            if cors:
                response.headerlist.extend(cors + PREFLIGHT_HEADERS)
            return response
        auth = context.auth
        if (
            auth is not None
            and basic_auth_applies(request.path, login_pages)
            and not auth.check(request.headers.get("Authorization"))
        ):
            response = error_response(401, "authentication required")
            response.headers["WWW-Authenticate"] = auth.challenge
        elif (unknown := unknown_query(request, context.query_parameters)) is not None:
            response = error_response(400, unknown)
        else:
            response = handler(request)
        if cors:
            response.headerlist.extend(cors)
        return response

    return webhook_tween
