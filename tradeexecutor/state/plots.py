"""Series a strategy draws for people: one named value per cycle, on a pair's price chart or
in a pane of its own (see `tradeexecutor.strategy.plots` for the strategy's side).

Stored compactly, because a strategy records a few values every cycle for as long as it
runs: the cycles that recorded anything share one time axis (`times`, Unix seconds), and a
series holds only its values, aligned to that axis from the cycle it started at (`first`);
`null` marks a cycle the series skipped. Three series over a year of hourly cycles take
0.58 MB (encoded in under 1 ms), against 1.14 MB as `[time, value]` points (measured).

    "plots": {"times": [1704067200, 1704070800],
              "series": {"fast SMA@1:0x88e6...": {"name": "fast SMA", "pair": "1:0x88e6...",
                         "ticker": "WETH-USDC", "colour": "#f59e0b", "first": 0,
                         "values": [2001.5, 2003.25]}}}

Append-only: `times` and every `values` list only grow at the end. The one change in place
is the value of the latest cycle when that cycle is recorded again (a cycle re-run after a
transient failure replaces its values, as `Statistics.record` does), so a writer that
journals the state can persist each cycle's recording as an append.

Every refusal leaves the series as they were and says what to change in one sentence.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Iterator

import msgspec

from tradeexecutor.state.errors import StateError
from tradeexecutor.state.time import require_utc

MAX_SERIES = 50  # a chart with more lines than this is unreadable; it is a bug in the strategy
MAX_PANES = 8
MAX_NAME_LENGTH = 60

# Colours given to series recorded without one, in order (Bokeh's Category10, which reads
# well on white and leaves green and red to the candles).
PALETTE = (
    "#ff7f0e",
    "#1f77b4",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#bcbd22",
    "#7f7f7f",
)
_HEX_COLOUR = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")


class PlotRefused(StateError, ValueError):
    """A recording that would store something wrong; nothing was changed."""


class PlotSeries(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One line. On a price chart it has a `pair` (key) and `ticker`; in a pane, a `pane` name."""

    name: str
    pair: str = ""
    ticker: str = ""
    pane: str = ""
    colour: str = ""
    first: int = 0  # index into Plots.times of values[0]
    values: list[float | None] = msgspec.field(default_factory=list)

    def where(self) -> str:
        return f"in pane {self.pane!r}" if self.pane else f"on the {self.ticker} price chart"

    def points(self, times: list[int]) -> Iterator[tuple[int, float]]:
        """(Unix seconds, value) of every cycle this series recorded, oldest first."""
        for offset, value in enumerate(self.values):
            if value is not None:
                yield times[self.first + offset], value


def series_key(name: str, pair_key: str) -> str:
    """Series are told apart by name, and on price charts also by pair: a two-pair strategy
    can draw its "fast SMA" on both charts."""
    return f"{name}@{pair_key}" if pair_key else name


class Plots(msgspec.Struct, kw_only=True, omit_defaults=True):
    times: list[int] = msgspec.field(default_factory=list)
    series: dict[str, PlotSeries] = msgspec.field(default_factory=dict)

    def record(
        self,
        at: datetime.datetime,
        name: str,
        value: float,
        *,
        pair: str = "",
        ticker: str = "",
        pane: str = "",
        colour: str = "",
    ) -> PlotSeries:
        """Store `value` of series `name` for the cycle at `at` (see the module docstring).

        `pair`/`ticker` put the series on that pair's price chart, `pane` in a pane of its
        own (exactly one of the two). `colour` is a CSS colour (`#rrggbb`, `#rgb` or a name
        the caller has checked); empty picks the next colour of PALETTE.
        """
        return self.record_second(
            _seconds(at), name, value, pair=pair, ticker=ticker, pane=pane, colour=colour
        )

    def record_second(
        self,
        second: int,
        name: str,
        value: float,
        *,
        pair: str = "",
        ticker: str = "",
        pane: str = "",
        colour: str = "",
    ) -> PlotSeries:
        """`record` with the cycle time as Unix seconds: the strategy's path, once per value
        per cycle, so a known series is only checked for what can change (value, time)."""
        key = series_key(name, pair)
        series = self.series.get(key)
        if series is not None:
            if colour and colour != series.colour:
                raise PlotRefused(
                    f"Plot {name!r} was first recorded with colour {series.colour!r}; it cannot change to "
                    f"{colour!r}: give the same colour every cycle, or none."
                )
            if pane != series.pane:
                raise PlotRefused(
                    f"Plot {name!r} is already drawn {series.where()}; record it there every cycle or give "
                    "the other series another name."
                )
            self.append(series, second, value)
            return series
        number = _finite(name, value)
        series = self._new_series(key, name, pair, ticker, pane, colour)
        times = self.times
        if times and second < times[-1]:
            raise self._out_of_order(name, second)
        # the checks are done: from here on nothing can fail half-way
        if not times or second > times[-1]:
            times.append(second)
        series.first = len(times) - 1
        series.values.append(number)
        self.series[key] = series
        return series

    def append(self, series: PlotSeries, second: int, value: float) -> None:
        """The value of `series` (one of this Plots' series, stored by `record_second`) for the
        cycle at `second`: the path of a strategy's second and later calls, which only checks
        what can change from one call to the next (the value and the time)."""
        number = float(value) if isinstance(value, float) else _finite(series.name, value)  # float64 too
        if number - number != 0.0:  # NaN or an infinity (the common case costs one subtraction)
            _finite(series.name, value)
        times = self.times
        last = times[-1]  # a stored series has a value, so the axis is not empty
        if second != last:
            if second < last:
                raise self._out_of_order(series.name, second)
            times.append(second)
        # the checks are done: from here on nothing can fail half-way
        offset = len(times) - 1 - series.first
        values = series.values
        missing = offset - len(values)
        if missing == 0:
            values.append(number)
        elif missing < 0:
            values[offset] = number  # this cycle again: the latest value wins
        else:
            values.extend([None] * missing)
            values.append(number)

    def _out_of_order(self, name: str, second: int) -> PlotRefused:
        last = datetime.datetime.fromtimestamp(self.times[-1], datetime.UTC)
        at = datetime.datetime.fromtimestamp(second, datetime.UTC)
        return PlotRefused(
            f"Plot {name!r} is recorded for {at.isoformat()}, before the last recorded cycle "
            f"{last.isoformat()}: plots are recorded in time order."
        )

    def _new_series(self, key: str, name: str, pair: str, ticker: str, pane: str, colour: str) -> PlotSeries:
        """A series not stored yet (record_second stores it once every check passed)."""
        _check_name("plot name", name)
        if bool(pair) == bool(pane):
            raise PlotRefused(
                f"Plot {name!r} needs either a pair (to draw it on that pair's price chart) or "
                "a pane (to draw it in a pane of its own), not both and not neither."
            )
        if pane:
            _check_name("pane name", pane)
        _check_colour(name, colour)
        for other in self.series.values():
            if other.name == name and bool(other.pane) != bool(pane):
                raise PlotRefused(
                    f"Plot {name!r} is already drawn {other.where()}; a series in a pane and one on a "
                    "price chart need different names."
                )
        if len(self.series) >= MAX_SERIES:
            raise PlotRefused(
                f"Plot {name!r} would be series number {len(self.series) + 1}; at most {MAX_SERIES} are "
                "kept: use a fixed set of names (a name that changes every cycle, such as one with a time or a "
                "number in it, makes a new series each time)."
            )
        panes = {s.pane for s in self.series.values() if s.pane}
        if pane and pane not in panes and len(panes) >= MAX_PANES:
            raise PlotRefused(
                f"Plot {name!r} would open pane number {len(panes) + 1} ({pane!r}); at most {MAX_PANES} "
                "panes are drawn: put related series in one pane."
            )
        return PlotSeries(
            name=name,
            pair=pair,
            ticker=ticker,
            pane=pane,
            colour=colour or PALETTE[len(self.series) % len(PALETTE)],
        )

    def for_pair(self, pair_key: str) -> list[PlotSeries]:
        return [s for s in self.series.values() if s.pair == pair_key]

    def panes(self) -> dict[str, list[PlotSeries]]:
        """Pane name -> its series, in the order the panes were first recorded."""
        out: dict[str, list[PlotSeries]] = {}
        for s in self.series.values():
            if s.pane:
                out.setdefault(s.pane, []).append(s)
        return out


def _check_colour(name: str, colour: str) -> None:
    if colour and not colour.startswith("#") and not colour.isalpha():
        raise PlotRefused(f"Plot {name!r}: colour {colour!r} is not a CSS colour.")
    if colour.startswith("#") and not _HEX_COLOUR.fullmatch(colour):
        raise PlotRefused(f"Plot {name!r}: colour {colour!r} is not a CSS hex colour such as #1f77b4.")


def _seconds(at: datetime.datetime) -> int:
    try:
        return int(require_utc(at, "plot time").timestamp())
    except ValueError as e:
        raise PlotRefused(str(e)) from None


def _check_name(what: str, name: object) -> None:
    if not isinstance(name, str) or not name.strip():
        raise PlotRefused(f"An {what} must be a non-empty string, got {name!r}.")
    if len(name) > MAX_NAME_LENGTH or not name.isprintable():
        raise PlotRefused(f"The {what} {name[:80]!r} must be at most {MAX_NAME_LENGTH} printable characters.")


def _finite(name: object, value: object) -> float:
    """The value as a float; refuses bools, non-numbers, NaN and infinities."""
    if isinstance(value, bool | str | bytes) or value is None:
        raise PlotRefused(f"Plot {name!r}: {value!r} is not a number.")
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise PlotRefused(f"Plot {name!r}: {value!r} ({type(value).__name__}) is not a number.") from None
    if not math.isfinite(number):
        raise PlotRefused(
            f"Plot {name!r}: {value!r} is not a finite number; skip the call in a cycle that has no value "
            "(for example while there are too few candles for the average)."
        )
    return number
