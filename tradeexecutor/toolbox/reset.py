"""The two halves of `reset-state` that touch no prompt: what would be lost, and the backup."""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path

from tradeexecutor.ethereum.gas import human
from tradeexecutor.state.errors import StateError
from tradeexecutor.state.filewrite import fsync_directory
from tradeexecutor.state.state import State
from tradeexecutor.state.time import utcnow


def describe_for_reset(path: Path, state: State | None, unreadable: str) -> list[str]:
    """Lines telling the operator what the reset forgets."""
    if state is None:
        return [f"{path} cannot be loaded: {unreadable}", "Resetting replaces it with an empty state."]
    p = state.portfolio
    trades = sum(len(pos.trades) for pos in p.all_positions())
    lines = [
        f"{path} ({state.strategy_id or 'no id'}): {len(p.open_positions)} open, {len(p.frozen_positions)} frozen, "
        f"{len(p.closed_positions)} closed positions, {trades} trades, {len(state.ledger.entries)} ledger entries."
    ]
    with contextlib.suppress(StateError):
        lines.append(f"Reserve booked: {human(p.cash())} {p.reserve_holding().asset.symbol}.")
    live = [*p.open_positions.values(), *p.frozen_positions.values()]
    if live:
        held = ", ".join(f"#{x.position_id} {human(x.quantity)} {x.pair.base.symbol}" for x in live)
        lines.append(
            f"WARNING: positions {held} are still held: their tokens stay in the hot wallet but the new state will "
            "not know them. Close them first (`trade-executor close-all`) if they should be sold."
        )
    return lines


def backup_for_reset(path: Path) -> Path:
    """Keep the current file as `<name>.reset-<UTC time>` (a hard link, a copy where links fail)."""
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    backup = path.with_name(f"{path.name}.reset-{stamp}")
    n = 1
    while backup.exists():
        n += 1
        backup = path.with_name(f"{path.name}.reset-{stamp}-{n}")
    try:
        os.link(path, backup)
    except OSError:
        shutil.copyfile(path, backup)
    fsync_directory(path.parent)
    return backup
