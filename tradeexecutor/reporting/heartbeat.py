"""A heartbeat file: a dead man's switch for monit and similar watchdogs.

The file holds the time of the last completed cycle or trigger check; its mtime moves with
it. A watchdog alerts when the file gets old, which catches every kind of stall (hung RPC,
deadlock, crashed loop with the webhook still up) without talking to the process. Written
atomically (state/filewrite.py) so a watchdog never reads a half-written file.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from tradeexecutor.reporting.channel import ChannelHealth
from tradeexecutor.state.filewrite import write_atomic


def default_heartbeat_path(strategy_id: str) -> Path:
    return Path("monit") / "heartbeat" / f"{strategy_id}.txt"


class Heartbeat:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.health = ChannelHealth("heartbeat")
        self.beats = 0

    def beat(self, at: datetime, event: str) -> bool:
        """Write `<ISO time> <unix time> <event>`; False (counted, warned once) when it cannot."""
        text = f"{at.isoformat()} {at.timestamp():.3f} {event}\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self.path, text.encode("utf-8"))
        except OSError as e:
            self.health.failed(f"cannot write {self.path}: {e.strerror or e}")
            return False
        self.beats += 1
        self.health.succeeded()
        return True


def resolve_heartbeat_path(value: str | None, strategy_id: str) -> Path | None:
    """`--heartbeat`: unset -> monit/heartbeat/<id>.txt, `none`/`off` -> disabled, else the path."""
    if value is None or not value.strip():
        return default_heartbeat_path(strategy_id)
    if value.strip().lower() in ("none", "off", "false", "0"):
        return None
    return Path(value.strip())
