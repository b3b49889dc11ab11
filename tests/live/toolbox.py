"""Helpers for the operator toolbox tests: the CLI as a subprocess, positions opened for real."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from tests.live.state_file import load_state
from tradeexecutor.state.time import utcnow
from tradeexecutor.strategy.position_manager import PositionManager

EXECUTABLE = Path(sys.executable).with_name("trade-executor")

STRATEGY = """
TRADING_STRATEGY_ENGINE_VERSION = "0.1"
TRADING_STRATEGY_CYCLE = "1h"
CANDLE_TIME_BUCKET = "1h"
RESERVE_CURRENCY = "USDC"
CHAIN_ID = 31337
TRADING_PAIRS = ["WETH-USDC", "DEV-USDC"]

def create_trading_universe(input):
    return input.create_universe()

def decide_trades(input):
    return []
"""


class Operator:
    def __init__(self, live, directory: Path) -> None:
        self.live = live
        self.dir = directory
        self.state_path = live.path
        self.deployment = directory / "deployment.json"
        live.eth.devchain.deployment.write(self.deployment)
        self.strategy = directory / "strategy.py"
        self.strategy.write_text(STRATEGY)
        self.rpc_url = live.eth.devchain.rpc_url

    def env(self, **extra: str) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith("JSON_RPC_") and k != "PRIVATE_KEY"}
        base.update(
            JSON_RPC_ANVIL=self.rpc_url,
            PRIVATE_KEY=self.live.eth.devchain.hot_wallet.key.to_0x_hex(),
            STRATEGY_FILE=str(self.strategy),
            DEPLOYMENT_FILE=str(self.deployment),
            STATE_FILE=str(self.state_path),
        )
        base.update(extra)
        return base

    def run(
        self, *args: str, input: str = "", timeout: float = 120, **env: str
    ) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(EXECUTABLE), *args],
            capture_output=True,
            text=True,
            env=self.env(**env),
            input=input,
            timeout=timeout,
            cwd=self.dir,
        )

    def open(self, ticker: str, amount: Decimal) -> int:
        """Buy `amount` USDC of a pair with the live models; the state file is saved. Returns the position id."""
        live, now = self.live, utcnow()
        live.eth.wallet.forget_nonce()  # the command may have sent transactions from this wallet meanwhile
        live.models.sync.sync(now, live.state)
        pm = PositionManager(now, live.state, live.models.pricing, 50)
        trades = pm.open_1x_long(live.eth.pairs[ticker], amount)
        live.models.execution.execute_trades(now, live.state, trades, live.checkpoint)
        assert trades[0].is_success, trades[0].failure_reason
        live.models.sync.sync(utcnow(), live.state)
        live.checkpoint()
        return trades[0].position_id

    def load(self):
        return load_state(self.state_path)

    def private_key_hex(self) -> str:
        return self.live.eth.devchain.hot_wallet.key.to_0x_hex()[2:]


def one_sentence_error(result: subprocess.CompletedProcess, *needles: str) -> None:
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


def hold_lock(path: Path) -> subprocess.Popen:
    """Another process holding the state file's writer lock, as a running executor does."""
    code = (
        "import sys, time\n"
        "from tradeexecutor.state.store import JSONFileStore\n"
        f"store = JSONFileStore({str(path)!r})\n"
        "print('locked', flush=True)\n"
        "sys.stdin.read()\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    return holder


def release(holder: subprocess.Popen) -> None:
    assert holder.stdin is not None
    holder.stdin.close()
    holder.wait(10)
