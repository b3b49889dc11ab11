"""Run the selected audits at one block and, when allowed, book what they found.

`AuditEngine.run()` reads the chain at the latest block, runs balance, ledger and order
audits (any subset) and returns an `AuditReport`. With `book=True` it then changes the
state, and only in these ways:

- every audit passed: drift within tolerance is booked (`State.record_drift`, with its
  reason), and, when all three audits ran completely, the audit cursor moves to the audited
  block and nonce so the next run looks only at what came after;
- always: the findings are added (`State.add_audit_finding`; one per problem, or one per
  audit that passed; the state keeps the newest 500).

Nothing else is touched: a failed audit books no drift and leaves the cursor where it was,
so the next run finds the same problem again.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from web3 import Web3

from tradeexecutor.audit.balance import audit_balances
from tradeexecutor.audit.context import AuditContext
from tradeexecutor.audit.ledger import audit_ledger
from tradeexecutor.audit.model import ALL_AUDIT_TYPES, AuditReport, AuditType
from tradeexecutor.audit.order import audit_order
from tradeexecutor.audit.tolerance import Tolerances
from tradeexecutor.errors import UserError
from tradeexecutor.execution.live.routes import LiveRouting
from tradeexecutor.state.identifiers import TradingPairIdentifier
from tradeexecutor.state.state import State
from tradeexecutor.state.time import utcnow

logger = logging.getLogger(__name__)

AUDIT_PAIR_SETTINGS = ("AUDIT_PAIRS", "TARGET_PAIRS")


@dataclass(frozen=True)
class AuditSettings:
    types: tuple[AuditType, ...] = ALL_AUDIT_TYPES
    tolerances: Tolerances = field(default_factory=Tolerances)
    audit_pairs: tuple[TradingPairIdentifier, ...] = ()


def audit_pairs_from_settings(
    extra: Mapping[str, Any], pairs: Sequence[TradingPairIdentifier]
) -> tuple[TradingPairIdentifier, ...]:
    """The pairs a strategy module lists in AUDIT_PAIRS (or TARGET_PAIRS), by ticker (`WETH-USDC`)."""
    for name in AUDIT_PAIR_SETTINGS:
        listed = extra.get(name)
        if listed is None:
            continue
        tickers = [listed] if isinstance(listed, str) else list(listed)
        chosen = []
        for ticker in tickers:
            match = [p for p in pairs if p.ticker.upper() == str(ticker).strip().upper()]
            if not match:
                known = ", ".join(p.ticker for p in pairs)
                raise UserError(
                    f"{name} lists {ticker}, which is not a known pair ({known}): fix the strategy module."
                )
            chosen.append(match[0])
        return tuple(chosen)
    return ()


def consistent_block(state: State, read_before_load: int) -> int:
    """The block at which a state file loaded from a running executor matches the chain.

    The executor saves every transaction before broadcasting it and sends a trade's
    transactions one after another, so every transaction mined up to a block read before
    the file was loaded is in the file. The file may already hold later ones (settled
    after that read): auditing at the newest block the file records covers them too.
    """
    mined = [
        tx.block_number
        for trade in state.portfolio.all_trades()
        for tx in trade.blockchain_transactions
        if tx.block_number is not None
    ]
    return max([read_before_load, *mined])


class AuditEngine:
    def __init__(
        self,
        web3: Web3,
        wallet_address: str,
        routing: LiveRouting,
        settings: AuditSettings | None = None,
        *,
        clock: Callable[[], datetime.datetime] = utcnow,
    ) -> None:
        self.web3 = web3
        self.wallet_address = Web3.to_checksum_address(wallet_address)
        self.routing = routing
        self.settings = settings or AuditSettings()
        self.clock = clock

    def run(
        self,
        state: State,
        *,
        book: bool = True,
        full: bool = False,
        after_sync: bool = False,
        cycle: int | None = None,
        block: int | None = None,
    ) -> AuditReport:
        """Audit `state` against the chain now.

        `full`: ignore the cursor and audit the whole history. `after_sync`: the wallet
        sync ran just before, so a reserve or gas difference is unexplained. `book`: may
        change the state (drift, findings, cursor); False for a read-only look. `block`:
        read the chain at this block instead of the latest (see `consistent_block`).
        """
        if block is None:
            block = self.web3.eth.block_number
        at = self.clock()
        ctx = AuditContext(
            web3=self.web3,
            wallet_address=self.wallet_address,
            routing=self.routing,
            tolerances=self.settings.tolerances,
            block=block,
            at=at,
            full=full,
            after_sync=after_sync,
            audit_pairs=self.settings.audit_pairs,
        )
        report = AuditReport(
            at=at, wallet_address=self.wallet_address, block=block, read_only=not book, cycle=cycle
        )
        for audit_type in self.settings.types:
            if audit_type == AuditType.balance:
                section, report.balances, report.drift = audit_balances(state, ctx)
            elif audit_type == AuditType.ledger:
                section = audit_ledger(state, ctx)
            else:
                section, report.next_nonce = audit_order(state, ctx)
            report.sections.append(section)
            logger.info("Audit %s", section.summary())  # the hook and the command report failures
        if book:
            self.book(state, report)
        return report

    def book(self, state: State, report: AuditReport) -> None:
        if report.ok:
            for drift in report.drift:
                state.record_drift(drift.asset, drift.amount_raw, report.at, drift.reason, drift.position)
                logger.info(
                    "Audit booked drift of %s raw %s: %s", drift.amount_raw, drift.asset.symbol, drift.reason
                )
            report.drift_booked = bool(report.drift)
            ran = {s.audit_type for s in report.sections}
            if ran == set(ALL_AUDIT_TYPES) and report.complete and report.next_nonce is not None:
                state.advance_audit_cursor(
                    report.at,
                    wallet_address=self.wallet_address,
                    block=report.block,
                    next_nonce=report.next_nonce,
                )
        for finding in report.findings():
            state.add_audit_finding(finding)
