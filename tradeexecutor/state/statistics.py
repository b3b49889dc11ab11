"""Per-cycle portfolio figures, kept compact so the state does not only grow.

Recent snapshots are kept at full resolution; older ones are thinned to one per
`older_every` interval by `compact()`, which the loop calls after recording.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import msgspec

from tradeexecutor.state.time import UTCDateTime, require_utc


class PortfolioSnapshot(msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False):
    """Holds only scalars, so it can never be part of a reference cycle: `gc=False` keeps
    the garbage collector from scanning the many of these a long run accumulates."""

    at: UTCDateTime
    total_equity: Decimal
    free_cash: Decimal
    open_positions: int
    realised_pnl: Decimal
    unrealised_pnl: Decimal


class Statistics(msgspec.Struct, kw_only=True, omit_defaults=True):
    portfolio: list[PortfolioSnapshot] = msgspec.field(default_factory=list)

    def record(self, snapshot: PortfolioSnapshot) -> None:
        require_utc(snapshot.at, "statistics time")  # frozen rows are checked once, here
        if self.portfolio and snapshot.at < self.portfolio[-1].at:
            raise ValueError("Portfolio statistics must be recorded in time order.")
        if self.portfolio and snapshot.at == self.portfolio[-1].at:
            self.portfolio[-1] = snapshot  # a re-run of the same cycle replaces its figures
        else:
            self.portfolio.append(snapshot)

    def compact(
        self,
        now: datetime.datetime,
        keep_full: datetime.timedelta = datetime.timedelta(days=7),
        older_every: datetime.timedelta = datetime.timedelta(hours=1),
    ) -> int:
        """Thin snapshots older than `keep_full` to one per `older_every`; return how many went."""
        cutoff = now - keep_full
        kept: list[PortfolioSnapshot] = []
        last_bucket: int | None = None
        step = older_every.total_seconds()
        for s in self.portfolio:
            if s.at >= cutoff:
                kept.append(s)
                continue
            bucket = int(s.at.timestamp() // step)
            if bucket != last_bucket:
                kept.append(s)
                last_bucket = bucket
        removed = len(self.portfolio) - len(kept)
        self.portfolio = kept
        return removed
