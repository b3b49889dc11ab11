"""The backtest as the CLI runs it, shared by `backtest` and `start --execution-type backtest`.

`build_options(...)` turns the raw option values into `BacktestOptions` (one clear sentence
per bad value); `backtest_cli(options)` runs `run_backtest_from_options` under a progress bar
on stderr (only when stderr is a terminal) and prints the summary table on stdout.

Imported only inside command bodies: it pulls in pandas.
"""

from __future__ import annotations

import datetime
import inspect
import sys
from pathlib import Path

import typer

from tradeexecutor.analysis.summary import format_table, summary_rows
from tradeexecutor.backtest.engine import Progress
from tradeexecutor.backtest.run import BacktestOptions, BacktestOutcome, run_backtest_from_options
from tradeexecutor.cli.amounts import parse_decimal, parse_positive_decimal
from tradeexecutor.data.time_bucket import VALID_DURATIONS, TimeBucket
from tradeexecutor.errors import UserError


def parse_time(text: str | None, flag: str) -> datetime.datetime:
    """'2024-01-01', '2024-01-01T12:00', '2024-01-01 12:00:00+02:00' -> aware UTC datetime.
    A time without an offset is UTC."""
    if not text:
        raise UserError(f"{flag} is required; give a date such as 2024-01-01 or an ISO datetime (UTC).")
    try:
        value = datetime.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise UserError(
            f"{flag} {text!r} is not a date or ISO datetime; write e.g. 2024-01-01 or 2024-01-01T12:00Z."
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)
    return value.astimezone(datetime.UTC)


def parse_bucket(text: str | None, flag: str) -> TimeBucket | None:
    if not text:
        return None
    try:
        return TimeBucket.parse(text)
    except ValueError:
        raise UserError(f"{flag} {text!r} is not one of {', '.join(VALID_DURATIONS)}.") from None


def build_options(
    *,
    strategy_file: Path | None,
    backtest_start: str | None,
    backtest_end: str | None,
    state_file: Path | None,
    id: str | None,
    candle_data: Path | None,
    cache_path: Path | None,
    synthetic_data: bool,
    synthetic_seed: int,
    backtest_candle_time_frame_override: str | None,
    backtest_stop_loss_time_frame_override: str | None,
    initial_cash: str,
    backtest_slippage_bps: str,
    backtest_pool_liquidity: str | None,
    report: Path | None,
    param: list[str] | None = None,
) -> BacktestOptions:
    if strategy_file is None:
        raise UserError("No strategy file given; pass --strategy-file PATH or set STRATEGY_FILE.")
    cash = parse_positive_decimal(initial_cash, "--initial-cash")
    if report is not None and report.suffix.lower() not in (".html", ".htm"):
        raise UserError(f"--report {report} must end in .html: the report is an HTML file.")
    return BacktestOptions(
        strategy_file=strategy_file,
        start=parse_time(backtest_start, "--backtest-start"),
        end=parse_time(backtest_end, "--backtest-end"),
        state_file=state_file,
        strategy_id=id,
        candle_data=candle_data if candle_data is not None else (None if synthetic_data else cache_path),
        synthetic_data=synthetic_data,
        synthetic_seed=synthetic_seed,
        candle_time_frame_override=parse_bucket(
            backtest_candle_time_frame_override, "--backtest-candle-time-frame-override"
        ),
        stop_loss_time_frame_override=parse_bucket(
            backtest_stop_loss_time_frame_override, "--backtest-stop-loss-time-frame-override"
        ),
        initial_cash=cash,
        slippage_bps=parse_decimal(backtest_slippage_bps, "--backtest-slippage-bps"),
        pool_liquidity=(
            parse_decimal(backtest_pool_liquidity, "--backtest-pool-liquidity")
            if backtest_pool_liquidity
            else None
        ),
        report_file=report,
        parameters=tuple(param or ()),
    )


def run_with_progress(options: BacktestOptions) -> BacktestOutcome:
    """Run under a rich progress bar on stderr; no bar when stderr is not a terminal."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    console = Console(stderr=True)
    with Progress(
        TextColumn("Backtesting"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("cycles"),
        TimeRemainingColumn(),
        console=console,
        disable=not console.is_terminal,
        transient=True,
    ) as bar:
        task = bar.add_task("backtest", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        callback: Progress = progress
        return run_backtest_from_options(options, progress=callback)


BACKTEST_OPTION_NAMES: tuple[str, ...] = tuple(inspect.signature(build_options).parameters)
"""The keyword arguments `build_options` takes: the backtest's CLI parameters by name."""


def backtest_cli(options: BacktestOptions, *, json_output: bool = False) -> BacktestOutcome:
    """Run the backtest with a progress bar and print the summary (as one JSON object with
    `json_output`). See the module docstring."""
    try:
        outcome = run_with_progress(options)
    except KeyboardInterrupt as e:
        for note in getattr(e, "__notes__", []):  # where the state so far was saved
            print(note, file=sys.stderr)
        raise
    if json_output:
        from tradeexecutor.cli.output import echo_json

        echo_json(outcome.document())
    else:
        typer.echo(format_table(summary_rows(outcome.summary)))
    print(f"State saved to {outcome.state_file}", file=sys.stderr)
    if outcome.report_file is not None:
        print(f"Report written to {outcome.report_file}", file=sys.stderr)
    return outcome
