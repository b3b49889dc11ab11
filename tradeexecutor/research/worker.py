"""What a Dask worker runs for one sweep combination: load, backtest, summarise, one row.

A failure is a row, not an exception: a strategy that raises for some parameter values
(`StrategyRuntimeError`, with the strategy's file, line and traceback) or any other user
error (bad data for that combination) is recorded and the sweep goes on. The strategy is
loaded afresh for every run, so module-level state cannot leak from one run into the next.
"""

from __future__ import annotations

import datetime
import os
import socket
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

from tradeexecutor.errors import UserError
from tradeexecutor.research.backtest import RunConfig, backtest_module
from tradeexecutor.research.data import CandleSet
from tradeexecutor.research.results import PARAM_PREFIX
from tradeexecutor.research.strategies import StrategySpec
from tradeexecutor.strategy.parameters import with_parameters


@dataclass(frozen=True)
class RunJob:
    key: str
    parameters: dict[str, Any]
    start: datetime.datetime
    end: datetime.datetime
    config: RunConfig = field(default_factory=RunConfig)


def parameter_columns(parameters: dict[str, Any]) -> dict[str, Any]:
    return {f"{PARAM_PREFIX}{name}": value for name, value in parameters.items()}


def failed_row(job: RunJob, error: str, trace: str | None = None, seconds: float = 0.0) -> dict[str, Any]:
    return {
        "key": job.key,
        **parameter_columns(job.parameters),
        "status": "failed",
        "error": error,
        "traceback": trace,
        "seconds": seconds,
    }


def run_job(spec: StrategySpec, candles: CandleSet, job: RunJob) -> dict[str, Any]:
    """One backtest as one results row (see the module docstring)."""
    began = time.perf_counter()
    row: dict[str, Any] = {"key": job.key, **parameter_columns(job.parameters)}
    try:
        module = with_parameters(spec.load(), values=job.parameters)
        result = backtest_module(module, candles, job.start, job.end, job.config)
    except UserError as e:
        summary = getattr(e, "summary", None) or str(e).splitlines()[0]
        return failed_row(job, summary, getattr(e, "user_traceback", None), time.perf_counter() - began)
    except Exception as e:  # the executor's own bug: recorded with its traceback, the sweep goes on
        return failed_row(
            job, f"{type(e).__name__}: {e}", traceback.format_exc(), time.perf_counter() - began
        )
    row.update(status="ok", error=None, traceback=None, seconds=time.perf_counter() - began)
    row.update(result.summary)
    row["worker"] = f"{socket.gethostname()}:{os.getpid()}"
    return row
