"""`input.indicators`: how `decide_trades` draws its own series on the charts.

    def decide_trades(input):
        closes = input.universe.closes(pair)
        input.indicators.record("fast SMA", closes[-12:].mean(), pair=pair, colour="#f59e0b")
        input.indicators.record("RSI", rsi(closes), pane="RSI")

Each call stores one value for the cycle being decided, in the state (`State.indicators`,
see `tradeexecutor.state.indicators`), so a backtest and a live run record exactly the same
series and every dashboard and report draws them from the state alone. A series goes on the
price chart of its pair (the default for a single-pair universe) or, with `pane=`, in a
pane of its own below the price charts.
"""

from __future__ import annotations

import datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from tradeexecutor.errors import UserError
from tradeexecutor.state.indicators import IndicatorRefused, Indicators
from tradeexecutor.state.time import require_utc

if TYPE_CHECKING:
    from tradeexecutor.strategy.universe import PairRef, TradingUniverse


class IndicatorError(UserError):
    """A strategy recorded an indicator wrongly: one sentence saying what to change."""


@cache
def css_colour_names() -> frozenset[str]:
    """The CSS named colours (the ones browsers and Bokeh understand)."""
    from bokeh.core.enums import NamedColor

    return frozenset(NamedColor)


class IndicatorRecorder:
    """Records values for the cycle at `timestamp`; see the module docstring."""

    __slots__ = ("_indicators", "_second", "_universe")

    def __init__(
        self, indicators: Indicators, timestamp: datetime.datetime, universe: TradingUniverse
    ) -> None:
        self._indicators = indicators
        # pd.Timestamp (what StrategyInput carries) knows its nanoseconds: no timezone round trip
        nanoseconds = getattr(timestamp, "value", None)
        self._second = (
            nanoseconds // 1_000_000_000
            if isinstance(nanoseconds, int) and getattr(timestamp, "tzinfo", None) is not None
            else _seconds(timestamp)
        )
        self._universe = universe

    def record(
        self,
        name: str,
        value: float,
        *,
        pair: PairRef | None = None,
        pane: str | None = None,
        colour: str | None = None,
    ) -> None:
        """Store `value` (a finite number) as this cycle's point of series `name`.

        - `pair`: draw it on this pair's price chart (a pair or a ticker such as "WETH-USDC";
          may be left out when the universe has one pair);
        - `pane`: draw it in a pane of that name below the price charts instead (series
          recorded with the same pane share it, e.g. an RSI and its bands);
        - `colour`: a CSS colour, "#rrggbb" or a name like "orange"; by default each new series
          takes the next colour of a fixed palette. Keep it the same every cycle.

        A value that is not a finite number, a name already used for a different kind of
        series, more than 50 series or 8 panes: IndicatorError, and nothing is stored.
        """
        if pane is not None and pair is not None:
            raise IndicatorError(
                f"Indicator {name!r}: give pair= (draw it on that pair's price chart) or pane= (draw it in a "
                "pane of its own), not both."
            )
        pair_key = ticker = ""
        if pane is None:
            found = self._pair(name, pair)
            pair_key, ticker = found.key, found.ticker
        elif not isinstance(pane, str):
            raise IndicatorError(f"Indicator {name!r}: pane must be a string, got {type(pane).__name__}.")
        try:
            self._indicators.record_second(
                self._second,
                name,
                value,
                pair=pair_key,
                ticker=ticker,
                pane=pane or "",
                colour=_colour(name, colour) if colour is not None else "",
            )
        except IndicatorRefused as e:
            raise IndicatorError(str(e)) from None

    def _pair(self, name: str, pair: PairRef | None) -> Any:
        universe = self._universe
        if pair is None:
            if len(universe.pairs) != 1:
                raise IndicatorError(
                    f"Indicator {name!r}: the universe has {len(universe.pairs)} pairs ({universe.tickers()}), so "
                    "say which price chart it belongs on with pair=, or put it in a pane of its own with pane=."
                )
            return universe.pairs[0]
        try:
            return universe.resolve(pair)
        except UserError as e:
            raise IndicatorError(f"Indicator {name!r}: {e}") from None


_COLOURS: dict[
    str, str
] = {}  # colours as given -> as stored, once checked (a strategy repeats them every cycle)


def _colour(name: str, colour: object) -> str:
    known = _COLOURS.get(colour) if isinstance(colour, str) else None
    if known is not None:
        return known
    if not isinstance(colour, str):
        raise IndicatorError(f"Indicator {name!r}: colour must be a string, got {type(colour).__name__}.")
    text = colour.strip().lower()
    if not text.startswith("#") and text not in css_colour_names():
        raise IndicatorError(
            f"Indicator {name!r}: colour {colour!r} is not a CSS colour; use '#rrggbb' or a name such as 'orange'."
        )
    if len(_COLOURS) < 1_000:
        _COLOURS[colour] = text
    return text


def _seconds(at: datetime.datetime) -> int:
    try:
        return int(require_utc(at, "cycle timestamp").timestamp())
    except ValueError as e:
        raise IndicatorError(str(e)) from None
