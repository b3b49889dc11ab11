"""Loading strategy files: the contract, every way it can be broken, and runtime errors."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from tradeexecutor.errors import UserError
from tradeexecutor.strategy.cycle import CycleDuration
from tradeexecutor.strategy.loader import StrategyLoadError, load_strategy_module
from tradeexecutor.strategy.module import ENGINE_VERSIONS, ExecutionMode, StrategyInput, StrategyModule
from tradeexecutor.strategy.user_code import StrategyRuntimeError

GOOD = """
from dataclasses import dataclass
from tradeexecutor.state.identifiers import ChainId
from tradeexecutor.strategy.cycle import CycleDuration

TRADING_STRATEGY_ENGINE_VERSION = "0.1"
TRADING_STRATEGY_CYCLE = CycleDuration.cycle_4h
RESERVE_CURRENCY = "USDC"
CHAIN_ID = ChainId.polygon
PARAMETERS = {"fast": 5, "slow": 20}
TRADING_PAIRS = ["WETH-USDC", ("WBTC", "USDC")]
STOP_LOSS_TIME_BUCKET = "15m"
NAME = "SMA crossover"
AUDIT_PAIRS = ["WETH-USDC"]

@dataclass
class Signal:
    strength: float

def create_trading_universe(input):
    return input.create_universe()

def decide_trades(input):
    return []
"""

HEADER = 'TRADING_STRATEGY_ENGINE_VERSION = "0.1"\nTRADING_STRATEGY_CYCLE = "1h"\nRESERVE_CURRENCY = "USDC"\nCHAIN_ID = 1\n'


def write(tmp_path: Path, source: str, name: str = "strategy.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(StrategyLoadError) as e:
        load_strategy_module(path)
    assert isinstance(e.value, UserError)
    assert str(path) in str(e.value)
    return e.value.problems


def test_good_module_loads_with_its_settings(tmp_path: Path) -> None:
    module = load_strategy_module(write(tmp_path, GOOD))
    assert isinstance(module, StrategyModule)
    assert module.engine_version == "0.1"
    assert module.cycle_duration is CycleDuration.cycle_4h
    assert module.time_bucket.value == "4h", "candles default to the cycle width"
    assert module.stop_loss_time_bucket.value == "15m"
    assert module.reserve_currency == "USDC"
    assert module.chain_id == 137 and module.chain_name == "polygon"
    assert module.parameters == {"fast": 5, "slow": 20}
    with pytest.raises(TypeError):
        module.parameters["fast"] = 1  # type: ignore[index]
    assert module.trading_pairs == ("WETH-USDC", "WBTC-USDC")
    assert module.display == {"NAME": "SMA crossover"}
    assert module.extra == {"AUDIT_PAIRS": ["WETH-USDC"]}
    assert module.module.Signal(1.0).strength == 1.0, "dataclasses in strategy files work"
    assert not (tmp_path / "__pycache__").exists(), "loading leaves no bytecode beside the strategy"


def test_two_files_with_the_same_name_are_separate_modules(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = load_strategy_module(
        write(
            tmp_path / "a",
            HEADER + "X = 1\ndef decide_trades(i): return []\ndef create_trading_universe(i): pass\n",
        )
    )
    second = load_strategy_module(
        write(
            tmp_path / "b",
            HEADER + "X = 2\ndef decide_trades(i): return []\ndef create_trading_universe(i): pass\n",
        )
    )
    assert first.extra["X"] == 1 and second.extra["X"] == 2


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        TRADING_STRATEGY_ENGINE_VERSION = 0.1
        trading_strategy_cycle = "1h"
        RESERVE_CURRENCY = 5
        CHAIN_ID = "ethereum"
        PARAMETERS = [1, 2]
        TRADING_PAIRS = "WETH-USDC"
        NAME = 7
        decide_trades = 42
        def create_trading_universe(timestamp, client, mode):
            pass
        """,
    )
    problems = problems_of(path)
    expected = [
        'TRADING_STRATEGY_ENGINE_VERSION must be a string such as "0.1", not float 0.1',
        "TRADING_STRATEGY_CYCLE is missing (found trading_strategy_cycle: names are case-sensitive)",
        'RESERVE_CURRENCY must be a token symbol such as "USDC", not int 5',
        "CHAIN_ID must be a positive integer chain id such as 1 or ChainId.polygon, not str 'ethereum'",
        "PARAMETERS must be a dict of name -> value, not list",
        'TRADING_PAIRS must be a list of tickers like "WETH-USDC" or (base, quote) tuples, not str',
        "NAME must be a string, not int",
        "decide_trades must be a function decide_trades(input: StrategyInput) -> list, not int",
        "create_trading_universe(timestamp, client, mode) has the wrong arguments; engine version 0.1 calls "
        "create_trading_universe(input: UniverseInput) -> TradingUniverse",
    ]
    assert len(problems) == len(expected)
    for problem, fragment in zip(problems, expected, strict=True):
        assert fragment in problem
    with pytest.raises(StrategyLoadError) as e:
        load_strategy_module(path)
    assert str(e.value).startswith(f"Strategy file {path} has 9 problems:\n  - ")


def test_empty_file_lists_everything_required(tmp_path: Path) -> None:
    problems = problems_of(write(tmp_path, "# nothing yet\n"))
    for name in (
        "TRADING_STRATEGY_ENGINE_VERSION",
        "TRADING_STRATEGY_CYCLE",
        "RESERVE_CURRENCY",
        "CHAIN_ID",
        "decide_trades",
        "create_trading_universe",
    ):
        assert any(p.startswith(f"{name} is missing") for p in problems), name
    assert len(problems) == 6


def test_unknown_engine_version_names_the_supported_ones(tmp_path: Path) -> None:
    source = (
        HEADER.replace('"0.1"', '"0.9"')
        + "def decide_trades(input): return []\ndef create_trading_universe(input): pass\n"
    )
    (problem,) = problems_of(write(tmp_path, source))
    supported = ", ".join(ENGINE_VERSIONS)
    assert (
        problem
        == f"TRADING_STRATEGY_ENGINE_VERSION '0.9' is not supported; this executor supports {supported}."
    )


def test_bad_cycle_and_buckets(tmp_path: Path) -> None:
    source = HEADER.replace('"1h"', '"2h"') + (
        'CANDLE_TIME_BUCKET = "1h"\nSTOP_LOSS_TIME_BUCKET = "4h"\n'
        "def decide_trades(input): return []\ndef create_trading_universe(input): pass\n"
    )
    cycle, stop_loss = problems_of(write(tmp_path, source))
    assert cycle == "TRADING_STRATEGY_CYCLE '2h' is not one of 1m, 5m, 15m, 30m, 1h, 4h, 8h, 12h, 1d, 7d."
    assert stop_loss.startswith("STOP_LOSS_TIME_BUCKET 4h must be finer than the candle time bucket 1h")
    (wrong_type,) = problems_of(
        write(
            tmp_path,
            HEADER.replace('"1h"', "3600")
            + "def decide_trades(i): return []\ndef create_trading_universe(i): pass\n",
        )
    )
    assert (
        wrong_type == 'TRADING_STRATEGY_CYCLE must be a CycleDuration or a string such as "1h", not int 3600.'
    )


def test_syntax_error_names_file_line_and_text(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "\ndef decide_trades(input)\n    return []\n")
    (problem,) = problems_of(path)
    assert problem.startswith("SyntaxError at line 6:")
    assert f"{path}:6" in problem
    assert "def decide_trades(input)" in problem
    assert "Traceback" not in problem


def test_indentation_error_is_a_syntax_error_too(tmp_path: Path) -> None:
    (problem,) = problems_of(write(tmp_path, "def f():\nreturn 1\n"))
    assert problem.startswith("IndentationError at line 2:")
    assert "return 1" in problem


def test_syntax_error_in_an_imported_helper_names_the_helper(tmp_path: Path) -> None:
    (tmp_path / "helper_broken.py").write_text("x = (\n")
    path = write(
        tmp_path, "import sys, os\nsys.path.insert(0, os.path.dirname(__file__))\nimport helper_broken\n"
    )
    (problem,) = problems_of(path)
    assert "helper_broken.py:1" in problem


def test_import_error_names_file_line_and_text(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "import numpy\nfrom tradeexecutor.strategy.nothing_here import magic\n")
    (problem,) = problems_of(path)
    assert problem.startswith(
        "executing it failed at line 6: ModuleNotFoundError: No module named 'tradeexecutor.strategy.nothing_here'"
    )
    assert f"{path}:6" in problem
    assert "from tradeexecutor.strategy.nothing_here import magic" in problem
    assert "Traceback" not in problem


def test_module_level_exception_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "LOOKBACK = 24 * DAYS\n")
    (problem,) = problems_of(path)
    assert "line 5: NameError: name 'DAYS' is not defined" in problem
    assert "LOOKBACK = 24 * DAYS" in problem


def test_missing_path_and_directory(tmp_path: Path) -> None:
    (problem,) = problems_of(tmp_path / "nope.py")
    assert problem == "the file does not exist; check --strategy-file / STRATEGY_FILE."
    (problem,) = problems_of(tmp_path)
    assert "not a file" in problem


RUNTIME = (
    HEADER
    + """
import pandas as pd

def create_trading_universe(input):
    return "not a universe"

def helper(values):
    return values["missing_column"]

def decide_trades(input):
    if input.cycle == 1:
        return None
    if input.cycle == 2:
        return {"trade": 1}
    frame = pd.DataFrame({"close": [1.0, 2.0]})
    return helper(frame)
"""
)


def strategy_input(cycle: int) -> StrategyInput:
    return StrategyInput(
        timestamp=pd.Timestamp(datetime(2024, 1, 1, cycle, tzinfo=UTC)),
        cycle=cycle,
        universe=None,  # type: ignore[arg-type]
        state=None,
        pricing_model=None,
        position_manager=None,
        parameters={},
        execution_mode=ExecutionMode.backtest,
        cycle_duration=CycleDuration.cycle_1h,
    )


def test_runtime_error_traceback_points_into_the_strategy_file(tmp_path: Path) -> None:
    path = write(tmp_path, RUNTIME)
    module = load_strategy_module(path)
    with pytest.raises(StrategyRuntimeError) as e:
        module.decide_trades(strategy_input(3))
    error = e.value
    assert isinstance(error, UserError)
    assert error.summary.startswith(f"decide_trades() in {path.resolve()}:12 raised KeyError at cycle 3")
    # pandas chains its own internal KeyError first; the user's frames are in the last section.
    text = error.user_traceback.rsplit("Traceback (most recent call last):\n", 1)[1]
    first_frame = text.splitlines()[0]
    assert first_frame == f'  File "{path.resolve()}", line 20, in decide_trades'
    assert "return helper(frame)" in text
    assert f'File "{path.resolve()}", line 12, in helper' in text
    assert 'return values["missing_column"]' in text
    assert "tradeexecutor/strategy" not in text, "our own frames are cut"
    assert text.rstrip().endswith("KeyError: 'missing_column'")
    assert isinstance(error.original, KeyError)


def test_wrong_return_values_are_named(tmp_path: Path) -> None:
    module = load_strategy_module(write(tmp_path, RUNTIME))
    with pytest.raises(
        UserError, match=r"returned NoneType at cycle 1 .*must return a list of trades; return \[\] when"
    ):
        module.decide_trades(strategy_input(1))
    with pytest.raises(UserError, match="returned dict at cycle 2"):
        module.decide_trades(strategy_input(2))
    with pytest.raises(
        UserError, match="create_trading_universe.. in .* returned str; it must return a TradingUniverse"
    ):
        module.create_trading_universe(None)  # type: ignore[arg-type]
