"""`trade-executor check-strategy`, run as the real installed command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

EXECUTABLE = Path(sys.executable).with_name("trade-executor")

STRATEGY = """
from tradeexecutor.strategy.cycle import CycleDuration
from tradeexecutor.state.identifiers import ChainId

TRADING_STRATEGY_ENGINE_VERSION = "0.1"
TRADING_STRATEGY_CYCLE = CycleDuration.cycle_4h
RESERVE_CURRENCY = "USDC"
CHAIN_ID = ChainId.arbitrum
TRADING_PAIRS = ["WETH-USDC"]
PARAMETERS = {"fast_ma": 12, "slow_ma": 26, "allocation": 0.75}
NAME = "MA crossover"

def create_trading_universe(input):
    return input.create_universe()

def decide_trades(input):
    return []
"""


def cli(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "STRATEGY_FILE"}
    return subprocess.run(
        [str(EXECUTABLE), *args],
        capture_output=True,
        text=True,
        env={**environment, **(env or {})},
        timeout=60,
    )


def test_flag_and_env_var_reach_the_same_setting(tmp_path: Path) -> None:
    path = tmp_path / "ma_crossover.py"
    path.write_text(STRATEGY)
    by_flag = cli(["check-strategy", "--strategy-file", str(path)])
    by_env = cli(["check-strategy"], env={"STRATEGY_FILE": str(path)})
    assert by_flag.returncode == 0, by_flag.stderr
    assert by_env.returncode == 0, by_env.stderr
    assert by_flag.stdout == by_env.stdout
    out = by_flag.stdout
    for line in (
        f"Strategy file:         {path}",
        "Engine version:        0.1",
        "Cycle:                 4h",
        "Reserve currency:      USDC",
        "Chain id:              42161 (arbitrum)",
        "Trading pairs:         WETH-USDC",
        "NAME:                  MA crossover",
        "  fast_ma = 12",
        "  allocation = 0.75",
        "Strategy module OK.",
    ):
        assert line in out.splitlines(), f"{line!r} not in:\n{out}"


def test_problems_are_listed_and_exit_non_zero(tmp_path: Path) -> None:
    path = tmp_path / "broken.py"
    path.write_text('TRADING_STRATEGY_ENGINE_VERSION = "7"\nCHAIN_ID = -1\n')
    result = cli(["check-strategy", "--strategy-file", str(path)])
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith(f"Error: Strategy file {path} has 6 problems:\n")
    assert (
        "TRADING_STRATEGY_ENGINE_VERSION '7' is not supported; this executor supports 0.1." in result.stderr
    )
    assert "CHAIN_ID must be a positive integer" in result.stderr
    assert "Traceback" not in result.stderr


def test_syntax_error_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "typo.py"
    path.write_text("X = 1\nif X == 1\n    pass\n")
    result = cli(["check-strategy", "--strategy-file", str(path)])
    assert result.returncode == 1
    assert f"{path}:2" in result.stderr and "if X == 1" in result.stderr
    assert "Traceback" not in result.stderr

    missing = cli(["check-strategy", "--strategy-file", str(tmp_path / "nope.py")])
    assert missing.returncode == 1
    assert "does not exist" in missing.stderr

    none_given = cli(["check-strategy"])
    assert none_given.returncode == 1
    assert (
        none_given.stderr.strip()
        == "Error: No strategy file given; pass --strategy-file PATH or set STRATEGY_FILE."
    )
