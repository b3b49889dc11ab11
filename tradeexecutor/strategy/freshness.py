"""Is there recent market data for every pair of a universe? (`check-universe`)

Checked pair by pair: a universe whose newest candle is recent can still hold a pair with
no candles at all, or one whose pool stopped trading hours ago, and a strategy deciding on
that pair would decide on nothing or on old prices. The age of a pair's data is the age of
the opening time of its newest candle.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from tradeexecutor.errors import UserError
from tradeexecutor.state.identifiers import TradingPairIdentifier
from tradeexecutor.strategy.universe import TradingUniverse


@dataclass(frozen=True, slots=True)
class PairFreshness:
    pair: TradingPairIdentifier
    latest: datetime.datetime | None  # opening time of the newest candle; None: no candles
    age: datetime.timedelta | None
    stale: bool  # older than the limit (False without candles: see `empty`)

    @property
    def empty(self) -> bool:
        return self.latest is None

    @property
    def ok(self) -> bool:
        return not self.empty and not self.stale


@dataclass(frozen=True)
class UniverseFreshness:
    """Every pair's answer, and the report `check-universe` prints from them."""

    pairs: list[PairFreshness]
    limit: str  # the limit as the user set it, e.g. "--max-data-delay-minutes 180"
    no_data: str  # why a pair may have no candles, e.g. "no swaps since block 123"

    def newest(self) -> PairFreshness | None:
        dated = [p for p in self.pairs if p.age is not None]
        return min(dated, key=lambda p: p.age or datetime.timedelta(0)) if dated else None

    def lines(self) -> list[str]:
        out = []
        for p in self.pairs:
            if p.latest is None or p.age is None:
                out.append(f"  {p.pair.ticker}: no candles ({self.no_data})")
            else:
                verdict = f"STALE, more than {self.limit}" if p.stale else "ok"
                out.append(
                    f"  {p.pair.ticker}: latest candle at {p.latest:%Y-%m-%d %H:%M:%S}, {format_age(p.age)} ago: {verdict}"
                )
        newest = self.newest()
        if newest is not None and newest.latest is not None and newest.age is not None:
            out.append(
                f"Latest OHLCV candle is at: {newest.latest:%Y-%m-%d %H:%M:%S}, {format_age(newest.age)} ago"
            )
        return out

    def problems(self) -> list[str]:
        return [
            f"{p.pair.ticker} has no candles ({self.no_data})"
            if p.age is None
            else f"{p.pair.ticker}'s newest candle is {format_age(p.age)} old, more than {self.limit}"
            for p in self.pairs
            if not p.ok
        ]

    def raise_for_problems(self) -> None:
        """One UserError naming every pair without recent data (all of them: one shorter sentence)."""
        if self.pairs and all(p.empty for p in self.pairs):
            raise UserError(f"The universe has no candles at all ({self.no_data}).")
        problems = self.problems()
        if problems:
            raise UserError(
                f"{len(problems)} of {len(self.pairs)} pair(s) have no recent market data: {'; '.join(problems)}. "
                "The data is missing or stale (no recent swaps, or the node is behind)."
            )


def pair_freshness(
    universe: TradingUniverse,
    now: datetime.datetime,
    max_age: datetime.timedelta,
    *,
    limit: str,
    no_data: str,
) -> UniverseFreshness:
    """One answer per pair of the universe, in the universe's order."""
    found = []
    for pair in universe.pairs:
        series = universe.series(pair)
        if not len(series):
            found.append(PairFreshness(pair, None, None, False))
            continue
        latest = series.frame.index[-1].to_pydatetime()
        age = now - latest
        found.append(PairFreshness(pair, latest, age, age > max_age))
    return UniverseFreshness(found, limit, no_data)


def format_age(age: datetime.timedelta) -> str:
    """`3:10:00` (hours:minutes:seconds, days first when there are any), no fractions."""
    return str(age).split(".")[0]
