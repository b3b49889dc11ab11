"""Writing files durably: the one place that replaces a file atomically, for every package.

`replacing(path)` / `write_atomic(path, data)`: a reader, a crash or a power cut at any instant
sees the old file or the new one, never a part of either (temporary file beside it, fsync,
rename, fsync of the directory). A leaf module: it imports nothing else of ours, so any
package may use it.

`write_synced` writes pieces while they are still being produced: the encoder holds the GIL;
`os.write` and `os.fdatasync` release it. Writing and syncing on a second thread therefore
overlaps the disk with the encoding of the next piece instead of doing both one after the
other (a state of 100,000 positions: ~1 s of encoding and 0.2-1 s of I/O).
"""

from __future__ import annotations

import contextlib
import os
import queue
import secrets
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

SYNC_EVERY = 64 << 20  # bytes written between fdatasync calls, so the final fsync has little left


class _Writer:
    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._queue: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="state-file-writer", daemon=True)
        self._thread.start()

    def put(self, chunk: bytes) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(chunk)

    def _run(self) -> None:
        unsynced = 0
        try:
            while (chunk := self._queue.get()) is not None:
                view = memoryview(chunk)
                while view:
                    view = view[os.write(self._fd, view) :]
                unsynced += len(chunk)
                if unsynced >= SYNC_EVERY:
                    os.fdatasync(self._fd)
                    unsynced = 0
            os.fsync(self._fd)
        except BaseException as e:  # handed to the producer's thread
            self._error = e
            while self._queue.get() is not None:  # let the producer finish putting
                pass

    def finish(self) -> None:
        """Wait until everything is written and fsynced; re-raise the writer's error."""
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error

    def abandon(self) -> None:
        """Stop after the producer failed; the file descriptor is only closed after this returns."""
        self._queue.put(None)
        self._thread.join()


def write_synced(path: Path, chunks: Iterable[bytes]) -> list[bytes]:
    """Create/truncate `path`, write `chunks` to it and fsync it; return the chunks written.

    The descriptor is closed only after the writer thread has stopped, so it can never write
    into a descriptor number reused by someone else.
    """
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        writer = _Writer(fd)
        written: list[bytes] = []
        try:
            for chunk in chunks:
                writer.put(chunk)
                written.append(chunk)
        except BaseException:
            writer.abandon()
            raise
        writer.finish()
        return written
    finally:
        os.close(fd)


def fsync_directory(directory: Path) -> None:
    """Make a rename durable: without this a power cut can bring the old name back."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


@contextlib.contextmanager
def replacing(path: Path, *, mode: int = 0o666) -> Iterator[Path]:
    """Yield the path of a new empty file beside `path` to fill; on a clean exit it replaces `path`.

    The temporary file is fsynced, renamed over `path`, then the directory is fsynced; on an
    exception it is removed and `path` is untouched. It is created with `mode` (the umask
    applies, as with open()): pass 0o600 for a file holding secrets, so it is never readable
    by others, not even for an instant. The caller creates the directory.
    """
    path = Path(path)
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode))
            break
        except FileExistsError:
            continue
    try:
        yield tmp
        fd = os.open(tmp, os.O_RDONLY | os.O_CLOEXEC)
        try:
            os.fsync(fd)  # whoever filled it: nothing reaches the new name before its data is on disk
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        remove_quietly(tmp)
        raise
    fsync_directory(path.parent)


def write_atomic(path: Path, data: bytes | Iterable[bytes], *, mode: int = 0o666) -> None:
    """Replace `path` with `data` (bytes, or pieces written as they come); see `replacing`."""
    with replacing(path, mode=mode) as tmp:
        write_synced(tmp, [data] if isinstance(data, bytes) else data)
