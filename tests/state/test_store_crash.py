"""A writer killed with SIGKILL in the middle of a save never leaves a damaged state file."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.state.factories import funded_state
from tradeexecutor.state.integrity import check_integrity
from tradeexecutor.state.store import JSONFileStore

ROOT = Path(__file__).resolve().parents[2]
POSITIONS = 3_000  # ~9 MB: a save takes tens of milliseconds, long enough to land kills inside it
KILLS_INSIDE_A_WRITE = 3
MAX_ATTEMPTS = 60


@pytest.mark.slow
def test_sigkill_during_save_leaves_the_previous_or_the_new_state(tmp_path: Path) -> None:
    path = tmp_path / "executor.json"
    with JSONFileStore(path) as store:
        store.create(funded_state())
    rng = random.Random(20240101)
    inside_write = attempts = 0
    while inside_write < KILLS_INSIDE_A_WRITE and attempts < MAX_ATTEMPTS:
        attempts += 1
        before = path.read_bytes()
        previous_id = JSONFileStore(path, read_only=True).load().strategy_id
        saver = subprocess.Popen(
            [sys.executable, "-m", "tests.state.store_worker", "save-loop", str(path), str(POSITIONS)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert saver.stdout.readline().strip() == "ready", saver.stderr.read()
        assert saver.stdout.readline().startswith("saving")
        time.sleep(rng.uniform(0, 0.4))
        os.kill(saver.pid, signal.SIGKILL)
        saver.wait(timeout=60)
        lines = saver.stdout.read().split()
        temp = tmp_path / f".executor.json.{saver.pid}.tmp"
        if temp.exists():
            inside_write += 1  # the kill landed between creating the temp file and the rename

        # Whatever instant the kill hit, the file is complete, valid and one of the versions.
        state = JSONFileStore(path, read_only=True).load()
        check_integrity(state)
        started = 1 + lines.count("saving")  # "saving 1" was read above
        if path.read_bytes() == before:
            assert state.strategy_id == previous_id
        else:
            assert state.strategy_id in {f"version-{n}" for n in range(1, started + 1)}

        # The next writer starts cleanly and removes the dead writer's temp file.
        JSONFileStore(path).close()
        assert not temp.exists()
    print(f"{attempts} kills, {inside_write} inside a write")
    assert inside_write >= KILLS_INSIDE_A_WRITE, (
        f"only {inside_write} of {attempts} kills landed inside a write; the test proved too little"
    )
