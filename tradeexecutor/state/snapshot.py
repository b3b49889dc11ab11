"""The bytes of the state file as last loaded or saved, shared with other threads."""

from __future__ import annotations

import datetime
import hashlib
from typing import Any, NoReturn


class SavedSnapshot:
    """Immutable: the webhook thread serves it while the executor goes on changing its State.

    A save hands over the pieces it wrote; they are joined into `data` on first use, in the
    reader's thread, so a save of a large state does not pay for a copy nobody asked for.
    The ETag is a content hash, also computed on first use.
    """

    __slots__ = ("_chunks", "_data", "_etag", "generation", "saved_at", "size")
    saved_at: datetime.datetime
    generation: int  # 1 for the first snapshot of a store, +1 for each save
    size: int  # bytes

    def __init__(self, chunks: tuple[bytes, ...], saved_at: datetime.datetime, generation: int) -> None:
        set_ = object.__setattr__
        set_(self, "_chunks", chunks)
        set_(self, "_data", None)
        set_(self, "_etag", None)
        set_(self, "saved_at", saved_at)
        set_(self, "generation", generation)
        set_(self, "size", sum(map(len, chunks)))

    @property
    def data(self) -> bytes:
        data = self._data
        if data is None:  # two threads may both join once; the results are equal
            data = self._chunks[0] if len(self._chunks) == 1 else b"".join(self._chunks)
            object.__setattr__(self, "_data", data)
            object.__setattr__(self, "_chunks", (data,))
        return data

    @property
    def etag(self) -> str:
        etag = self._etag
        if etag is None:
            etag = hashlib.blake2b(self.data, digest_size=16).hexdigest()
            object.__setattr__(self, "_etag", etag)
        return etag

    def __len__(self) -> int:
        return self.size

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        raise AttributeError("A SavedSnapshot is immutable.")

    def __repr__(self) -> str:
        return f"SavedSnapshot(generation={self.generation}, size={self.size}, saved_at={self.saved_at.isoformat()})"
