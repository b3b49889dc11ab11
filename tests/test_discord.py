"""Discord notifier against a local HTTP stand-in: retries, rate limits, hangs, drops."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from standins import RecordingHttpServer, Reply, wait_until

from tradeexecutor.reporting.discord import DiscordNotifier, RetryPolicy, retry_after_seconds

FAST = RetryPolicy(timeout=5.0, attempts=3, backoff=0.01, max_backoff=0.05)


@pytest.fixture()
def endpoint() -> Iterator[RecordingHttpServer]:
    server = RecordingHttpServer()
    yield server
    server.close()


def make(endpoint: RecordingHttpServer, **kwargs) -> DiscordNotifier:
    kwargs.setdefault("policy", FAST)
    return DiscordNotifier(endpoint.url + "/api/webhooks/1/main", **kwargs)


def test_message_is_posted_as_json(endpoint: RecordingHttpServer) -> None:
    notifier = make(endpoint, username="SMA bot")
    notifier.send("hello @everyone")
    assert notifier.flush(5)
    notifier.close()
    [request] = endpoint.requests
    assert request.path == "/api/webhooks/1/main"
    assert request.headers["Content-Type"] == "application/json"
    assert "Python-urllib" not in request.headers["User-Agent"]
    assert request.json() == {
        "content": "hello @everyone",
        "allowed_mentions": {"parse": []},
        "username": "SMA bot",
    }
    assert notifier.delivered == 1 and notifier.health.failures == 0


def test_errors_go_to_the_error_webhook(endpoint: RecordingHttpServer) -> None:
    notifier = DiscordNotifier(endpoint.url + "/main", endpoint.url + "/errors", policy=FAST)
    notifier.send("trade done")
    notifier.send("cycle crashed", error=True)
    assert notifier.flush(5)
    notifier.close()
    assert [(r.path, r.json()["content"]) for r in endpoint.requests] == [
        ("/main", "trade done"),
        ("/errors", "cycle crashed"),
    ]


def test_rate_limit_is_honoured_from_json_body(endpoint: RecordingHttpServer) -> None:
    endpoint.script = [Reply(429, json.dumps({"retry_after": 0.3, "global": False}).encode())]
    notifier = make(endpoint)
    notifier.send("one")
    assert notifier.flush(10)
    notifier.close()
    first, second = endpoint.requests
    assert second.at - first.at >= 0.3  # waited as told (causality, not speed)
    assert notifier.delivered == 1 and notifier.health.failures == 0


def test_rate_limit_from_header_and_parsing() -> None:
    assert retry_after_seconds(b'{"retry_after": 1.5}', "9") == 1.5
    assert retry_after_seconds(b"not json", "2") == 2.0
    assert retry_after_seconds(b"", None) == 1.0
    assert retry_after_seconds(b'{"retry_after": 9999}', None) == 60.0


def test_server_errors_are_retried_then_delivered(endpoint: RecordingHttpServer) -> None:
    endpoint.script = [Reply(500), Reply(502)]
    notifier = make(endpoint)
    notifier.send("eventually")
    assert notifier.flush(10)
    notifier.close()
    assert len(endpoint.requests) == 3 and notifier.delivered == 1
    assert notifier.health.failures == 0


def test_persistent_failure_is_counted_and_warned_once(endpoint: RecordingHttpServer, caplog) -> None:
    endpoint.default = Reply(500)
    notifier = make(endpoint)
    for i in range(3):
        notifier.send(f"message {i}")
    assert notifier.flush(10)
    notifier.close()
    assert len(endpoint.requests) == 9  # 3 messages x 3 attempts
    assert notifier.health.failures == 3 and notifier.delivered == 0
    warnings = [r for r in caplog.records if "discord reporting failed" in r.getMessage()]
    assert len(warnings) == 1
    assert endpoint.url not in caplog.text  # the webhook URL is a secret


def test_client_error_is_not_retried(endpoint: RecordingHttpServer) -> None:
    endpoint.default = Reply(404, b'{"message": "Unknown Webhook"}')
    notifier = make(endpoint)
    notifier.send("lost")
    assert notifier.flush(5)
    notifier.close()
    assert len(endpoint.requests) == 1 and notifier.health.failures == 1


def test_hanging_endpoint_never_blocks_send_and_full_queue_drops_oldest(
    endpoint: RecordingHttpServer,
) -> None:
    endpoint.default = Reply(hang=True)
    drops: list[int] = []
    notifier = make(
        endpoint, capacity=3, policy=RetryPolicy(timeout=30.0, attempts=1), on_drop=lambda: drops.append(1)
    )
    notifier.send("first")  # taken by the sender thread, which then hangs
    assert wait_until(lambda: len(endpoint.requests) == 1)
    for i in range(10):
        notifier.send(f"queued {i}")
    # All eleven sends returned while the endpoint still holds the first request.
    assert not endpoint.release.is_set() and len(endpoint.requests) == 1
    assert notifier.dropped == 7 and len(drops) == 7
    assert notifier.health.failures == 7
    endpoint.default = Reply(204)
    endpoint.release.set()
    notifier.close(timeout=0.5)


def test_close_delivers_what_is_queued(endpoint: RecordingHttpServer) -> None:
    notifier = make(endpoint)
    for i in range(5):
        notifier.send(f"m{i}")
    notifier.close(timeout=5)
    assert endpoint.contents() == [f"m{i}" for i in range(5)]
    notifier.send("after close")  # ignored, never raises
    assert "https://" not in repr(notifier) and "127.0.0.1" not in repr(notifier)
