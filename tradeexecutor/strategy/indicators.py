"""The indicators stage: series a strategy computes once per run, vectorised, and reads point in
time from `decide_trades`.

A strategy may define

    def create_indicators(input: IndicatorInput) -> dict[str, pd.Series | np.ndarray]:
        close = input.candles["close"]
        return {"fast": close.rolling(input.parameters["fast"]).mean(), ...}

It is called once per pair with that pair's candles (`input.candles`, oldest first) and returns
named series of the same length, row i computed from candles 0..i only. `decide_trades` then
reads `input.indicators.get("fast", pair)`: the value of the newest candle that had closed at
the cycle timestamp (`ago=1` the one before), or None while the series is still warming up
(NaN). Computing a moving average once for the whole run instead of once per cycle is what
makes a backtest fast: a mean over the last 50 closes every hour costs more than the rest of
the cycle.

Backtest and live read the same values: a backtest computes the series once over all its
candles, a live cycle computes them over the candles it has; because row i may only use
candles up to i, both give the same number for the same candle. A backtest checks that
promise: it computes the series again over the first half of the candles (at most 5,000)
and refuses a
series whose rows differ (a `shift(-1)`, a centred window or a normalisation by the whole
series' maximum would peek into the future).

Not to be confused with charts: values a strategy *records* per cycle for plotting are a
separate, plot-oriented API; these series exist for decisions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tradeexecutor.errors import UserError
from tradeexecutor.state.identifiers import TradingPairIdentifier
from tradeexecutor.strategy.user_code import call_user_function

if TYPE_CHECKING:
    from tradeexecutor.strategy.universe import PairRef
    from tradeexecutor.strategy.universe_view import UniverseView

_MIN_CHECK_ROWS = 8
_MAX_CHECK_ROWS = 5_000  # the look-ahead check recomputes at most this many rows


@dataclass(frozen=True, slots=True)
class IndicatorInput:
    """What `create_indicators(input)` gets, once per pair."""

    pair: TradingPairIdentifier
    candles: pd.DataFrame  # UTC index `timestamp` (open time), float columns open high low close volume
    parameters: Mapping[str, Any]
    execution_mode: str

    @property
    def close(self) -> pd.Series:
        return self.candles["close"]


class IndicatorTable:
    """Every indicator of every pair, as read-only float arrays aligned with the pair's candles."""

    __slots__ = ("arrays", "lists", "names")

    def __init__(self, arrays: dict[str, dict[str, np.ndarray]]) -> None:
        self.arrays = arrays  # pair key -> name -> values
        # plain lists, made on first use: indexing one is several times cheaper than numpy
        self.lists: dict[str, dict[str, list[float]]] = {
            key: _LazyLists(named) for key, named in arrays.items()
        }
        self.names: tuple[str, ...] = tuple(sorted({n for named in arrays.values() for n in named}))

    @classmethod
    def compute(
        cls,
        function: Callable[..., Any],
        strategy_path: Path,
        frames: Mapping[TradingPairIdentifier, pd.DataFrame],
        parameters: Mapping[str, Any],
        execution_mode: str,
        check_lookahead: bool = False,
    ) -> IndicatorTable:
        arrays: dict[str, dict[str, np.ndarray]] = {}
        for pair, frame in frames.items():
            arrays[pair.key] = _call(function, strategy_path, pair, frame, parameters, execution_mode)
            if check_lookahead and len(frame) >= 2 * _MIN_CHECK_ROWS:
                prefix = frame.iloc[: min(len(frame) // 2, _MAX_CHECK_ROWS)]
                early = _call(function, strategy_path, pair, prefix, parameters, execution_mode)
                _check_causal(arrays[pair.key], early, pair, strategy_path)
        return cls(arrays)

    def values(self, key: str, name: str, pair: PairRef | None) -> list[float]:
        named = self.lists.get(key)
        if named is None or name not in named:
            known = ", ".join(repr(n) for n in self.names) or "none (define create_indicators)"
            ticker = getattr(pair, "ticker", pair) if pair is not None else "the pair"
            raise UserError(f"There is no indicator {name!r} for {ticker}; create_indicators() made {known}.")
        return named[name]


class _LazyLists(dict):
    """name -> the array as a list, converted when first asked for."""

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        super().__init__()
        self._arrays = arrays

    def __missing__(self, name: str) -> list[float]:
        values = self[name] = self._arrays[name].tolist()
        return values

    def __contains__(self, name: object) -> bool:
        return name in self._arrays

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        return self[name] if name in self._arrays else default


def _call(
    function: Callable[..., Any],
    strategy_path: Path,
    pair: TradingPairIdentifier,
    frame: pd.DataFrame,
    parameters: Mapping[str, Any],
    execution_mode: str,
) -> dict[str, np.ndarray]:
    result = call_user_function(
        strategy_path,
        "create_indicators",
        function,
        IndicatorInput(pair, frame, parameters, execution_mode),
        context=f"for {pair.ticker}",
    )
    if not isinstance(result, Mapping):
        raise UserError(
            f"create_indicators() in {strategy_path} returned {type(result).__name__} for {pair.ticker}; "
            "it must return a dict of name -> series with one value per candle."
        )
    arrays: dict[str, np.ndarray] = {}
    for name, values in result.items():
        if not isinstance(name, str):
            raise UserError(f"create_indicators() in {strategy_path} returned a non-text name {name!r}.")
        if (
            isinstance(values, pd.Series)
            and len(values) == len(frame)
            and not values.index.equals(frame.index)
        ):
            raise UserError(
                f"Indicator {name!r} of {pair.ticker} from create_indicators() in {strategy_path} is not indexed "
                "like the candles; compute it from input.candles without reordering or resampling."
            )
        try:
            array = np.asarray(values, dtype="float64")
        except (TypeError, ValueError):
            raise UserError(
                f"Indicator {name!r} of {pair.ticker} from create_indicators() in {strategy_path} is not numeric."
            ) from None
        if array.shape != (len(frame),):
            raise UserError(
                f"Indicator {name!r} of {pair.ticker} from create_indicators() in {strategy_path} has "
                f"{array.size} values for {len(frame)} candles; return one value per candle."
            )
        array.flags.writeable = False
        arrays[name] = array
    return arrays


def _check_causal(
    full: dict[str, np.ndarray], early: dict[str, np.ndarray], pair: TradingPairIdentifier, path: Path
) -> None:
    for name, values in full.items():
        head = values[: len(early.get(name, ()))]
        other = early.get(name)
        if other is None or np.allclose(head, other, rtol=1e-9, atol=0.0, equal_nan=True):
            continue
        row = int(np.flatnonzero(~np.isclose(head, other, rtol=1e-9, atol=0.0, equal_nan=True))[0])
        raise UserError(
            f"Indicator {name!r} of {pair.ticker} from create_indicators() in {path} looks into the future: "
            f"its value at row {row} changes when later candles are left out; compute row i from candles "
            "up to i only (no shift(-n), centred windows or whole-series statistics)."
        )


class CycleIndicators:
    """`input.indicators`: the indicator values a cycle may see (candles closed by its timestamp).

    Given a precomputed table (backtests), reads rows of it; without one (live), computes the
    table from the view's candles on first use, so a strategy without indicators pays nothing.
    """

    __slots__ = ("_view", "_table", "_compute", "_aligned")

    def __init__(
        self,
        view: UniverseView,
        table: IndicatorTable | None = None,
        compute: Callable[[Mapping[TradingPairIdentifier, pd.DataFrame]], IndicatorTable] | None = None,
    ) -> None:
        self._view = view
        self._table = table
        self._compute = compute
        # (pair key, name, ago) -> the value each cycle of a backtest reads, found once for
        # all cycles from the views' precomputed visible counts (None for NaN / no value)
        self._aligned: dict[tuple[str, str, int], list[float | None]] = {}

    def move_to(self, view: UniverseView) -> None:
        """Read the next cycle's view (the backtester reuses one reader for a whole run)."""
        self._view = view

    def _ensure_table(self) -> IndicatorTable:
        table = self._table
        if table is None:
            if self._compute is None:
                raise UserError(
                    "This strategy has no create_indicators(); define it to use input.indicators."
                )
            view = self._view
            table = self._table = self._compute({p: view.candles(p) for p in view.universe.pairs})
        return table

    def _key(self, pair: PairRef | None) -> str:
        if pair is None:
            return self._view.universe.get_single_pair().key
        if type(pair) is TradingPairIdentifier:
            return pair.key  # an unknown pair fails at the table look-up, with the same message
        return self._view.universe.key_of(pair)

    def _values(self, name: str, pair: PairRef | None) -> tuple[str, list[float]]:
        key = self._key(pair)
        table = self._table or self._ensure_table()
        try:
            return key, table.lists[key][name]
        except KeyError:
            if key not in table.lists:
                self._view.universe.key_of(pair if pair is not None else key)  # the universe's sentence
            return key, table.values(key, name, pair)

    def get(self, name: str, pair: PairRef | None = None, ago: int = 0) -> float | None:
        """The value for the newest closed candle (`ago` candles before it), or None before the
        series has one (warming up, or NaN).

        Called several times per cycle. In a backtest the answer for every cycle is looked
        up once per (pair, name, ago), vectorised, and each call is a list index."""
        view = self._view
        precomputed = view._precomputed
        if precomputed is not None and type(pair) is TradingPairIdentifier and self._table is not None:
            aligned = self._aligned.get((pair.key, name, ago))
            if aligned is None:
                aligned = self._align(pair, name, ago, precomputed[0])
            if aligned is not None:
                return aligned[precomputed[2]]
        key, values = self._values(name, pair)
        n = view._counts.get(key)
        if n is None:
            n = view.visible_count_by_key(key)
        i = n - 1 - ago
        if i < 0:
            return None
        value = values[i]
        return None if value != value else value  # NaN while a window fills

    def _align(
        self, pair: TradingPairIdentifier, name: str, ago: int, counts: dict[str, np.ndarray]
    ) -> list[float | None] | None:
        table = self._table
        assert table is not None
        named = table.arrays.get(pair.key)
        visible = counts.get(pair.key)
        if named is None or name not in named or visible is None:
            return None  # the slow path raises the right error
        values = named[name]
        rows = np.asarray(visible, dtype="int64") - 1 - ago
        picked = np.where(rows >= 0, values[np.clip(rows, 0, None)] if len(values) else np.nan, np.nan)
        aligned = [None if v != v else v for v in picked.tolist()]
        self._aligned[(pair.key, name, ago)] = aligned
        return aligned

    def series(self, name: str, pair: PairRef | None = None) -> np.ndarray:
        """Every value up to the newest closed candle, oldest first (a read-only view, no copy)."""
        key, _ = self._values(name, pair)
        table = self._table or self._ensure_table()
        return table.arrays[key][name][: self._view.visible_count_by_key(key)]

    @property
    def names(self) -> tuple[str, ...]:
        """The indicators create_indicators() made (empty without it)."""
        if self._table is None and self._compute is None:
            return ()
        return self._ensure_table().names
