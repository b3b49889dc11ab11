"""Rehearsals on a fork as an operator runs them: `start --simulate`, `perform-test-trade --simulate`
and `--continue-simulation`, the installed command on a fork of the devchain.

Quiet: a rehearsal prints no traceback (the RPC relay used to print 7-14 BrokenPipeError tracebacks
per run when anvil hung up on requests it no longer needed). Fresh: a new rehearsal starts from
the real state; only --continue-simulation picks up the previous one, and then the new fork's
wallet holds what that rehearsal books, so its positions can be sold there."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from tests.live.state_file import load_state, save_state
from tests.live.test_toolbox_simulate import chain_fingerprint
from tests.live.toolbox import one_sentence_error
from tradeexecutor.state.ledger import LedgerKind
from tradeexecutor.state.trade import TradeType

BUYS_ONCE = """
TRADING_STRATEGY_ENGINE_VERSION = "0.1"
TRADING_STRATEGY_CYCLE = "1h"
CANDLE_TIME_BUCKET = "1h"
RESERVE_CURRENCY = "USDC"
CHAIN_ID = 31337
TRADING_PAIRS = ["WETH-USDC", "DEV-USDC"]

def create_trading_universe(input):
    return input.create_universe()

def decide_trades(input):
    pm = input.position_manager
    weth = input.universe.get_pair_by_ticker("WETH-USDC")
    if pm.get_current_position_for_pair(weth) is not None:
        return []
    return pm.open_1x_long(weth, 250)
"""

NOISE = ("Traceback", "BrokenPipeError", "Exception occurred during processing", "Connection pool is full")


def assert_quiet(result) -> None:
    assert result.returncode == 0, result.stderr
    for noise in NOISE:
        assert noise not in result.stderr, result.stderr


def start_simulated(operator, *extra: str):
    strategy = operator.dir / "buys_once.py"
    strategy.write_text(BUYS_ONCE)
    return operator.run(
        "start",
        "--simulate",
        "--execution-type",
        "uniswap_v2_hot_wallet",
        "--run-single-cycle",
        "--http-disabled",
        *extra,
        STRATEGY_FILE=str(strategy),
        HEARTBEAT="none",
        LOG_FILE_DIR=str(operator.dir / "logs"),
    )


def test_rehearsals_are_quiet_fresh_unless_continued(operator) -> None:
    real_position = operator.open("DEV-USDC", Decimal(100))
    real_before = operator.state_path.read_bytes()
    chain_before = chain_fingerprint(operator)
    simulated_path = operator.dir / "state.simulated.json"

    # 1. start --simulate: the strategy buys WETH on the fork, in the simulated state only
    first = start_simulated(operator)
    assert_quiet(first)
    assert f"(a copy of {operator.state_path})" in first.stdout
    rehearsal = load_state(simulated_path)
    [weth] = [p for p in rehearsal.portfolio.open_positions.values() if p.pair.ticker == "WETH-USDC"]
    assert sorted(rehearsal.portfolio.open_positions) == sorted([real_position, weth.position_id])

    # 2. continued: the new fork is of the real chain, where no WETH was ever bought; the wallet there
    #    is given what the rehearsal books, so its WETH position can be sold
    closed = operator.run(
        "close-position", str(weth.position_id), "--simulate", "--continue-simulation", "--yes"
    )
    assert_quiet(closed)
    assert "(the previous rehearsal, continued: the wallet on the fork holds what it books)" in closed.stdout
    continued = load_state(simulated_path)
    assert weth.position_id in continued.portfolio.closed_positions
    assert real_position in continued.portfolio.open_positions
    # the fork's balances matched the books: the continuation booked no deposit or withdrawal
    booked_before = {e.entry_id for e in rehearsal.ledger.entries}
    new_rows = [e for e in continued.ledger.entries if e.entry_id not in booked_before]
    assert not [e for e in new_rows if e.kind in (LedgerKind.deposit, LedgerKind.withdrawal)], new_rows

    # 3. a new rehearsal starts from the real state again; the previous one is kept as backup .1
    fresh = operator.run("perform-test-trade", "--simulate", "--test-trade-pair", "WETH-USDC")
    assert_quiet(fresh)
    again = load_state(simulated_path)
    assert sorted(again.portfolio.open_positions) == [real_position]
    real = operator.load()
    assert again.cycle.completed_count == real.cycle.completed_count == 0  # the rehearsal's cycle is gone
    not_tests = [t for t in again.portfolio.all_trades() if t.trade_type != TradeType.test]
    assert [t.trade_id for t in not_tests] == [t.trade_id for t in real.portfolio.all_trades()]
    previous = load_state(simulated_path.with_name("state.simulated.json.1"))
    assert weth.position_id in previous.portfolio.closed_positions

    assert chain_fingerprint(operator) == chain_before
    assert operator.state_path.read_bytes() == real_before


def test_continue_simulation_needs_a_rehearsal_to_continue(operator) -> None:
    one_sentence_error(
        operator.run("perform-test-trade", "--continue-simulation"),
        "--continue-simulation only works with --simulate",
    )
    result = operator.run(
        "perform-test-trade", "--simulate", "--continue-simulation", "--test-trade-pair=WETH-USDC"
    )
    one_sentence_error(
        result, "There is no previous rehearsal to continue", "state.simulated.json does not exist"
    )


def test_a_rehearsal_with_unfinished_trades_cannot_be_continued(operator) -> None:
    operator.open("DEV-USDC", Decimal(100))
    state = operator.load()
    now = datetime.now(UTC)
    trade = state.plan_trade(
        now, operator.live.eth.pairs["WETH-USDC"], price=Decimal(2000), reserve=Decimal(10)
    )
    state.start_trade(trade, now)
    save_state(operator.dir / "state.simulated.json", state)
    result = operator.run(
        "perform-test-trade", "--simulate", "--continue-simulation", "--test-trade-pair=WETH-USDC"
    )
    one_sentence_error(
        result, "left 1 trade(s) unfinished", "start a new rehearsal (without --continue-simulation)"
    )
