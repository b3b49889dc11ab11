"""The webhook and reporting options: flags and env vars reach the same setting, secrets stay hidden."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.testing import CliRunner

from tradeexecutor.cli.options import (
    DiscordErrorWebhookUrl,
    DiscordWebhookUrl,
    FileLogLevel,
    Heartbeat,
    HttpCorsOrigins,
    HttpEnabled,
    HttpHost,
    HttpPassword,
    HttpPort,
    HttpUsername,
    LogFileDir,
    LogstashServer,
    SentryDsn,
    StatsdHost,
    StatsdPort,
    StatsdPrefix,
)

runner = CliRunner()
probe = typer.Typer()


@probe.command()
def show(
    http_enabled: HttpEnabled = True,
    http_host: HttpHost = "127.0.0.1",
    http_port: HttpPort = 3456,
    http_username: HttpUsername = None,
    http_password: HttpPassword = None,
    http_cors_origins: HttpCorsOrigins = None,
    file_log_level: FileLogLevel = "info",
    log_file_dir: LogFileDir = Path("logs"),
    discord_webhook_url: DiscordWebhookUrl = None,
    discord_error_webhook_url: DiscordErrorWebhookUrl = None,
    logstash_server: LogstashServer = None,
    statsd_host: StatsdHost = None,
    statsd_port: StatsdPort = 8125,
    statsd_prefix: StatsdPrefix = "trade_executor",
    heartbeat: Heartbeat = None,
    sentry_dsn: SentryDsn = None,
) -> None:
    values = dict(locals())
    typer.echo(" ".join(f"{k}={v}" for k, v in sorted(values.items())))


FLAGS = [
    "--http-disabled",
    "--http-host", "0.0.0.0",
    "--http-port", "19003",
    "--http-username", "ops",
    "--http-password", "pw",
    "--http-cors-origins", "*",
    "--file-log-level", "debug",
    "--log-file-dir", "/tmp/l",
    "--discord-webhook-url", "https://d/1",
    "--discord-error-webhook-url", "https://d/2",
    "--logstash-server", "ls:5000",
    "--statsd-host", "sd",
    "--statsd-port", "9125",
    "--statsd-prefix", "p",
    "--heartbeat", "none",
    "--sentry-dsn", "https://k@s/1",
]  # fmt: skip
ENV = {
    "HTTP_ENABLED": "false",
    "HTTP_HOST": "0.0.0.0",
    "HTTP_PORT": "19003",
    "HTTP_USERNAME": "ops",
    "HTTP_PASSWORD": "pw",
    "HTTP_CORS_ORIGINS": "*",
    "FILE_LOG_LEVEL": "debug",
    "LOG_FILE_DIR": "/tmp/l",
    "DISCORD_WEBHOOK_URL": "https://d/1",
    "DISCORD_ERROR_WEBHOOK_URL": "https://d/2",
    "LOGSTASH_SERVER": "ls:5000",
    "STATSD_HOST": "sd",
    "STATSD_PORT": "9125",
    "STATSD_PREFIX": "p",
    "HEARTBEAT": "none",
    "SENTRY_DSN": "https://k@s/1",
}


def test_flags_and_env_vars_agree() -> None:
    by_flag = runner.invoke(probe, FLAGS, env={k: "" for k in ENV})
    by_env = runner.invoke(probe, [], env=ENV)
    assert by_flag.exit_code == 0, by_flag.output
    assert by_flag.output == by_env.output
    assert "http_enabled=False" in by_flag.output and "http_port=19003" in by_flag.output
    default = runner.invoke(probe, [], env={k: "" for k in ENV})
    assert "http_enabled=True" in default.output


def test_help_never_shows_secret_values() -> None:
    result = runner.invoke(
        probe, ["--help"], env={"HTTP_PASSWORD": "hunter2-secret", "SENTRY_DSN": "https://key9@s/1"}
    )
    assert result.exit_code == 0
    assert "--http-password" in result.output and "HTTP_PASSWORD" in result.output
    assert "hunter2-secret" not in result.output and "key9" not in result.output
