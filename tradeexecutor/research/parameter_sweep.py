"""`sweep`: many backtests of one strategy over a parameter space, on Dask.

    result = sweep("strategies/sma_crossover.py", grid={"fast": "5:50:5", "slow": [20, 50, 100]},
                   objective="sharpe", start="2024-01-01", end="2025-01-01")
    result.results.head()        # one row per run, best first

The steps, in order, so every mistake is found before a cluster starts:

1. the strategy is loaded and the grid checked against its PARAMETERS (unknown names, bad
   ranges and an empty grid are one sentence);
2. the candles are loaded once (`CandleSet`) and one backtest is prepared with the defaults,
   so candles missing for the range are one sentence too;
3. the runs already in the output directory (same key) are skipped;
4. a Dask client is opened (`tradeexecutor.research.cluster`), the candles are scattered to
   every worker once, and the runs are submitted; results are written as they arrive
   (`ResultStore`), a progress callback hears about each one;
5. with `trials`, Optuna (TPE, seeded) proposes the combinations instead: as many trials in
   flight as the cluster has worker threads, each told its objective when it finishes;
6. at the end (or on Ctrl-C, which keeps every finished run and closes the cluster) the
   results are saved sorted by the objective and the heatmap report is written.
"""

from __future__ import annotations

import contextlib
import datetime
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from tradeexecutor.backtest.engine import BacktestConfig, prepare_backtest
from tradeexecutor.errors import UserError
from tradeexecutor.research.backtest import RunConfig, resolve_range
from tradeexecutor.research.cluster import dask_client, worker_threads
from tradeexecutor.research.data import CandleSet, load_candle_set
from tradeexecutor.research.grid import Dimension, SearchSpace
from tradeexecutor.research.report import render_report, write_report
from tradeexecutor.research.result import objective_column, require_long_enough, summary_columns
from tradeexecutor.research.results import ResultStore, run_key
from tradeexecutor.research.strategies import StrategySpec, strategy_spec
from tradeexecutor.research.worker import RunJob, failed_row, run_job
from tradeexecutor.strategy.module import StrategyModule
from tradeexecutor.strategy.parameters import ParameterError, check_name, check_value, with_parameters

Progress = Callable[[int, int], None]
SAVE_EVERY_SECONDS = 10.0  # each save rewrites both files: often enough, not O(n^2) work
NO_WORKERS_TIMEOUT = 30.0


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C during a sweep; the finished runs were saved. `result` holds them."""

    def __init__(self, result: SweepResult) -> None:
        super().__init__(
            f"Sweep interrupted: {result.ran} finished runs kept in {result.results_file} "
            "(run the same sweep again to do the rest)."
        )
        self.result = result


@dataclass
class SweepResult:
    results: pd.DataFrame  # every run in the output directory, best first
    output: Path
    report: Path | None
    objective: str
    ran: int  # runs executed by this call
    skipped: int  # runs found already done
    failed: int  # of those executed, how many failed

    @property
    def results_file(self) -> Path:
        return self.output / "results.parquet"

    def table(self, rows: int = 10) -> str:
        """The best `rows` runs as plain text: parameters, the objective and a few figures."""
        frame = self.results
        if frame.empty:
            return "No runs."
        params = [c for c in frame.columns if c.startswith("param.")]
        figures = [c for c in (self.objective, "cagr", "max_drawdown", "total_trades") if c in frame.columns]
        shown = frame[[*params, "status", *dict.fromkeys(figures)]].head(rows).copy()
        shown.columns = [c.removeprefix("param.") for c in shown.columns]
        return shown.to_string(index=False, float_format=lambda v: f"{v:.4f}")

    def describe(self) -> str:
        parts = [f"Ran {self.ran} backtests ({self.failed} failed)"]
        if self.skipped:
            parts.append(f"skipped {self.skipped} already in {self.output}")
        text = ", ".join(parts) + f"; results in {self.output / 'results.parquet'} and results.csv"
        if self.report is not None:
            text += f", heatmaps in {self.report}"
        if self.failed:
            first = self.results[self.results["status"] != "ok"].iloc[0]
            text += f".\nFirst failure: {first['error']}"
        return text + "."

    @property
    def best(self) -> dict[str, Any] | None:
        ok = self.results[self.results["status"] == "ok"] if len(self.results) else self.results
        return None if ok.empty else ok.iloc[0].to_dict()


def _dimensions(grid: Any, declared: Mapping[str, Any], where: str) -> SearchSpace:
    """`grid` as `--grid` texts, or a dict of name -> spec text or list of values."""
    if grid is None:
        return SearchSpace(())
    if isinstance(grid, Mapping):
        texts, dims = [], []
        for name, values in grid.items():
            if isinstance(values, str):
                texts.append(f"{name}={values}")
                continue
            check_name(name, declared, where)
            values = tuple(values) if isinstance(values, Sequence | range) else (values,)
            if not values:
                raise ParameterError(f"The grid gives {name} no values; list at least one.")
            dims.append(Dimension(name, tuple(check_value(name, v, declared[name]) for v in values)))
        space = SearchSpace.parse(texts, declared, where)
        return SearchSpace(space.dimensions + tuple(dims))
    return SearchSpace.parse(list(grid), declared, where)


def _preflight(
    module: StrategyModule, candles: CandleSet, start: datetime.datetime, end: datetime.datetime
) -> None:
    """Build one backtest with the defaults: data missing for the range is reported now, once."""
    prepare_backtest(module, candles.market_data(start, end), BacktestConfig(start=start, end=end))


def _describe_exception(error: BaseException) -> str:
    name = type(error).__name__
    if name == "KilledWorker":
        return (
            "the worker running this run died, and again when it was retried (out of memory, killed, or a "
            "crash in native code); see the worker's log"
        )
    return f"the cluster could not run it ({name}: {error})"


@dataclass
class _Plan:
    spec: StrategySpec
    module: StrategyModule
    candles: CandleSet
    start: datetime.datetime
    end: datetime.datetime
    config: RunConfig
    space: SearchSpace
    store: ResultStore
    column: str
    maximise: bool

    def job(self, parameters: dict[str, Any]) -> RunJob:
        fixed = dict(parameters)
        key = run_key(
            self.spec.fingerprint(),
            {**self.module.parameters, **fixed},
            self.candles.fingerprint,
            f"{self.start.isoformat()}|{self.end.isoformat()}|{self.config.key()}",
        )
        return RunJob(key=key, parameters=fixed, start=self.start, end=self.end, config=self.config)


class _Saver:
    """Writes the results with the first finished run, then at most every SAVE_EVERY_SECONDS,
    and always at the end (the caller's final save)."""

    def __init__(self, store: ResultStore) -> None:
        self.store = store
        self.last = -SAVE_EVERY_SECONDS

    def add(self, row: dict[str, Any]) -> None:
        self.store.add([row])
        if time.monotonic() - self.last >= SAVE_EVERY_SECONDS:
            self.store.save()
            self.last = time.monotonic()


@contextlib.contextmanager
def _cluster(address: str | None, workers: int | None) -> Iterator[Any]:
    with dask_client(address, workers) as client:
        if worker_threads(client) == 0 or not client.scheduler_info().get("workers"):
            try:
                client.wait_for_workers(1, timeout=NO_WORKERS_TIMEOUT)
            except TimeoutError:
                raise UserError(
                    f"The Dask scheduler at {address} has no workers (waited {NO_WORKERS_TIMEOUT:.0f} s); "
                    f"start some with `dask worker {address}`."
                ) from None
        yield client


class _Runs:
    """Runs on the cluster, yielded as they finish.

    The candles are scattered to every worker once. Dask keeps scattered data only in the
    workers' memory, so when workers die the last copy can go with them: runs then come back
    cancelled through no fault of their own, and are submitted again with the candles
    scattered afresh (up to `RESUBMITS` times). A run whose own worker died twice comes back
    as `KilledWorker` and is recorded as failed.
    """

    RESUBMITS = 3

    def __init__(self, client: Any, plan: _Plan) -> None:
        from distributed import as_completed

        self.client = client
        self.plan = plan
        self.shared = client.scatter([plan.candles], broadcast=True, hash=False)[0]
        self.futures: dict[Any, tuple[RunJob, int, Any]] = {}
        self.completed = as_completed([], loop=client.loop)

    def submit(self, job: RunJob, tag: Any = None, attempt: int = 0) -> None:
        if self.shared.status != "finished":  # the workers holding the candles are gone
            self.shared = self.client.scatter([self.plan.candles], broadcast=True, hash=False)[0]
        future = self.client.submit(
            run_job, self.plan.spec, self.shared, job, key=f"run-{job.key}-{attempt}", pure=False
        )
        self.futures[future] = (job, attempt, tag)
        self.completed.add(future)

    def __len__(self) -> int:
        return len(self.futures)

    def finished(self) -> Iterator[tuple[RunJob, Any, dict[str, Any]]]:
        """(job, tag, row) for each run as it completes; ends when none is left."""
        for future in self.completed:
            job, attempt, tag = self.futures.pop(future)
            try:
                row = future.result()
            except Exception as e:
                lost = future.status == "cancelled" or type(e).__name__ == "FutureCancelledError"
                if lost and attempt < self.RESUBMITS:
                    self.submit(job, tag, attempt + 1)
                    continue
                row = failed_row(job, _describe_exception(e))
            yield job, tag, row

    def cancel(self) -> None:
        if self.futures:
            self.client.cancel(list(self.futures))


def _run_grid(
    plan: _Plan,
    jobs: list[RunJob],
    address: str | None,
    workers: int | None,
    progress: Progress | None,
    total: int,
) -> tuple[int, int]:
    done = total - len(jobs)
    ran = failed = 0
    saver = _Saver(plan.store)
    if progress is not None:
        progress(done, total)
    if not jobs:
        return 0, 0
    with _cluster(address, workers) as client:
        runs = _Runs(client, plan)
        for job in jobs:
            runs.submit(job)
        try:
            for _, _, row in runs.finished():
                ran += 1
                failed += row["status"] != "ok"
                saver.add(row)
                done += 1
                if progress is not None:
                    progress(done, total)
        finally:
            runs.cancel()
    return ran, failed


def _run_trials(
    plan: _Plan, trials: int, seed: int, address: str | None, workers: int | None, progress: Progress | None
) -> tuple[int, int, int]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="maximize" if plan.maximise else "minimize", sampler=optuna.samplers.TPESampler(seed=seed)
    )
    saver = _Saver(plan.store)
    ran = failed = skipped = 0
    asked = 0
    if progress is not None:
        progress(0, trials)

    def tell(trial: Any, row: dict[str, Any]) -> None:
        value = row.get(plan.column) if row.get("status") == "ok" else None
        if value is None or pd.isna(value):
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        else:
            study.tell(trial, float(value))

    with _cluster(address, workers) as client:
        runs = _Runs(client, plan)
        slots = worker_threads(client)

        def fill() -> None:
            nonlocal asked, skipped
            while asked < trials and len(runs) < slots:
                trial = study.ask()
                asked += 1
                job = plan.job({d.name: d.suggest(trial) for d in plan.space.dimensions})
                if plan.store.done(job.key):  # resumed: told what it scored last time
                    tell(trial, plan.store.rows[job.key])
                    skipped += 1
                    continue
                runs.submit(job, trial)

        try:
            fill()
            for _, trial, row in runs.finished():
                tell(trial, row)
                ran += 1
                failed += row["status"] != "ok"
                saver.add(row)
                if progress is not None:
                    progress(ran + skipped, trials)
                fill()
        finally:
            runs.cancel()
    if progress is not None:
        progress(trials, trials)
    return ran, failed, skipped


def sweep(
    strategy: Any,
    grid: Any = None,
    *,
    samples: int | None = None,
    trials: int | None = None,
    objective: str = "sharpe",
    parameters: Mapping[str, Any] | None = None,
    texts: Sequence[str] = (),
    start: datetime.datetime | str | None = None,
    end: datetime.datetime | str | None = None,
    candles: Any = None,
    synthetic_seed: int = 0,
    initial_cash: float | Decimal = 10_000,
    config: RunConfig | None = None,
    output: Path | str | None = None,
    dask_scheduler: str | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
    seed: int = 0,
    report: bool = True,
    **functions: Any,
) -> SweepResult:
    """Run a parameter sweep (see the module docstring). `grid`: `--grid`-style texts or a dict
    of name -> "5:50:5" / [values]; `samples`: that many random combinations of it; `trials`:
    an Optuna search over it; `parameters`: fixed overrides; `output`: the results directory
    (default `sweeps/<strategy name>`)."""
    spec = strategy_spec(strategy, **functions)
    where = f"Strategy {spec.label}"
    module = with_parameters(spec.load(), texts=texts, values=dict(parameters or {}))
    space = _dimensions(grid, module.parameters, where)
    if not space.dimensions or space.size == 0:
        raise UserError(
            "The grid is empty: give at least one parameter to sweep, e.g. --grid fast=5:50:5 --grid slow=20,50,100."
        )
    if samples is not None and samples <= 0:
        raise UserError(f"--samples must be a positive number of combinations, not {samples}.")
    if trials is not None and trials <= 0:
        raise UserError(f"--trials must be a positive number of trials, not {trials}.")
    if samples is not None and trials is not None:
        raise UserError(
            "Give either --samples (random combinations) or --trials (an Optuna search), not both."
        )
    start_utc, end_utc = resolve_range(candles, start, end)
    candle_set = load_candle_set(
        module, candles=candles, start=start_utc, end=end_utc, synthetic_seed=synthetic_seed
    )
    start_utc, end_utc = start_utc or candle_set.start, end_utc or candle_set.end
    _preflight(module, candle_set, start_utc, end_utc)
    columns = summary_columns()
    column, maximise = objective_column(objective, columns)
    require_long_enough(objective, column, start_utc, end_utc)
    directory = (
        Path(output) if output is not None else Path("sweeps") / Path(spec.label).stem.replace(" ", "-")
    )
    store = ResultStore(directory, column, maximise)
    run_config = config or RunConfig(initial_cash=Decimal(str(initial_cash)))
    plan = _Plan(spec, module, candle_set, start_utc, end_utc, run_config, space, store, column, maximise)
    ran = failed = skipped = 0
    interrupted: KeyboardInterrupt | None = None
    try:
        if trials is not None:
            ran, failed, skipped = _run_trials(plan, trials, seed, dask_scheduler, workers, progress)
        else:
            combos = space.sample(samples, seed) if samples is not None else list(space.combinations())
            jobs = [plan.job(c) for c in combos]
            unique = {j.key: j for j in jobs}  # a grid listing a value twice runs it once
            pending = [j for j in unique.values() if not store.done(j.key)]
            skipped = len(jobs) - len(pending)
            ran, failed = _run_grid(plan, pending, dask_scheduler, workers, progress, len(jobs))
    except KeyboardInterrupt as e:
        interrupted = e
    frame = store.save()
    report_path = None
    if report:
        html = render_report(frame, space.names, column, maximise, f"Sweep of {spec.label}: {column}")
        if html is not None:
            report_path = directory / "report.html"
            write_report(report_path, html)
    result = SweepResult(frame, directory, report_path, column, ran, skipped, failed)
    if interrupted is not None:
        raise SweepInterrupted(result) from interrupted
    return result


def sweep_with_progress(*args: Any, **kwargs: Any) -> SweepResult:
    """`sweep` under a rich progress bar on stderr (runs done, rate, time left)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    console = Console(stderr=True)
    with Progress(
        TextColumn("Sweeping"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("backtests"),
        TimeRemainingColumn(),
        console=console,
        disable=not console.is_terminal,
        transient=True,
    ) as bar:
        task = bar.add_task("sweep", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return sweep(*args, progress=progress, **kwargs)
