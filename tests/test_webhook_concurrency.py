"""Requests under concurrent publishing: every response is one consistent snapshot."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from webhook_client import get

from tradeexecutor.execution.run_state import PortfolioSummary, RunState, StrategyMetadata
from tradeexecutor.webhook.server import WebhookConfig, WebhookServer

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def publish_generation(state: RunState, n: int) -> None:
    """Generation n: every figure is derived from n, so any mix of two generations shows."""
    state.publish(
        completed_cycle=n,
        cycles_completed=n,
        cycles_failed=n // 2,
        last_cycle_at=T0 + timedelta(seconds=n),
        market_data_lag=float(n),
        summary=PortfolioSummary(Decimal(n), Decimal(n) / 2, n % 7),
        trades=[{"trade_id": i, "generation": n} for i in range(n % 40)],
        positions=[{"position_id": i, "generation": n} for i in range(n % 7)],
    )
    if n % 5 == 0:
        state.update_state_bytes(b'{"generation": %d}' % n)


def test_responses_are_consistent_while_the_loop_publishes() -> None:
    state = RunState(StrategyMetadata("sma", "SMA"), version="1")
    publish_generation(state, 0)
    server = WebhookServer(WebhookConfig(port=0, threads=4), state)
    server.start()
    stop = threading.Event()
    published = [0]
    problems: list[str] = []
    checked = {"status": 0, "metadata": 0, "trades": 0, "positions": 0, "state": 0}

    def publisher() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            publish_generation(state, n)
            published[0] = n

    def reader(path: str) -> None:
        try:
            for _ in range(60):
                answer = get(server.port, path)
                if answer.status != 200:
                    problems.append(f"{path}: {answer.status}")
                    continue
                doc = answer.json()
                if path == "/status":
                    n = doc["completed_cycle"]
                    ok = (
                        doc["cycles_completed"] == n
                        and doc["cycles_failed"] == n // 2
                        and doc["last_cycle_at"] == (T0 + timedelta(seconds=n)).timestamp()
                        and doc["market_data_lag"] == float(n)
                        and doc["frozen_positions"] == 0
                    )
                    key = "status"
                elif path == "/metadata":
                    n = int(doc["summary"]["total_equity"])
                    ok = (
                        Decimal(doc["summary"]["cash"]) == Decimal(n) / 2
                        and doc["summary"]["open_positions"] == n % 7
                    )
                    key = "metadata"
                elif path.startswith("/trades"):
                    items = doc["trades"]
                    generations = {t["generation"] for t in items}
                    ok = len(generations) <= 1 and all(doc["total"] == g % 40 for g in generations)
                    ok = ok and [t["trade_id"] for t in items] == list(range(len(items)))
                    key = "trades"
                elif path.startswith("/positions"):
                    items = doc["positions"]
                    ok = len({p["generation"] for p in items}) <= 1 and doc["total"] == len(items)
                    key = "positions"
                else:
                    ok = doc["generation"] % 5 == 0
                    key = "state"
                checked[key] += 1
                if not ok:
                    problems.append(f"{path}: inconsistent {doc}")
        except Exception as e:  # surface errors from reader threads
            problems.append(f"{path}: {e!r}")

    writer = threading.Thread(target=publisher)
    readers = [
        threading.Thread(target=reader, args=(p,))
        for p in ("/status", "/metadata", "/trades?limit=1000", "/positions", "/state", "/status")
    ]
    writer.start()
    for t in readers:
        t.start()
    for t in readers:
        t.join()
    stop.set()
    writer.join()
    server.stop()

    assert not problems, problems[:5]
    assert all(count > 0 for count in checked.values()), checked
    assert published[0] > 10  # the publisher really ran alongside the readers
