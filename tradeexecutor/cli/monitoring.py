"""Wire logging, the run state, metrics, reporters and the webhook from CLI option values.

A live command (`start`) calls `start_monitoring()` once before its first cycle and
`Monitoring.close()` on the way out; in between the loop talks to `monitoring.reporter`
(cycle events) and `monitoring.run_state` (positions, trades, saved state bytes). Kept in
`cli/` because it is the one place allowed to know every layer.

Heavy imports (pyramid, waitress, sentry) stay inside the functions: importing this module
is cheap.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tradeexecutor.config.redaction import redactor
from tradeexecutor.errors import UserError
from tradeexecutor.execution.run_state import RunState, StrategyMetadata
from tradeexecutor.reporting.heartbeat import resolve_heartbeat_path
from tradeexecutor.reporting.logging_setup import LoggingSetup, setup_logging
from tradeexecutor.reporting.metrics import MetricsRegistry
from tradeexecutor.reporting.reporter import Reporter, ReportingConfig

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class MonitoringOptions:
    """The values of the logging, webhook and reporting options (see cli/options.py)."""

    log_level: str = "info"
    log_format: str = "text"
    file_log_level: str | None = "info"
    log_file_dir: Path = Path("logs")
    http_enabled: bool = True
    http_host: str = "127.0.0.1"
    http_port: int = 3456
    http_username: str | None = None
    http_password: str | None = field(default=None, repr=False)
    http_cors_origins: str | None = None
    http_trusted_proxy: str | None = None
    discord_webhook_url: str | None = field(default=None, repr=False)
    discord_error_webhook_url: str | None = field(default=None, repr=False)
    logstash_server: str | None = None
    statsd_host: str | None = None
    statsd_port: int = 8125
    statsd_prefix: str = "trade_executor"
    heartbeat: str | None = None
    sentry_dsn: str | None = field(default=None, repr=False)
    explorer_url: str | None = None
    # dashboards served by the webhook (see docs/dashboard.md)
    dashboard_enabled: bool = True
    dashboard_login: bool = False
    dashboard_db_url: str | None = field(default=None, repr=False)
    app_cookie_secret: str | None = field(default=None, repr=False)
    dashboard_cookie_secure: str = "auto"
    dashboard_config: Path | None = None


@dataclass
class Monitoring:
    logging: LoggingSetup
    run_state: RunState
    metrics: MetricsRegistry
    reporter: Reporter
    webhook: object | None  # WebhookServer, typed loosely to keep pyramid out of imports

    def close(self, timeout: float = 5.0, *, stop_webhook: bool = True) -> None:
        """Flush reporters; stop the webhook unless the process stays up to keep serving it."""
        self.reporter.close(timeout)
        if stop_webhook and self.webhook is not None:
            self.webhook.stop()  # type: ignore[attr-defined]
        self.logging.close()


def _check_discord_url(value: str | None, option: str) -> None:
    if value and not value.startswith(("https://", "http://")):
        raise UserError(
            f"{option} must be a webhook URL starting with https:// (copy it from Discord's settings)."
        )


def start_monitoring(
    options: MonitoringOptions,
    metadata: StrategyMetadata,
    *,
    source: str | None = None,
    webhook_threads: int | None = None,
    dashboard_settings: Mapping[str, Any] | None = None,
    chain_id: int | None = None,
) -> Monitoring:
    """Set everything up in dependency order; raise UserError (one sentence) for a bad option.

    `chain_id` picks the block explorer for transaction links when --explorer-url is not given."""
    from tradeexecutor.dashboard.explorer import explorer_base

    explorer_url = explorer_base(chain_id, options.explorer_url)
    # Secrets given as flags rather than env vars must be redacted too.
    redactor.register(
        options.http_password,
        options.discord_webhook_url,
        options.discord_error_webhook_url,
        options.sentry_dsn,
        options.app_cookie_secret,
    )
    _check_discord_url(options.discord_webhook_url, "--discord-webhook-url")
    _check_discord_url(options.discord_error_webhook_url, "--discord-error-webhook-url")
    if options.statsd_port <= 0 or options.statsd_port > 65535:
        raise UserError(f"--statsd-port {options.statsd_port} is out of range: use a port from 1 to 65535.")

    webhook_config = None
    if options.http_enabled:
        from tradeexecutor.webhook.server import WebhookConfig

        webhook_config = WebhookConfig.from_options(
            options.http_host,
            options.http_port,
            options.http_username,
            options.http_password,
            options.http_cors_origins,
            trusted_proxy=options.http_trusted_proxy,
            **({"threads": webhook_threads} if webhook_threads else {}),
        )

    dashboard = None
    if webhook_config is not None and options.dashboard_enabled:
        from tradeexecutor.dashboard.config import build_dashboard_config

        # `dashboard_settings` is the strategy module's DASHBOARD dict (StrategyModule.extra)
        dashboard = build_dashboard_config(
            metadata.id,
            login=options.dashboard_login,
            db_url=options.dashboard_db_url,
            cookie_secret=options.app_cookie_secret,
            cookie_secure=options.dashboard_cookie_secure,
            config_file=options.dashboard_config,
            module_settings=dashboard_settings,
            explorer_url=explorer_url,
        )

    log_setup = setup_logging(
        options.log_level,
        log_format=options.log_format,
        file_log_level=options.file_log_level,
        log_file_dir=options.log_file_dir,
        strategy_id=metadata.id,
        logstash_server=options.logstash_server,
    )
    run_state = RunState(metadata, source=source)
    metrics = MetricsRegistry()
    config = ReportingConfig(
        discord_webhook_url=options.discord_webhook_url,
        discord_error_webhook_url=options.discord_error_webhook_url,
        explorer_url=explorer_url,
        statsd_host=options.statsd_host,
        statsd_port=options.statsd_port,
        statsd_prefix=options.statsd_prefix,
        heartbeat=resolve_heartbeat_path(options.heartbeat, metadata.id),
        sentry_dsn=options.sentry_dsn,
    )
    extra = [log_setup.logstash.health] if log_setup.logstash is not None else []  # type: ignore[attr-defined]
    try:
        reporter = Reporter.create(config, run_state, metrics, extra_channels=extra)
    except BaseException:
        log_setup.close()
        raise

    webhook = None
    if webhook_config is not None:
        from tradeexecutor.webhook.server import WebhookServer

        webhook = WebhookServer(
            webhook_config, run_state, logs=log_setup.buffer, metrics=metrics, dashboard=dashboard
        )
        try:
            webhook.start()
        except BaseException:
            reporter.close(0.5)
            log_setup.close()
            raise
    return Monitoring(log_setup, run_state, metrics, reporter, webhook)
