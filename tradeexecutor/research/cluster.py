"""Where a sweep's runs execute: an embedded Dask `LocalCluster`, or an existing cluster.

- No address: a `LocalCluster` on this machine, one single-threaded worker process per core
  (a backtest is pure Python: threads would share one interpreter lock), no dashboard (so
  parallel runs never fight over port 8787). Closed, with its processes, when the sweep ends
  or is interrupted.
- An address (`tcp://host:8786`): a cluster started elsewhere, `dask scheduler` and
  `dask worker` on any number of machines, or the Dask Kubernetes operator (docs/research.md).
  A scheduler that does not answer within `CONNECT_TIMEOUT` seconds is one sentence.

A worker that dies mid-run (killed, out of memory, a crash in native code) makes the scheduler
run its task again elsewhere; after `ALLOWED_FAILURES` such retries the run is given up
(`KilledWorker`) and recorded as failed, and the sweep goes on.

Dask is imported here, only when a sweep starts: `trade-executor --help` does not pay for it.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from typing import Any

from tradeexecutor.errors import UserError

CONNECT_TIMEOUT = 8  # seconds: the sentence must come within 10
ALLOWED_FAILURES = 1  # a run whose worker died is retried once
WORKER_CONFIG = {
    "distributed.scheduler.allowed-failures": ALLOWED_FAILURES,
    # Workers sample their task threads' stacks every 10 ms for the dashboard's profile; for
    # pure-Python backtests that sampling competes for the interpreter lock and made each run
    # 20-30 % slower. The embedded cluster has no dashboard, so it is switched off.
    "distributed.worker.profile.enabled": False,
    # the event loop's health tick and the resource monitor wake the worker every 20 / 500 ms
    "distributed.admin.tick.interval": "500ms",
    "distributed.admin.system-monitor.interval": "2s",
}


class SchedulerUnreachable(UserError):
    """The Dask scheduler at the given address did not answer."""


def _set_allowed_failures(dask_scheduler: Any = None, count: int = ALLOWED_FAILURES) -> None:
    dask_scheduler.allowed_failures = count


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


@contextlib.contextmanager
def dask_client(address: str | None = None, workers: int | None = None) -> Iterator[Any]:
    """A connected `distributed.Client` (see the module docstring); closes what it started."""
    import dask
    from distributed import Client, LocalCluster

    if address:
        address = address.strip()
        if "://" not in address and ":" not in address:
            raise UserError(
                f"--dask-scheduler {address!r} is not an address; write e.g. tcp://10.0.0.5:8786."
            )
        try:
            client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as e:
            raise SchedulerUnreachable(
                f"The Dask scheduler at {address} did not answer within {CONNECT_TIMEOUT} s ({type(e).__name__}); "
                "check --dask-scheduler / DASK_SCHEDULER, or start one with `dask scheduler` and workers with "
                f"`dask worker {address}`."
            ) from None
        try:
            client.run_on_scheduler(_set_allowed_failures)
            yield client
        finally:
            client.close()
        return
    count = workers or default_workers()
    with dask.config.set(WORKER_CONFIG):
        cluster = LocalCluster(
            n_workers=count,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
            memory_limit=0,
        )
    try:
        client = Client(cluster, set_as_default=False)
        try:
            yield client
        finally:
            client.close()
    finally:
        cluster.close()


def worker_threads(client: Any) -> int:
    """How many runs the cluster executes at once."""
    return max(1, sum(client.nthreads().values()))
