"""The audit report as text (a table per asset, then what the ledger and order audits
checked) and as one JSON-ready document for `audit --json`."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tradeexecutor.audit.model import AuditReport, AuditSection, AuditType, Verdict
from tradeexecutor.ethereum.gas import human

HEADERS = ("asset", "state", "chain", "difference", "tolerance", "verdict")


def _signed(text: str, raw: int) -> str:
    return f"+{text}" if raw > 0 else text


def balance_table(report: AuditReport) -> list[str]:
    rows = []
    for row in report.balances:
        a = row.asset
        verdict = row.verdict.value
        if row.verdict is Verdict.drift:
            if report.drift_booked:
                verdict = "drift booked"
            elif report.read_only:
                verdict = "drift (read-only: not booked)"
            else:
                verdict = "drift (not booked: the audit failed)"
        rows.append(
            (
                a.symbol,
                human(a.to_decimal(row.state_raw)),
                human(a.to_decimal(row.chain_raw)),
                _signed(human(a.to_decimal(row.difference_raw)), row.difference_raw),
                human(a.to_decimal(row.tolerance_raw)),
                verdict + (f": {row.note}" if row.note and row.verdict is not Verdict.fail else ""),
            )
        )
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(HEADERS)]
    right = {1, 2, 3, 4}

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return [line(HEADERS), line(tuple("-" * w for w in widths)), *(line(r) for r in rows)]


def section_lines(section: AuditSection) -> list[str]:
    title = f"{section.audit_type.value.capitalize()} audit: "
    if section.skipped:
        return [title + f"SKIPPED: {section.skipped}"]
    lines = [title + ("passed" if section.ok else "FAILED")]
    lines += [f"  ok: {c}" for c in section.checked]
    lines += [f"  note: {n}" for n in section.notes]
    lines += [f"  FAIL: {p.message}" for p in section.problems]
    return lines


def report_lines(report: AuditReport) -> list[str]:
    lines = [f"Hot wallet {report.wallet_address}, chain read at block {report.block}"]
    if report.read_only:
        lines.append(
            "Read-only: another executor holds the state file; drift is reported, not booked, nothing is saved."
        )
    for section in report.sections:
        lines.append("")
        if section.audit_type == AuditType.balance and not section.skipped:
            lines.append(f"Balance audit: {'passed' if section.ok else 'FAILED'}")
            lines += ["  " + row for row in balance_table(report)]
            lines += [f"  FAIL: {p.message}" for p in section.problems]
        else:
            lines += section_lines(section)
    lines.append("")
    lines.append(report.headline())
    return lines


def report_document(report: AuditReport) -> dict[str, Any]:
    """The whole report for `audit --json`: exact amounts (Decimals), every check and problem."""

    def amount(asset: Any, raw: int) -> Decimal:
        return asset.to_decimal(raw).normalize()

    return {
        "ok": report.ok,
        "complete": report.complete,
        "headline": report.headline(),
        "at": report.at,
        "block": report.block,
        "wallet_address": report.wallet_address,
        "read_only": report.read_only,
        "drift_booked": report.drift_booked,
        "balances": [
            {
                "asset": row.asset.symbol,
                "asset_key": row.asset.key,
                "state": amount(row.asset, row.state_raw),
                "chain": amount(row.asset, row.chain_raw),
                "difference": amount(row.asset, row.difference_raw),
                "tolerance": amount(row.asset, row.tolerance_raw),
                "verdict": row.verdict.name,
                "note": row.note or None,
            }
            for row in report.balances
        ],
        "audits": {
            s.audit_type.value: {
                "status": s.status,
                "skipped_reason": s.skipped,
                "checked": list(s.checked),
                "notes": list(s.notes),
                "problems": [
                    {"message": p.message, "asset_key": p.asset_key, "tx_hash": p.tx_hash} for p in s.problems
                ],
            }
            for s in report.sections
        },
        "drift": [
            {"asset": d.asset.symbol, "amount": amount(d.asset, d.amount_raw), "reason": d.reason}
            for d in report.drift
        ],
    }
