"""Bad strategies and bad nodes, against a real `start` process: each ends in one clear sentence
in the log and in /status, and open positions stay protected unless the books cannot be trusted.

One devchain lane (anvil + Uniswap v2 + the fault proxy, tradeexecutor/devchain/chaos.py) for
the module; each test trades from its own fresh wallet.
"""

from __future__ import annotations

import signal
import time

import pytest

from tradeexecutor.devchain.chaos import Lane, verify_wallet, wait_until
from tradeexecutor.devchain.rpc_proxy import REFUSE

pytestmark = pytest.mark.slow

BUYS_THEN_RAISES = """
TRADING_STRATEGY_ENGINE_VERSION = "0.1"
TRADING_STRATEGY_CYCLE = "1m"
RESERVE_CURRENCY = "USDC"
CHAIN_ID = 31337
TRADING_PAIRS = ["WETH-USDC"]


def create_trading_universe(input):
    return input.create_universe()


def decide_trades(input):
    pm = input.position_manager
    if input.cycle == 1:
        return pm.open_1x_long(input.universe.get_pair_by_ticker("WETH-USDC"), 10, stop_loss_pct=0.8)
    return position_sizing(input)


def position_sizing(input):
    raise ValueError("strategy bug on purpose")
"""

HANGS = """
TRADING_STRATEGY_ENGINE_VERSION = "0.1"
TRADING_STRATEGY_CYCLE = "1m"
RESERVE_CURRENCY = "USDC"
CHAIN_ID = 31337
TRADING_PAIRS = ["WETH-USDC"]


def create_trading_universe(input):
    return input.create_universe()


def decide_trades(input):
    import time

    time.sleep(600)  # waits for an API that never answers
    return []
"""


@pytest.fixture(scope="module")
def lane(tmp_path_factory):
    lane = Lane(
        0, tmp_path_factory.mktemp("survival"), tmp_path_factory.getbasetemp() / "chaos-pycache"
    ).start()
    yield lane
    lane.close()


def log_text(executor) -> str:
    return executor.log.read_text(errors="replace")


def test_a_strategy_that_raises_every_cycle_halts_and_its_stops_keep_protecting(lane) -> None:
    wallet, workdir = lane.new_wallet()
    start_block = lane.web3.eth.block_number
    executor = lane.spawn(wallet, workdir, strategy=BUYS_THEN_RAISES)
    try:
        assert wait_until(lambda: (executor.status() or {}).get("completed_cycle") == 1, 120), executor.tail()
        status = wait_until(lambda: (s := executor.status()) and s["trading_state"] == "halted" and s, 100)
        assert status, executor.tail()  # cycle 2, at the next minute, raised
        assert status["halt"]["kind"] == "strategy" and status["halt"]["stops_running"] is True
        assert status["halted_reason"].startswith("strategy error in cycle 2: decide_trades() in ")
        assert "raised ValueError at cycle 2" in status["halted_reason"]
        traceback = status["exception"]["traceback"]
        assert "position_sizing" in traceback and 'raise ValueError("strategy bug on purpose")' in traceback
        assert "tradeexecutor/" not in traceback  # the strategy's frames only
        code, health = executor.get_with_code("/health")
        assert code == 503 and "stop losses and take profits are still checked" in health["reason"]

        lane.move_price("WETH", 0.6)  # the price falls through the position's stop after the halt
        try:
            trades = wait_until(
                lambda: [
                    t
                    for t in (executor.get("/trades") or {"trades": []})["trades"]
                    if t["trade_type"] == "stop_loss" and t["status"] == "success"
                ],
                60,
            )
            assert trades, executor.tail(10)
        finally:
            lane.move_price("WETH", 1 / 0.6)
        text = log_text(executor)
        assert "Trading halted by a strategy error in cycle 2: decide_trades() in " in text
        assert "are still checked every 5s. Fix the cause and restart." in text
    finally:
        assert executor.stop() == 0
    v = verify_wallet(lane, wallet.address, workdir / "state.json", start_block)
    assert (v.lost, v.duplicated, v.swaps_on_chain) == (0, 0, 2), v.problems


def test_a_strategy_that_hangs_is_reported_stalled_with_503(lane) -> None:
    wallet, workdir = lane.new_wallet()
    executor = lane.spawn(wallet, workdir, strategy=HANGS, args=("--watchdog-timeout", "3s"))
    try:
        health = wait_until(
            lambda: (r := executor.get_with_code("/health")) and r[0] == 503 and r[1], 90, poll=0.5
        )
        assert health, executor.tail()
        assert health["state"] == "stalled" and health["reason"].startswith("stalled: cycle 1 (started ")
        assert "longer than the 3s allowed by --watchdog-timeout" in health["reason"]
        status = executor.status()
        assert status["trading_state"] == "stalled" and status["stall"]["step"] == "cycle 1"
        assert executor.alive()  # the process, and its loop thread, are alive: just stuck
        assert wait_until(lambda: "Watchdog: Cycle 1 has been running for" in log_text(executor), 10)
    finally:
        executor.proc.send_signal(signal.SIGTERM)  # lets the current step finish: it never will
        time.sleep(1)
        executor.proc.send_signal(signal.SIGTERM)  # the second one abandons it
        executor.proc.wait(30)


def test_a_lagging_node_degrades_then_a_node_of_another_chain_halts_everything(lane) -> None:
    wallet, workdir = lane.new_wallet()
    start_block = lane.web3.eth.block_number
    executor = lane.spawn(wallet, workdir)  # the chaos strategy: buys WETH and DEV with stops in cycle 1
    proxy = lane.proxy
    lagging = other_chain = None
    try:
        assert wait_until(lambda: (executor.status() or {}).get("completed_cycle") == 1, 120), executor.tail()
        head = lane.web3.eth.block_number
        lagging = lane.other_node("--fork-url", lane.anvil_url, "--fork-block-number", str(head - 3))
        proxy.upstream = lagging.url  # the same URL now answers from a node 3 blocks behind
        status = wait_until(lambda: (s := executor.status()) and s["trading_state"] == "degraded" and s, 30)
        assert status, executor.tail()
        assert "block(s) behind block" in status["degraded"]["reason"]
        assert "nothing is read from it until it catches up" in status["state_reason"]
        assert executor.get_with_code("/health")[0] == 200  # retrying, and cycles are not overdue yet

        proxy.upstream = lane.anvil_url  # caught up
        assert wait_until(lambda: (executor.status() or {}).get("trading_state") == "running", 30)

        other_chain = lane.other_node(chain_id=1337)  # the node restarts... as another chain's node
        proxy.set_mode(REFUSE)
        proxy.upstream = other_chain.url
        proxy.heal()
        status = wait_until(lambda: (s := executor.status()) and s["trading_state"] == "halted" and s, 30)
        assert status, executor.tail()
        assert status["halt"]["kind"] == "invariant" and status["halt"]["stops_running"] is False
        assert "on chain 1337" in status["halt"]["reason"] and "31337" in status["halt"]["reason"]
        code, health = executor.get_with_code("/health")
        assert code == 503 and "stop-loss checks are stopped too" in health["reason"]
        text = log_text(executor)
        assert "Trading and stop-loss checks halted by an invariant violation in the stop-loss check" in text
        assert "Degraded: the stop-loss check failed on a transient fault (The node is at block" in text
    finally:
        proxy.upstream = lane.anvil_url
        proxy.heal()
        executor.stop()
        for node in (lagging, other_chain):
            if node is not None:
                node.stop()
    v = verify_wallet(lane, wallet.address, workdir / "state.json", start_block)
    assert (v.lost, v.duplicated, v.swaps_on_chain) == (0, 0, 2), v.problems
