"""`trade-executor backtest` and `start --execution-type backtest` end to end, and every bad input."""

from __future__ import annotations

import os
import pty
import re
import signal
import subprocess
import time
from decimal import Decimal
from pathlib import Path

import pytest

from tests.backtest.helpers import EXECUTABLE, HAND_CANDLES, STRATEGY_HEADER, cli, hand_files, write
from tests.backtest.test_summary import ROWS
from tests.state.factories import ledger_matches_holdings
from tradeexecutor.backtest.state_file import read_state_file
from tradeexecutor.cli.main import run

REPO = Path(__file__).resolve().parents[2]
SMA = REPO / "strategies" / "sma_crossover.py"


def invoke(args: list[str], capsys) -> tuple[int, str, str]:
    """Run the CLI in this process (fast) and return (exit code, stdout, stderr)."""
    try:
        run(args)
        code = 0
    except SystemExit as e:
        code = int(e.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_backtest_end_to_end_on_a_synthetic_market(tmp_path: Path) -> None:
    state_file, report = tmp_path / "out" / "sma.json", tmp_path / "out" / "sma.html"
    result = cli(
        [
            "backtest",
            f"--strategy-file={SMA}",
            "--backtest-start=2024-01-01",
            "--backtest-end=2024-01-02",
            "--synthetic-data",
            f"--state-file={state_file}",
            f"--report={report}",
        ]
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [re.split(r"\s{2,}", line)[0] for line in lines] == ROWS
    rows = dict(re.split(r"\s{2,}", line.strip()) for line in lines)

    state = read_state_file(state_file)
    closed = state.portfolio.closed_positions
    assert len(closed) > 0, "a day of 1-minute crossovers trades"
    assert rows["Round trips"] == str(sum(1 for p in closed.values() if p.has_executed_trades()))
    filled = [t for p in state.portfolio.all_positions() for t in p.trades.values() if t.is_success]
    assert rows["Trades executed"] == str(len(filled))
    assert rows["Sharpe"] == "n/a (needs ≥ 30 days)"
    assert rows["Trading period length"] == "1 day"
    assert rows["Value at end"] == f"${state.portfolio.total_equity():,.2f}"
    assert state.cycle.completed_count == 24 * 60

    html = report.read_text()
    # the dashboard's charts (drawn in a browser by tests/dashboard/test_browser_pages.py)
    for name in ("candles:WETH-USDC", "plot:WETH-USDC:fast SMA", "buys:WETH-USDC", "equity", "drawdown"):
        assert f'"name":"{name}"' in html, name
    assert not re.search(r"<script[^>]*\bsrc=|<link|<img|<iframe", html), "the report must load nothing"


def test_backtest_json_prints_the_summary_figures_as_numbers(tmp_path: Path) -> None:
    """The summary's own figures: trades are filled swaps, round trips closed positions, and a
    run of 35 days (past the 30 the annualised figures need) has all of them."""
    import json

    from tradeexecutor.analysis.summary import calculate_summary

    state_file = tmp_path / "sma.json"
    args = [
        "backtest",
        f"--strategy-file={SMA}",
        "--backtest-start=2024-01-01",
        "--backtest-end=2024-02-05",
        "--backtest-candle-time-frame-override=1h",
        "--synthetic-data",
        f"--state-file={state_file}",
    ]
    result = cli([*args, "--json"])
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout, parse_float=Decimal)  # one JSON object and nothing else
    state = read_state_file(state_file)
    summary = calculate_summary(state)
    filled = [t for t in state.portfolio.all_trades() if t.is_success]
    assert document["total_trades"] == summary.total_trades == len(filled)
    assert document["round_trips"] == summary.round_trips == len(state.portfolio.closed_positions) > 0
    assert document["total_trades"] >= 2 * document["round_trips"]  # a round trip is a buy and a sell
    assert document["cycles"] == 35 * 24 and document["period_days"] == Decimal("35")
    assert document["value_at_end"] == state.portfolio.total_equity().quantize(Decimal("0.000001"))
    assert float(document["return_pct"]) == pytest.approx(summary.return_pct * 100, abs=1e-6)
    assert summary.annualised_return_pct is not None and summary.sharpe is not None
    assert float(document["annualised_return_pct"]) == pytest.approx(
        summary.annualised_return_pct * 100, abs=1e-6
    )
    assert float(document["max_drawdown_pct"]) == pytest.approx(-summary.max_drawdown * 100, abs=1e-6)
    assert float(document["sharpe"]) == pytest.approx(summary.sharpe, abs=1e-6)
    assert (document["sortino"] is None) == (summary.sortino is None)
    assert (
        document["won_round_trips"] + document["lost_round_trips"] + document["zero_profit_round_trips"]
        == document["round_trips"]
    )
    assert float(document["round_trip_win_pct"]) == pytest.approx(
        document["won_round_trips"] / document["round_trips"] * 100, abs=1e-6
    )
    assert document["start"] == "2024-01-01T00:00:00Z" and document["state_file"] == str(state_file)
    # the same run as a table: the same numbers
    table = dict(re.split(r"\s{2,}", line.strip()) for line in cli(args).stdout.splitlines())
    assert table["Trades executed"] == str(document["total_trades"])
    assert table["Round trips"] == str(document["round_trips"])

    # a run shorter than 30 days: the annualised figures are null, not noise
    short = cli([*args[:3], "--backtest-end=2024-01-01T12:00", *args[4:], "--json"])
    assert short.returncode == 0, short.stderr
    brief = json.loads(short.stdout)
    assert brief["annualised_return_pct"] is None and brief["sharpe"] is None and brief["sortino"] is None
    assert brief["return_pct"] is not None


def test_start_with_backtest_execution_type_is_the_same_run(tmp_path: Path) -> None:
    common = [
        f"--strategy-file={SMA}",
        "--backtest-start=2024-01-01T00:00:00Z",
        "--backtest-end=2024-01-01T06:00:00Z",
        "--synthetic-data",
        "--synthetic-seed=3",
        "--initial-cash=2500",
    ]
    a = cli(["backtest", *common, f"--state-file={tmp_path / 'a.json'}"])
    b = cli(["start", "--execution-type=backtest", *common, f"--state-file={tmp_path / 'b.json'}"])
    assert a.returncode == b.returncode == 0, a.stderr + b.stderr
    assert a.stdout == b.stdout
    assert "$2,500.00" in a.stdout
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()


def test_start_needs_an_execution_type_and_a_strategy(capsys) -> None:
    code, _, err = invoke(["start", "--execution-type=uniswap_v2_hot_wallet"], capsys)
    assert code == 1
    assert "No strategy file given" in err
    code, _, err = invoke(["start"], capsys)
    assert code == 1 and "uniswap_v2_hot_wallet (live), dummy (paper trading) or backtest" in err


def test_hand_checked_backtest_through_the_cli(tmp_path: Path, capsys) -> None:
    strategy, candles = hand_files(tmp_path)
    code, out, err = invoke(
        [
            "backtest",
            f"--strategy-file={strategy}",
            f"--candle-data={candles}",
            "--backtest-start=2024-01-01",
            "--backtest-end=2024-01-01T10:00",
            f"--state-file={tmp_path / 'hand.json'}",
        ],
        capsys,
    )
    assert code == 0, err
    assert re.search(r"Cash left at the end\s+\$9,778\.88", out)
    assert read_state_file(tmp_path / "hand.json").portfolio.cash() == Decimal("9778.87745")


@pytest.mark.parametrize(
    ("option", "quantity"),
    [
        ("--backtest-slippage-bps=100", Decimal(997) / Decimal(101)),  # price 1 % worse: 101
        # a pool of 997 WETH and 99,700 USDC: 997 USDC in (after the fee) gives 997 x 997 / (99,700 + 997)
        ("--backtest-pool-liquidity=99700", Decimal(997) * 997 / (99700 + 997)),
    ],
)
def test_slippage_options_change_the_fills(tmp_path: Path, capsys, option: str, quantity: Decimal) -> None:
    strategy, candles = hand_files(tmp_path)
    state_file = tmp_path / "slip.json"
    code, _, err = invoke(
        [
            "backtest",
            f"--strategy-file={strategy}",
            f"--candle-data={candles}",
            "--backtest-start=2024-01-01",
            "--backtest-end=2024-01-01T10:00",
            f"--state-file={state_file}",
            option,
        ],
        capsys,
    )
    assert code == 0, err
    first_buy = read_state_file(state_file).portfolio.get_trade(1)
    assert first_buy.executed_quantity_raw == first_buy.pair.base.to_raw(quantity)


# --- bad input: one sentence, non-zero exit, nothing half-written -------------------------------

RAISING = (
    STRATEGY_HEADER
    + """
def decide_trades(input):
    pm = input.position_manager
    if input.cycle == 2:
        return pm.open_1x_long(input.universe.get_single_pair(), 1000)
    if input.cycle == 3:
        return helper(input)
    return []

def helper(input):
    return 1 / 0
"""
)


def test_decide_trades_that_raises_points_into_the_strategy_and_saves_the_state(
    tmp_path: Path, capsys
) -> None:
    strategy = write(tmp_path / "raising.py", RAISING)
    candles = write(tmp_path / "WETH-USDC-1h.csv", HAND_CANDLES)
    state_file = tmp_path / "raising.json"
    code, _, err = invoke(
        [
            "backtest",
            f"--strategy-file={strategy}",
            f"--candle-data={candles}",
            "--backtest-start=2024-01-01",
            "--backtest-end=2024-01-01T10:00",
            f"--state-file={state_file}",
        ],
        capsys,
    )
    assert code == 1
    first = err.splitlines()[0]
    assert first.startswith(f"Error: decide_trades() in {strategy.resolve()}:")
    assert "raised ZeroDivisionError at cycle 3" in first
    assert f'File "{strategy.resolve()}", line' in err and "return 1 / 0" in err
    assert "tradeexecutor/execution" not in err, "the traceback starts in the user's file"
    assert f"the state so far is saved in {state_file}" in err
    state = read_state_file(state_file)
    assert state.cycle.completed_count == 2  # cycles 1 and 2 completed, 3 raised
    [position] = state.portfolio.open_positions.values()
    assert position.quantity > 0


MISSING_FUNCTION = """
TRADING_STRATEGY_ENGINE_VERSION = "0.1"
TRADING_STRATEGY_CYCLE = "1h"
RESERVE_CURRENCY = "USDC"
CHAIN_ID = 31337

def create_trading_universe(input):
    return input.create_universe()
"""


@pytest.mark.parametrize(
    ("strategy", "csv", "extra", "message"),
    [
        (MISSING_FUNCTION, HAND_CANDLES, [], "decide_trades is missing; define decide_trades(input"),
        (
            RAISING.replace('"0.1"', '"9.9"'),
            HAND_CANDLES,
            [],
            "TRADING_STRATEGY_ENGINE_VERSION '9.9' is not supported",
        ),
        (
            RAISING,
            HAND_CANDLES,
            ["--backtest-start=2023-01-01", "--backtest-end=2023-02-01"],
            "has no 1h candles for WETH-USDC in the backtest range 2023-01-01 00:00 UTC .. 2023-02-01 00:00 UTC "
            "(the source has 2024-01-01 00:00 UTC .. 2024-01-01 10:00 UTC)",
        ),
        (
            RAISING,
            HAND_CANDLES,
            ["--backtest-start=2024-01-01", "--backtest-end=2024-01-02"],
            "is outside the candle data, which covers 2024-01-01 00:00 UTC .. 2024-01-01 10:00 UTC",
        ),
        (RAISING, "timestamp,open,high,low,close,volume\n", [], "holds no candles"),
        (
            RAISING,
            HAND_CANDLES.replace(
                "2024-01-01T03:00:00Z,105,111,104,110", "2024-01-01T03:00:00Z,105,111,104,nan"
            ),
            [],
            "has a candle with a missing close at 2024-01-01 03:00 UTC (line 5)",
        ),
        (
            RAISING,
            HAND_CANDLES,
            ["--backtest-start=2024-01-02", "--backtest-end=2024-01-01"],
            "is not after its start",
        ),
        (RAISING, HAND_CANDLES, ["--backtest-start=yesterday"], "--backtest-start 'yesterday' is not a date"),
        (RAISING, HAND_CANDLES, ["--initial-cash=lots"], "--initial-cash 'lots' is not a number"),
        (RAISING, HAND_CANDLES, ["--report=out.pdf"], "must end in .html"),
        (
            RAISING,
            HAND_CANDLES,
            ["--backtest-slippage-bps=10", "--backtest-pool-liquidity=5000"],
            "Give either --backtest-slippage-bps or --backtest-pool-liquidity, not both",
        ),
        (
            RAISING,
            HAND_CANDLES,
            ["--backtest-candle-time-frame-override=2h"],
            "--backtest-candle-time-frame-override '2h' is not one of",
        ),
    ],
    ids=[
        "missing-function",
        "engine-version",
        "range-before-data",
        "range-past-data",
        "empty-data",
        "nan-candle",
        "end-before-start",
        "bad-date",
        "bad-cash",
        "bad-report",
        "two-slippage-models",
        "bad-time-frame",
    ],
)
def test_bad_input_is_one_clear_sentence(tmp_path: Path, capsys, strategy, csv, extra, message) -> None:
    strategy_file = write(tmp_path / "s.py", strategy)
    candles = write(tmp_path / "WETH-USDC-1h.csv", csv)
    state_file = tmp_path / "state.json"
    args = {
        "--backtest-start": "2024-01-01",
        "--backtest-end": "2024-01-01T10:00",
        **dict(a.split("=", 1) for a in extra),
    }
    code, out, err = invoke(
        [
            "backtest",
            f"--strategy-file={strategy_file}",
            f"--candle-data={candles}",
            f"--state-file={state_file}",
            *(f"{k}={v}" for k, v in args.items()),
        ],
        capsys,
    )
    assert code != 0
    assert message in err
    assert err.startswith("Error: ")
    assert "Traceback" not in err
    assert out == ""
    assert not state_file.exists(), "nothing ran, so no state file is written"


def test_no_candle_source_given(tmp_path: Path, capsys) -> None:
    strategy = write(tmp_path / "s.py", RAISING)
    code, _, err = invoke(
        [
            "backtest",
            f"--strategy-file={strategy}",
            "--backtest-start=2024-01-01",
            "--backtest-end=2024-01-02",
        ],
        capsys,
    )
    assert code == 1
    assert "No candle data given; pass --candle-data PATH" in err


def test_progress_bar_only_on_a_terminal(tmp_path: Path) -> None:
    """A progress bar goes to stderr when it is a terminal; piped stderr stays clean."""
    args = [
        str(EXECUTABLE),
        "backtest",
        f"--strategy-file={SMA}",
        "--backtest-start=2024-01-01",
        "--backtest-end=2024-01-03",
        "--synthetic-data",
        f"--state-file={tmp_path / 'tty.json'}",
    ]
    master, slave = pty.openpty()
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "100"}
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=slave, env=env)
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        seen += chunk
    stdout = process.stdout.read()
    assert process.wait(timeout=120) == 0
    os.close(master)
    assert b"Backtesting" in seen and b"cycles" in seen
    assert b"Trading period length" in stdout

    piped = cli(args[1:-1] + [f"--state-file={tmp_path / 'pipe.json'}"])
    assert piped.returncode == 0
    assert "Backtesting" not in piped.stderr


def read_terminal_until(master: int, marker: bytes, limit: float = 60) -> bytes:
    """Read a pty until `marker` shows up (or it closes, or `limit` seconds pass)."""
    seen, deadline = b"", time.monotonic() + limit
    while marker not in seen and time.monotonic() < deadline:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        seen += chunk
    return seen


def test_ctrl_c_stops_between_cycles_and_saves_the_state(tmp_path: Path) -> None:
    state_file = tmp_path / "interrupted.json"
    args = [
        str(EXECUTABLE),
        "backtest",
        f"--strategy-file={SMA}",
        "--backtest-start=2024-01-01",
        "--backtest-end=2025-01-01",  # a year of 1-minute cycles: far longer than this test waits
        "--synthetic-data",
        f"--state-file={state_file}",
    ]
    master, slave = pty.openpty()
    env = {**os.environ, "TERM": "xterm", "COLUMNS": "100"}
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=slave, env=env)
    os.close(slave)
    read_terminal_until(master, b"/527040")  # the progress bar counts cycles: they are running
    process.send_signal(signal.SIGINT)
    err = read_terminal_until(master, b"the state so far is saved in").decode(errors="replace")
    assert process.wait(timeout=60) == 130
    os.close(master)
    assert "the state so far is saved in" in err
    state = read_state_file(state_file)
    assert 0 < state.cycle.completed_count < 365 * 24 * 60
    assert not state.portfolio.pending_trades()
    assert ledger_matches_holdings(state)
    assert process.stdout.read() == b""
