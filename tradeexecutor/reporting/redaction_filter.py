"""A logging filter that strips secrets from a record before any handler writes it.

Attached to every handler `setup_logging` installs (console, file, ring buffer, Logstash).
It rewrites the record in place: the final message (args merged), the exception text
(traceback formatted once, then `exc_info` dropped so no formatter can re-render the raw
exception) and every string `extra` field. Records are shared between handlers, so the work
is done once and marked.
"""

from __future__ import annotations

import logging
import traceback

from tradeexecutor.config.redaction import SecretRedactor
from tradeexecutor.config.redaction import redactor as default_redactor

# Attributes every LogRecord has; anything else came from `extra=` or a filter.
STANDARD_ATTRIBUTES = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "context"}
_MARK = "_tradeexecutor_redacted"


class RedactingFilter(logging.Filter):
    def __init__(self, redactor: SecretRedactor | None = None) -> None:
        super().__init__()
        self.redactor = redactor or default_redactor

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, _MARK, False):
            return True
        redact = self.redactor.redact
        try:
            message = record.getMessage()
        except Exception:  # a bad %-format must not lose the record
            message = f"{record.msg!r} (args {record.args!r})"
        record.msg = redact(message)
        record.args = None
        if record.exc_info:
            if not record.exc_text:
                record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            record.exc_info = None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for key, value in list(record.__dict__.items()):
            if key not in STANDARD_ATTRIBUTES and isinstance(value, str):
                setattr(record, key, redact(value))
        setattr(record, _MARK, True)
        return True
