"""The live loop: run cycles on time, check stop losses between them, and fail loudly.

Scheduling: a cycle is due at `cycle timestamp + offset` (see strategy/cycle.py) and
decides as of its cycle timestamp. Each cycle timestamp runs at most once: the state
records the last completed one, so a restarted executor never trades a cycle twice. At
start the currently due cycle runs only with `trade_immediately`; otherwise the loop
waits for the next one.

Failures: a network failure is retried within the same cycle window; any other exception
halts trading. A halted loop keeps the process (and the webhook) alive until SIGTERM,
so `/status` and `/health` can say what happened.

Stopping: the first SIGTERM or SIGINT lets the current step finish (a transaction is
saved before it is broadcast, so nothing is lost either way), the second one abandons it.
"""

from __future__ import annotations

import datetime
import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from tradeexecutor.execution import publish
from tradeexecutor.execution.failures import is_transient
from tradeexecutor.execution.run_state import RunState
from tradeexecutor.execution.runner import CycleRunner
from tradeexecutor.reporting.log_context import log_context
from tradeexecutor.reporting.reporter import Reporter
from tradeexecutor.state.state import State
from tradeexecutor.state.time import utcnow
from tradeexecutor.strategy.cycle import CycleDuration

logger = logging.getLogger(__name__)


class MarketRefresh(Protocol):
    def refresh(self, now: datetime.datetime) -> datetime.datetime | None:
        """Bring candles up to date; return when the newest candle closed (None: no data)."""
        ...

    def price_series(self) -> dict[str, list[tuple]]:
        """Candles per pair ticker for the dashboard's price charts (see `publish.price_series`)."""
        ...


class Persistence(Protocol):
    def save(self) -> None: ...

    def last_saved(self) -> bytes | None: ...


class CycleHook(Protocol):
    def run_before_trading(self, state: State) -> object:
        """Run once before the first cycle of the process; raise to halt trading."""
        ...

    def run_if_due(self, cycle_number: int, state: State) -> object:
        """Run after a completed cycle (e.g. the account audit); raise to halt trading."""
        ...


class LoopOutcome(StrEnum):
    stopped = "stopped"  # a signal asked us to stop
    finished = "finished"  # --max-cycles reached
    halted = "halted"  # a failure stopped trading (and then a signal stopped the process)


class StaleMarketData(RuntimeError):
    """The newest candle is older than --max-data-delay-minutes allows."""


@dataclass(frozen=True, slots=True)
class LoopSettings:
    cycle_duration: CycleDuration
    cycle_offset_minutes: float = 0.0
    max_data_delay: datetime.timedelta | None = None
    stop_loss_check_frequency: datetime.timedelta | None = None
    trade_immediately: bool = False
    max_cycles: int | None = None
    stay_up_after_halt: bool = True
    single_cycle: bool = False  # --run-single-cycle: the due cycle now (if not done yet), then exit
    watchdog_timeout: datetime.timedelta | None = None
    retry_delay: datetime.timedelta = datetime.timedelta(seconds=30)

    @property
    def cycle_seconds(self) -> float:
        return self.cycle_duration.timedelta.total_seconds()


class StopSignals:
    """First SIGTERM/SIGINT: set the stop event. Second: abandon the current step."""

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop
        self._previous: dict[int, object] = {}

    def _handle(self, signum: int, frame: object) -> None:
        if self.stop.is_set():
            raise KeyboardInterrupt(f"second signal {signum}: abandoning the current step")
        logger.warning("Received signal %s: finishing the current step, then stopping.", signum)
        self.stop.set()

    def install(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGTERM, signal.SIGINT):
            self._previous[sig] = signal.signal(sig, self._handle)

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
        self._previous.clear()


class Watchdog(threading.Thread):
    """Alerts once per cycle that runs longer than allowed (a hung RPC call, a deadlock)."""

    def __init__(
        self, run_state: RunState, reporter: Reporter, timeout: float, stop: threading.Event
    ) -> None:
        super().__init__(name="cycle-watchdog", daemon=True)
        self.run_state, self.reporter, self.timeout, self.stop_event = run_state, reporter, timeout, stop
        self._alerted: int | None = None

    def run(self) -> None:
        while not self.stop_event.wait(min(5.0, self.timeout / 4)):
            s = self.run_state.snapshot
            if s.cycle_started_at is None or s.current_cycle == self._alerted:
                continue
            running = (self.run_state.now() - s.cycle_started_at).total_seconds()
            if running > self.timeout:
                self._alerted = s.current_cycle
                text = f"Cycle {s.current_cycle} has been running for {running:.0f}s (limit {self.timeout:.0f}s)."
                logger.error("Watchdog: %s", text)
                self.reporter.alert(f"Watchdog: {text}")


class LiveLoop:
    def __init__(
        self,
        settings: LoopSettings,
        runner: CycleRunner,
        market: MarketRefresh,
        persistence: Persistence,
        run_state: RunState,
        reporter: Reporter,
        clock: Callable[[], datetime.datetime] = utcnow,
        stop: threading.Event | None = None,
        wait: Callable[[float], object] | None = None,
        after_cycle: CycleHook | None = None,
    ) -> None:
        self.settings = settings
        self.runner = runner
        self.market = market
        self.persistence = persistence
        self.run_state = run_state
        self.reporter = reporter
        self.clock = clock
        self.stop = stop or threading.Event()
        self.wait = wait or self.stop.wait  # tests pass a fake that advances a fake clock
        self.after_cycle = after_cycle
        self.cycles_run = 0
        self._retry_at: datetime.datetime | None = None
        self._next_trigger_check: datetime.datetime | None = None

    @property
    def state(self) -> State:
        return self.runner.state

    # ---- scheduling ---------------------------------------------------------------------

    def _due_cycle(self, now: datetime.datetime) -> datetime.datetime:
        return self.settings.cycle_duration.cycle_timestamp_for_run(now, self.settings.cycle_offset_minutes)

    def _interrupted(self, ts: datetime.datetime) -> bool:
        """A cycle planned trades for `ts` but never completed: the previous run died in it."""
        if self._already_done(ts):
            return False
        interrupted = self.state.portfolio.has_trade_planned_at(ts)
        if interrupted:
            logger.warning("The cycle at %s was interrupted by the previous run: running it again now.", ts)
        return interrupted

    def _already_done(self, ts: datetime.datetime) -> bool:
        last = self.state.cycle.last_completed_at
        return last is not None and ts <= last

    def _next_wakeup(self, now: datetime.datetime) -> datetime.datetime:
        s = self.settings
        candidates = [s.cycle_duration.next_run_at(now, s.cycle_offset_minutes)]
        if self._retry_at is not None:
            candidates.append(self._retry_at)
        if self._next_trigger_check is not None:
            candidates.append(self._next_trigger_check)
        return min(candidates)

    def _sleep_until(self, when: datetime.datetime) -> None:
        while not self.stop.is_set():
            remaining = (when - self.clock()).total_seconds()
            if remaining <= 0:
                return
            self.wait(min(remaining, 1.0))

    # ---- one cycle ----------------------------------------------------------------------

    def _check_data(self, ts: datetime.datetime, now: datetime.datetime) -> float | None:
        newest = self.market.refresh(now)
        lag = (now - newest).total_seconds() if newest is not None else None
        limit = self.settings.max_data_delay
        if limit is not None and (newest is None or lag is None or lag > limit.total_seconds()):
            shown = "no candles at all" if newest is None else f"the newest candle closed {lag:.0f}s ago"
            raise StaleMarketData(
                f"Market data is stale for the cycle at {ts.isoformat()}: {shown}, more than the "
                f"{limit.total_seconds() / 60:g} minutes --max-data-delay-minutes allows; not trading."
            )
        return lag

    def _publish_after_save(self) -> None:
        saved = self.persistence.last_saved()
        if saved is not None:
            self.run_state.update_state_bytes(saved)

    def run_one_cycle(self, ts: datetime.datetime) -> None:
        number = self.state.cycle.completed_count + 1
        with log_context(cycle=number):  # every record of the cycle says which one it is
            self._run_cycle(number, ts)

    def _run_cycle(self, number: int, ts: datetime.datetime) -> None:
        started = time.perf_counter()
        self.reporter.cycle_started(number, expected_duration=self.settings.cycle_seconds)
        now = self.clock()
        lag = self._check_data(ts, now)
        report = self.runner.run_cycle(ts)
        self._publish_after_save()
        gas_units, gas_native = publish.gas_spent(report.trades)
        self.reporter.cycle_completed(
            number,
            duration=time.perf_counter() - started,
            cycle_trades=publish.trade_summaries(report.trades),
            summary=publish.portfolio_summary(self.state),
            gas_used=gas_units,
            gas_spent=gas_native,
            market_data_lag=lag,
            positions=publish.positions_documents(self.state),
            trades=publish.trades_documents(self.state),
            price_series=self.market.price_series(),
        )
        self.cycles_run += 1
        self._retry_at = None
        if self.after_cycle is not None:
            self.after_cycle.run_if_due(number, self.state)  # may save: publish what it wrote
            self._publish_after_save()
        logger.info("Cycle %d for %s done: %d trade(s).", number, ts.isoformat(), len(report.trades))

    def _trigger_check(self, now: datetime.datetime) -> None:
        trades = self.runner.check_triggers(now)
        if not trades:
            self.reporter.trigger_check(now)
            return
        self._publish_after_save()
        gas_units, gas_native = publish.gas_spent(trades)
        self.reporter.trigger_check(
            now,
            executed=publish.trade_summaries(trades),
            summary=publish.portfolio_summary(self.state),
            gas_used=gas_units,
            gas_spent=gas_native,
            positions=publish.positions_documents(self.state),
            trades=publish.trades_documents(self.state),
        )
        logger.warning("Trigger check closed %d position(s).", len(trades))

    # ---- the loop -----------------------------------------------------------------------

    def _handle_failure(self, exc: BaseException, now: datetime.datetime) -> bool:
        """Record and report; return True when trading must halt."""
        number = self.state.cycle.completed_count + 1
        if isinstance(exc, StaleMarketData):
            logger.error("%s", exc)
            self.reporter.cycle_failed(exc, cycle=number, halt=False)
            self.state.visualisation.add_message(now, str(exc))
            self._retry_at = now + min(self.settings.retry_delay, self.settings.cycle_duration.timedelta / 4)
            return False
        if is_transient(exc):
            logger.warning("Cycle %d failed on a network error, will retry: %s", number, exc)
            self.reporter.cycle_failed(exc, cycle=number, halt=False)
            self._retry_at = now + self.settings.retry_delay
            return False
        logger.error("Cycle %d failed; trading stops until an operator restarts it.", number, exc_info=exc)
        self.reporter.cycle_failed(exc, cycle=number, halt=True)
        return True

    def run(self) -> LoopOutcome:
        s = self.settings
        signals = StopSignals(self.stop)
        signals.install()
        watchdog = None
        if s.watchdog_timeout is not None:
            watchdog = Watchdog(self.run_state, self.reporter, s.watchdog_timeout.total_seconds(), self.stop)
            watchdog.start()
        try:
            outcome = self._loop()
            if outcome == LoopOutcome.halted and s.stay_up_after_halt:
                logger.error("Trading halted; the webhook stays up until the process is stopped.")
                self.stop.wait()
            return outcome
        finally:
            signals.restore()
            self.stop.set()  # ends the watchdog
            if watchdog is not None:
                watchdog.join(2)

    def _loop(self) -> LoopOutcome:
        s = self.settings
        if self.after_cycle is not None:
            # A restarted executor checks before it trades: a failed audit (or a rogue
            # transaction since the last run) halts it again instead of trading one more cycle.
            try:
                self.after_cycle.run_before_trading(self.state)
                self._publish_after_save()
            except Exception as exc:
                if self._handle_failure(exc, self.clock()) or not s.stay_up_after_halt:
                    return LoopOutcome.halted
        start = self.clock()
        if s.stop_loss_check_frequency is not None:
            self._next_trigger_check = start + s.stop_loss_check_frequency
        # Without --trade-immediately the cycle already due at start is left alone: its run
        # time has passed, and the strategy would decide late on data it should have seen
        # earlier. Unless a crash interrupted it: then it runs again at once (its unfinished
        # trades resolved by the cycle's sync first), so the rest of its plan is not lost.
        first_eligible = self._due_cycle(start)
        if not s.trade_immediately and not self._interrupted(first_eligible):
            first_eligible += s.cycle_duration.timedelta
        if s.single_cycle:
            # the due cycle or nothing, never a wait for the next one
            due = self._due_cycle(start)
            if self._already_done(due):
                logger.info("The cycle at %s is already completed; nothing to run.", due.isoformat())
                return LoopOutcome.finished
        while not self.stop.is_set():
            now = self.clock()
            ts = self._due_cycle(now)
            run_now = ts >= first_eligible and not self._already_done(ts)
            if self._retry_at is not None:
                if self._already_done(ts) or now >= self._retry_at:
                    self._retry_at = None
                else:
                    run_now = False
            try:
                if run_now:
                    self.run_one_cycle(ts)
                    if s.max_cycles is not None and self.cycles_run >= s.max_cycles:
                        return LoopOutcome.finished
                    continue
                if self._next_trigger_check is not None and now >= self._next_trigger_check:
                    self._next_trigger_check = now + s.stop_loss_check_frequency  # type: ignore[operator]
                    self._trigger_check(now)
                    continue
            except Exception as exc:
                if self._handle_failure(exc, self.clock()) or not s.stay_up_after_halt:
                    return LoopOutcome.halted
                continue
            self._sleep_until(self._next_wakeup(self.clock()))
        return LoopOutcome.stopped
