"""Human-readable notification texts (Discord), as plain functions of plain data.

Kept apart from the transport so the wording is testable without a network and the same
texts can go to another chat channel later. Discord caps a message at 2,000 characters;
`clip` keeps the head and says how much was cut.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from tradeexecutor.config.redaction import redact
from tradeexecutor.execution.run_state import PortfolioSummary, StrategyMetadata

DISCORD_LIMIT = 2000


@dataclass(frozen=True, slots=True)
class TradeSummary:
    """What a report needs to know about one executed (or failed) trade."""

    trade_id: int
    pair: str
    side: str  # "buy" | "sell"
    quantity: Decimal
    price: Decimal | None = None
    value: Decimal | None = None
    tx_hash: str | None = None
    success: bool = True
    failure_reason: str | None = None
    pending: bool = False  # sent, outcome unknown: left for recovery at the next sync (not a failure)


def fmt_decimal(value: Decimal | None, places: int = 6) -> str:
    """Trim to `places` decimals without scientific notation: 0.500000 -> 0.5."""
    if value is None:
        return "?"
    quantised = value.quantize(Decimal(1).scaleb(-places)) if value.as_tuple().exponent < -places else value
    text = f"{quantised:,f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def clip(text: str, limit: int = DISCORD_LIMIT) -> str:
    if len(text) <= limit:
        return text
    note = f"\n… ({len(text) - limit} more characters)"
    return text[: limit - len(note)] + note


def tx_link(tx_hash: str | None, explorer_url: str | None) -> str:
    if not tx_hash:
        return ""
    short = f"{tx_hash[:10]}…"
    if explorer_url:
        return f"[{short}](<{explorer_url.rstrip('/')}/tx/{tx_hash}>)"
    return f"`{tx_hash}`"


def _title(metadata: StrategyMetadata) -> str:
    return f"**{metadata.name}**" + (f" ({metadata.id})" if metadata.id != metadata.name else "")


def startup_message(metadata: StrategyMetadata, version: str, started_at: datetime) -> str:
    return clip(
        f"🟢 {_title(metadata)} started at {started_at:%Y-%m-%d %H:%M UTC}, trade-executor {version}."
    )


def trade_line(trade: TradeSummary, explorer_url: str | None) -> str:
    side = trade.side.upper()
    line = f"• {side} {fmt_decimal(trade.quantity)} {trade.pair}"
    if trade.price is not None:
        line += f" at {fmt_decimal(trade.price)}"
    if trade.value is not None:
        line += f" (value {fmt_decimal(trade.value, 2)})"
    link = tx_link(trade.tx_hash, explorer_url)
    if link:
        line += f" {link}"
    if trade.pending:
        line += " ⏳ left for recovery: its outcome is resolved from the chain at the next sync"
    elif not trade.success:
        line += f" ❌ FAILED: {redact(trade.failure_reason or 'unknown reason')}"
    return line


def cycle_message(
    metadata: StrategyMetadata,
    cycle: int,
    trades: Sequence[TradeSummary],
    summary: PortfolioSummary | None,
    explorer_url: str | None = None,
) -> str:
    return _trades_message(f"{_title(metadata)} cycle {cycle}", trades, summary, explorer_url)


def trigger_message(
    metadata: StrategyMetadata,
    trades: Sequence[TradeSummary],
    summary: PortfolioSummary | None,
    explorer_url: str | None = None,
) -> str:
    """Trades the between-cycles check made: a stop loss or take profit was hit."""
    return _trades_message(f"{_title(metadata)} stop loss / take profit", trades, summary, explorer_url)


def _trades_message(
    head: str, trades: Sequence[TradeSummary], summary: PortfolioSummary | None, explorer_url: str | None
) -> str:
    # "trades" are swaps that filled, as in the backtest summary and on the dashboards
    executed = sum(1 for t in trades if t.success)
    pending = sum(1 for t in trades if t.pending)
    failed = len(trades) - executed - pending
    head += f": {executed} trade{'s' if executed != 1 else ''} executed"
    if failed:
        head += f", {failed} failed"
    if pending:
        head += f", {pending} left for recovery"
    lines = [head, *(trade_line(t, explorer_url) for t in trades)]
    if summary is not None and summary.total_equity is not None:
        lines.append(
            f"Equity {fmt_decimal(summary.total_equity, 2)}, cash {fmt_decimal(summary.cash, 2)}, "
            f"{summary.open_positions} open position{'s' if summary.open_positions != 1 else ''}"
        )
    return clip("\n".join(lines))


def failure_message(
    metadata: StrategyMetadata,
    cycle: int | None,
    exc: BaseException,
    halted: bool,
    *,
    kind: str | None = None,
    stops_running: bool | None = None,
) -> str:
    """A failed cycle. `kind` is the fault's class (strategy, invariant); `stops_running` says
    whether stop losses and take profits are still checked after the halt."""
    where = f"cycle {cycle}" if cycle is not None else "a cycle"
    summary = getattr(exc, "summary", None)  # a strategy's exception: its one-line summary, not its traceback
    text = redact(summary if isinstance(summary, str) else f"{exc.__class__.__name__}: {exc}")
    if not halted:
        what = "The executor will retry next cycle."
    elif kind == "invariant":
        what = "Trading and stop-loss checks are halted (invariant violation): an operator must look. The webhook stays up."
    else:
        what = "Trading is halted" + (f" ({kind} error)" if kind else "") + "; the webhook stays up."
        if stops_running:
            what += " Stop losses and take profits of open positions are still checked."
        elif stops_running is False:
            what += " Stop-loss checks are stopped too."
    return clip(f"🔴 {_title(metadata)} failed in {where}: {text}\n{what}")


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m {seconds % 60}s"
    return f"{seconds // 3600}h {seconds % 3600 // 60}m"


def degraded_message(metadata: StrategyMetadata, component: str, reason: str) -> str:
    """Once per episode of transient faults, when it starts."""
    return clip(
        f"🟠 {_title(metadata)} is degraded: the {component} failed on a transient fault: {redact(reason)}\n"
        "Retrying with backoff; trading resumes by itself when it passes (no restart needed)."
    )


def recovered_message(metadata: StrategyMetadata, lasted: float, failures: int) -> str:
    """Once per episode of transient faults, when it ends."""
    return clip(
        f"🟢 {_title(metadata)} recovered after {_duration(lasted)} degraded "
        f"({failures} failed attempt{'s' if failures != 1 else ''}); trading goes on."
    )


def skipped_message(metadata: StrategyMetadata, cycle_at: datetime, reason: str) -> str:
    return clip(
        f"⏭️ {_title(metadata)} skipped the cycle of {cycle_at:%Y-%m-%d %H:%M UTC}: its window passed while "
        f"{redact(reason)}"
    )


def stopped_message(metadata: StrategyMetadata, reason: str | None) -> str:
    return clip(f"⏹️ {_title(metadata)} stopped" + (f": {redact(reason)}" if reason else "."))
