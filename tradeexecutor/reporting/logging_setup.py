"""`setup_logging()`: the one place that decides where log records go.

Sinks: the console (human-readable lines on stderr, or with `--log-format json` one JSON
object per line on stdout, for container log collectors), an optional rotating file under
`--log-file-dir`, the in-memory ring buffer behind `/logs`, and optionally Logstash. Every sink gets the same two
filters, in this order: context (strategy id, cycle, trade id) and secret redaction, so a
secret cannot reach any of them. Calling it again replaces the handlers it installed
before (tests and long-lived processes can reconfigure).
"""

from __future__ import annotations

import datetime
import json
import logging
import logging.handlers
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tradeexecutor.config.redaction import SecretRedactor
from tradeexecutor.config.redaction import redactor as default_redactor
from tradeexecutor.errors import UserError
from tradeexecutor.reporting.log_buffer import DEFAULT_CAPACITY, LogRingBuffer
from tradeexecutor.reporting.log_context import ContextFilter, set_strategy_id
from tradeexecutor.reporting.redaction_filter import STANDARD_ATTRIBUTES, RedactingFilter

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}
LOG_FORMATS = ("text", "json")
CONSOLE_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(context)s%(message)s"
FILE_FORMAT = "%(asctime)s %(levelname)-7s %(name)s [%(strategy_id)s] %(context)s%(message)s"
FILE_MAX_BYTES = 10 * 1024 * 1024
FILE_BACKUPS = 5

# Libraries that are chatty at info level and say nothing an operator needs.
_QUIET_LOGGERS = ("web3", "urllib3", "waitress.queue", "asyncio")
_INSTALLED_MARK = "_tradeexecutor_handler"

logger = logging.getLogger(__name__)


def parse_level(value: str | None, option: str, allow_none: bool = False) -> int | None:
    """'info' -> logging.INFO; 'none' -> None (when allowed); anything else is a UserError."""
    text = (value or "").strip().lower()
    if allow_none and text in ("", "none", "off"):
        return None
    if text == "warn":
        text = "warning"
    if text not in LEVELS:
        choices = ", ".join(LEVELS) + (" or none" if allow_none else "")
        raise UserError(f"Unknown log level {value!r} for {option}: use {choices}.")
    return LEVELS[text]


def parse_log_format(value: str | None, option: str = "--log-format") -> str:
    """'text' (the default) or 'json'; anything else is a UserError naming the option."""
    text = (value or "text").strip().lower()
    if text not in LOG_FORMATS:
        raise UserError(f"Unknown log format {value!r} for {option}: use text or json.")
    return text


class JsonLineFormatter(logging.Formatter):
    """One JSON object per line, what Docker, Kubernetes, Loki, Datadog and friends collect:

        {"time": "2024-05-01T12:00:03.120Z", "level": "info", "logger": "tradeexecutor.execution",
         "message": "Trade 7 confirmed", "strategy_id": "sma", "cycle": 12, "trade_id": 7}

    plus `exception` (the redacted traceback) and any `extra=` fields. It formats records
    after the redaction filter has rewritten them, like every other sink.
    """

    def format(self, record: logging.LogRecord) -> str:
        created = datetime.datetime.fromtimestamp(record.created, datetime.UTC)
        event: dict[str, Any] = {
            "time": created.strftime("%Y-%m-%dT%H:%M:%S.") + f"{created.microsecond // 1000:03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "strategy_id": getattr(record, "strategy_id", None),
            "cycle": getattr(record, "cycle", None),
            "trade_id": getattr(record, "trade_id", None),
        }
        for key, value in record.__dict__.items():
            if key not in STANDARD_ATTRIBUTES and key not in event and not key.startswith("_"):
                event[key] = (
                    value if isinstance(value, str | int | float | bool) or value is None else str(value)
                )
        if record.exc_text:
            event["exception"] = record.exc_text
        return json.dumps(event, ensure_ascii=False)


def _console_handler(
    log_format: str, stream: Any, default_stream: Any
) -> tuple[logging.Handler, logging.Formatter]:
    if log_format == "json":
        return logging.StreamHandler(stream or default_stream), JsonLineFormatter()
    return logging.StreamHandler(stream or sys.stderr), logging.Formatter(CONSOLE_FORMAT)


@dataclass
class LoggingSetup:
    """Handles to what was installed; `close()` removes and flushes it all."""

    buffer: LogRingBuffer
    handlers: list[logging.Handler] = field(default_factory=list)
    log_file: Path | None = None
    logstash: logging.Handler | None = None
    secret_names: list[str] = field(default_factory=list)

    def close(self) -> None:
        root = logging.getLogger()
        for handler in self.handlers:
            root.removeHandler(handler)
            handler.close()


def _install(
    handler: logging.Handler, level: int, formatter: logging.Formatter | None, redactor: SecretRedactor
):
    handler.setLevel(level)
    if formatter is not None:
        handler.setFormatter(formatter)
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactingFilter(redactor))
    setattr(handler, _INSTALLED_MARK, True)
    logging.getLogger().addHandler(handler)
    return handler


def _open_log_file(directory: Path, strategy_id: str | None) -> logging.Handler | None:
    """A rotating file; None (with a warning later) when the directory is not writable."""
    path = directory / f"{strategy_id or 'trade-executor'}.log"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        return logging.handlers.RotatingFileHandler(
            path, maxBytes=FILE_MAX_BYTES, backupCount=FILE_BACKUPS, encoding="utf-8"
        )
    except OSError as e:
        logger.warning(
            "Cannot write log files to %s (%s): file logging is off; set --log-file-dir to a writable directory.",
            directory,
            e.strerror or e,
        )
        return None


def setup_default_logging(environ: Mapping[str, str] | None = None) -> None:
    """What every command that touches a node, a wallet or a state file gets before it runs:
    warnings and errors on stderr, with secrets from the environment redacted; JSON lines
    when LOG_FORMAT=json (still on stderr: stdout is the command's own output, often JSON
    itself). Commands with logging options of their own (`start`, `demo`, `dashboard`)
    replace it with setup_logging."""
    environ = os.environ if environ is None else environ
    default_redactor.register_environment(environ)
    root = logging.getLogger()
    if any(getattr(h, _INSTALLED_MARK, False) for h in root.handlers):
        return
    handler, formatter = _console_handler(
        parse_log_format(environ.get("LOG_FORMAT"), "LOG_FORMAT"), None, sys.stderr
    )
    _install(handler, logging.WARNING, formatter, default_redactor)
    if root.level == logging.NOTSET or root.level > logging.WARNING:
        root.setLevel(logging.WARNING)
    logging.captureWarnings(True)


def setup_logging(
    log_level: str = "info",
    *,
    log_format: str = "text",
    file_log_level: str | None = None,
    log_file_dir: Path = Path("logs"),
    strategy_id: str | None = None,
    logstash_server: str | None = None,
    buffer_capacity: int = DEFAULT_CAPACITY,
    environ: Mapping[str, str] | None = None,
    redactor: SecretRedactor | None = None,
    console_stream=None,
) -> LoggingSetup:
    """Configure the root logger for a command; register secrets from the environment first.

    `log_level` is for the console, `log_format` its format ('json': JSON lines on stdout),
    `file_log_level` ('none' disables) for `<log_file_dir>/<strategy_id>.log`; the ring
    buffer keeps info and above (debug when the console is at debug). Raises UserError for an
    unknown level or format or a malformed Logstash address.
    """
    redactor = redactor or default_redactor
    console_format = parse_log_format(log_format)
    console_level = parse_level(log_level, "--log-level")
    file_level = parse_level(file_log_level, "--file-log-level", allow_none=True)
    assert console_level is not None
    logstash_address = None
    if logstash_server:
        from tradeexecutor.reporting.udp import parse_host_port

        try:
            logstash_address = parse_host_port(logstash_server, 5959, "--logstash-server")
        except ValueError as e:
            raise UserError(str(e)) from None

    secret_names = redactor.register_environment(os.environ if environ is None else environ)
    set_strategy_id(strategy_id)

    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _INSTALLED_MARK, False)]:
        root.removeHandler(old)
        old.close()

    buffer_level = min(console_level, logging.INFO)
    setup = LoggingSetup(buffer=LogRingBuffer(buffer_capacity, buffer_level), secret_names=secret_names)
    console, formatter = _console_handler(console_format, console_stream, sys.stdout)
    setup.handlers.append(_install(console, console_level, formatter, redactor))
    setup.handlers.append(_install(setup.buffer, buffer_level, None, redactor))

    levels = [console_level, buffer_level]
    if file_level is not None:
        file_handler = _open_log_file(log_file_dir, strategy_id)
        if file_handler is not None:
            setup.handlers.append(
                _install(file_handler, file_level, logging.Formatter(FILE_FORMAT), redactor)
            )
            setup.log_file = Path(file_handler.baseFilename)
            levels.append(file_level)

    if logstash_address is not None:
        from tradeexecutor.reporting.logstash_sink import LogstashHandler

        handler = LogstashHandler(*logstash_address, strategy_id=strategy_id)
        setup.handlers.append(_install(handler, logging.INFO, None, redactor))
        setup.logstash = handler
        levels.append(logging.INFO)

    root.setLevel(min(levels))
    for name in _QUIET_LOGGERS:
        # At debug the operator is hunting a problem: let the libraries speak too.
        logging.getLogger(name).setLevel(
            logging.NOTSET if console_level <= logging.DEBUG else logging.WARNING
        )
    logging.captureWarnings(True)
    return setup
