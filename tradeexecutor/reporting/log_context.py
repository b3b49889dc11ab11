"""Structured context on every log record: strategy id, cycle number, trade id.

The strategy id is process-wide (one executor runs one strategy, and threads the loop did
not start, like the webhook's, must carry it too), so it is a plain module global. Cycle
and trade are per-thread-of-work, so they live in contextvars: the loop sets them around
a cycle or a trade and every record logged inside inherits them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_strategy_id: str | None = None
_cycle: ContextVar[int | None] = ContextVar("tradeexecutor_cycle", default=None)
_trade_id: ContextVar[int | str | None] = ContextVar("tradeexecutor_trade_id", default=None)

CONTEXT_FIELDS = ("strategy_id", "cycle", "trade_id")


def set_strategy_id(strategy_id: str | None) -> None:
    global _strategy_id
    _strategy_id = strategy_id


def get_strategy_id() -> str | None:
    return _strategy_id


def current_cycle() -> int | None:
    return _cycle.get()


@contextmanager
def log_context(*, cycle: int | None = None, trade_id: int | str | None = None) -> Iterator[None]:
    """Tag every record logged inside the block with this cycle and/or trade id."""
    tokens = []
    if cycle is not None:
        tokens.append((_cycle, _cycle.set(cycle)))
    if trade_id is not None:
        tokens.append((_trade_id, _trade_id.set(trade_id)))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def context_label(strategy_id: str | None, cycle: int | None, trade_id: int | str | None) -> str:
    """`[cycle 12 trade 7] ` for the console; empty when there is no context."""
    parts = []
    if cycle is not None:
        parts.append(f"cycle {cycle}")
    if trade_id is not None:
        parts.append(f"trade {trade_id}")
    return f"[{' '.join(parts)}] " if parts else ""


class ContextFilter(logging.Filter):
    """Adds strategy_id, cycle, trade_id (and a short `context` label) to each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "strategy_id"):
            record.strategy_id = _strategy_id
        if not hasattr(record, "cycle"):
            record.cycle = _cycle.get()
        if not hasattr(record, "trade_id"):
            record.trade_id = _trade_id.get()
        record.context = context_label(record.strategy_id, record.cycle, record.trade_id)
        return True
