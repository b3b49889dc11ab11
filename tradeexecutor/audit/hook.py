"""`AuditHook`: what the live loop calls after each cycle to audit every few cycles.

    hook = AuditHook(engine, tick=12, checkpoint=persistence.save, sync=models.sync,
                     run_state=monitoring.run_state, reporter=monitoring.reporter)
    ...after the cycle's save:
    hook.run_if_due(cycle_number, state)     # None when not due; raises AuditFailed

The loop also calls `run_before_trading` once at start, before the first cycle, so a
restarted executor audits before it trades. When due (at start, then every `tick` cycles), it

1. re-syncs the wallet (`WalletSync.sync`): reserve and gas changes since the cycle's own
   sync are booked as deposits/withdrawals first, so any difference left is unexplained;
2. runs the audits on what changed since the last audit (the cursor in the state);
3. books drift and findings (`AuditEngine.book`) and saves the state (`checkpoint`);
4. publishes the report's summary on the run state (`/status` shows it under `audit`);
5. on failure: logs the findings, alerts (Discord error channel), and raises `AuditFailed`,
   which the loop treats as halting: trading stops, the webhook stays up and says why.

A network failure while auditing propagates as it is (the loop retries it as transient);
the audit then runs again at the next cycle, since it only counts as run once it finished.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from tradeexecutor.audit.model import AuditFailed, AuditReport
from tradeexecutor.audit.runner import AuditEngine
from tradeexecutor.state.identifiers import TradingPairIdentifier
from tradeexecutor.state.state import State
from tradeexecutor.state.time import utcnow

logger = logging.getLogger(__name__)


class _Sync(Protocol):
    def sync(self, ts: datetime.datetime, state: State) -> None: ...


class _RunState(Protocol):
    def publish(self, **changes: Any) -> Any: ...


class _Reporter(Protocol):
    def alert(self, text: str) -> None: ...


class AuditHook:
    def __init__(
        self,
        engine: AuditEngine,
        *,
        tick: int,
        checkpoint: Callable[[], None],
        sync: _Sync | None = None,
        run_state: _RunState | None = None,
        reporter: _Reporter | None = None,
        clock: Callable[[], datetime.datetime] = utcnow,
    ) -> None:
        if tick < 1:
            raise ValueError("The audit tick must be at least 1 cycle.")
        self.engine = engine
        self.tick = tick
        self.checkpoint = checkpoint
        self.sync = sync
        self.run_state = run_state
        self.reporter = reporter
        self.clock = clock
        self.last_audited_cycle: int | None = None
        self.last_report: AuditReport | None = None

    def is_due(self, cycle_number: int) -> bool:
        last = self.last_audited_cycle
        return last is None or cycle_number - last >= self.tick

    def run_before_trading(self, state: State) -> AuditReport:
        """Audit once at start, before any cycle: after a restart, the chain is checked
        before the executor trades again."""
        return self.run(state.cycle.completed_count, state)

    def run_if_due(self, cycle_number: int, state: State) -> AuditReport | None:
        if not self.is_due(cycle_number):
            return None
        return self.run(cycle_number, state)

    def run(self, cycle_number: int, state: State) -> AuditReport:
        synced = False
        if self.sync is not None:
            self.sync.sync(self.clock(), state)
            synced = not state.portfolio.pending_trades()
        report = self.engine.run(state, book=True, after_sync=synced, cycle=cycle_number)
        self.checkpoint()
        self.last_audited_cycle = cycle_number
        self.last_report = report
        if self.run_state is not None:
            self.run_state.publish(audit=report.summary())
        if report.ok:
            logger.info("%s", report.headline())
            return report
        text = "\n".join([report.headline(), *(f"- {p.audit_type}: {p.message}" for p in report.problems)])
        logger.error("%s Trading stops until an operator looks.", text)
        if self.reporter is not None:
            self.reporter.alert(f"Audit failed in cycle {cycle_number}; trading stops.\n{text}")
        raise AuditFailed(report)


def create_audit_hook(
    *,
    enabled: bool,
    tick: int,
    types: str | None,
    tolerance: str | None,
    web3: Any,
    wallet_address: str,
    routing: Any,
    strategy_settings: Mapping[str, Any],
    pairs: Sequence[TradingPairIdentifier],
    checkpoint: Callable[[], None],
    sync: _Sync | None = None,
    run_state: _RunState | None = None,
    reporter: _Reporter | None = None,
) -> AuditHook | None:
    """The hook from the `--audit*` option values, or None with `--no-audit`.

    `strategy_settings` is `StrategyModule.extra` (for AUDIT_PAIRS / TARGET_PAIRS), `pairs` the
    pairs those tickers are looked up in. Bad option values raise a UserError before trading.
    """
    from tradeexecutor.audit.model import parse_audit_types
    from tradeexecutor.audit.runner import AuditSettings, audit_pairs_from_settings
    from tradeexecutor.audit.tolerance import Tolerances

    settings = AuditSettings(
        types=parse_audit_types(types),
        tolerances=Tolerances.parse(tolerance),
        audit_pairs=audit_pairs_from_settings(strategy_settings, pairs),
    )
    if not enabled:
        return None
    engine = AuditEngine(web3, wallet_address, routing, settings)
    return AuditHook(
        engine, tick=tick, checkpoint=checkpoint, sync=sync, run_state=run_state, reporter=reporter
    )
