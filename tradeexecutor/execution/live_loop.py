"""The live loop: run cycles on time, keep protecting open positions, and say the truth.

Scheduling: a cycle is due at `cycle timestamp + offset` (see strategy/cycle.py) and
decides as of its cycle timestamp. Each cycle timestamp runs at most once: the state
records the last completed one, so a restarted executor never trades a cycle twice. At
start the currently due cycle runs only with `trade_immediately`; otherwise the loop
waits for the next one. Stop losses and take profits are checked every
`stop_loss_check_frequency` between cycles, and once right at start-up.

Failures are classified first (execution/failures.py), then handled by their kind:

- transient (node down, slow or lagging, late data, disk full): the executor is
  *degraded*. The failed step is retried with exponential backoff: a cycle within its
  window (if the window passes, the cycle is recorded as skipped with its reason and the
  next one runs at its time), a stop-loss check on its own, shorter schedule, a failed
  save on its own. The episode is announced once when it starts and once when it ends.
- strategy (the strategy raised): trading *halts*, but stop-loss and take-profit checks
  go on, so a broken `decide_trades` never leaves the positions it opened unprotected
  (unless the operator turned that off with `stops_after_halt=False`).
- invariant (integrity, audit, chain id): everything halts, checks included.

A halted loop keeps the process (and the webhook) alive until SIGTERM, so `/status` and
`/health` can say what happened. A watchdog thread flags a step (cycle or check) that runs
longer than `watchdog_timeout`: `/health` then answers 503 (`stalled`) although the loop
thread is alive.

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
from tradeexecutor.execution.failures import Fault, FaultKind, classify, exception_chain
from tradeexecutor.execution.run_state import RunState
from tradeexecutor.execution.runner import CycleInterrupted, CycleNotSaved, CycleRunner
from tradeexecutor.reporting.log_context import log_context
from tradeexecutor.reporting.reporter import Reporter
from tradeexecutor.state.errors import StateStoreError
from tradeexecutor.state.state import State
from tradeexecutor.state.time import utcnow
from tradeexecutor.strategy.cycle import CycleDuration

logger = logging.getLogger(__name__)

CYCLE = "cycle"
TRIGGER_CHECK = "stop-loss check"
SAVE = "state save"
STARTUP_CHECK = "start-up audit"
AUDIT = "audit"


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
    """The newest candle is older than --max-data-delay-minutes allows (a transient fault: data is late)."""


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
    retry_delay: datetime.timedelta = datetime.timedelta(seconds=5)  # first retry of a failed cycle; doubles
    max_retry_delay: datetime.timedelta | None = None  # None: a quarter of the cycle, at most 5 minutes
    trigger_retry_delay: datetime.timedelta = datetime.timedelta(seconds=2)  # first retry of a failed check
    stops_after_halt: bool = True  # keep checking stop losses after a strategy error halted trading

    @property
    def cycle_seconds(self) -> float:
        return self.cycle_duration.timedelta.total_seconds()

    def cycle_retry_delay(self, failures: int) -> datetime.timedelta:
        """Backoff for the `failures`-th consecutive failure of a cycle: 5 s, 10 s, 20 s, ... up to
        a quarter of the cycle (15 s for 1m cycles, 5 minutes for 1h and longer), so the cycle is
        retried several times within its window and soon after the node is back."""
        cap = self.max_retry_delay
        if cap is None:
            cap = min(datetime.timedelta(minutes=5), max(self.retry_delay, self.cycle_duration.timedelta / 4))
        return min(cap, self.retry_delay * 2 ** max(0, failures - 1))

    def trigger_retry(self, failures: int) -> datetime.timedelta:
        """Backoff for a failed stop-loss check: 2 s, 4 s, ... never longer than the check period."""
        delay = self.trigger_retry_delay * 2 ** max(0, failures - 1)
        period = self.stop_loss_check_frequency
        return min(delay, period) if period is not None else delay


def publish_schedule(run_state: RunState, settings: LoopSettings) -> None:
    """Tell `/health` and the watchdog the schedule before the first cycle: how long a step may run,
    how often stop losses are checked, and the window within which a cycle must complete (the
    period plus a grace that includes the cycle offset, so the first cycle, up to one period and
    the offset after start, is never taken for a stall; a node down since start-up is)."""
    from tradeexecutor.execution.run_state import HEALTH_GRACE_FRACTION, MIN_HEALTH_GRACE

    period = settings.cycle_seconds
    grace = max(MIN_HEALTH_GRACE, HEALTH_GRACE_FRACTION * period) + settings.cycle_offset_minutes * 60
    s = settings
    run_state.publish(
        expected_cycle_duration=period,
        cycle_grace=grace,
        watchdog_timeout=s.watchdog_timeout.total_seconds() if s.watchdog_timeout is not None else None,
        stop_loss_check_frequency=(
            s.stop_loss_check_frequency.total_seconds() if s.stop_loss_check_frequency is not None else None
        ),
    )


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
    """Alerts once per step (a cycle, a stop-loss check) that runs longer than allowed: a hung
    RPC call, a strategy stuck in a loop. `/health` reports the executor `stalled` meanwhile."""

    def __init__(
        self, run_state: RunState, reporter: Reporter, timeout: float, stop: threading.Event
    ) -> None:
        super().__init__(name="cycle-watchdog", daemon=True)
        self.run_state, self.reporter, self.timeout, self.stop_event = run_state, reporter, timeout, stop
        self._alerted: tuple[str | None, datetime.datetime] | None = None

    def run(self) -> None:
        while not self.stop_event.wait(min(5.0, self.timeout / 4)):
            s = self.run_state.snapshot
            started = s.step_started_at or s.cycle_started_at
            step = s.step or (f"cycle {s.current_cycle}" if s.current_cycle is not None else "a step")
            if started is None or self._alerted == (step, started):
                continue
            running = (self.run_state.now() - started).total_seconds()
            if running > self.timeout:
                self._alerted = (step, started)
                text = (
                    f"{step[:1].upper()}{step[1:]} has been running for {running:.0f}s (limit {self.timeout:.0f}s): "
                    "the executor is stalled, and no stop-loss check runs until this step returns."
                )
                logger.error("Watchdog: %s", text)
                self.reporter.alert(f"Watchdog: {text}")


@dataclass(slots=True)
class _Trouble:
    """One step's ongoing transient failure."""

    since: datetime.datetime
    reason: str


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
        self.halt: Fault | None = None
        self.stops_after_halt = False  # set when a halt leaves the stop-loss checks running
        # transient troubles, per step, and the degraded episode they make up
        self._troubles: dict[str, _Trouble] = {}
        self._episode_since: datetime.datetime | None = None
        self._episode_failures = 0
        # retries
        self._failed_cycle: datetime.datetime | None = (
            None  # a cycle that failed and may still run in its window
        )
        self._cycle_failures = 0
        self._retry_at: datetime.datetime | None = None
        self._trigger_failures = 0
        self._next_trigger_check: datetime.datetime | None = None
        self._save_retry_at: datetime.datetime | None = None
        self._save_failures = 0
        self._startup_check_pending = after_cycle is not None
        self._startup_retry_at: datetime.datetime | None = None
        self._startup_failures = 0

    @property
    def state(self) -> State:
        return self.runner.state

    @property
    def protecting(self) -> bool:
        """Whether stop-loss / take-profit checks run now."""
        if self.settings.stop_loss_check_frequency is None:
            return False
        return self.halt is None or self.stops_after_halt

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

    def _next_wakeup(self, now: datetime.datetime) -> datetime.datetime | None:
        s = self.settings
        candidates = []
        if self.halt is None:
            candidates.append(s.cycle_duration.next_run_at(now, s.cycle_offset_minutes))
            for at in (self._retry_at, self._startup_retry_at):
                if at is not None:
                    candidates.append(at)
        if self._save_retry_at is not None:
            candidates.append(self._save_retry_at)
        if self.protecting and self._next_trigger_check is not None:
            candidates.append(self._next_trigger_check)
        return min(candidates) if candidates else None

    def _sleep_until(self, when: datetime.datetime | None) -> None:
        while not self.stop.is_set():
            if when is None:
                self.wait(1.0)
                continue
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
        unsaved: CycleNotSaved | None = None
        try:
            report = self.runner.run_cycle(ts)
        except CycleNotSaved as e:  # done, but not written down: report it, then the loop saves again
            report, unsaved = e.report, e
        except CycleInterrupted as e:  # cut short by the node: say what went through, then retry
            self._publish_after_save()
            self.run_state.publish(
                positions=publish.positions_documents(self.state), trades=publish.trades_documents(self.state)
            )
            logger.warning(
                "Cycle %d for %s interrupted: %s.",
                number,
                ts.isoformat(),
                publish.cycle_outcome(e.report.trades),
            )
            raise
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
        logger.info("Cycle %d for %s done: %s.", number, ts.isoformat(), publish.cycle_outcome(report.trades))
        if unsaved is not None:
            raise unsaved

    def _trigger_check(self, now: datetime.datetime) -> None:
        self.run_state.step_started(TRIGGER_CHECK, now)
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
        logger.warning("Stop-loss check closed position(s): %s.", publish.cycle_outcome(trades))

    # ---- the steps, each guarded by the failure classification --------------------------

    def _attempt_cycle(self, ts: datetime.datetime) -> None:
        number = self.state.cycle.completed_count + 1
        try:
            self.run_one_cycle(ts)
        except Exception as exc:
            now = self.clock()
            fault = classify(exc)
            if fault.kind != FaultKind.transient:
                self._halt(fault, f"cycle {number}", cycle=number)
                return
            if isinstance(exc, StaleMarketData):
                self.state.visualisation.add_message(now, str(exc))
            if self._save_failed(exc):
                self._schedule_save_retry(now)
                if self._already_done(ts):  # the cycle completed; only writing it down failed
                    self._failed_cycle, self._cycle_failures, self._retry_at = None, 0, None
                    self._troubles.pop(CYCLE, None)
                    self._trouble(SAVE, fault, now, self._save_retry_at)
                    return
            self._failed_cycle = ts
            self._cycle_failures += 1
            self._retry_at = now + self.settings.cycle_retry_delay(self._cycle_failures)
            self._trouble(CYCLE, fault, now, self._retry_at, what=f"cycle {number}")
            return
        self._failed_cycle, self._cycle_failures, self._retry_at = None, 0, None
        self._save_retry_at, self._save_failures = None, 0  # the cycle saved everything
        self._resolve(*self._troubles)  # a completed cycle talked to the node and saved the state
        if self.after_cycle is not None:
            self._attempt_after_cycle(number)

    def _attempt_after_cycle(self, number: int) -> None:
        """The account audit after a cycle: a failure halts (invariant) or waits for the next one."""
        assert self.after_cycle is not None
        try:
            self.after_cycle.run_if_due(number, self.state)  # may save: publish what it wrote
            self._publish_after_save()
        except Exception as exc:
            now = self.clock()
            fault = classify(exc)
            if fault.kind != FaultKind.transient:
                self._halt(fault, f"the audit after cycle {number}", cycle=number)
                return
            if self._save_failed(exc):
                self._schedule_save_retry(now)
            self._trouble(AUDIT, fault, now, None, what=f"audit after cycle {number}")

    def _attempt_trigger_check(self, now: datetime.datetime) -> None:
        freq = self.settings.stop_loss_check_frequency
        assert freq is not None
        try:
            self._trigger_check(now)
        except Exception as exc:
            later = self.clock()
            fault = classify(exc)
            if fault.kind == FaultKind.invariant:
                self._halt(fault, f"the {TRIGGER_CHECK}")
                return
            if fault.kind == FaultKind.strategy:  # a bug in the check itself: never silently off
                logger.error("The stop-loss check failed; it is retried: %s", fault.reason, exc_info=exc)
            if self._save_failed(exc):
                self._schedule_save_retry(later)
            self._trigger_failures += 1
            self._next_trigger_check = later + self.settings.trigger_retry(self._trigger_failures)
            self._trouble(TRIGGER_CHECK, fault, later, self._next_trigger_check)
            return
        self._trigger_failures = 0
        self._next_trigger_check = now + freq
        # the node answers: a cycle that already gave up on its window no longer keeps us degraded
        self._resolve(TRIGGER_CHECK, *([CYCLE] if self._failed_cycle is None else []))

    def _attempt_startup_check(self, now: datetime.datetime) -> None:
        assert self.after_cycle is not None
        self.run_state.step_started(STARTUP_CHECK, now)
        try:
            self.after_cycle.run_before_trading(self.state)
            self._publish_after_save()
        except Exception as exc:
            later = self.clock()
            fault = classify(exc)
            if fault.kind != FaultKind.transient:
                self._halt(fault, f"the {STARTUP_CHECK}")
                return
            self._startup_failures += 1
            self._startup_retry_at = later + self.settings.cycle_retry_delay(self._startup_failures)
            self._trouble(STARTUP_CHECK, fault, later, self._startup_retry_at)
            return
        self.run_state.step_finished()
        self._startup_check_pending, self._startup_retry_at = False, None
        self._resolve(STARTUP_CHECK)

    def _attempt_save(self, now: datetime.datetime) -> None:
        try:
            self.persistence.save()
            self._publish_after_save()
        except Exception as exc:
            fault = classify(exc)
            if fault.kind != FaultKind.transient:
                self._halt(fault, f"the {SAVE}")
                return
            self._schedule_save_retry(self.clock())
            self._trouble(SAVE, fault, self.clock(), self._save_retry_at)
            return
        logger.info("The state was saved again after %d failed attempt(s).", self._save_failures)
        self._save_retry_at, self._save_failures = None, 0
        self._resolve(SAVE)

    @staticmethod
    def _save_failed(exc: BaseException) -> bool:
        return any(isinstance(link, StateStoreError) for link in exception_chain(exc))

    def _schedule_save_retry(self, now: datetime.datetime) -> None:
        self._save_failures += 1
        self._save_retry_at = now + self.settings.cycle_retry_delay(self._save_failures)

    def _skip_if_window_passed(self, due: datetime.datetime) -> None:
        """A failed cycle whose window passed is recorded as skipped (the next one runs at its time)."""
        failed = self._failed_cycle
        if failed is None or failed >= due:
            return
        self._failed_cycle, self._cycle_failures, self._retry_at = None, 0, None
        if self._already_done(failed):
            return
        trouble = self._troubles.get(CYCLE)
        reason = trouble.reason if trouble is not None else "it kept failing"
        logger.warning(
            "The cycle at %s was skipped: its window passed while it failed on a transient fault (%s); "
            "the next cycle runs at its time.",
            failed.isoformat(),
            reason,
        )
        self.state.visualisation.add_message(self.clock(), f"Cycle at {failed.isoformat()} skipped: {reason}")
        self.reporter.cycle_skipped(failed, reason)

    # ---- degraded episodes and halts ----------------------------------------------------

    def _trouble(
        self,
        step: str,
        fault: Fault,
        now: datetime.datetime,
        next_attempt: datetime.datetime | None,
        what: str | None = None,
    ) -> None:
        """A transient failure of `step`: degraded, announced once per episode."""
        if self._episode_since is None:
            self._episode_since, self._episode_failures = now, 0
        self._episode_failures += 1
        trouble = self._troubles.setdefault(step, _Trouble(since=now, reason=fault.reason))
        trouble.reason = fault.reason
        wait = f"{(next_attempt - now).total_seconds():.0f}s" if next_attempt is not None else "a moment"
        label = what or step
        if self._episode_failures == 1:
            logger.warning(
                "Degraded: the %s failed on a transient fault (%s); retrying in %s, trading resumes by itself.",
                label,
                fault.reason,
                wait,
            )
        else:
            logger.info(
                "Still degraded (%d failures since %s): the %s failed again (%s); retrying in %s.",
                self._episode_failures,
                self._episode_since.isoformat(timespec="seconds"),
                label,
                fault.reason,
                wait,
            )
        self.reporter.degraded(
            label,
            fault.reason,
            since=self._episode_since,
            failures=self._episode_failures,
            next_attempt_at=next_attempt,
            exc=fault.exception,
            failed_cycle=step == CYCLE,
        )

    def _resolve(self, *steps: str) -> None:
        for step in steps:
            self._troubles.pop(step, None)
        if self._troubles or self._episode_since is None:
            return
        since, failures = self._episode_since, self._episode_failures
        self._episode_since, self._episode_failures = None, 0
        lasted = (self.clock() - since).total_seconds()
        logger.warning(
            "Recovered: degraded for %.0fs (%d failed attempt(s)); trading goes on.", lasted, failures
        )
        self.reporter.recovered(since=since, failures=failures)

    def _halt(self, fault: Fault, where: str, cycle: int | None = None) -> None:
        s = self.settings
        self.halt = fault
        self.stops_after_halt = (
            fault.kind == FaultKind.strategy
            and s.stops_after_halt
            and s.stay_up_after_halt
            and s.stop_loss_check_frequency is not None
        )
        exc = fault.exception
        if fault.kind == FaultKind.invariant:
            logger.error(
                "Trading and stop-loss checks halted by an invariant violation in %s: %s. An operator must "
                "look before restarting (docs/troubleshooting.md).",
                where,
                fault.reason,
            )
        else:
            protection = (
                f"stop losses and take profits of {len(self.state.portfolio.open_positions)} open position(s) "
                f"are still checked every {s.stop_loss_check_frequency.total_seconds():.0f}s"  # type: ignore[union-attr]
                if self.stops_after_halt
                else "stop-loss checks are stopped too"
            )
            logger.error(
                "Trading halted by a %s error in %s: %s; %s. Fix the cause and restart.",
                fault.kind.value,
                where,
                fault.reason,
                protection,
            )
        if hasattr(exc, "user_traceback"):  # the strategy's frames only (its message carries them)
            logger.error("%s", exc)
        else:
            logger.error("What failed in %s:", where, exc_info=exc)
        self._troubles.clear()
        self._episode_since = None
        self._retry_at = self._startup_retry_at = None
        self.reporter.cycle_failed(
            exc,
            cycle=cycle,
            halt=True,
            kind=fault.kind.value,
            reason=fault.reason,
            where=where,
            stops_running=self.stops_after_halt,
        )

    # ---- the loop -----------------------------------------------------------------------

    def run(self) -> LoopOutcome:
        s = self.settings
        signals = StopSignals(self.stop)
        signals.install()
        watchdog = None
        if s.watchdog_timeout is not None:
            watchdog = Watchdog(self.run_state, self.reporter, s.watchdog_timeout.total_seconds(), self.stop)
            watchdog.start()
        self.run_state.publish(
            watchdog_timeout=s.watchdog_timeout.total_seconds() if s.watchdog_timeout is not None else None,
            stop_loss_check_frequency=(
                s.stop_loss_check_frequency.total_seconds()
                if s.stop_loss_check_frequency is not None
                else None
            ),
        )
        try:
            outcome = self._loop()
            if outcome == LoopOutcome.halted and s.stay_up_after_halt and not self.stop.is_set():
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
        start = self.clock()
        if s.stop_loss_check_frequency is not None:
            self._next_trigger_check = start  # one check right at start-up, before the first cycle
        # Without --trade-immediately the cycle already due at start is left alone: its run
        # time has passed, and the strategy would decide late on data it should have seen
        # earlier. Unless a crash interrupted it: then it runs again at once (its unfinished
        # trades resolved by the cycle's sync first), so the rest of its plan is not lost.
        first_eligible = self._due_cycle(start)
        if not s.trade_immediately and not self._interrupted(first_eligible):
            first_eligible += s.cycle_duration.timedelta
        single_ts = self._due_cycle(start)
        if s.single_cycle and self._already_done(single_ts):
            # the due cycle or nothing, never a wait for the next one
            logger.info("The cycle at %s is already completed; nothing to run.", single_ts.isoformat())
            return LoopOutcome.finished
        while not self.stop.is_set():
            now = self.clock()
            if self.halt is not None and (not self.protecting or not s.stay_up_after_halt):
                return LoopOutcome.halted
            if self._save_retry_at is not None and now >= self._save_retry_at:
                self._attempt_save(now)
                continue
            if self.halt is None and self._startup_check_pending:
                if self._startup_retry_at is None or now >= self._startup_retry_at:
                    self._attempt_startup_check(now)
                    continue
            elif self.halt is None:
                if self.protecting and self._next_trigger_check == start:
                    self._attempt_trigger_check(now)  # the start-up check, before any cycle
                    continue
                ts = self._due_cycle(now)
                self._skip_if_window_passed(ts)
                if s.single_cycle and ts != single_ts:
                    return LoopOutcome.halted  # --run-single-cycle: its window passed without it completing
                run_now = ts >= first_eligible and not self._already_done(ts)
                if self._retry_at is not None and now < self._retry_at:
                    run_now = False
                if run_now:
                    self._attempt_cycle(ts)
                    if s.max_cycles is not None and self.cycles_run >= s.max_cycles:
                        return LoopOutcome.finished
                    continue
            if self.protecting and self._next_trigger_check is not None and now >= self._next_trigger_check:
                self._attempt_trigger_check(now)
                continue
            self._sleep_until(self._next_wakeup(self.clock()))
        return LoopOutcome.halted if self.halt is not None else LoopOutcome.stopped
