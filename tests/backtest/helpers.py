"""Shared pieces of the backtest tests: a hand-made candle file and strategy files."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

EXECUTABLE = Path(sys.executable).with_name("trade-executor")
START = datetime(2024, 1, 1, tzinfo=UTC)

# Ten hourly WETH-USDC candles. Prices are chosen so every fill can be worked out by hand.
HAND_CANDLES = """\
timestamp,open,high,low,close,volume
2024-01-01T00:00:00Z,100,101,99,100,1000
2024-01-01T01:00:00Z,100,102,99,101,1000
2024-01-01T02:00:00Z,101,106,100,105,1000
2024-01-01T03:00:00Z,105,111,104,110,1000
2024-01-01T04:00:00Z,110,112,108,111,1000
2024-01-01T05:00:00Z,100,101,95,96,1000
2024-01-01T06:00:00Z,96,98,95,97,1000
2024-01-01T07:00:00Z,97,99,96,98,1000
2024-01-01T08:00:00Z,98,100,90,92,1000
2024-01-01T09:00:00Z,92,93,91,92,1000
"""

STRATEGY_HEADER = """\
TRADING_STRATEGY_ENGINE_VERSION = "0.1"
TRADING_STRATEGY_CYCLE = "1h"
RESERVE_CURRENCY = "USDC"
CHAIN_ID = 31337

def create_trading_universe(input):
    return input.create_universe()
"""

# Trades on fixed cycles (cycle 1 is 00:00): what each does is worked out in test_hand_checked.py.
HAND_STRATEGY = (
    STRATEGY_HEADER
    + """
SEEN = []

def decide_trades(input):
    pm = input.position_manager
    pair = input.universe.get_single_pair()
    SEEN.append((input.cycle, len(input.universe.closes(pair))))
    if input.cycle == 2:
        return pm.open_1x_long(pair, 1000)
    if input.cycle == 4:
        return pm.close_position(pm.get_current_position())
    if input.cycle == 5:
        return pm.open_1x_long(pair, 2200, stop_loss_pct=0.95)
    if input.cycle == 8:
        return pm.open_1x_long(pair, 1000, stop_loss_pct=0.95)
    return []
"""
)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def hand_files(tmp_path: Path) -> tuple[Path, Path]:
    """(strategy file, candle file) of the hand-checkable backtest."""
    return write(tmp_path / "hand.py", HAND_STRATEGY), write(tmp_path / "WETH-USDC-1h.csv", HAND_CANDLES)


def cli(args: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The installed `trade-executor` command, without backtest settings leaking in from the environment."""
    environment = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("BACKTEST_", "STRATEGY_", "STATE_", "CANDLE_", "SYNTHETIC_", "EXECUTION_"))
    }
    return subprocess.run(
        [str(EXECUTABLE), *args], capture_output=True, text=True, env=environment, cwd=cwd, timeout=120
    )
