"""`Reporter`: the one object the trading loop tells what happened.

Each event fans out to the run state (what `/status` shows), the metrics registry (statsd
and `/metrics`), the heartbeat file, Discord and Sentry. Every channel is isolated: an
unreachable Discord, a 429/500, an unresolvable statsd or Logstash host, an unwritable
heartbeat directory cost the loop nothing but one warning per outage; failures are counted
per channel and shown by `/status` (`reporter_failures`) and `/metrics`.

The loop still publishes its own data (positions, trades, saved state) on the RunState;
the Reporter owns the cycle bookkeeping so every sink counts the same cycles.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from tradeexecutor.execution.run_state import (
    PortfolioSummary,
    RunState,
    StrategyMetadata,
    TradingState,
    seconds_since_last_cycle,
    trading_state,
)
from tradeexecutor.reporting import messages
from tradeexecutor.reporting.channel import ChannelHealth
from tradeexecutor.reporting.discord import DiscordNotifier, RetryPolicy
from tradeexecutor.reporting.heartbeat import Heartbeat
from tradeexecutor.reporting.messages import TradeSummary
from tradeexecutor.reporting.metrics import MetricsRegistry
from tradeexecutor.reporting.sentry import SentryReporter
from tradeexecutor.reporting.statsd_sink import DEFAULT_PORT as STATSD_PORT
from tradeexecutor.reporting.statsd_sink import DEFAULT_PREFIX as STATSD_PREFIX
from tradeexecutor.reporting.statsd_sink import StatsdSink

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReportingConfig:
    """Reporting options as the CLI parsed them; secrets are hidden from repr."""

    discord_webhook_url: str | None = field(default=None, repr=False)
    discord_error_webhook_url: str | None = field(default=None, repr=False)
    explorer_url: str | None = None
    statsd_host: str | None = None
    statsd_port: int = STATSD_PORT
    statsd_prefix: str = STATSD_PREFIX
    heartbeat: Path | None = None
    sentry_dsn: str | None = field(default=None, repr=False)
    discord_policy: RetryPolicy = RetryPolicy()


class Reporter:
    def __init__(
        self,
        run_state: RunState,
        metrics: MetricsRegistry,
        *,
        discord: DiscordNotifier | None = None,
        heartbeat: Heartbeat | None = None,
        sentry: SentryReporter | None = None,
        statsd: StatsdSink | None = None,
        explorer_url: str | None = None,
        extra_channels: Iterable[ChannelHealth] = (),
    ) -> None:
        self.run_state = run_state
        self.metrics = metrics
        self.discord = discord
        self.heartbeat = heartbeat
        self.sentry = sentry
        self.statsd = statsd
        self.explorer_url = explorer_url
        self._counted: dict[str, int] = {}
        self._counted_lock = threading.Lock()  # channels report from their own threads
        self._closed = False
        if statsd is not None:
            metrics.add_listener(statsd)
        channels = [c.health for c in (discord, heartbeat, sentry, statsd) if c is not None]
        for health in [*channels, *extra_channels]:
            health.add_listener(self._on_channel_failure)
        self._observe_state()

    def _observe_state(self) -> None:
        """Gauges read off the run state when scraped (or pushed to statsd), each labelled with the
        strategy: the trading state (one sample per state, 1 for the current one), the time since the
        last completed cycle, the gas balance and the failures of the current degraded episode."""
        rs = self.run_state

        def strategy() -> dict[str, str]:
            return {"strategy": rs.snapshot.metadata.id}

        def state_rows():  # noqa: ANN202
            current = trading_state(rs.snapshot, rs.now())
            return [({**strategy(), "state": t.value}, int(t == current)) for t in TradingState]

        def gas_rows():  # noqa: ANN202
            gas = rs.snapshot.summary.gas_balance
            return [] if gas is None else [(strategy(), gas)]

        def failures_rows():  # noqa: ANN202
            episode = rs.snapshot.degraded
            return [(strategy(), episode.consecutive_failures if episode is not None else 0)]

        m = self.metrics
        m.observe_gauge("trading_state", state_rows)
        m.observe_gauge(
            "last_cycle_age", lambda: [(strategy(), seconds_since_last_cycle(rs.snapshot, rs.now()))]
        )
        m.observe_gauge("gas_balance", gas_rows)
        m.observe_gauge("consecutive_failures", failures_rows)

    @classmethod
    def create(
        cls,
        config: ReportingConfig,
        run_state: RunState,
        metrics: MetricsRegistry,
        *,
        extra_channels: Iterable[ChannelHealth] = (),
    ) -> Reporter:
        """Build the channels the config asks for (pass LoggingSetup.logstash.health as extra)."""
        strategy_id = run_state.snapshot.metadata.id
        discord = None
        if config.discord_webhook_url:
            discord = DiscordNotifier(
                config.discord_webhook_url,
                config.discord_error_webhook_url,
                username=run_state.snapshot.metadata.name,
                policy=config.discord_policy,
                on_drop=lambda: metrics.increment("discord_messages_dropped"),
            )
        sentry = None
        if config.sentry_dsn:
            sentry = SentryReporter(
                config.sentry_dsn, strategy_id=strategy_id, release=run_state.snapshot.version
            )
        statsd = (
            StatsdSink(config.statsd_host, config.statsd_port, config.statsd_prefix)
            if config.statsd_host
            else None
        )
        heartbeat = Heartbeat(config.heartbeat) if config.heartbeat else None
        return cls(
            run_state,
            metrics,
            discord=discord,
            heartbeat=heartbeat,
            sentry=sentry,
            statsd=statsd,
            explorer_url=config.explorer_url,
            extra_channels=extra_channels,
        )

    # --- events from the loop ------------------------------------------------------------------

    def startup(self, metadata: StrategyMetadata | None = None) -> None:
        if metadata is not None:
            self.run_state.publish(metadata=metadata)
        snapshot = self.run_state.snapshot
        self._discord(messages.startup_message(snapshot.metadata, snapshot.version, snapshot.started_at))

    def cycle_started(
        self, cycle: int, expected_duration: float | None = None, grace: float | None = None
    ) -> None:
        """Feeds the watchdog behind `/health`; `expected_duration` is the cycle period in seconds."""
        self.run_state.cycle_started(cycle, expected_duration=expected_duration, grace=grace)
        if self.sentry is not None:
            self._isolated(self.sentry.health, lambda: self.sentry.set_cycle(cycle))

    def cycle_completed(
        self,
        cycle: int,
        *,
        duration: float,
        cycle_trades: Sequence[TradeSummary] = (),
        summary: PortfolioSummary | None = None,
        gas_used: int = 0,
        gas_spent: Decimal = Decimal(0),
        market_data_lag: float | None = None,
        at: datetime | None = None,
        **publish: Any,
    ) -> None:
        """A cycle finished: count it everywhere, beat the heartbeat, announce its trades.

        `cycle_trades` are the trades this cycle executed (for Discord and the counters).
        Extra keyword arguments, e.g. `positions=` and `trades=` (the full JSON-ready lists),
        are published on the RunState in the same snapshot as the cycle count.
        """
        succeeded = sum(1 for t in cycle_trades if t.success)
        failed = sum(1 for t in cycle_trades if not t.success and not t.pending)
        changes: dict[str, Any] = dict(publish)
        if summary is not None:
            changes["summary"] = summary
        if market_data_lag is not None:
            changes["market_data_lag"] = market_data_lag
        snapshot = self.run_state.cycle_completed(
            cycle, at=at, duration=duration, trades_succeeded=succeeded, trades_failed=failed, **changes
        )
        m = self.metrics
        m.timing("cycle_duration", duration)
        m.increment("cycles_completed")
        self._count_trades(succeeded, failed, gas_used, gas_spent, summary)
        if market_data_lag is not None:
            m.gauge("market_data_lag", market_data_lag)
        m.push_observed()
        self._beat(snapshot.last_cycle_at or self.run_state.now(), f"cycle {cycle}")
        if cycle_trades:
            text = messages.cycle_message(snapshot.metadata, cycle, cycle_trades, summary, self.explorer_url)
            self._discord(text, error=bool(failed) or any(t.pending for t in cycle_trades))

    def _count_trades(
        self, succeeded: int, failed: int, gas_used: int, gas_spent: Decimal, summary: PortfolioSummary | None
    ) -> None:
        """Trade, gas and portfolio figures for statsd and /metrics, from a cycle or a trigger check."""
        m = self.metrics
        if succeeded:
            m.increment("trades_succeeded", succeeded)
        if failed:
            m.increment("trades_failed", failed)
        if gas_used:
            m.increment("gas_used", gas_used)
        if gas_spent:
            m.increment("gas_spent", gas_spent)
        if summary is not None:
            if summary.total_equity is not None:
                m.gauge("portfolio_value", summary.total_equity)
            if summary.cash is not None:
                m.gauge("reserve_balance", summary.cash)
            m.gauge("open_positions", summary.open_positions)

    def cycle_failed(
        self,
        exc: BaseException,
        *,
        cycle: int | None = None,
        duration: float | None = None,
        halt: bool = False,
        kind: str | None = None,
        reason: str | None = None,
        where: str | None = None,
        stops_running: bool | None = None,
    ) -> None:
        """A cycle raised. `halt=True` when the loop stops trading because of it; then `kind`
        (strategy, invariant) and `stops_running` say what halted and whether stop losses
        are still checked."""
        snapshot = self.run_state.cycle_failed(exc, cycle=cycle, halt=halt)
        if halt and kind is not None:
            where = where or (f"cycle {cycle}" if cycle is not None else "start-up")
            why = reason or (snapshot.exception.message if snapshot.exception is not None else str(exc))
            what = "invariant violation" if kind == "invariant" else f"{kind} error"
            snapshot = self.run_state.halted(
                f"{what} in {where}: {why}", kind=kind, stops_running=bool(stops_running)
            )
        self.metrics.increment("cycles_failed")
        if duration is not None:
            self.metrics.timing("cycle_duration", duration)
        text = messages.failure_message(
            snapshot.metadata, cycle, exc, halt, kind=kind, stops_running=stops_running if halt else None
        )
        self._discord(text, error=True)
        if self.sentry is not None:
            self.sentry.capture(exc, cycle)
        self.metrics.push_observed()

    # --- survival: degraded episodes, skipped cycles, stalls --------------------------------

    def degraded(
        self,
        component: str,
        reason: str,
        *,
        since: datetime,
        failures: int,
        next_attempt_at: datetime | None = None,
        exc: BaseException | None = None,
        failed_cycle: bool = False,
    ) -> None:
        """A transient fault. Announced (Discord, statsd, Prometheus, Sentry) once, when the episode
        starts (`failures == 1`); later failures only update `/status` and the counters."""
        snapshot = self.run_state.degraded(
            component,
            reason,
            since=since,
            failures=failures,
            next_attempt_at=next_attempt_at,
            exc=exc,
            failed_cycle=failed_cycle,
        )
        if failed_cycle:
            self.metrics.increment("cycles_failed")
        if failures == 1:
            self.metrics.increment("degraded_episodes")
            self._discord(messages.degraded_message(snapshot.metadata, component, reason), error=True)
            if self.sentry is not None and exc is not None:
                self.sentry.capture(exc, snapshot.current_cycle)
        self.metrics.push_observed()

    def recovered(self, *, since: datetime, failures: int) -> None:
        """The degraded episode ended: announced once."""
        snapshot = self.run_state.recovered()
        lasted = (self.run_state.now() - since).total_seconds()
        self._discord(messages.recovered_message(snapshot.metadata, lasted, failures))
        self.metrics.push_observed()

    def cycle_skipped(self, cycle_at: datetime, reason: str) -> None:
        """A cycle's window passed while a transient fault lasted."""
        snapshot = self.run_state.cycle_skipped(cycle_at, reason)
        self.metrics.increment("cycles_skipped")
        self._discord(messages.skipped_message(snapshot.metadata, cycle_at, reason), error=True)

    def trigger_check(
        self,
        at: datetime | None = None,
        *,
        executed: Sequence[TradeSummary] = (),
        summary: PortfolioSummary | None = None,
        gas_used: int = 0,
        gas_spent: Decimal = Decimal(0),
        **publish: Any,
    ) -> None:
        """A between-cycles check ran (stop losses, take profits): proof of life for the watchdog,
        and the trades it executed counted and announced like a cycle's. Extra keyword
        arguments (`positions=`, `trades=` documents) are published with the counts."""
        when = at or self.run_state.now()
        if executed:
            succeeded = sum(1 for t in executed if t.success)
            failed = sum(1 for t in executed if not t.success and not t.pending)
            changes: dict[str, Any] = dict(publish)
            if summary is not None:
                changes["summary"] = summary
            snapshot = self.run_state.trades_executed(succeeded=succeeded, failed=failed, at=at, **changes)
            self._count_trades(succeeded, failed, gas_used, gas_spent, summary)
            text = messages.trigger_message(snapshot.metadata, executed, summary, self.explorer_url)
            self._discord(text, error=bool(failed) or any(t.pending for t in executed))
        self.run_state.trigger_checked(when)
        self.metrics.push_observed()
        self._beat(when, "trigger check")

    def alert(self, text: str) -> None:
        """Something an operator must look at that is not a cycle failure (watchdog, stale data)."""
        self._discord(text, error=True)

    def stopped(self, reason: str | None = None) -> None:
        """Trading stopped for good (Ctrl-C, halt, end of a test run); the webhook may stay up."""
        snapshot = self.run_state.snapshot
        if snapshot.executor_running:
            snapshot = self.run_state.halted(reason or "stopped")
        self._discord(messages.stopped_message(snapshot.metadata, reason), error=False)

    def close(self, timeout: float = 5.0) -> None:
        """Deliver what is queued (bounded by `timeout`) and stop the background senders."""
        if self._closed:
            return
        self._closed = True
        if self.discord is not None:
            self.discord.close(timeout)
        if self.statsd is not None:
            self.metrics.remove_listener(self.statsd)
            self.statsd.close(min(timeout, 2.0))
        if self.sentry is not None:
            self.sentry.close(min(timeout, 2.0))

    # --- channel isolation ---------------------------------------------------------------------

    def _on_channel_failure(self, channel: str, total: int) -> None:
        with self._counted_lock:
            delta = total - self._counted.get(channel, 0)
            self._counted[channel] = max(total, self._counted.get(channel, 0))
        self.run_state.record_reporter_failures(channel, total)
        if delta > 0:
            self.metrics.increment("reporter_failures", delta, channel=channel)

    def _isolated(self, health: ChannelHealth, call: Callable[[], object]) -> None:
        try:
            call()
        except Exception as e:
            health.failed(e)

    def _beat(self, at: datetime, event: str) -> None:
        if self.heartbeat is not None:
            self._isolated(self.heartbeat.health, lambda: self.heartbeat.beat(at, event))

    def _discord(self, text: str, error: bool = False) -> None:
        if self.discord is not None:
            self._isolated(self.discord.health, lambda: self.discord.send(text, error=error))
