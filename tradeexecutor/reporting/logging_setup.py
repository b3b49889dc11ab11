"""`setup_logging()`: the one place that decides where log records go.

Sinks: a human-readable console, an optional rotating file under `--log-file-dir`, the
in-memory ring buffer behind `/logs`, and optionally Logstash. Every sink gets the same two
filters, in this order: context (strategy id, cycle, trade id) and secret redaction, so a
secret cannot reach any of them. Calling it again replaces the handlers it installed
before (tests and long-lived processes can reconfigure).
"""

from __future__ import annotations

import logging
import logging.handlers
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tradeexecutor.config.redaction import SecretRedactor
from tradeexecutor.config.redaction import redactor as default_redactor
from tradeexecutor.errors import UserError
from tradeexecutor.reporting.log_buffer import DEFAULT_CAPACITY, LogRingBuffer
from tradeexecutor.reporting.log_context import ContextFilter, set_strategy_id
from tradeexecutor.reporting.redaction_filter import RedactingFilter

LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}
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
    warnings and errors on stderr, with secrets from the environment redacted. Commands with
    logging options of their own (`start`, `demo`, `dashboard`) replace it with setup_logging."""
    default_redactor.register_environment(os.environ if environ is None else environ)
    root = logging.getLogger()
    if any(getattr(h, _INSTALLED_MARK, False) for h in root.handlers):
        return
    _install(logging.StreamHandler(), logging.WARNING, logging.Formatter(CONSOLE_FORMAT), default_redactor)
    if root.level == logging.NOTSET or root.level > logging.WARNING:
        root.setLevel(logging.WARNING)
    logging.captureWarnings(True)


def setup_logging(
    log_level: str = "info",
    *,
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

    `log_level` is for the console, `file_log_level` ('none' disables) for
    `<log_file_dir>/<strategy_id>.log`; the ring buffer keeps info and above (debug when the
    console is at debug). Raises UserError for an unknown level or a malformed Logstash address.
    """
    redactor = redactor or default_redactor
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
    console = logging.StreamHandler(console_stream)
    setup.handlers.append(_install(console, console_level, logging.Formatter(CONSOLE_FORMAT), redactor))
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
