"""The dashboards in a real headless Chromium, against an executor that traded on anvil.

Each page must load without console errors (CSP violations and failed loads count), draw
the executed trades, and leave a screenshot in test-artifacts/screenshots/ for people.
"""

from __future__ import annotations

import csv
import io
import math
from decimal import Decimal

from tests.dashboard.browser import screenshot_dir
from tradeexecutor.state.ledger import LedgerKind
from tradeexecutor.state.trade import TradeStatus

CHART_DATA = """(async () => {
  await window.dashboardReady;
  const doc = Bokeh.documents[0];
  const data = (name) => {
    const r = doc.get_model_by_name(name);
    if (!r) return null;
    const d = r.data_source.data;
    const out = {};
    for (const k of Object.keys(d)) out[k] = Array.from(d[k]);
    return out;
  };
  return {sells: data('sells'), buys: data('buys'), price: data('price'), position: data('position'),
          realised: data('realised'), equity: data('equity'),
          canvases: document.querySelectorAll('.bk-Canvas, canvas').length + document.querySelectorAll('div.bk-Figure, .bk-Column').length};
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


def test_strategy_dashboard_draws_every_filled_trade_and_no_failed_one(
    public_server, browser, scenario
) -> None:
    page = browser.new_page()
    page.navigate(public_server.url + "/?window=all")
    charts = page.evaluate(CHART_DATA)
    page.settle()
    assert page.errors == []
    expected = filled(scenario, "WETH-USDC")
    sells = [t.trade_id for t in expected if t.is_sell]
    buys = [t.trade_id for t in expected if t.is_buy]
    assert charts["sells"]["trade_id"] == sells and charts["buys"]["trade_id"] == buys
    assert set(scenario.failed_trade_ids).isdisjoint(sells + buys)  # the failed buy is not drawn
    # symbol area proportional to the filled size: r^2 / quantity is one constant
    drawn = {
        tid: (r, Decimal(q))
        for src in (charts["sells"], charts["buys"])
        for tid, r, q in zip(src["trade_id"], src["radius"], src["quantity"], strict=True)
    }
    biggest = max(q for _, q in drawn.values())
    for trade in expected:
        radius, quantity = drawn[trade.trade_id]
        assert quantity == abs(trade.executed_quantity)
        assert math.isclose(radius, 16 * math.sqrt(float(quantity / biggest)), rel_tol=1e-9) or radius == 3.0
    # y of each symbol is the executed price; the price line is the pools' candles
    assert charts["buys"]["price"][0] == float(expected[0].executed_price)
    assert len(charts["price"]["t"]) == len(scenario.price_series["WETH-USDC"])
    # the position line ends at what the open WETH position holds
    open_weth = [p for p in scenario.state.portfolio.open_positions.values() if p.pair.ticker == "WETH-USDC"]
    assert math.isclose(
        charts["position"]["quantity"][-1], float(sum(p.quantity for p in open_weth)), rel_tol=1e-12
    )
    assert len(charts["realised"]["t"]) == len(scenario.state.stats.portfolio)
    text = page.evaluate("document.body.innerText")
    assert "WETH and DEV momentum" in text and "Running" in text
    assert "1 failed (not drawn)" in page.evaluate("document.getElementById('trade-counts').innerText")
    open_rows = page.evaluate("document.querySelectorAll('#open-positions tbody tr').length")
    assert open_rows == len(scenario.state.portfolio.open_positions)
    page.screenshot(screenshot_dir() / "strategy.png")

    page.navigate(public_server.url + "/?window=all&pair=DEV-USDC")
    dev = page.evaluate(CHART_DATA)
    page.settle()
    assert page.errors == []
    assert sorted(dev["sells"]["trade_id"] + dev["buys"]["trade_id"]) == [
        t.trade_id for t in filled(scenario, "DEV-USDC")
    ]


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
    drawn = sorted(charts["sells"]["trade_id"] + charts["buys"]["trade_id"])
    assert drawn == [t.trade_id for t in trades if start <= t.executed_at <= end]
    assert len(drawn) < len(trades)
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
