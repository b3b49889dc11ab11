"""`input.plots`: how `decide_trades` draws its own series on the charts.

    def decide_trades(input):
        fast = input.indicators.get("fast", pair)  # the indicators stage: values for decisions
        if fast is not None:
            input.plots.record("fast SMA", fast, pair=pair, colour="#f59e0b")  # drawn for people
        input.plots.record("RSI", rsi(input.universe.closes(pair)), pane="RSI")

Plots are for people, indicators (`tradeexecutor.strategy.indicators`) for decisions: a
strategy that records the very value it read from `input.indicators` charts exactly what
decided.

Each call stores one value for the cycle being decided, in the state (`State.plots`,
see `tradeexecutor.state.plots`), so a backtest and a live run record exactly the same
series and every dashboard and report draws them from the state alone. A series goes on the
price chart of its pair (the default for a single-pair universe) or, with `pane=`, in a
pane of its own below the price charts.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any

from tradeexecutor.errors import UserError
from tradeexecutor.state.plots import PlotRefused, Plots, PlotSeries

if TYPE_CHECKING:
    from tradeexecutor.strategy.module import StrategyInput
    from tradeexecutor.strategy.universe import PairRef, TradingUniverse


class PlotError(UserError):
    """A strategy recorded a plot wrongly: one sentence saying what to change."""


@cache
def css_colour_names() -> frozenset[str]:
    """The CSS named colours (the ones browsers and Bokeh understand)."""
    from bokeh.core.enums import NamedColor

    return frozenset(NamedColor)


class PlotRecorder:
    """`input.plots`: records values for the cycle the input is deciding; see the module docstring.

    A backtest moves one `StrategyInput` from cycle to cycle, so the recorder reads the
    cycle's time, state and universe from the input when its cycle number changes, once per
    cycle rather than once per value. A call that continues a series this recorder has
    already stored (same name, pair, pane and colour) goes straight to `Plots.append`: the
    checks that cannot change (the name, the pair, the pane, the colour) are not repeated,
    which makes a call about 0.5 µs instead of 0.85 µs (measured with two series a cycle).
    """

    __slots__ = ("_input", "_cycle", "_plots", "_second", "_universe", "_known")

    def __init__(self, input: StrategyInput) -> None:
        self._input = input
        self._cycle: int | None = None
        self._plots: Plots | None = None
        self._second = 0
        self._universe: TradingUniverse | None = None
        # (name, pair or its id, pane, colour) -> (the pair object, its series)
        self._known: dict[tuple[Any, ...], tuple[Any, PlotSeries]] = {}

    def _begin_cycle(self, input: StrategyInput) -> None:
        try:
            self._second = input.timestamp_ns // 1_000_000_000
        except ValueError as e:  # a timestamp without a timezone
            raise PlotError(str(e)) from None
        plots, universe = input.state.plots, input.universe.universe
        if plots is not self._plots or universe is not self._universe or len(self._known) > _MAX_KNOWN:
            self._known.clear()
        self._plots, self._universe = plots, universe
        self._cycle = input.cycle

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
        series, more than 50 series or 8 panes: PlotError, and nothing is stored.
        """
        input = self._input
        if input.cycle != self._cycle:
            self._begin_cycle(input)
        ref = pair if pair is None or type(pair) is str else id(pair)  # a pair object by identity
        key = (name, ref, pane, colour)
        try:
            known = self._known.get(key)
        except TypeError:  # an unhashable argument: the full checks say what is wrong with it
            known = None
        if known is not None and (ref is pair or known[0] is pair):
            try:
                self._plots.append(known[1], self._second, value)  # type: ignore[union-attr]
            except PlotRefused as e:
                raise PlotError(str(e)) from None
            return
        series = self._record_new(name, value, pair, pane, colour)
        self._known[key] = (pair, series)

    def _record_new(
        self, name: str, value: float, pair: PairRef | None, pane: str | None, colour: str | None
    ) -> PlotSeries:
        """The first call of this recorder with these arguments: every check."""
        if pane is not None and pair is not None:
            raise PlotError(
                f"Plot {name!r}: give pair= (draw it on that pair's price chart) or pane= (draw it in a "
                "pane of its own), not both."
            )
        pair_key = ticker = ""
        if pane is None:
            found = self._pair(name, pair)
            pair_key, ticker = found.key, found.ticker
        elif not isinstance(pane, str):
            raise PlotError(f"Plot {name!r}: pane must be a string, got {type(pane).__name__}.")
        assert self._plots is not None
        try:
            return self._plots.record_second(
                self._second,
                name,
                value,
                pair=pair_key,
                ticker=ticker,
                pane=pane or "",
                colour=_colour(name, colour) if colour is not None else "",
            )
        except PlotRefused as e:
            raise PlotError(str(e)) from None

    def _pair(self, name: str, pair: PairRef | None) -> Any:
        universe = self._universe
        assert universe is not None
        if pair is None:
            if len(universe.pairs) != 1:
                raise PlotError(
                    f"Plot {name!r}: the universe has {len(universe.pairs)} pairs ({universe.tickers()}), so "
                    "say which price chart it belongs on with pair=, or put it in a pane of its own with pane=."
                )
            return universe.pairs[0]
        try:
            return universe.resolve(pair)
        except UserError as e:
            raise PlotError(f"Plot {name!r}: {e}") from None


_MAX_KNOWN = (
    1_000  # argument combinations remembered (a name that changes every cycle is refused at 50 series)
)


def _colour(name: str, colour: object) -> str:
    if not isinstance(colour, str):
        raise PlotError(f"Plot {name!r}: colour must be a string, got {type(colour).__name__}.")
    text = colour.strip().lower()
    if not text.startswith("#") and text not in css_colour_names():
        raise PlotError(
            f"Plot {name!r}: colour {colour!r} is not a CSS colour; use '#rrggbb' or a name such as 'orange'."
        )
    return text
