"""A pair quoted in another token than the reserve (DEV-WETH with a USDC reserve), backtested
through the route live trading takes: USDC -> WETH -> DEV to buy, the reverse to sell.

Before the route existed, the buy was booked in WETH's 18 decimals against the USDC reserve
and the state could not be saved: "the reserve holding of USDC is negative".

Candles (hourly from 2024-01-01 00:00 UTC; open/close, highs and lows around them):

    WETH-USDC  00:00 2000/2000  01:00 2000/2050  02:00 2050/2100  03:00 2100/2100
    DEV-WETH   00:00 0.0025/0.0025  01:00 0.0025/0.0026  02:00 0.0026/0.0028  03:00 0.003/0.003

Cycle 2 (01:00) buys DEV for 1,000 USDC at the opens (both pools charge 0.30 % of their input):
  WETH-USDC: (1,000 - 3) / 2,000             = 0.4985 WETH
  DEV-WETH:  (0.4985 - 0.0014955) / 0.0025   = 198.8018 DEV
  fees: 3 USDC + 0.0014955 WETH x 2,000      = 5.991 USDC
Cycle 3 (02:00) values it at the 01:00 closes: 198.8018 x 0.0026 x 2,050 = 1,059.613594 USDC.
Cycle 4 (03:00) sells 198.8018 DEV at the opens:
  DEV-WETH:  198.8018 x 0.997 x 0.003        = 0.5946161838 WETH
  WETH-USDC: 0.5946161838 x 0.997 x 2,100    = 1,244.94790402206 -> 1,244.947904 USDC (6 decimals, down)
  fees: 198.8018 x 0.003 x 0.003 x 2,100 + 0.5946161838 x 0.003 x 2,100 = 7.50343597794 USDC
Profit 244.947904 USDC; cash at the end 10,244.947904.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tests.backtest.helpers import START, STRATEGY_HEADER, write
from tests.state.factories import ledger_matches_holdings
from tradeexecutor.backtest.run import BacktestOptions, run_backtest_from_options
from tradeexecutor.errors import UserError
from tradeexecutor.state.serialisation import decode_state

END = START + timedelta(hours=4)

WETH_USDC = """\
timestamp,open,high,low,close,volume
2024-01-01T00:00:00Z,2000,2000,2000,2000,1
2024-01-01T01:00:00Z,2000,2060,1990,2050,1
2024-01-01T02:00:00Z,2050,2110,2040,2100,1
2024-01-01T03:00:00Z,2100,2100,2100,2100,1
"""
DEV_WETH = """\
timestamp,open,high,low,close,volume
2024-01-01T00:00:00Z,0.0025,0.0025,0.0025,0.0025,1
2024-01-01T01:00:00Z,0.0025,0.0027,0.0025,0.0026,1
2024-01-01T02:00:00Z,0.0026,0.0029,0.0026,0.0028,1
2024-01-01T03:00:00Z,0.003,0.003,0.003,0.003,1
"""

STRATEGY = """
def decide_trades(input):
    pm = input.position_manager
    pair = input.universe.get_pair_by_ticker("DEV-WETH")
    if input.cycle == 2:
        return pm.open_1x_long(pair, 1000)
    position = pm.get_current_position_for_pair(pair)
    if input.cycle == 4 and position is not None:
        return pm.close_position(position)
    return []
"""


def market(tmp_path: Path) -> Path:
    root = tmp_path / "candles"
    write(root / "31337" / "uniswap-v2" / "WETH-USDC-1h.csv", WETH_USDC)
    write(root / "31337" / "uniswap-v2" / "DEV-WETH-1h.csv", DEV_WETH)
    return root


def run(tmp_path: Path, pairs: str):
    strategy = write(tmp_path / "cross.py", STRATEGY_HEADER + f"TRADING_PAIRS = {pairs}\n" + STRATEGY)
    return run_backtest_from_options(
        BacktestOptions(
            strategy_file=strategy,
            start=START,
            end=END,
            candle_data=market(tmp_path),
            state_file=tmp_path / "state.json",
            statistics_every=None,
        )
    )


@pytest.mark.parametrize("pairs", ['["DEV-WETH", "WETH-USDC"]', '["DEV-WETH"]'])
def test_a_pair_quoted_in_weth_is_bought_and_sold_through_weth_usdc(tmp_path: Path, pairs: str) -> None:
    outcome = run(tmp_path, pairs)
    state = outcome.state
    buy, sell = sorted(state.portfolio.all_trades(), key=lambda t: t.trade_id)

    assert (buy.executed_at, buy.executed_quantity, buy.executed_reserve) == (
        START + timedelta(hours=1),
        Decimal("198.8018"),
        Decimal("1000"),
    )
    assert buy.lp_fees_reserve == Decimal("5.991")
    assert buy.reserve_currency.symbol == "USDC"
    assert (sell.executed_at, sell.executed_quantity, sell.executed_reserve) == (
        START + timedelta(hours=3),
        Decimal("-198.8018"),
        Decimal("1244.947904"),
    )
    assert sell.lp_fees_reserve == Decimal("7.50343597794")
    (position,) = state.portfolio.closed_positions.values()
    assert position.realised_profit() == Decimal("244.947904")
    assert state.portfolio.cash() == Decimal("10244.947904")
    # valued in USDC through WETH at 02:00: the 01:00 closes
    at_two = next(s for s in state.stats.portfolio if s.at == START + timedelta(hours=2))
    assert at_two.total_equity == Decimal(9000) + Decimal("198.8018") * Decimal("0.0026") * 2050
    assert ledger_matches_holdings(state)
    # the state file was written and reads back: no negative USDC holding
    assert decode_state(outcome.state_file.read_bytes()).portfolio.cash() == Decimal("10244.947904")


def test_a_stop_loss_on_a_routed_pair_is_checked_in_the_reserve_currency(tmp_path: Path) -> None:
    """Entry 1,000 / 198.8018 = 5.0301... USDC; a 99 % stop is 4.9798... USDC per DEV. The 01:00
    candle's lows (0.0025 WETH x 1,990 USDC = 4.975) cross it: closed at the stop, booked at 02:00."""
    strategy = STRATEGY.replace(
        "pm.open_1x_long(pair, 1000)", "pm.open_1x_long(pair, 1000, stop_loss_pct=0.99)"
    )
    path = write(tmp_path / "cross.py", STRATEGY_HEADER + 'TRADING_PAIRS = ["DEV-WETH"]\n' + strategy)
    outcome = run_backtest_from_options(
        BacktestOptions(
            strategy_file=path,
            start=START,
            end=END,
            candle_data=market(tmp_path),
            state_file=tmp_path / "s.json",
        )
    )
    (position,) = outcome.state.portfolio.closed_positions.values()
    stop = Decimal(1000) / Decimal("198.8018") * Decimal("0.99")
    sell = list(position.trades.values())[-1]
    assert sell.trade_type.value == "stop_loss"
    assert sell.executed_at == START + timedelta(hours=2)
    # sold at the stop: within the two pools' fees (and rounding) of quantity x stop
    assert float(sell.executed_reserve) == pytest.approx(
        float(Decimal("198.8018") * stop * Decimal("0.997") ** 2), rel=1e-8
    )
    assert ledger_matches_holdings(outcome.state)


def test_a_pair_without_a_route_to_the_reserve_is_one_sentence(tmp_path: Path) -> None:
    root = tmp_path / "candles"
    write(root / "31337" / "uniswap-v2" / "DEV-WETH-1h.csv", DEV_WETH)
    write(
        root / "31337" / "uniswap-v2" / "USDC-DAI-1h.csv", WETH_USDC.replace("2000", "1").replace("2050", "1")
    )
    strategy = write(tmp_path / "cross.py", STRATEGY_HEADER + 'TRADING_PAIRS = ["DEV-WETH"]\n' + STRATEGY)
    with pytest.raises(UserError, match="add WETH-USDC candles on uniswap-v2 to the data"):
        run_backtest_from_options(
            BacktestOptions(strategy_file=strategy, start=START, end=END, candle_data=root)
        )
