"""Render each document at most once per published snapshot.

Many requests (dashboards, monitors) read the same snapshot; rendering `/status` once per
publish instead of once per request keeps a busy webhook's cost independent of the
document size. Lock-free: the cache entry is one tuple swapped atomically; two threads
racing on a new snapshot both render identical bytes, which is harmless.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tradeexecutor.execution.run_state import RunSnapshot


class SnapshotCache:
    def __init__(self) -> None:
        self._entry: tuple[RunSnapshot | None, dict[str, Any]] = (None, {})

    def get(self, snapshot: RunSnapshot, key: str, render: Callable[[RunSnapshot], Any]) -> Any:
        entry = self._entry
        if entry[0] is not snapshot:
            entry = (snapshot, {})
            self._entry = entry
        rendered = entry[1].get(key)
        if rendered is None:
            rendered = render(snapshot)
            entry[1][key] = rendered
        return rendered
