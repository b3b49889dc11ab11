"""Small reporting parts: message texts, channel warning policy, the drop-oldest queue, UDP addresses."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest

from tradeexecutor.execution.run_state import StrategyMetadata
from tradeexecutor.reporting.bounded_queue import DropOldestQueue
from tradeexecutor.reporting.channel import ChannelHealth
from tradeexecutor.reporting.messages import (
    DISCORD_LIMIT,
    TradeSummary,
    clip,
    cycle_message,
    failure_message,
    fmt_decimal,
    tx_link,
)
from tradeexecutor.reporting.udp import parse_host_port

META = StrategyMetadata("sma", "SMA")


def test_decimal_formatting() -> None:
    assert fmt_decimal(Decimal("0.500000")) == "0.5"
    assert fmt_decimal(Decimal("1234567.891")) == "1,234,567.891"
    assert fmt_decimal(Decimal("0.123456789")) == "0.123457"
    assert fmt_decimal(Decimal("1E-9")) == "0"
    assert fmt_decimal(Decimal("100")) == "100"
    assert fmt_decimal(None) == "?"


def test_long_messages_are_clipped_for_discord() -> None:
    trades = [TradeSummary(i, "WETH-USDC", "buy", Decimal("1.5"), Decimal("2000")) for i in range(200)]
    text = cycle_message(META, 1, trades, None)
    assert len(text) == DISCORD_LIMIT and "more characters)" in text
    assert clip("short") == "short"


def test_tx_link_with_and_without_explorer() -> None:
    tx = "0x" + "1" * 64
    assert tx_link(tx, "https://etherscan.io") == f"[0x11111111…](<https://etherscan.io/tx/{tx}>)"
    assert tx_link(tx, None) == f"`{tx}`"
    assert tx_link(None, "https://etherscan.io") == ""


def test_failure_message_is_redacted() -> None:
    text = failure_message(META, 3, RuntimeError("key " + "cd" * 32), halted=False)
    assert "cd" * 32 not in text and "***" in text and "retry next cycle" in text


def test_channel_warns_once_per_outage_and_again_after_recovery(caplog) -> None:
    caplog.set_level(logging.INFO)
    now = [0.0]
    health = ChannelHealth("discord", rewarn_after=100, clock=lambda: now[0])
    seen: list[int] = []
    for _ in range(5):
        health.failed("HTTP 500")
    health.add_listener(lambda name, total: seen.append(total))  # late listener hears the count at once
    health.succeeded()
    now[0] = 50
    health.failed(ConnectionError("refused"))  # new outage, but too soon to warn again
    now[0] = 200
    health.succeeded()
    health.failed("HTTP 502")
    assert health.failures == 7 and seen == [5, 6, 7]
    assert health.warnings == 2
    messages = [r.getMessage() for r in caplog.records]
    assert sum("discord reporting failed" in m for m in messages) == 2
    assert sum("discord reporting works again" in m for m in messages) == 2


def test_drop_oldest_queue() -> None:
    q: DropOldestQueue[int] = DropOldestQueue(2)
    assert q.put(1) and q.put(2)
    assert not q.put(3)
    assert q.dropped == 1 and q.get(0) == 2 and q.get(0) == 3 and q.get(0) is None
    q.task_done()
    q.task_done()
    assert q.wait_empty(0.1)
    with pytest.raises(ValueError):
        DropOldestQueue(0)


def test_host_port_parsing() -> None:
    assert parse_host_port("logs.example.com", 5959, "--logstash-server") == ("logs.example.com", 5959)
    assert parse_host_port("10.0.0.1:5000", 5959, "x") == ("10.0.0.1", 5000)
    assert parse_host_port("[::1]:5000", 5959, "x") == ("::1", 5000)
    assert parse_host_port("::1", 5959, "x") == ("::1", 5959)
    for bad in ("", "host:abc", "host:0"):
        with pytest.raises(ValueError):
            parse_host_port(bad, 5959, "--logstash-server")
