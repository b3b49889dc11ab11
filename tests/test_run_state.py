"""RunState: immutable snapshots, counters that never lose an update, redacted exceptions."""

from __future__ import annotations

import dataclasses
import gzip
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import msgspec
import pytest

from tradeexecutor.config.redaction import redactor
from tradeexecutor.execution.run_state import PortfolioSummary, RunState, StrategyMetadata

T0 = datetime(2024, 1, 1, tzinfo=UTC)


class FakeClock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def make_state(clock: FakeClock | None = None) -> RunState:
    return RunState(
        StrategyMetadata("sma", "SMA demo"), version="1.2.3", git_revision="abc", clock=clock or FakeClock()
    )


def test_snapshot_is_replaced_not_mutated() -> None:
    clock = FakeClock()
    state = make_state(clock)
    before = state.snapshot
    clock.now = T0 + timedelta(seconds=5)
    after = state.publish(market_data_lag=12.5, summary=PortfolioSummary(Decimal("100.5"), Decimal("20"), 2))
    assert before is not after and state.snapshot is after
    assert before.market_data_lag is None and before.last_refreshed_at == T0
    assert after.market_data_lag == 12.5 and after.last_refreshed_at == T0 + timedelta(seconds=5)
    assert after.summary.total_equity == Decimal("100.5")
    with pytest.raises(dataclasses.FrozenInstanceError):
        after.market_data_lag = 1.0  # type: ignore[misc]


def test_publish_rejects_unknown_and_derived_fields_and_naive_times() -> None:
    state = make_state()
    with pytest.raises(TypeError, match="cycles_complete"):
        state.publish(cycles_complete=1)
    with pytest.raises(TypeError, match="positions_json"):
        state.publish(positions_json=())
    with pytest.raises(ValueError, match="timezone-aware"):
        state.publish(last_trade_at=datetime(2024, 1, 1))


def test_positions_and_trades_are_encoded_once_and_validated() -> None:
    state = make_state()
    position = {"position_id": 1, "pair": "WETH-USDC", "quantity": Decimal("0.5"), "opened_at": T0}
    snapshot = state.publish(positions=[position], trades=[{"trade_id": 7, "side": "buy"}])
    assert msgspec.json.decode(snapshot.positions_json[0]) == {
        "position_id": 1,
        "pair": "WETH-USDC",
        "quantity": "0.5",
        "opened_at": "2024-01-01T00:00:00Z",
    }
    position["quantity"] = Decimal("99")  # the loop mutating its dict later changes nothing published
    assert b'"0.5"' in state.snapshot.positions_json[0]
    with pytest.raises(ValueError, match="trade_id"):
        state.publish(trades=[{"id": 1}])


def test_cycle_lifecycle_counts_and_clears_watchdog() -> None:
    clock = FakeClock()
    state = make_state(clock)
    state.cycle_started(1, expected_duration=60)
    assert state.snapshot.current_cycle == 1 and state.snapshot.cycle_started_at == T0
    clock.now = T0 + timedelta(seconds=3)
    s = state.cycle_completed(1, duration=3.0, trades_succeeded=2, trades_failed=1)
    assert (s.completed_cycle, s.cycles_completed, s.current_cycle, s.cycle_started_at) == (1, 1, None, None)
    assert s.last_cycle_at == clock.now and s.last_trade_at == clock.now
    assert (s.trades_succeeded, s.trades_failed, s.expected_cycle_duration) == (2, 1, 60.0)

    try:
        raise RuntimeError("RPC down")
    except RuntimeError as e:
        s = state.cycle_failed(e, cycle=2)
    assert s.cycles_failed == 1 and s.executor_running and s.exception is not None
    assert s.exception.message == "RPC down" and "RuntimeError: RPC down" in s.exception.traceback
    s = state.cycle_completed(3, duration=1.0)
    assert s.exception is None and s.cycles_completed == 2 and s.last_trade_at == T0 + timedelta(seconds=3)


def test_halting_failure_stops_executor_and_keeps_reason() -> None:
    state = make_state()
    s = state.cycle_failed(ValueError("bad universe"), cycle=4, halt=True)
    assert not s.executor_running
    assert s.halted_reason == "cycle 4 failed: bad universe"


def test_exception_text_is_redacted() -> None:
    secret = "f" * 12 + "0123456789abcdef" * 3 + "1234"
    redactor.register("sUpErSeCrEtApIkEy42")
    state = make_state()
    exc = RuntimeError(f"cannot connect to https://rpc.example.com/v2/sUpErSeCrEtApIkEy42 with key {secret}")
    s = state.cycle_failed(exc)
    assert s.exception is not None
    for text in (s.exception.message, s.exception.traceback):
        assert "sUpErSeCrEtApIkEy42" not in text and secret not in text
        assert "***" in text


def test_state_bytes_get_etag_and_gzip_once() -> None:
    state = make_state()
    saved = state.update_state_bytes(b'{"positions": {}}' * 100)
    assert state.snapshot.state is saved
    assert gzip.decompress(saved.gzipped) == saved.data
    assert saved.etag.startswith('"') and saved.etag.endswith('"') and saved.gzip_etag != saved.etag
    again = state.update_state_bytes(b'{"positions": {}}' * 100)
    assert again.etag == saved.etag and again.gzipped == saved.gzipped
    assert state.update_state_bytes(b"{}").etag != saved.etag


def test_reporter_failures_keep_last_refreshed_at() -> None:
    clock = FakeClock()
    state = make_state(clock)
    clock.now = T0 + timedelta(seconds=30)
    state.record_reporter_failures("discord", 3)
    state.record_reporter_failures("discord", 2)  # late, out-of-order listener call
    s = state.snapshot
    assert dict(s.reporter_failures) == {"discord": 3}
    assert s.last_refreshed_at == T0
    with pytest.raises(TypeError):
        s.reporter_failures["discord"] = 0  # type: ignore[index]


def test_concurrent_writers_never_lose_an_increment() -> None:
    state = make_state()

    def complete(start: int) -> None:
        for i in range(500):
            state.cycle_completed(start + i, duration=0.0, trades_succeeded=1)

    def fail() -> None:
        for n in range(500):
            state.record_reporter_failures("statsd", n + 1)

    threads = [threading.Thread(target=complete, args=(k * 1000,)) for k in range(4)] + [
        threading.Thread(target=fail)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    s = state.snapshot
    assert s.cycles_completed == 2000 and s.trades_succeeded == 2000
    assert s.reporter_failures["statsd"] == 500
