"""Saving the live state through the store, and handing the saved bytes to the webhook."""

from __future__ import annotations

from tradeexecutor.state.state import State
from tradeexecutor.state.store import JSONFileStore
from tradeexecutor.state.time import utcnow


class StorePersistence:
    """The runner's checkpoint and the loop's source of `/state` bytes, over one JSONFileStore."""

    def __init__(self, store: JSONFileStore, state: State) -> None:
        self.store = store
        self.state = state

    def save(self) -> None:
        self.state.last_updated_at = utcnow()
        self.store.save(self.state)

    def last_saved(self) -> bytes | None:
        snapshot = self.store.last_saved
        return snapshot.data if snapshot is not None else None
