"""Ship log records to Logstash as JSON over UDP (python-logstash's event format, version 1).

Differences from the stock `logstash.UDPLogstashHandler`, each for a reason:

- datagrams go through a background `UdpSender`, so an unresolvable or slow-to-resolve
  host never blocks a log call in the trading loop and never prints a "Logging error"
  traceback per record; the failure is counted and warned about once;
- the stack trace comes from the record's already-redacted `exc_text` (the redaction filter
  drops `exc_info`), so secrets in exception messages never leave the process;
- every event is tagged with the strategy id.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from logstash import UDPLogstashHandler
from logstash.formatter import LogstashFormatterVersion1

from tradeexecutor.reporting.channel import ChannelHealth
from tradeexecutor.reporting.udp import UdpSender

DEFAULT_PORT = 5959
_SKIP_EXTRA = {"context", "_tradeexecutor_redacted", "taskName"}


class LogstashFormatter(LogstashFormatterVersion1):
    def __init__(self, tags: list[str], message_type: str = "trade-executor") -> None:
        super().__init__(message_type=message_type, tags=tags, fqdn=False)

    def format(self, record: logging.LogRecord) -> bytes:  # type: ignore[override]
        created = datetime.fromtimestamp(record.created, UTC)
        event: dict[str, Any] = {
            "@timestamp": created.strftime("%Y-%m-%dT%H:%M:%S.") + f"{created.microsecond // 1000:03d}Z",
            "@version": "1",
            "message": record.getMessage(),
            "host": self.host,
            "path": record.pathname,
            "tags": self.tags,
            "type": self.message_type,
            "level": record.levelname,
            "logger_name": record.name,
        }
        event.update({k: v for k, v in self.get_extra_fields(record).items() if k not in _SKIP_EXTRA})
        if record.exc_text:
            event.update(
                stack_trace=record.exc_text,
                lineno=record.lineno,
                process=record.process,
                thread_name=record.threadName,
            )
        return self.serialize(event)


class LogstashHandler(UDPLogstashHandler):
    """python-logstash's UDP handler with a non-blocking, failure-counting transport."""

    def __init__(self, host: str, port: int = DEFAULT_PORT, strategy_id: str | None = None) -> None:
        super().__init__(host, port, version=1, tags=[strategy_id] if strategy_id else [])
        self.formatter = LogstashFormatter(tags=[strategy_id] if strategy_id else [])
        self.health = ChannelHealth("logstash")
        self.sender = UdpSender(host, port, self.health)

    def send(self, s: bytes) -> None:
        self.sender.submit(s)

    def flush(self) -> None:
        self.sender.flush(2.0)

    def close(self) -> None:
        self.sender.close(2.0)
        logging.Handler.close(self)
