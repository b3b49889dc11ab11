"""What the strategy charts draw, as pandas DataFrames read from a `State` (and candles).

`tradeexecutor.analysis.charts` turns these frames into Bokeh figures; the live dashboard,
the backtest report and notebooks build the same frames here, so a chart looks the same
wherever it is drawn. Every time column is tz-aware UTC (`datetime64[ns, UTC]`) and every
number a float: charts do float maths, the ledger keeps its Decimals.

| frame | index / columns |
| --- | --- |
| candles | index: candle open time; `open high low close` (+ `volume`), as `tradeexecutor.data.candles` |
| fills | `at pair side price quantity value trade_id position_id trade_type`; one row per filled trade |
| plots | `at series pair ticker pane colour value`; long format, one row per recorded value |
| levels | `position_id pair ticker kind price since`; stop loss and take profit of open positions |
| equity | index: time; `equity`, `flows` (deposits less withdrawals since the previous point), `buy_and_hold` |
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pandas as pd

from tradeexecutor.analysis.summary import equity_curve
from tradeexecutor.data.candles import thin_candles
from tradeexecutor.data.time_bucket import TimeBucket
from tradeexecutor.state.identifiers import TradingPairIdentifier
from tradeexecutor.state.ledger import LedgerKind
from tradeexecutor.state.state import State
from tradeexecutor.state.trade import TradeStatus, TradeType


@dataclass(frozen=True)
class PairFrames:
    """What one pair's price chart draws. `width` is the candles' width (None: guess from them)."""

    ticker: str
    candles: pd.DataFrame
    width: datetime.timedelta | None = None
    fills: pd.DataFrame | None = None  # chart_data.FILL_COLUMNS
    plots: pd.DataFrame | None = None  # chart_data.PLOT_COLUMNS, this pair's rows
    levels: pd.DataFrame | None = None  # chart_data.LEVEL_COLUMNS, this pair's rows
    note: str = ""  # shown in the title, e.g. "4h candles"


FILL_COLUMNS = ("at", "pair", "side", "price", "quantity", "value", "trade_id", "position_id", "trade_type")
PLOT_COLUMNS = ("at", "series", "pair", "ticker", "pane", "colour", "value")
LEVEL_COLUMNS = ("position_id", "pair", "ticker", "kind", "price", "since")
STOP_LOSS = "stop loss"
TAKE_PROFIT = "take profit"
MAX_CANDLES = 3_000  # per pair of a run; more are drawn as wider candles (data/candles.thin_candles)


def _ns(index: pd.Index) -> np.ndarray:
    """Nanoseconds since the epoch, whatever unit the index holds (pandas 3 keeps several)."""
    return pd.DatetimeIndex(index).as_unit("ns").asi8


def _times(values: Iterable[datetime.datetime | int]) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(pd.to_datetime(list(values), utc=True)).as_unit("ns")


def fills_frame(
    state: State,
    *,
    pair_key: str | None = None,
    start: datetime.datetime | None = None,
    end: datetime.datetime | None = None,
    volume_threshold: Decimal = Decimal(0),
) -> pd.DataFrame:
    """Filled trades, oldest first; `pair` holds the pair's key. A failed, repaired or
    pending trade moved nothing and is left out, as are fills below `volume_threshold`."""
    rows = []
    for t in state.portfolio.all_trades():
        if t.status != TradeStatus.success or t.executed_at is None or t.executed_price is None:
            continue
        if pair_key is not None and t.pair.key != pair_key:
            continue
        if (start is not None and t.executed_at < start) or (end is not None and t.executed_at > end):
            continue
        quantity = abs(t.executed_quantity)
        if quantity < volume_threshold:
            continue
        rows.append(
            (
                t.executed_at,
                t.pair.key,
                "buy" if t.is_buy else "sell",
                float(t.executed_price),
                float(quantity),
                float(t.executed_reserve),
                t.trade_id,
                t.position_id,
                t.trade_type.value,
            )
        )
    rows.sort(key=lambda r: (r[0], r[6]))
    frame = pd.DataFrame(rows, columns=list(FILL_COLUMNS))
    frame["at"] = _times(frame["at"])
    return frame.astype({"price": "float64", "quantity": "float64", "value": "float64"})


def plots_frame(
    state: State, *, start: datetime.datetime | None = None, end: datetime.datetime | None = None
) -> pd.DataFrame:
    """Every value the strategy recorded (`State.plots`), in long format.

    `pair` is the pair's key for series on a price chart ("" for a pane), `pane` the pane's
    name ("" on a price chart). Rows keep the order the series were first recorded in."""
    plots = state.plots
    times = plots.times
    low = int(start.timestamp()) if start is not None else None
    high = int(end.timestamp()) if end is not None else None
    columns: dict[str, list] = {c: [] for c in PLOT_COLUMNS}
    for series in plots.series.values():
        for second, value in series.points(times):
            if (low is not None and second < low) or (high is not None and second > high):
                continue
            columns["at"].append(second)
            columns["value"].append(value)
        n = len(columns["at"]) - len(columns["series"])
        for name, fill in (
            ("series", series.name),
            ("pair", series.pair),
            ("ticker", series.ticker),
            ("pane", series.pane),
            ("colour", series.colour),
        ):
            columns[name].extend([fill] * n)
    frame = pd.DataFrame(columns)
    frame["at"] = _times(pd.to_datetime(frame["at"], unit="s", utc=True))
    return frame.astype({"value": "float64"})


def levels_frame(state: State) -> pd.DataFrame:
    """The stop loss and take profit of every open position, from when it was opened."""
    rows = []
    for p in state.portfolio.open_positions.values():
        for kind, level in ((STOP_LOSS, p.stop_loss), (TAKE_PROFIT, p.take_profit)):
            if level is not None:
                rows.append((p.position_id, p.pair.key, p.pair.ticker, kind, float(level), p.opened_at))
    frame = pd.DataFrame(rows, columns=list(LEVEL_COLUMNS))
    frame["since"] = _times(frame["since"])
    return frame.astype({"price": "float64"})


def equity_frame(
    state: State, *, start: datetime.datetime | None = None, end: datetime.datetime | None = None
) -> pd.DataFrame:
    """Total equity per recorded cycle, from the first deposit on (`summary.equity_curve`), and
    `flows`: the reserve deposited less withdrawn since the previous point (see `drawdown`)."""
    points = [(at, float(v)) for at, v in equity_curve(state)]
    points = [p for p in points if (start is None or p[0] >= start) and (end is None or p[0] <= end)]
    index = _times(at for at, _ in points).rename("at")
    frame = pd.DataFrame({"equity": [v for _, v in points]}, index=index, dtype="float64")
    frame["flows"] = flows_between(reserve_flows(state), index)
    return frame


def flows_between(flows: pd.Series, at: pd.DatetimeIndex) -> np.ndarray:
    """Net flows in (at[i-1], at[i]] for each i (0 for the first point: its equity holds them)."""
    if not len(at):
        return np.zeros(0)
    cumulative = np.concatenate([[0.0], np.cumsum(flows.to_numpy(dtype="float64"))])
    upto = cumulative[np.searchsorted(_ns(flows.index), _ns(at), side="right")]
    return np.diff(upto, prepend=upto[0])


def reserve_flows(state: State) -> pd.Series:
    """Reserve currency deposited (positive) and withdrawn (negative), by time."""
    key = state.portfolio.reserve_key
    asset = state.ledger.assets.get(key) if key is not None else None
    if asset is None:
        return pd.Series([], index=_times([]), dtype="float64")
    rows = [
        (e.at, float(asset.to_decimal(e.amount_raw)))
        for e in state.ledger.entries
        if e.asset_key == key and e.kind in (LedgerKind.deposit, LedgerKind.withdrawal)
    ]
    rows.sort(key=lambda r: r[0])
    return pd.Series([v for _, v in rows], index=_times(at for at, _ in rows), dtype="float64")


def close_prices(candles: pd.DataFrame, width: datetime.timedelta) -> pd.Series:
    """Candle closes indexed by the time each candle closed."""
    return pd.Series(candles["close"].to_numpy(dtype="float64"), index=candles.index + width)


def buy_and_hold(flows: pd.Series, closes: Mapping[str, pd.Series], at: pd.DatetimeIndex) -> pd.Series:
    """What the deposits would be worth at times `at` had each been split equally over the
    pairs in `closes` when it arrived, and held: the benchmark an active strategy must beat.

    A deposit before a pair's first close buys at that first close; a withdrawal sells in
    the same proportions. Deposits after the start count in both curves, so the two stay
    comparable for an executor that was funded more than once."""
    series = {k: s.dropna().sort_index() for k, s in closes.items()}
    series = {k: s for k, s in series.items() if len(s)}
    if not series or not len(flows):
        return pd.Series(np.nan, index=at, dtype="float64")
    value = np.zeros(len(at))
    share = flows.to_numpy(dtype="float64") / len(series)
    flow_ns = _ns(flows.index)
    at_ns = _ns(at)
    for prices in series.values():
        index_ns, values = _ns(prices.index), prices.to_numpy()
        bought_at = values[np.clip(np.searchsorted(index_ns, flow_ns, side="right") - 1, 0, None)]
        units = np.cumsum(share / bought_at)
        held = np.searchsorted(flow_ns, at_ns, side="right") - 1  # the last flow by then
        price_now = values[np.clip(np.searchsorted(index_ns, at_ns, side="right") - 1, 0, None)]
        value += np.where(held >= 0, units[np.clip(held, 0, None)] * price_now, 0.0)
    return pd.Series(value, index=at, dtype="float64")


def is_stop(trade_type: str) -> bool:
    return trade_type == TradeType.stop_loss.value


def run_frames(
    state: State,
    candles: Mapping[TradingPairIdentifier, tuple[pd.DataFrame, TimeBucket]],
    *,
    max_candles: int = MAX_CANDLES,
) -> tuple[list[PairFrames], pd.DataFrame, pd.DataFrame]:
    """(a chart per pair, the plot panes, equity with buy-and-hold) of a run, from its
    state and candles (the backtest report's; `charts.run_layout` draws them).

    `candles` maps each pair to its candles and their width; pairs are drawn in that order.
    Candles are thinned to at most about `max_candles` per pair."""
    fills = fills_frame(state)
    plots = plots_frame(state)
    levels = levels_frame(state)
    pairs, closes = [], {}
    for pair, (frame, bucket) in candles.items():
        thinned, width = thin_candles(frame, bucket, max_candles)
        closes[pair.key] = close_prices(frame, bucket.timedelta)
        pairs.append(
            PairFrames(
                ticker=pair.ticker,
                candles=thinned,
                width=width.timedelta,
                fills=fills[fills["pair"] == pair.key],
                plots=plots[plots["pair"] == pair.key],
                levels=levels[levels["pair"] == pair.key],
                note=f"{width.value} candles"
                + (f" (thinned from {bucket.value})" if width != bucket else ""),
            )
        )
    equity = equity_frame(state)
    equity["buy_and_hold"] = buy_and_hold(reserve_flows(state), closes, equity.index)
    return pairs, plots[plots["pane"] != ""], equity
