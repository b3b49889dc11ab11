"""A sweep's results on disk: one row per run in `results.parquet` and `results.csv`.

Each row holds the run's key, its parameters (`param.<name>` columns), its status (`ok` or
`failed`), what went wrong (`error`: one sentence with the strategy's file and line,
`traceback`: from the strategy's frame on), the seconds it took, and every summary figure
(`tradeexecutor.research.result.summary_figures`). Rows are sorted by the objective, best
first, failures last.

The key is a digest of the strategy's source, the parameters, the candles (their
fingerprint, which covers the data range) and the run settings: a sweep started again in the
same output directory skips every key already in the file, so an interrupted sweep resumes
where it stopped and a finished one is not repeated. Both files are written atomically
(temporary file, fsync, rename) after every batch of results, so Ctrl-C or a crash keeps every
finished run.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from tradeexecutor.backtest.state_file import write_file_atomically
from tradeexecutor.errors import UserError

PARAM_PREFIX = "param."
FIRST_COLUMNS = ("key", "status", "error")


def run_key(
    strategy_fingerprint: str, parameters: Mapping[str, Any], data_fingerprint: str, settings: str
) -> str:
    encoded = json.dumps({k: repr(v) for k, v in sorted(parameters.items())}, sort_keys=True)
    text = "\n".join((strategy_fingerprint, encoded, data_fingerprint, settings))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class ResultStore:
    """The rows of one output directory; `save()` rewrites both files."""

    def __init__(self, directory: Path, objective: str, maximise: bool) -> None:
        self.directory = Path(directory)
        self.parquet = self.directory / "results.parquet"
        self.csv = self.directory / "results.csv"
        self.objective = objective
        self.maximise = maximise
        self.rows: dict[str, dict[str, Any]] = {}
        if self.parquet.exists():
            try:
                existing = pd.read_parquet(self.parquet)
            except Exception as e:  # a truncated or foreign file: say so, do not overwrite it
                raise UserError(
                    f"Cannot read the earlier results {self.parquet} ({e}); move it away or pick another --output."
                ) from None
            for row in existing.to_dict("records"):
                self.rows[str(row["key"])] = row

    def done(self, key: str) -> bool:
        return key in self.rows

    def add(self, rows: Iterable[dict[str, Any]]) -> None:
        for row in rows:
            self.rows[row["key"]] = row

    def frame(self) -> pd.DataFrame:
        frame = pd.DataFrame(list(self.rows.values()))
        if frame.empty:
            return pd.DataFrame(columns=list(FIRST_COLUMNS))
        params = sorted(c for c in frame.columns if c.startswith(PARAM_PREFIX))
        rest = [c for c in frame.columns if c not in params and c not in FIRST_COLUMNS]
        frame = frame[[*FIRST_COLUMNS[:1], *params, *FIRST_COLUMNS[1:], *rest]]
        if self.objective in frame.columns:
            score = pd.to_numeric(frame[self.objective], errors="coerce")
            score = score if self.maximise else -score
            failed = frame["status"] != "ok"
            order = pd.DataFrame({"failed": failed, "nan": score.isna(), "score": -score.fillna(-math.inf)})
            frame = frame.loc[order.sort_values(["failed", "nan", "score"], kind="stable").index]
        return frame.reset_index(drop=True)

    def save(self) -> pd.DataFrame:
        frame = self.frame()
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        write_file_atomically(self.parquet, buffer.getvalue(), "sweep results", "--output")
        write_file_atomically(self.csv, frame.to_csv(index=False).encode(), "sweep results", "--output")
        return frame
