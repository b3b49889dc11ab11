"""What an audit found: one section per audit type, a row per asset for the balance audit.

Plain data, no web3: the CLI prints it as tables, the hook turns it into state findings,
a `/status` summary and an alert.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from tradeexecutor.state.identifiers import AssetIdentifier
from tradeexecutor.state.position import TradingPosition
from tradeexecutor.state.state import AuditFinding


class AuditType(StrEnum):
    balance = "balance"  # the wallet's balances on chain equal the state's
    ledger = "ledger"  # the state adds up, and every trade's amounts equal its Swap events
    order = "order"  # every transaction and swap of the wallet is known to the state, and vice versa


ALL_AUDIT_TYPES: tuple[AuditType, ...] = (AuditType.balance, AuditType.ledger, AuditType.order)


def parse_audit_types(text: str | None) -> tuple[AuditType, ...]:
    """`balance,order` -> the audit types, in their canonical order; empty means all of them."""
    if text is None or not text.strip():
        return ALL_AUDIT_TYPES
    wanted = {part.strip().lower() for part in text.split(",") if part.strip()}
    unknown = sorted(wanted - {t.value for t in AuditType})
    if unknown:
        from tradeexecutor.errors import UserError

        raise UserError(
            f"Unknown audit type {', '.join(unknown)} in --audit-types: use a comma list of balance, ledger, order."
        )
    return tuple(t for t in ALL_AUDIT_TYPES if t.value in wanted)


class Verdict(StrEnum):
    match = "match"
    drift = "drift"  # within tolerance: booked as drift when every audit passed and the state is writable
    dust = "dust (no holding or position to book it on)"
    unsynced_deposit = "deposit (next sync books it)"
    unsynced_withdrawal = "withdrawal (next sync books it)"
    fail = "FAIL"

    @property
    def passes(self) -> bool:
        return self is not Verdict.fail


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing an audit could not reconcile; names the asset or transaction it is about."""

    audit_type: AuditType
    message: str
    asset_key: str | None = None
    tx_hash: str | None = None


@dataclass(frozen=True, slots=True)
class BalanceRow:
    asset: AssetIdentifier
    state_raw: int
    chain_raw: int
    tolerance_raw: int
    verdict: Verdict
    note: str = ""

    @property
    def difference_raw(self) -> int:
        return self.chain_raw - self.state_raw


@dataclass(frozen=True, slots=True)
class PlannedDrift:
    """A difference within tolerance, to be booked with `State.record_drift` once every audit passed."""

    asset: AssetIdentifier
    amount_raw: int
    reason: str
    position: TradingPosition | None = None


@dataclass(slots=True)
class AuditSection:
    audit_type: AuditType
    checked: list[str] = field(default_factory=list)  # one line per thing verified
    notes: list[str] = field(default_factory=list)  # passed, but worth a look
    problems: list[Problem] = field(default_factory=list)
    skipped: str | None = None  # why this audit could not run now

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def status(self) -> str:
        if self.skipped:
            return "skipped"
        return "passed" if self.ok else "failed"

    def fail(self, message: str, *, asset_key: str | None = None, tx_hash: str | None = None) -> None:
        self.problems.append(Problem(self.audit_type, message, asset_key, tx_hash))

    def summary(self) -> str:
        if self.skipped:
            return f"{self.audit_type}: skipped: {self.skipped}"
        if self.problems:
            return f"{self.audit_type}: FAILED: " + "; ".join(p.message for p in self.problems)
        extra = f" ({len(self.notes)} note(s))" if self.notes else ""
        return f"{self.audit_type}: passed, {len(self.checked)} check(s){extra}"


@dataclass(slots=True)
class AuditReport:
    at: datetime.datetime
    wallet_address: str
    block: int
    sections: list[AuditSection] = field(default_factory=list)
    balances: list[BalanceRow] = field(default_factory=list)
    drift: list[PlannedDrift] = field(default_factory=list)
    drift_booked: bool = False
    read_only: bool = False
    next_nonce: int | None = None
    cycle: int | None = None

    @property
    def ok(self) -> bool:
        """No audit found a problem (a skipped audit is not a failure: see `complete`)."""
        return all(s.ok for s in self.sections)

    @property
    def complete(self) -> bool:
        return not any(s.skipped for s in self.sections)

    @property
    def problems(self) -> list[Problem]:
        return [p for s in self.sections for p in s.problems]

    def section(self, audit_type: AuditType) -> AuditSection | None:
        return next((s for s in self.sections if s.audit_type == audit_type), None)

    def headline(self) -> str:
        if self.ok:
            state = "passed" if self.complete else "passed, incompletely"
            return f"Audit of {self.wallet_address} at block {self.block} {state}."
        first = self.problems[0].message
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        return f"Audit of {self.wallet_address} at block {self.block} FAILED: {first}{more}."

    def findings(self) -> list[AuditFinding]:
        """What goes into the state: a finding per problem, or one per audit type that passed."""
        found: list[AuditFinding] = []
        for section in self.sections:
            if section.problems:
                found += [
                    AuditFinding(
                        at=self.at,
                        audit_type=p.audit_type.value,
                        ok=False,
                        message=p.message,
                        asset_key=p.asset_key,
                        tx_hash=p.tx_hash,
                    )
                    for p in section.problems
                ]
            elif section.skipped is None:
                found.append(
                    AuditFinding(
                        at=self.at, audit_type=section.audit_type.value, ok=True, message=section.summary()
                    )
                )
        return found

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary for `/status` (times as unix seconds, amounts as strings)."""
        return {
            "at": self.at.timestamp(),
            "ok": self.ok,
            "complete": self.complete,
            "cycle": self.cycle,
            "block": self.block,
            "wallet_address": self.wallet_address,
            "headline": self.headline(),
            "audits": {s.audit_type.value: _section_summary(s) for s in self.sections},
            "drift": [
                {
                    "asset": d.asset.symbol,
                    "amount": f"{d.asset.to_decimal(d.amount_raw).normalize():f}",
                    "reason": d.reason,
                }
                for d in self.drift
            ],
            "drift_booked": self.drift_booked,
        }


def _section_summary(section: AuditSection) -> dict[str, Any]:
    return {
        "status": section.status,
        "checks": len(section.checked),
        "skipped_reason": section.skipped,
        "notes": list(section.notes[:20]),
        "problems": [
            {"message": p.message, "asset_key": p.asset_key, "tx_hash": p.tx_hash}
            for p in section.problems[:20]
        ],
    }


class AuditFailed(Exception):
    """An audit found the state and the chain disagree: trading must stop until a human looks."""

    def __init__(self, report: AuditReport) -> None:
        super().__init__(report.headline())
        self.report = report


def problem_lines(problems: Iterable[Problem]) -> Sequence[str]:
    return [f"{p.audit_type}: {p.message}" for p in problems]
