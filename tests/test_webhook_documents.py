"""Webhook logic as plain functions: health, pagination, query parsing, HTTP helpers."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from tradeexecutor.execution.run_state import RunSnapshot, StrategyMetadata
from tradeexecutor.webhook.documents import BadRequest, Page, health, page_body, parse_log_query, parse_page
from tradeexecutor.webhook.http import BasicAuth, accepts_gzip, cors_headers, etag_matches, parse_origins

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def snap(**fields) -> RunSnapshot:
    return RunSnapshot(started_at=T0, last_refreshed_at=T0, metadata=StrategyMetadata("x", "X"), **fields)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


class TestHealth:
    def test_running_without_period_is_healthy(self) -> None:
        assert health(snap(), at(10**6)).ok

    def test_halted_is_unhealthy_with_reason(self) -> None:
        report = health(snap(executor_running=False, halted_reason="cycle 3 failed: boom"), at(1))
        assert not report.ok and report.status_code == 503
        assert report.reason == "trading is halted: cycle 3 failed: boom"

    def test_window_is_period_plus_grace(self) -> None:
        s = snap(expected_cycle_duration=3600.0, last_cycle_at=at(0))
        assert health(s, at(3600 + 900)).ok  # grace = 25 % of an hour
        late = health(s, at(3600 + 901))
        assert not late.ok and "no cycle completed for 4501s" in late.reason
        assert late.document()["allowed_seconds"] == 4500

    def test_short_cycles_get_at_least_a_minute_of_grace(self) -> None:
        s = snap(expected_cycle_duration=10.0, last_cycle_at=at(0))
        assert health(s, at(70)).ok and not health(s, at(71)).ok

    def test_explicit_grace_wins(self) -> None:
        s = snap(expected_cycle_duration=60.0, cycle_grace=5.0, last_cycle_at=at(0))
        assert health(s, at(65)).ok and not health(s, at(66)).ok

    def test_before_the_first_cycle_counts_from_start(self) -> None:
        s = snap(expected_cycle_duration=60.0)
        assert health(s, at(120)).ok
        report = health(s, at(121))
        assert not report.ok and report.reason.startswith("no cycle has completed for 121s")

    def test_a_running_cycle_is_fine_until_it_overruns(self) -> None:
        s = snap(expected_cycle_duration=60.0, last_cycle_at=at(0), current_cycle=2, cycle_started_at=at(100))
        assert health(s, at(200)).ok  # last completion is old, but a cycle is in progress
        stuck = health(s, at(221))
        assert not stuck.ok and stuck.reason.startswith("stalled: cycle 2 (started 2024-01-01 00:01:40 UTC)")
        assert "longer than the 120s allowed" in stuck.reason and stuck.document()["state"] == "stalled"


class TestPagination:
    def test_defaults_and_bounds(self) -> None:
        assert parse_page({}) == Page(0, 100, False)
        assert parse_page({"offset": "5", "limit": "1000", "order": "desc"}) == Page(5, 1000, True)
        for params in ({"limit": "0"}, {"limit": "1001"}, {"offset": "-1"}, {"limit": "x"}, {"order": "up"}):
            with pytest.raises(BadRequest):
                parse_page(params)

    def test_body_is_valid_json_from_pre_encoded_items(self) -> None:
        items = tuple(msgspec.json.encode({"trade_id": i}) for i in range(5))
        doc = msgspec.json.decode(page_body(items, Page(1, 2, False), "trades"))
        assert doc == {
            "total": 5,
            "offset": 1,
            "limit": 2,
            "order": "asc",
            "trades": [{"trade_id": 1}, {"trade_id": 2}],
        }
        doc = msgspec.json.decode(page_body(items, Page(0, 2, True), "trades"))
        assert [t["trade_id"] for t in doc["trades"]] == [4, 3]
        assert msgspec.json.decode(page_body(items, Page(10, 2, False), "trades"))["trades"] == []
        assert msgspec.json.decode(page_body((), Page(0, 2, False), "positions"))["positions"] == []

    def test_log_query(self) -> None:
        assert parse_log_query({}) == (20, 100)
        assert parse_log_query({"level": "ERROR", "limit": "5"}) == (40, 5)
        with pytest.raises(BadRequest, match="level must be one of"):
            parse_log_query({"level": "verbose"})


class TestHttpHelpers:
    def test_basic_auth(self) -> None:
        auth = BasicAuth("ops", "pä55:word")
        header = "Basic " + base64.b64encode("ops:pä55:word".encode()).decode()
        assert auth.check(header)
        assert auth.check(header.replace("Basic", "basic"))
        assert not auth.check(None) and not auth.check("Basic") and not auth.check("Basic %%%")
        assert not auth.check("Basic " + base64.b64encode(b"ops").decode())  # no colon
        assert not auth.check("Basic " + base64.b64encode(b"ops:pa55:word").decode())
        assert "pä55" not in repr(auth)

    @pytest.mark.parametrize(
        "header, expected",
        [
            (None, False),
            ("gzip", True),
            ("br, gzip;q=0.5", True),
            ("gzip;q=0", False),
            ("*", True),
            ("*, gzip;q=0", False),
            ("identity", False),
            ("x-gzip", True),
            ("GZIP ; q=1.0", True),
        ],
    )
    def test_accepts_gzip(self, header: str | None, expected: bool) -> None:
        assert accepts_gzip(header) is expected

    def test_etag_matching(self) -> None:
        assert etag_matches('"a"', ['"a"'])
        assert etag_matches('W/"a"', ['"a"'])
        assert etag_matches('"b", "a"', ['"a"'])
        assert etag_matches("*", ['"a"'])
        assert not etag_matches('"b"', ['"a"'])
        assert not etag_matches(None, ['"a"'])

    def test_cors(self) -> None:
        origins = parse_origins(" https://a.example , ,https://b.example/")
        assert origins == {"https://a.example", "https://b.example"}
        assert ("Access-Control-Allow-Origin", "https://a.example") in cors_headers(
            "https://a.example", origins
        )
        assert cors_headers("https://c.example", origins) == []
        assert cors_headers(None, origins) == []
        assert cors_headers("https://c.example", frozenset({"*"})) == [("Access-Control-Allow-Origin", "*")]
        assert parse_origins(None) == frozenset()
