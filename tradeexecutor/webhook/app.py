"""Build the webhook WSGI app from a WebhookContext."""

from __future__ import annotations

from pyramid.config import Configurator
from pyramid.router import Router

from tradeexecutor.webhook.context import WebhookContext
from tradeexecutor.webhook.documents import encoder
from tradeexecutor.webhook.openapi import openapi_document, query_parameters
from tradeexecutor.webhook.routes import ROUTES, includeme


def make_app(context: WebhookContext) -> Router:
    if context.metrics is not None:
        context.metrics.observe_counter("webhook_requests", lambda: context.requests_served)
    context.query_parameters = query_parameters(ROUTES)
    context.openapi_body = encoder.encode(
        openapi_document(ROUTES, version=context.run_state.snapshot.version, auth=context.auth is not None)
    )
    with Configurator(settings={"pyramid.reload_templates": False}) as config:
        config.registry.webhook_context = context
        config.include(includeme)
        config.add_tween("tradeexecutor.webhook.tweens.webhook_tween_factory")
        return config.make_wsgi_app()
