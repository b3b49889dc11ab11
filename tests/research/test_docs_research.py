"""docs/research.md's worked example runs as written, and says what it claims."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

DOC = Path(__file__).resolve().parents[2] / "docs" / "research.md"

pytestmark = pytest.mark.slow


def worked_example() -> str:
    section = DOC.read_text().split("## Worked example", 1)[1]
    blocks = re.findall(r"```python\n(.*?)```", section, re.S)
    assert len(blocks) == 1
    return blocks[0]


def test_the_worked_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "docs_research_example"}  # not importable: functions travel by value
    exec(compile(worked_example(), str(DOC), "exec"), namespace)
    out = capsys.readouterr().out
    assert re.search(r"return -?\d+\.\d\d% over \d+ trades", out)
    assert re.search(r"best: fast=\d+ slow=(48|96) sharpe=-?\d+\.\d\d", out)

    result, swept = namespace["result"], namespace["swept"]
    assert result.summary["total_trades"] > 0
    assert isinstance(result.trades.index, pd.DatetimeIndex) and str(result.trades.index.tz) == "UTC"
    assert swept.ran == 8 and swept.failed == 0
    saved = pd.read_parquet(tmp_path / "sweeps" / "notebook-sma" / "results.parquet")
    assert sorted(zip(saved["param.fast"], saved["param.slow"], strict=True)) == sorted(
        (f, s) for f in (6, 12, 18, 24) for s in (48, 96)
    )
    assert (tmp_path / "sweeps" / "notebook-sma" / "report.html").exists()
