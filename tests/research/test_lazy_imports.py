"""Dask and Optuna are imported only when a sweep runs: `hello`, `--help` and `sweep --help` stay fast."""

from __future__ import annotations

import subprocess
import sys

import pytest

CODE = """
import sys
from tradeexecutor.cli.main import run
try:
    run(sys.argv[1:])
except SystemExit:
    pass
heavy = [m for m in ("dask", "distributed", "optuna", "tradeexecutor.research.parameter_sweep") if m in sys.modules]
print("HEAVY", heavy, file=sys.stderr)
"""


@pytest.mark.parametrize("args", [["hello"], ["--help"], ["sweep", "--help"]])
def test_dask_and_optuna_are_not_imported(args: list[str]) -> None:
    result = subprocess.run([sys.executable, "-c", CODE, *args], capture_output=True, text=True, timeout=60)
    assert "HEAVY []" in result.stderr, result.stderr[-500:]


def test_importing_the_research_package_imports_nothing_heavy() -> None:
    code = "import sys, tradeexecutor.research; print([m for m in ('dask', 'optuna', 'pandas') if m in sys.modules])"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "[]", result.stdout + result.stderr
