"""close-position and close-all run as the installed command against the devchain."""

from __future__ import annotations

from decimal import Decimal

from tests.live.toolbox import hold_lock, one_sentence_error, release
from tradeexecutor.ethereum.erc20 import balance_of
from tradeexecutor.state.time import utcnow
from tradeexecutor.state.trade import TradeStatus, TradeType


def test_close_position_asks_then_sells_back_to_the_reserve(operator) -> None:
    pid = operator.open("WETH-USDC", Decimal(500))
    before = operator.load()
    weth, usdc = before.portfolio.open_positions[pid].pair.base, operator.live.eth.assets["USDC"]
    wallet, web3 = operator.live.eth.wallet.address, operator.live.eth.web3
    held = before.portfolio.open_positions[pid].quantity

    declined = operator.run("close-position", str(pid), input="n\n")
    one_sentence_error(declined, "Nothing was sold: it was not confirmed", "--yes")
    assert f"Position #{pid} WETH-USDC: sell {held.normalize():f} WETH at about " in declined.stdout
    assert "USDC/WETH = about" in declined.stdout and "at least" in declined.stdout
    assert "at most 0.5 % below these quotes" in declined.stdout
    assert "Sell 1 position(s)? [y/N]" in declined.stdout
    after_decline = operator.load()
    assert list(after_decline.portfolio.open_positions) == [pid]
    assert len(list(after_decline.portfolio.all_trades())) == 1
    assert balance_of(web3, weth, wallet) == held.scaleb(18)

    closed = operator.run("close-position", str(pid), input="y\n")
    assert closed.returncode == 0, closed.stderr
    assert f"Sold {held.normalize():f} WETH of position #{pid} for " in closed.stdout
    state = operator.load()
    position = state.portfolio.closed_positions[pid]
    sell = position.last_trade()
    assert sell.trade_type == TradeType.manual and sell.status == TradeStatus.success and sell.is_sell
    assert "close-position" in sell.notes and sell.executed_quantity == -held
    assert sell.blockchain_transactions[-1].tx_hash in closed.stdout
    # the reserve is back on chain and in the books, the WETH gone
    assert balance_of(web3, weth, wallet) == 0
    assert state.portfolio.reserve_holding().quantity_raw == balance_of(web3, usdc, wallet)
    assert state.portfolio.cash() > Decimal(9_990)  # 500 out, ~497 back (two LP fees)
    assert f"Reserve now {state.portfolio.cash().normalize():f} USDC" in closed.stdout
    assert operator.private_key_hex() not in closed.stdout + closed.stderr


def test_close_all_sells_every_open_position_and_explains_frozen_ones(operator) -> None:
    first = operator.open("WETH-USDC", Decimal(200))
    second = operator.open("DEV-USDC", Decimal(100))
    result = operator.run("close-all", "--yes")
    assert result.returncode == 0, result.stderr
    state = operator.load()
    assert not state.portfolio.open_positions
    assert sorted(state.portfolio.closed_positions) == [first, second]
    manual = [t for t in state.portfolio.all_trades() if t.trade_type == TradeType.manual]
    assert len(manual) == 2 and all(t.is_success and "close-all" in t.notes for t in manual)

    nothing = operator.run("close-all", "--yes")
    assert nothing.returncode == 0 and "No open position to close" in nothing.stdout


def test_frozen_position_is_not_closed_and_the_operator_is_told_how_to_repair(operator) -> None:
    pid = operator.open("WETH-USDC", Decimal(100))
    live = operator.live
    live.state.freeze_position(live.state.portfolio.open_positions[pid], utcnow(), "balance audit mismatch")
    live.checkpoint()
    before = operator.state_path.read_bytes()

    one = operator.run("close-position", str(pid), "--yes")
    one_sentence_error(
        one, f"Position #{pid} WETH-USDC is frozen (balance audit mismatch)", "`trade-executor repair --yes`"
    )
    every = operator.run("close-all", "--yes")
    one_sentence_error(every, "1 frozen position(s) were not closed")
    assert f"Position #{pid} WETH-USDC is frozen" in every.stdout
    assert operator.state_path.read_bytes() == before

    one_sentence_error(
        operator.run("close-position", "9", "--yes"), "There is no position #9", "show-positions"
    )


def test_close_refuses_while_an_executor_holds_the_state(operator) -> None:
    pid = operator.open("WETH-USDC", Decimal(100))
    holder = hold_lock(operator.state_path)
    try:
        result = operator.run("close-position", str(pid), "--yes")
        one_sentence_error(result, f"in use by another trade-executor (PID {holder.pid})")
    finally:
        release(holder)
    assert list(operator.load().portfolio.open_positions) == [pid]
