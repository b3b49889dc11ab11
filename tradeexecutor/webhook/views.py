"""Thin views: pick the snapshot, call a plain function from `documents`, wrap the bytes."""

from __future__ import annotations

import logging

from pyramid.request import Request
from pyramid.response import Response

from tradeexecutor.execution.run_state import trading_state
from tradeexecutor.webhook import documents
from tradeexecutor.webhook.context import WebhookContext
from tradeexecutor.webhook.documents import BadRequest, encoder
from tradeexecutor.webhook.http import accepts_gzip, etag_matches

logger = logging.getLogger(__name__)

JSON = "application/json"
PING_BODY = b'{"ping":"pong"}'


def ctx(request: Request) -> WebhookContext:
    return request.registry.webhook_context


def json_response(body: bytes, status: int = 200, headers: list[tuple[str, str]] | None = None) -> Response:
    response = Response(body=body, status=status, content_type=JSON, charset=None)
    response.cache_control = "no-cache"
    if headers:
        response.headerlist.extend(headers)
    return response


def error_response(status: int, message: str, **extra: object) -> Response:
    return json_response(encoder.encode({"error": message, "status": status, **extra}), status)


def ping(request: Request) -> Response:
    return json_response(PING_BODY)


def status(request: Request) -> Response:
    c = ctx(request)
    snapshot = c.run_state.snapshot
    state = trading_state(snapshot, c.clock())  # moves with the clock alone (stalled): part of the key
    return json_response(
        c.cache.get(
            snapshot, f"status:{state.value}", lambda s: encoder.encode(documents.status_document(s, state))
        )
    )


def health(request: Request) -> Response:
    c = ctx(request)
    report = documents.health(c.run_state.snapshot, c.clock())
    return json_response(encoder.encode(report.document()), report.status_code)


def metadata(request: Request) -> Response:
    c = ctx(request)
    snapshot = c.run_state.snapshot
    return json_response(
        c.cache.get(snapshot, "metadata", lambda s: encoder.encode(documents.metadata_document(s)))
    )


def state(request: Request) -> Response:
    saved = ctx(request).run_state.snapshot.state
    if saved is None:
        return error_response(404, "no state has been saved yet")
    gzip_ok = accepts_gzip(request.headers.get("Accept-Encoding"))
    etag = saved.gzip_etag if gzip_ok else saved.etag
    headers = [("ETag", etag), ("Vary", "Accept-Encoding")]
    if etag_matches(request.headers.get("If-None-Match"), (saved.etag, saved.gzip_etag)):
        response = Response(status=304, charset=None)
        response.content_type = None
        response.headerlist.extend(headers)
        return response
    if gzip_ok:
        headers.append(("Content-Encoding", "gzip"))
    response = json_response(saved.gzipped if gzip_ok else saved.data, headers=headers)
    response.last_modified = saved.saved_at
    return response


def _page(request: Request, key: str) -> Response:
    snapshot = ctx(request).run_state.snapshot
    items = snapshot.positions_json if key == "positions" else snapshot.trades_json
    try:
        page = documents.parse_page(request.GET)
    except BadRequest as e:
        return error_response(400, str(e))
    return json_response(documents.page_body(items, page, key))


def positions(request: Request) -> Response:
    return _page(request, "positions")


def trades(request: Request) -> Response:
    return _page(request, "trades")


def logs(request: Request) -> Response:
    source = ctx(request).logs
    try:
        min_level, limit = documents.parse_log_query(request.GET)
    except BadRequest as e:
        return error_response(400, str(e))
    records = source.entries(min_level, limit) if source is not None else []
    body = {
        "records": records,
        "buffered": len(source) if source is not None else 0,
        "capacity": source.capacity if source is not None else 0,
    }
    return json_response(encoder.encode(body))


def source(request: Request) -> Response:
    text = ctx(request).run_state.snapshot.source
    if text is None:
        return error_response(404, "the strategy source is not available")
    return Response(body=text.encode("utf-8"), content_type="text/plain", charset="utf-8")


def metrics(request: Request) -> Response:
    registry = ctx(request).metrics
    text = registry.prometheus_text() if registry is not None else ""
    response = Response(body=text.encode("utf-8"), charset="utf-8")
    response.content_type = "text/plain"
    response.content_type_params = {"version": "0.0.4", "charset": "utf-8"}
    return response


def openapi(request: Request) -> Response:
    return json_response(ctx(request).openapi_body)


def not_found(request: Request) -> Response:
    """404 for an unknown path; 405 with `Allow` for a known path asked with another method
    (TRACE, POST to /status, ...): pyramid reports both as not found."""
    route = request.matched_route
    methods = getattr(request.registry, "route_methods", {}).get(route.name) if route is not None else None
    if methods and request.method not in methods:
        response = error_response(405, f"method {request.method} not allowed", path=request.path)
        response.headers["Allow"] = ", ".join(methods)
        return response
    return error_response(404, "not found", path=request.path)


def internal_error(exc: Exception, request: Request) -> Response:
    logger.error("webhook request %s failed", request.path, exc_info=exc)
    return error_response(500, "internal error; the executor log has the details")
