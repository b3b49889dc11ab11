"""The dashboards in a real headless Chromium, against an executor that traded on anvil.

Each page must load without console errors (CSP violations and failed loads count), draw
the executed trades, and leave a screenshot in test-artifacts/screenshots/ for people.
"""

from __future__ import annotations

import csv
import io
import math
from decimal import Decimal

import pytest

from tests.dashboard.browser import screenshot_dir
from tradeexecutor.state.ledger import LedgerKind
from tradeexecutor.state.trade import TradeStatus

CHART_DATA = """(async () => {
  if (window.dashboardReady) await window.dashboardReady;  // the dashboards say when they are drawn
  for (let i = 0; i < 400 && !(window.Bokeh && Bokeh.documents.length && Bokeh.index.size); i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));  // the report embeds on load
  }
  const doc = Bokeh.documents[0];
  const out = {titles: []};
  for (const model of doc.all_models) {
    if (model.type === "Title" || (model.constructor && model.constructor.__name__ === "Title")) {
      out.titles.push(model.text);
    }
    if (!model.name || !model.data_source) continue;
    const d = model.data_source.data;
    const columns = {};
    for (const k of Object.keys(d)) columns[k] = Array.from(d[k]);
    out[model.name] = columns;
  }
  return out;
})()"""


def filled(scenario, ticker):
    return sorted(
        (
            t
            for t in scenario.state.portfolio.all_trades()
            if t.pair.ticker == ticker and t.status == TradeStatus.success
        ),
        key=lambda t: t.trade_id,
    )


def colour_pixels(path, rgb: tuple[int, int, int], tolerance: int = 10) -> int:
    """How many pixels of a screenshot are within `tolerance` of the colour `rgb`."""
    import numpy as np
    from PIL import Image

    pixels = np.asarray(Image.open(path).convert("RGB"), dtype="int16")
    return int((np.abs(pixels - np.array(rgb)).max(axis=2) <= tolerance).sum())


def hex_rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def test_strategy_page_draws_candles_fills_plots_levels_and_equity(public_server, browser, scenario) -> None:
    from tradeexecutor.analysis.charts import BUY_COLOUR, DOWN_COLOUR, UP_COLOUR

    page = browser.new_page()
    page.navigate(public_server.url + "/")  # the default window: all of it, fitted to the data
    charts = page.evaluate(CHART_DATA)
    page.settle()
    assert page.errors == []
    assert page.evaluate("document.querySelector('.window .toggles a.active').innerText") == "all"
    state = scenario.state

    # candlesticks of both pairs, from the first published candle, exactly as published
    for ticker in ("WETH-USDC", "DEV-USDC"):
        published = scenario.price_series[ticker]
        drawn = charts[f"candles:{ticker}"]
        assert len(drawn["open"]) == len(published) > 8
        first = published[0]
        assert (drawn["open"][0], drawn["high"][0], drawn["low"][0], drawn["close"][0]) == first[2:]
        assert drawn["t"][0] == (first[0].timestamp() + (first[1] - first[0]).total_seconds() / 2) * 1000

    # every filled trade, and not the failed one, with one marker style
    for ticker in ("WETH-USDC", "DEV-USDC"):
        expected = filled(scenario, ticker)
        buys = charts.get(f"buys:{ticker}", {"trade_id": []})["trade_id"]
        sells = charts.get(f"sells:{ticker}", {"trade_id": []})["trade_id"]
        assert buys == [t.trade_id for t in expected if t.is_buy]
        assert sells == [t.trade_id for t in expected if t.is_sell]
        assert set(scenario.failed_trade_ids).isdisjoint(buys + sells)
    weth = filled(scenario, "WETH-USDC")
    buys = charts["buys:WETH-USDC"]
    assert buys["price"][0] == float(weth[0].executed_price)
    # marker area proportional to the filled size (base radius 16 in this server's settings)
    quantities = [float(abs(t.executed_quantity)) for t in weth]
    drawn = dict(zip(buys["trade_id"] + charts["sells:WETH-USDC"]["trade_id"],
                     buys["radius"] + charts["sells:WETH-USDC"]["radius"], strict=True))  # fmt: skip
    for trade, quantity in zip(weth, quantities, strict=True):
        expected_radius = max(3.0, 16 * math.sqrt(quantity / max(quantities)))
        assert math.isclose(drawn[trade.trade_id], expected_radius, rel_tol=1e-9)

    # the strategy's plot line on WETH's chart and its own pane
    [line_series] = state.plots.for_pair(weth[0].pair.key)
    line = charts["plot:WETH-USDC:mid x 0.99"]
    assert line["value"] == [v for _, v in line_series.points(state.plots.times)]
    assert len(line["t"]) == state.cycle.completed_count == 8
    assert charts["plot:pane:Cycle number:cycle"]["value"] == [float(n) for n in range(1, 9)]

    # stop loss and take profit of the open WETH position
    [open_weth] = [p for p in state.portfolio.open_positions.values() if p.pair.ticker == "WETH-USDC"]
    levels = charts["levels:WETH-USDC"]
    assert sorted(levels["price"]) == sorted([float(open_weth.stop_loss), float(open_weth.take_profit)])
    assert set(levels["position_id"]) == {open_weth.position_id}

    # equity with buy-and-hold and the drawdown
    equity = charts["equity"]
    assert len(equity["t"]) == len(state.stats.portfolio) + 1  # + the initial deposit
    assert equity["buy_and_hold"][0] == pytest.approx(equity["equity"][0], rel=1e-9)
    assert max(charts["drawdown"]["drawdown"]) == 0.0 and min(charts["drawdown"]["drawdown"]) < 0

    text = page.evaluate("document.body.innerText")
    assert "WETH and DEV momentum" in text and "Running" in text
    assert "1 failed (not drawn)" in page.evaluate("document.getElementById('trade-counts').innerText")
    assert page.evaluate("document.querySelectorAll('#open-positions tbody tr').length") == len(
        state.portfolio.open_positions
    )
    # drawn, not only sent: the screenshot has the candles' and the plot's colours
    shot = page.screenshot(screenshot_dir() / "strategy.png")
    for colour in (UP_COLOUR, DOWN_COLOUR, BUY_COLOUR, "#e377c2", "#7c3aed"):
        assert colour_pixels(shot, hex_rgb(colour)) > 20, f"nothing drawn in {colour}"

    page.navigate(public_server.url + "/?pair=dev-usdc")
    dev = page.evaluate(CHART_DATA)
    page.settle()
    assert page.errors == []
    assert "candles:DEV-USDC" in dev and "candles:WETH-USDC" not in dev
    page.navigate(public_server.url + "/?pair=FOO-USDC")
    assert page.evaluate("document.getElementById('error-message').innerText") == (
        "pair='FOO-USDC' has no chart: choose one of WETH-USDC, DEV-USDC."
    )


def test_time_window_toggles_and_iso_range(public_server, browser, scenario) -> None:
    page = browser.new_page()
    trades = filled(scenario, "WETH-USDC")
    start = trades[2].executed_at
    end = trades[4].executed_at
    page.navigate(
        public_server.url
        + f"/?start={start.strftime('%Y-%m-%dT%H:%M:%SZ')}&end={end.strftime('%Y-%m-%dT%H:%M:%S')}"
    )
    charts = page.evaluate(CHART_DATA)
    page.settle()
    assert page.errors == []
    none = {"trade_id": []}
    drawn = sorted(
        charts.get("sells:WETH-USDC", none)["trade_id"] + charts.get("buys:WETH-USDC", none)["trade_id"]
    )
    assert drawn == [t.trade_id for t in trades if start <= t.executed_at <= end]
    assert len(drawn) < len(trades)
    # candles overlapping the window only, and the plot's points inside it
    candles = [
        c for c in scenario.price_series["WETH-USDC"] if c[1] >= start and c[0] <= end.replace(microsecond=0)
    ]
    assert len(charts["candles:WETH-USDC"]["open"]) == len(candles) < len(scenario.price_series["WETH-USDC"])
    assert all(start.timestamp() * 1000 <= t <= end.timestamp() * 1000 for t in charts["equity"]["t"])
    page.navigate(public_server.url + "/?window=1d")
    assert page.evaluate("document.querySelector('.window .toggles a.active').innerText") == "1d"
    page.navigate(public_server.url + "/?start=yesterday")
    page.settle()
    message = page.evaluate("document.getElementById('error-message').innerText")
    assert message.startswith("start='yesterday' is not an ISO 8601 time")


def test_fund_dashboard_breaks_the_equity_change_down(public_server, browser, scenario) -> None:
    page = browser.new_page()
    page.navigate(public_server.url + "/fund?window=all")
    charts = page.evaluate(CHART_DATA)
    page.settle()
    assert page.errors == []
    cells = page.evaluate(
        "Object.fromEntries(Array.from(document.querySelectorAll('#breakdown td[data-row]')).map(td => [td.dataset.row, td.innerText]))"
    )
    assert cells["Deposits"] == f"+{10_000 + scenario.deposit_usdc:,.2f}"
    assert cells["Withdrawals"] == f"-{scenario.withdrawn_usdc:,.2f}"
    assert cells["Other"] in ("0.00", "+0.00")  # statistics cover the whole window
    assert cells["Gas"].endswith(" ETH")
    assert len(charts["equity"]["t"]) == len(scenario.state.stats.portfolio) + 1  # + the initial deposit
    summary = page.evaluate("document.getElementById('summary').innerText")
    assert "Sharpe" in summary and "Max drawdown" in summary
    page.screenshot(screenshot_dir() / "fund.png")


def test_ledger_dashboard_running_balance_and_csv(public_server, browser, scenario) -> None:
    page = browser.new_page()
    page.navigate(public_server.url + "/ledger?window=all")
    page.settle()
    assert page.errors == []
    usdc = scenario.state.ledger.assets[scenario.state.portfolio.reserve_key]
    entries = scenario.state.ledger.entries_for(usdc.key)
    rows = page.evaluate(
        "Array.from(document.querySelectorAll('#ledger tbody tr')).map(tr => Array.from(tr.cells).map(c => c.innerText))"
    )
    assert [int(r[0]) for r in rows] == [e.entry_id for e in entries]
    kinds = {r[2] for r in rows}
    assert {"deposit", "withdrawal", "trade"} <= kinds
    assert rows[-1][4].replace(
        ",", ""
    ) == f"{usdc.to_decimal(scenario.state.ledger.balance(usdc.key)):f}".rstrip("0").rstrip(".")
    assert page.evaluate("document.querySelectorAll('#ledger td.mono a').length") == 0  # anvil: no explorer
    page.screenshot(screenshot_dir() / "ledger.png")
    text = page.evaluate("fetch(document.getElementById('csv-link').href).then(r => r.text())")
    parsed = list(csv.reader(io.StringIO(text)))
    assert parsed[0][:5] == ["entry_id", "time_utc", "kind", "amount", "balance"]
    assert [int(r[0]) for r in parsed[1:]] == [e.entry_id for e in entries]
    assert Decimal(parsed[-1][4]) == usdc.to_decimal(scenario.state.ledger.balance(usdc.key))
    gas = [e for e in scenario.state.ledger.entries if e.kind == LedgerKind.gas_fee]
    page.navigate(public_server.url + "/ledger?window=all&asset=ETH")
    page.settle()
    assert page.errors == []
    assert page.evaluate("document.querySelectorAll('#ledger tbody tr.kind-gas').length") == len(gas)


def test_backtest_report_draws_the_same_charts_offline(browser, tmp_path) -> None:
    """The report is the dashboard's layout with BokehJS inlined: candles, SMAs, fills, equity."""
    import datetime
    from pathlib import Path

    from tradeexecutor.analysis.charts import DOWN_COLOUR, UP_COLOUR
    from tradeexecutor.analysis.summary import equity_curve
    from tradeexecutor.backtest.run import BacktestOptions, run_backtest_from_options

    report = tmp_path / "report.html"
    start = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    outcome = run_backtest_from_options(
        BacktestOptions(
            strategy_file=Path(__file__).resolve().parents[2] / "strategies" / "sma_crossover.py",
            start=start,
            end=start + datetime.timedelta(days=3),
            synthetic_data=True,
            state_file=tmp_path / "state.json",
            report_file=report,
        )
    )
    page = browser.new_page()
    page.navigate(report.as_uri())
    charts = page.evaluate(CHART_DATA)
    page.settle()
    assert page.errors == []
    state = outcome.state
    # three days of 1m candles are drawn as 5m candles, from the first one on
    candles = charts["candles:WETH-USDC"]
    assert len(candles["open"]) == 3 * 24 * 12
    first = outcome.universe.all_candles("WETH-USDC").iloc[:5]
    assert candles["open"][0] == first["open"].iloc[0] and candles["close"][0] == first["close"].iloc[-1]
    assert "WETH-USDC · 5m candles (thinned from 1m)" in charts["titles"]
    fast = charts["plot:WETH-USDC:fast SMA"]
    [series] = [s for s in state.plots.series.values() if s.name == "fast SMA"]
    assert fast["value"] == [v for _, v in series.points(state.plots.times)]
    fills = [t for t in state.portfolio.all_trades() if t.is_success]
    drawn = charts["buys:WETH-USDC"]["trade_id"] + charts.get("sells:WETH-USDC", {"trade_id": []})["trade_id"]
    drawn += charts.get("stops:WETH-USDC", {"trade_id": []})["trade_id"]
    assert sorted(drawn) == sorted(t.trade_id for t in fills)
    # every statistics point (a backtest records one a day, and one at the end) with its benchmark
    equity = [float(v) for _, v in equity_curve(state)]
    assert charts["equity"]["equity"] == pytest.approx(equity, rel=1e-12)
    assert len(charts["equity"]["buy_and_hold"]) == len(equity) >= 4
    shot = page.screenshot(screenshot_dir() / "backtest-report.png")
    for colour in (UP_COLOUR, DOWN_COLOUR, "#f59e0b", "#7c3aed"):  # candles and the two SMAs
        assert colour_pixels(shot, hex_rgb(colour)) > 20, f"nothing drawn in {colour}"
