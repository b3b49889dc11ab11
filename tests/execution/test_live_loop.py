"""Scheduling and failure semantics of the live loop, on a fake clock.

The chain-facing parts are exercised end to end in tests/execution/test_start_live.py;
here the loop's own decisions are checked: which cycle runs when, what a restart
skips, how stale data, network errors and strategy bugs are handled.
"""

from __future__ import annotations

import datetime
import threading
from decimal import Decimal

import pytest

from tests.pricing_fakes import ConstantProductPricing
from tests.state.factories import WETH_USDC, funded_state
from tradeexecutor.execution.live_loop import LiveLoop, LoopOutcome, LoopSettings
from tradeexecutor.execution.models import NoSync
from tradeexecutor.execution.run_state import RunState, StrategyMetadata
from tradeexecutor.execution.runner import CycleRunner
from tradeexecutor.reporting.metrics import MetricsRegistry
from tradeexecutor.reporting.reporter import Reporter, ReportingConfig
from tradeexecutor.strategy.cycle import CycleDuration

START = datetime.datetime(2024, 3, 4, 10, 0, 30, tzinfo=datetime.UTC)
MINUTE = datetime.timedelta(minutes=1)


class FakeTime:
    def __init__(self, now: datetime.datetime) -> None:
        self.now = now

    def clock(self) -> datetime.datetime:
        return self.now

    def wait(self, seconds: float) -> bool:
        self.now += datetime.timedelta(seconds=seconds)
        return False


class FillAtPlan:
    """Fills every trade exactly as planned (the booking is the real State code)."""

    def execute_trades(self, ts, state, trades, checkpoint) -> None:
        for t in trades:
            state.start_trade(t, ts)
            state.settle_trade_success(
                t,
                ts,
                executed_quantity_raw=t.pair.base.to_raw(t.planned_quantity),
                executed_reserve_raw=t.reserve_currency.to_raw(t.planned_reserve),
                executed_price=t.planned_price,
            )


class Revalue:
    def __init__(self, pricing) -> None:
        self.pricing = pricing

    def revalue(self, ts, state) -> None:
        for p in state.portfolio.open_positions.values():
            state.revalue_position(p, ts, self.pricing.get_mid_price(ts, p.pair))


class Market:
    def __init__(self, time: FakeTime, lag: datetime.timedelta = datetime.timedelta(seconds=5)) -> None:
        self.time, self.lag, self.failures = time, lag, 0

    def refresh(self, now):
        if self.failures:
            self.failures -= 1
            raise ConnectionError("node unreachable")
        return now - self.lag

    def price_series(self) -> dict:
        opened = self.time.now - datetime.timedelta(minutes=1)
        return {"WETH-USDC": [(opened, self.time.now, 2000.0, 2001.0, 1999.0, 2000.5)]}


class Saves:
    def __init__(self) -> None:
        self.count = 0

    def save(self) -> None:
        self.count += 1

    def last_saved(self) -> bytes | None:
        return b'{"saved": %d}' % self.count


def make_loop(time: FakeTime, decide, state=None, market=None, **settings):
    state = state or funded_state()
    pricing = ConstantProductPricing(Decimal(1000), Decimal(2_000_000))
    saves = Saves()
    runner = CycleRunner(
        state=state,
        pricing_model=pricing,
        execution_model=FillAtPlan(),
        sync_model=NoSync(),
        valuation_model=Revalue(pricing),
        decide=decide,
        checkpoint=saves.save,
    )
    run_state = RunState(StrategyMetadata(id="t", name="t"), version="test", clock=time.clock)
    reporter = Reporter.create(ReportingConfig(), run_state, MetricsRegistry())
    settings.setdefault("stay_up_after_halt", False)
    loop = LiveLoop(
        LoopSettings(cycle_duration=CycleDuration.cycle_1m, **settings),
        runner,
        market or Market(time),
        saves,
        run_state,
        reporter,
        clock=time.clock,
        wait=time.wait,
        stop=threading.Event(),
    )
    return loop, state, run_state


def recorder(calls: list):
    def decide(ts, pm):
        calls.append(ts)
        return []

    return decide


def test_trade_immediately_runs_the_due_cycle_then_each_next_one() -> None:
    time = FakeTime(START)
    calls: list = []
    loop, state, run_state = make_loop(time, recorder(calls), trade_immediately=True, max_cycles=3)
    assert loop.run() == LoopOutcome.finished
    assert calls == [
        START.replace(second=0),
        START.replace(second=0) + MINUTE,
        START.replace(second=0) + 2 * MINUTE,
    ]
    assert state.cycle.completed_count == 3
    assert run_state.snapshot.cycles_completed == 3
    assert run_state.snapshot.state is not None  # saved bytes reached the webhook snapshot


def test_each_cycle_runs_inside_its_log_context() -> None:
    from tradeexecutor.reporting.log_context import current_cycle

    time = FakeTime(START)
    seen: list = []

    def decide(ts, pm):
        seen.append(current_cycle())
        return []

    loop, *_ = make_loop(time, decide, trade_immediately=True, max_cycles=2)
    loop.run()
    assert seen == [1, 2] and current_cycle() is None


def test_without_trade_immediately_waits_for_the_next_cycle_and_honours_offset() -> None:
    time = FakeTime(START)
    calls: list = []
    loop, *_ = make_loop(time, recorder(calls), cycle_offset_minutes=0.5, max_cycles=1)
    loop.run()
    assert calls == [START.replace(second=0) + MINUTE]
    assert time.now >= START.replace(second=0) + MINUTE + datetime.timedelta(seconds=30)


def test_restart_does_not_repeat_a_completed_cycle() -> None:
    time = FakeTime(START)
    calls: list = []
    loop, state, _ = make_loop(time, recorder(calls), trade_immediately=True, max_cycles=1)
    loop.run()
    # "restart" in the same minute with the saved state
    loop2, *_ = make_loop(time, recorder(calls), state=state, trade_immediately=True, max_cycles=1)
    loop2.run()
    assert calls == [START.replace(second=0), START.replace(second=0) + MINUTE]
    assert state.cycle.completed_count == 2


def test_restart_reruns_a_cycle_a_crash_interrupted_even_without_trade_immediately() -> None:
    time = FakeTime(START)
    due = START.replace(second=0)
    state = funded_state()
    # The previous run planned (and maybe sent) a trade for this cycle, then died in it.
    state.plan_trade(due, WETH_USDC, price=Decimal(2000), reserve=Decimal(100))
    calls: list = []
    loop, *_ = make_loop(time, recorder(calls), state=state, max_cycles=1)
    loop.run()
    assert calls == [due]  # not left for the next minute
    assert state.cycle.last_completed_at == due


def test_restart_leaves_an_untouched_due_cycle_alone_without_trade_immediately() -> None:
    time = FakeTime(START)
    due = START.replace(second=0)
    state = funded_state()
    state.plan_trade(due - MINUTE, WETH_USDC, price=Decimal(2000), reserve=Decimal(100))  # an older cycle
    calls: list = []
    loop, *_ = make_loop(time, recorder(calls), state=state, max_cycles=1)
    loop.run()
    assert calls == [due + MINUTE]


def test_stale_data_refuses_to_trade_and_retries_within_the_cycle() -> None:
    time = FakeTime(START)
    calls: list = []
    market = Market(time, lag=datetime.timedelta(minutes=10))
    loop, state, run_state = make_loop(
        time,
        recorder(calls),
        market=market,
        trade_immediately=True,
        max_cycles=1,
        max_data_delay=datetime.timedelta(minutes=3),
        stay_up_after_halt=True,
    )

    def fresh_after_first_cycle(now):
        if now >= START.replace(second=0) + MINUTE:
            market.lag = datetime.timedelta(seconds=5)
        return now - market.lag

    market.refresh = fresh_after_first_cycle
    assert loop.run() == LoopOutcome.finished
    assert calls == [START.replace(second=0) + MINUTE]  # the stale cycle never decided
    assert run_state.snapshot.cycles_failed >= 1
    assert any("stale" in m.text for m in state.visualisation.messages)


def test_network_failure_is_retried_and_the_cycle_completes() -> None:
    time = FakeTime(START)
    calls: list = []
    market = Market(time)
    market.failures = 2
    loop, state, run_state = make_loop(
        time,
        recorder(calls),
        market=market,
        trade_immediately=True,
        max_cycles=1,
        retry_delay=datetime.timedelta(seconds=10),
        stay_up_after_halt=True,
    )
    assert loop.run() == LoopOutcome.finished
    assert calls == [START.replace(second=0)]
    assert run_state.snapshot.cycles_failed == 2
    assert run_state.snapshot.exception is None  # cleared by the successful retry
    assert run_state.snapshot.executor_running


def test_strategy_error_halts_and_records_the_exception() -> None:
    time = FakeTime(START)

    def broken(ts, pm):
        pm.open_1x_long(WETH_USDC, 100)
        raise ZeroDivisionError("bad maths in the strategy")

    loop, state, run_state = make_loop(time, broken, trade_immediately=True)
    assert loop.run() == LoopOutcome.halted
    snap = run_state.snapshot
    assert not snap.executor_running
    assert "bad maths" in snap.exception.message
    assert state.portfolio.free_cash() == Decimal(10_000)  # the half-made plan was unwound
    assert state.cycle.completed_count == 0


def test_halted_loop_stays_up_until_stopped() -> None:
    time = FakeTime(START)

    def broken(ts, pm):
        raise RuntimeError("boom")

    loop, _, run_state = make_loop(time, broken, trade_immediately=True, stay_up_after_halt=True)
    result: list = []
    thread = threading.Thread(target=lambda: result.append(loop.run()))
    thread.start()
    thread.join(0.3)
    assert thread.is_alive()  # still up, e.g. serving /status
    loop.stop.set()
    thread.join(5)
    assert result == [LoopOutcome.halted]
    assert run_state.snapshot.halted_reason == "strategy error in cycle 1: boom"


def test_stop_loss_checked_between_cycles() -> None:
    time = FakeTime(START)
    pricing_state: dict = {}

    def decide(ts, pm):
        if not pm.is_any_open() and not pricing_state:
            pricing_state["opened"] = True
            return pm.open_1x_long(WETH_USDC, 1000, stop_loss_pct=0.99)
        return []

    loop, state, run_state = make_loop(
        time,
        decide,
        trade_immediately=True,
        max_cycles=2,
        stop_loss_check_frequency=datetime.timedelta(seconds=10),
    )
    # after the first cycle the price falls 5 %: the next trigger check must sell
    original = loop.runner.pricing_model

    class Falling(ConstantProductPricing):
        def __init__(self) -> None:
            super().__init__(Decimal(1000), Decimal(1_900_000))

    def run_cycle_then_drop(ts, _orig=loop.runner.run_cycle):
        report = _orig(ts)
        loop.runner.pricing_model = Falling()
        return report

    loop.runner.run_cycle = run_cycle_then_drop
    loop.run()
    assert original is not loop.runner.pricing_model
    [position] = state.portfolio.closed_positions.values()
    assert [t.trade_type.value for t in position.trades.values()] == ["rebalance", "stop_loss"]
    # the stop-loss sell is counted and published like a cycle's trade
    assert run_state.snapshot.trades_succeeded == 2
    assert loop.reporter.metrics.value("trades_succeeded") == 2
    assert run_state.snapshot.summary is not None and run_state.snapshot.summary.open_positions == 0


@pytest.mark.parametrize("offset", [-1, 1])
def test_bad_offset_is_refused(offset: float) -> None:
    time = FakeTime(START)
    loop, *_ = make_loop(time, recorder([]), cycle_offset_minutes=offset, max_cycles=1)
    with pytest.raises(ValueError, match="Cycle offset"):
        loop.run()


def test_watchdog_alerts_once_for_a_cycle_that_hangs() -> None:
    from tradeexecutor.execution.live_loop import Watchdog

    time_ = FakeTime(START)
    run_state = RunState(StrategyMetadata(id="t", name="t"), version="test", clock=time_.clock)
    alerts: list[str] = []

    class Alerts:
        def alert(self, text: str) -> None:
            alerts.append(text)

    stop = threading.Event()
    watchdog = Watchdog(run_state, Alerts(), timeout=0.2, stop=stop)  # type: ignore[arg-type]
    run_state.cycle_started(3, expected_duration=60)
    watchdog.start()
    try:
        time_.now += datetime.timedelta(seconds=1)  # the cycle now runs 5x longer than allowed
        deadline = threading.Event()
        for _ in range(50):
            if alerts:
                break
            deadline.wait(0.05)
        deadline.wait(0.3)  # more polls: still one alert for this cycle
    finally:
        stop.set()
        watchdog.join(2)
    assert len(alerts) == 1 and "Cycle 3 has been running" in alerts[0]


# --- survival: classified failures, protection after a halt, one announcement per episode ------


class SwitchablePricing(ConstantProductPricing):
    """Pool prices that a test moves, and a node that a test takes down."""

    def __init__(self) -> None:
        super().__init__(Decimal(1000), Decimal(2_000_000))
        self.down = False
        self.calls = 0

    def get_mid_price(self, ts, pair):
        self.calls += 1
        if self.down:
            raise ConnectionError("node unreachable")
        return super().get_mid_price(ts, pair)


def loop_with_stop_loss(time: FakeTime, decide, **settings):
    loop, state, run_state = make_loop(
        time, decide, stop_loss_check_frequency=datetime.timedelta(seconds=10), **settings
    )
    pricing = SwitchablePricing()
    loop.runner.pricing_model = pricing
    return loop, state, run_state, pricing


def open_then(after):
    """A strategy that opens a position with a stop loss in cycle 1, then does `after(ts)`."""

    def decide(ts, pm):
        if not pm.is_any_open() and not pm.state.portfolio.closed_positions:
            return pm.open_1x_long(WETH_USDC, 1000, stop_loss_pct=0.95)
        return after(ts)

    return decide


def test_a_strategy_error_halts_trading_but_stop_losses_keep_protecting() -> None:
    time = FakeTime(START)

    def broken(ts):
        raise ZeroDivisionError("bad maths in the strategy")

    loop, state, run_state, pricing = loop_with_stop_loss(
        time, open_then(broken), trade_immediately=True, stay_up_after_halt=True
    )
    crashed: list = []

    class Discord:
        def __init__(self) -> None:
            self.health = __import__(
                "tradeexecutor.reporting.channel", fromlist=["ChannelHealth"]
            ).ChannelHealth("d")

        def send(self, text, error=False) -> None:
            crashed.append(text)

    loop.reporter.discord = Discord()
    original_wait = time.wait

    def wait(seconds):
        original_wait(seconds)
        if time.now >= START + 3 * MINUTE and not pricing.y < 2_000_000:
            pricing.y = Decimal(1_700_000)  # the price falls through the stop two minutes after the halt
        if time.now >= START + 5 * MINUTE:
            loop.stop.set()
        return False

    loop.wait = wait
    assert loop.run() == LoopOutcome.halted
    snap = run_state.snapshot
    assert not snap.executor_running and snap.halt.kind == "strategy" and snap.halt.stops_running
    assert snap.halted_reason.startswith("strategy error in cycle 2: bad maths")
    [position] = state.portfolio.closed_positions.values()  # the stop loss sold it after the halt
    assert [t.trade_type.value for t in position.trades.values()] == ["rebalance", "stop_loss"]
    assert state.cycle.completed_count == 1
    from tradeexecutor.webhook.documents import health, status_document

    report = health(snap, time.now)
    assert report.status_code == 503 and "stop losses and take profits are still checked" in report.reason
    assert status_document(snap)["trading_state"] == "halted"
    assert any("Stop losses and take profits of open positions are still checked" in m for m in crashed)


def test_operator_option_stops_the_checks_after_a_strategy_halt() -> None:
    time = FakeTime(START)

    def broken(ts):
        raise RuntimeError("boom")

    loop, state, run_state, pricing = loop_with_stop_loss(
        time, open_then(broken), trade_immediately=True, stops_after_halt=False
    )
    assert loop.run() == LoopOutcome.halted
    assert not run_state.snapshot.halt.stops_running
    calls = pricing.calls
    assert not loop.protecting and loop._next_wakeup(time.now) is None and calls > 0


def test_an_invariant_violation_halts_trading_and_stop_checks() -> None:
    from tradeexecutor.state.errors import IntegrityError

    time = FakeTime(START)

    def corrupt(ts):
        raise IntegrityError("the ledger does not add up for USDC")

    loop, state, run_state, pricing = loop_with_stop_loss(
        time, open_then(corrupt), trade_immediately=True, stay_up_after_halt=True
    )
    thread = threading.Thread(target=loop.run)
    thread.start()
    thread.join(0.5)
    assert thread.is_alive()  # the webhook stays up
    snap = run_state.snapshot
    assert snap.halt.kind == "invariant" and not snap.halt.stops_running and not loop.protecting
    assert snap.halted_reason == "invariant violation in cycle 2: the ledger does not add up for USDC"
    loop.stop.set()
    thread.join(5)


def test_a_node_outage_is_one_degraded_episode_then_trading_resumes_without_restart() -> None:
    time = FakeTime(START)
    calls: list = []
    market = Market(time)
    loop, state, run_state, pricing = loop_with_stop_loss(
        time, recorder(calls), market=market, trade_immediately=True, max_cycles=2
    )
    metrics = loop.reporter.metrics
    seen_states: list[str] = []
    original = loop.reporter.degraded

    def degraded(*args, **kwargs):
        original(*args, **kwargs)
        seen_states.append(run_state.snapshot.degraded.reason)

    loop.reporter.degraded = degraded
    market.failures = 2  # the first cycle's universe build fails twice (retried after 5 s, then 10 s)
    assert loop.run() == LoopOutcome.finished
    assert calls[0] == START.replace(second=0)  # the same cycle, retried inside its window
    assert len(seen_states) == 2 and metrics.value("degraded_episodes") == 1
    assert run_state.snapshot.degraded is None and run_state.snapshot.executor_running
    assert metrics.value("cycles_failed") == 2 and run_state.snapshot.cycles_skipped == 0


def test_a_cycle_whose_window_passes_is_skipped_with_its_reason() -> None:
    time = FakeTime(START)
    calls: list = []
    market = Market(time)
    market.failures = 100
    loop, state, run_state = make_loop(
        time, recorder(calls), market=market, trade_immediately=True, max_cycles=1
    )
    real_refresh = market.refresh

    def refresh(now):
        if now >= START.replace(second=0) + 2 * MINUTE:
            market.failures = 0  # the node is back two cycles later
        return real_refresh(now)

    market.refresh = refresh
    assert loop.run() == LoopOutcome.finished
    assert calls == [START.replace(second=0) + 2 * MINUTE]
    snap = run_state.snapshot
    assert snap.cycles_skipped == 2 and "node unreachable" in snap.last_skipped.reason
    assert sum("skipped" in m.text for m in state.visualisation.messages) == 2
    assert loop.reporter.metrics.value("degraded_episodes") == 1


def test_stop_losses_are_checked_once_at_start_up() -> None:
    time = FakeTime(START)
    state = funded_state()
    trades: list = []

    def decide(ts, pm):
        return []

    loop, state, run_state, pricing = loop_with_stop_loss(time, decide, max_cycles=1)
    checks: list = []
    loop.runner.check_triggers = lambda now: checks.append(now) or []
    loop.run()
    assert checks[0] == START  # not one check period later
    assert trades == []


def test_stop_loss_checks_retry_on_their_own_while_the_node_is_down() -> None:
    time = FakeTime(START)

    def hold(ts):
        return []

    loop, state, run_state, pricing = loop_with_stop_loss(
        time, open_then(hold), trade_immediately=True, max_cycles=2
    )
    original_wait = time.wait
    checks: list = []
    real_check = loop.runner.check_triggers

    def check(now):
        checks.append(now)
        return real_check(now)

    loop.runner.check_triggers = check

    def wait(seconds):
        original_wait(seconds)
        pricing.down = (
            START + datetime.timedelta(seconds=5) < time.now < START + datetime.timedelta(seconds=20)
        )
        return False

    loop.wait = wait
    loop.run()
    offsets = [(c - START).total_seconds() for c in checks if c > START]
    # every 10 s while healthy; from the first failure at +10 s retried after 2 s, 4 s, 8 s
    assert offsets[:4] == [10.0, 12.0, 16.0, 24.0], offsets  # +24: the node is back
    assert loop.reporter.metrics.value("degraded_episodes") == 1
    assert run_state.snapshot.degraded is None
