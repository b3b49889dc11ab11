"""Research at scale: backtests and parameter sweeps from Python and notebooks.

    from tradeexecutor.research import run_backtest, sweep

`run_backtest(...)` runs one backtest and returns pandas tables; `sweep(...)` runs many on a
Dask cluster (an embedded one by default). See docs/research.md.

The names are imported on first use so `import tradeexecutor.research` stays cheap.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "BacktestResult",
    "CandleSet",
    "RunConfig",
    "SweepResult",
    "load_candle_set",
    "run_backtest",
    "sweep",
]

_WHERE = {
    "run_backtest": "tradeexecutor.research.backtest",
    "RunConfig": "tradeexecutor.research.backtest",
    "BacktestResult": "tradeexecutor.research.result",
    "CandleSet": "tradeexecutor.research.data",
    "load_candle_set": "tradeexecutor.research.data",
    "sweep": "tradeexecutor.research.parameter_sweep",
    "SweepResult": "tradeexecutor.research.parameter_sweep",
}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'tradeexecutor.research' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_WHERE[name]), name)
