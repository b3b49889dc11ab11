"""`trade-executor demo`: the README's first command."""

from __future__ import annotations

from pathlib import Path

import typer

from tradeexecutor.cli.options import HttpPort, LogLevel, MaxCycles, StrategyFile


def demo(
    strategy_file: StrategyFile = None,
    http_port: HttpPort = 3456,
    max_cycles: MaxCycles = None,
    log_level: LogLevel = "info",
) -> None:
    """Start a local chain with a simulated market and trade the SMA strategy on it live (Ctrl-C stops)."""
    from tradeexecutor.cli.demo_session import DEMO_STRATEGY, DemoOptions, run_demo

    code = run_demo(
        DemoOptions(
            strategy_file=Path(strategy_file) if strategy_file else DEMO_STRATEGY,
            http_port=http_port,
            max_cycles=max_cycles,
            log_level=log_level,
        )
    )
    if code:
        raise typer.Exit(code)
