"""`check-universe` pair by pair, the installed command on a chain whose clock started 3 hours ago:
a pair with no candles, or with only old candles, fails by name even when another pair is fresh."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chain_helpers import move_market
from tests.live.toolbox import one_sentence_error

EXECUTABLE = Path(sys.executable).with_name("trade-executor")
HOURS_OF_HISTORY = 3

STRATEGY = """
TRADING_STRATEGY_ENGINE_VERSION = "0.1"
TRADING_STRATEGY_CYCLE = "1m"
CANDLE_TIME_BUCKET = "1m"
RESERVE_CURRENCY = "USDC"
CHAIN_ID = 31337
TRADING_PAIRS = {pairs!r}

def create_trading_universe(input):
    return input.create_universe()

def decide_trades(input):
    return []
"""


@pytest.fixture(scope="module")
def old_chain() -> Iterator[object]:
    """DEV-USDC traded once, 3 hours ago; WETH-USDC traded a minute ago; DEV-WETH never."""
    from tradeexecutor.devchain.chain import start_devchain

    with start_devchain(genesis_timestamp=int(time.time()) - HOURS_OF_HISTORY * 3600) as chain:
        move_market(chain, "USDC", "DEV", 1_000 * 10**6)
        behind = int(time.time()) - chain.web3.eth.get_block("latest")["timestamp"]
        chain.web3.provider.make_request("evm_increaseTime", [behind - 60])
        move_market(chain, "USDC", "WETH", 1_000 * 10**6)
        yield chain


def check_universe(chain, tmp_path: Path, pairs: list[str], limit: int) -> subprocess.CompletedProcess[str]:
    strategy = tmp_path / "strategy.py"
    strategy.write_text(STRATEGY.format(pairs=pairs))
    deployment = tmp_path / "deployment.json"
    chain.deployment.write(deployment)
    env = {k: v for k, v in os.environ.items() if not k.startswith("JSON_RPC_")}
    env.update(JSON_RPC_ANVIL=chain.rpc_url, STRATEGY_FILE=str(strategy), DEPLOYMENT_FILE=str(deployment))
    return subprocess.run(
        [str(EXECUTABLE), "check-universe", "--max-data-delay-minutes", str(limit)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )


def test_fresh_pairs_pass(old_chain, tmp_path) -> None:
    result = check_universe(old_chain, tmp_path, ["WETH-USDC"], 30)
    assert result.returncode == 0, result.stderr
    assert "  WETH-USDC: latest candle at " in result.stdout and ": ok" in result.stdout
    assert result.stdout.rstrip().endswith("All ok")


def test_a_pair_without_candles_fails_by_name(old_chain, tmp_path) -> None:
    result = check_universe(old_chain, tmp_path, ["WETH-USDC", "DEV-WETH"], 30)
    one_sentence_error(
        result,
        "1 of 2 pair(s) have no recent market data: DEV-WETH has no candles (no swaps since block",
    )
    assert "WETH-USDC" not in result.stderr.split("market data:")[1]  # the fresh pair is not blamed
    assert "  DEV-WETH: no candles" in result.stdout and "  WETH-USDC: latest candle at " in result.stdout


def test_a_stale_pair_fails_by_name_next_to_a_fresh_one(old_chain, tmp_path) -> None:
    result = check_universe(old_chain, tmp_path, ["WETH-USDC", "DEV-USDC", "DEV-WETH"], 30)
    one_sentence_error(
        result,
        "2 of 3 pair(s) have no recent market data: DEV-USDC's newest candle is ",
        " old, more than --max-data-delay-minutes 30; DEV-WETH has no candles",
    )
    assert "  DEV-USDC: latest candle at " in result.stdout and "STALE, more than" in result.stdout
    # the universe as a whole has a fresh candle: the old all-pairs check passed here
    assert "Latest OHLCV candle is at: " in result.stdout
