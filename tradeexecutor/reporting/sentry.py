"""Optional error tracking with Sentry (off unless `--sentry-dsn` / SENTRY_DSN is set).

`sentry_sdk` is imported only when a DSN is given. It is configured to keep secrets in:
no local variables in stack frames (a frame of the wallet code holds the private key), no
argv, no request bodies, only hand-picked integrations (no auto-instrumentation of
pyramid or HTTP clients), and every event and breadcrumb passes through the redactor.
"""

from __future__ import annotations

import logging
from typing import Any

from tradeexecutor.config.redaction import SecretRedactor
from tradeexecutor.config.redaction import redactor as default_redactor
from tradeexecutor.errors import UserError
from tradeexecutor.reporting.channel import ChannelHealth


class SentryReporter:
    def __init__(
        self,
        dsn: str,
        *,
        strategy_id: str,
        release: str | None = None,
        environment: str | None = None,
        redactor: SecretRedactor | None = None,
    ) -> None:
        import sentry_sdk
        from sentry_sdk.integrations.atexit import AtexitIntegration
        from sentry_sdk.integrations.dedupe import DedupeIntegration
        from sentry_sdk.integrations.excepthook import ExcepthookIntegration
        from sentry_sdk.integrations.logging import LoggingIntegration
        from sentry_sdk.integrations.threading import ThreadingIntegration
        from sentry_sdk.utils import BadDsn

        self._sdk = sentry_sdk
        self._redactor = redactor or default_redactor
        self._redactor.register(dsn)
        self.health = ChannelHealth("sentry")
        try:
            sentry_sdk.init(
                dsn=dsn,
                release=release,
                environment=environment,
                default_integrations=False,
                integrations=[
                    LoggingIntegration(level=logging.INFO, event_level=logging.ERROR),
                    DedupeIntegration(),
                    AtexitIntegration(),
                    ExcepthookIntegration(),
                    ThreadingIntegration(),
                ],
                include_local_variables=False,
                send_default_pii=False,
                max_request_body_size="never",
                before_send=self._before_send,
                before_breadcrumb=self._before_breadcrumb,
                shutdown_timeout=2,
            )
        except BadDsn:
            raise UserError(
                "--sentry-dsn / SENTRY_DSN is not a valid Sentry DSN: copy it from the Sentry project settings."
            ) from None
        sentry_sdk.set_tag("strategy_id", strategy_id)

    def _before_send(self, event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
        return self._redactor.redact_data(event)

    def _before_breadcrumb(self, crumb: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
        return self._redactor.redact_data(crumb)

    def capture(self, exc: BaseException, cycle: int | None = None) -> None:
        try:
            with self._sdk.new_scope() as scope:
                if cycle is not None:
                    scope.set_tag("cycle", str(cycle))
                    scope.set_context("cycle", {"number": cycle})
                self._sdk.capture_exception(exc)
        except Exception as e:  # never let error tracking raise into the loop
            self.health.failed(e)

    def set_cycle(self, cycle: int | None) -> None:
        self._sdk.get_isolation_scope().set_tag("cycle", str(cycle) if cycle is not None else None)

    def close(self, timeout: float = 2.0) -> None:
        client = self._sdk.get_client()
        client.flush(timeout=timeout)
        client.close(timeout=timeout)
