"""The state file on disk: atomic saves, one writer at a time, backups, and validated loads.

Guarantees, and how:
- A save is all or nothing. The bytes go to a temporary file in the same directory (written
  and fsynced on a second thread while the rest is still being encoded), which is then
  renamed over the state file, then the directory is fsynced. A crash at any instant leaves
  either the previous file or the new one, never a mix.
- One writer. A writer takes an exclusive `flock` on `<state>.lock` when it opens the store
  and keeps it until `close()` or process exit (the kernel drops it if the process dies, so a
  crashed executor never leaves a stale lock). The lock file holds the writer's PID, which a
  refused second process names in its error. Read-only stores take no lock and cannot save.
- Backups. Before each save the previous N versions shift down (`.json.1` newest, renamed to
  `.2` ...), and the current file is hard-linked as `.1`, so the state file itself exists at
  every instant of a save.
- Loads never write. A file that is not valid JSON, not an object, of a newer schema, of the
  wrong types, or that fails the integrity check is reported in one sentence naming the
  path, and left byte-for-byte as it was.
- Saves are checked. The integrity check runs before anything is written; a state that
  fails it is not saved at all.
- Snapshots for other threads. After each load or save `last_saved` holds the exact bytes
  of the file with an ETag (`snapshot.SavedSnapshot`); the webhook serves those and never
  touches the live State.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import gc
import os
import shutil
import tempfile
from pathlib import Path
from types import TracebackType

from tradeexecutor.state.errors import (
    IntegrityError,
    SchemaTooNew,
    StateFileCorrupt,
    StateFileExists,
    StateFileLocked,
    StateFileMissing,
    StateFileReadOnly,
    StateFileTooNew,
    StateFormatError,
    StateSaveRefused,
    StateStoreError,
)
from tradeexecutor.state.filewrite import fsync_directory, remove_quietly, write_synced
from tradeexecutor.state.integrity import IntegrityChecker
from tradeexecutor.state.serialisation import (
    TablesChanged,
    decode_state,
    encode_state_chunks,
    seal_due,
)
from tradeexecutor.state.snapshot import SavedSnapshot
from tradeexecutor.state.state import State
from tradeexecutor.state.time import utcnow

DEFAULT_BACKUPS = 3


class JSONFileStore:
    """One state file. Open it once per process: as a writer (locks) or `read_only=True`."""

    def __init__(
        self, path: str | os.PathLike[str], *, read_only: bool = False, backups: int = DEFAULT_BACKUPS
    ):
        if backups < 0:
            raise ValueError("The number of state backups cannot be negative.")
        self.path = Path(path)
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self.read_only = read_only
        self.backups = backups
        self._lock_fd: int | None = None
        self._checker = IntegrityChecker()
        self._last_saved: SavedSnapshot | None = None
        self._generation = 0
        if not read_only:
            self._acquire_lock()
            self._remove_stale_temp_files()

    # ---- lifetime -------------------------------------------------------------------------

    def close(self) -> None:
        """Release the lock (a crashed process releases it too: the kernel drops flocks)."""
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> JSONFileStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    def _acquire_lock(self) -> None:
        fd = _open_lock_file(self.lock_path, self.path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            holder = _read_pid(fd)
            os.close(fd)
            if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise StateStoreError(
                    f"Cannot lock the state file {self.path} ({e.strerror}); check that its directory "
                    "is on a local filesystem.",
                    str(self.path),
                ) from None
            who = f"PID {holder}" if holder is not None else "a process that has not written its PID yet"
            raise StateFileLocked(
                f"The state file {self.path} is in use by another trade-executor ({who}); stop that "
                "process first, or open the state read-only.",
                str(self.path),
                holder,
            ) from None
        try:
            _write_pid(fd)
        except OSError as e:
            os.close(fd)
            raise _lock_file_error(self.lock_path, self.path, e) from None
        self._lock_fd = fd

    def _remove_stale_temp_files(self) -> None:
        """Temp files of saves that died mid-write; only the lock holder may touch them."""
        for stale in self.path.parent.glob(f".{self.path.name}.*.tmp"):
            with contextlib.suppress(OSError):
                stale.unlink()

    # ---- reading --------------------------------------------------------------------------

    @property
    def last_saved(self) -> SavedSnapshot | None:
        """The bytes of the last load or save, for readers on other threads (None before either)."""
        return self._last_saved

    def exists(self) -> bool:
        return self.path.exists()

    def backup_paths(self) -> list[Path]:
        """Existing backups, newest first."""
        candidates = (self._backup(i) for i in range(1, max(self.backups, 0) + 1))
        return [p for p in candidates if p.exists()]

    def load(self) -> State:
        """Read, validate and return the state; raise a StateStoreError naming the problem otherwise."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            raise StateFileMissing(
                f"The state file {self.path} does not exist; check the path, or create a new state first.",
                str(self.path),
            ) from None
        except OSError as e:
            raise StateStoreError(
                f"Cannot read the state file {self.path} ({e.strerror}).", str(self.path)
            ) from None
        state = self.decode(data)
        self._publish((data,))
        return state

    def decode(self, data: bytes) -> State:
        """Validate bytes as if they were this store's file (used by load; useful for imports)."""
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            state = self._decode(data)
            # The loaded state is millions of long-lived objects without reference cycles.
            # Moving them out of the cyclic collector's generations (before anything else
            # allocates) keeps every later full collection from walking them again: ~0.5 s
            # per collection at 100,000 positions, the first one right after the load.
            gc.freeze()
        finally:
            if gc_was_enabled:
                gc.enable()
        try:
            self._checker.check(state, timestamps_verified=True)  # the decoder checked every timezone
        except IntegrityError as e:
            raise StateFileCorrupt(
                f"The state file {self.path} fails its integrity check: {e}; it was left unchanged, restore "
                f"a backup ({self.path.name}.1 ...) or repair it by hand.",
                str(self.path),
            ) from None
        return state

    def _decode(self, data: bytes) -> State:
        try:
            return decode_state(data)
        except SchemaTooNew as e:
            raise StateFileTooNew(
                f"The state file {self.path} was written by a newer trade-executor ({e}); upgrade "
                "trade-executor to open it.",
                str(self.path),
            ) from None
        except StateFormatError as e:
            raise StateFileCorrupt(
                f"The state file {self.path} is corrupt: {e}; it was left unchanged, restore a backup "
                f"({self.path.name}.1 ...) or repair it by hand.",
                str(self.path),
            ) from None

    # ---- writing --------------------------------------------------------------------------

    def create(self, state: State) -> SavedSnapshot:
        """Write the first version of a state; refuses to replace an existing file."""
        self._require_writable()
        if self.path.exists():
            raise self._exists()
        self._check_before_save(state)
        tmp, chunks = self._write_temp(state)
        try:
            os.link(tmp, self.path)  # fails if the file appeared meanwhile: never overwrites
        except FileExistsError:
            raise self._exists() from None
        finally:
            remove_quietly(tmp)
        fsync_directory(self.path.parent)
        return self._publish(chunks)

    def save(self, state: State) -> SavedSnapshot:
        """Check, then atomically replace the state file (keeping backups); nothing is written on failure."""
        self._require_writable()
        self._check_before_save(state)
        tmp, chunks = self._write_temp(state)
        try:
            if self.backups and self.path.exists():
                self._rotate_backups()
            os.replace(tmp, self.path)
        except OSError as e:
            remove_quietly(tmp)
            raise StateStoreError(
                f"Cannot replace the state file {self.path} ({e.strerror}); the previous version is intact.",
                str(self.path),
            ) from None
        fsync_directory(self.path.parent)
        return self._publish(chunks)

    def _exists(self) -> StateFileExists:
        return StateFileExists(
            f"The state file {self.path} already exists; load it instead, or move it away to start a new state.",
            str(self.path),
        )

    def _require_writable(self) -> None:
        if self.read_only:
            raise StateFileReadOnly(
                f"The state file {self.path} was opened read-only; open it without read-only mode to save.",
                str(self.path),
            )
        if self._lock_fd is None:
            raise StateStoreError(
                f"The store for {self.path} is closed; open it again to save.", str(self.path)
            )

    def _check_before_save(self, state: State) -> None:
        try:
            self._checker.check(state)
            seal_due(state)  # archives old closed positions, checking each once more
        except IntegrityError as e:
            raise StateSaveRefused(
                f"Refusing to save the state file {self.path}: {e}; nothing was written.", str(self.path)
            ) from None

    def _write_temp(self, state: State) -> tuple[Path, tuple[bytes, ...]]:
        """Encode into a synced temp file next to the state file, writing while encoding."""
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            while True:
                try:
                    return tmp, tuple(write_synced(tmp, encode_state_chunks(state)))
                except TablesChanged:
                    continue  # an identifier outside the pre-scanned places: again, tables complete
        except OSError as e:
            remove_quietly(tmp)
            raise StateStoreError(
                f"Cannot write the state file {self.path} ({e.strerror}); the previous version is intact.",
                str(self.path),
            ) from None

    def _backup(self, n: int) -> Path:
        return self.path.with_name(f"{self.path.name}.{n}")

    def _rotate_backups(self) -> None:
        for n in range(self.backups - 1, 0, -1):
            older = self._backup(n)
            if older.exists():
                os.replace(older, self._backup(n + 1))
        newest = self._backup(1)
        with contextlib.suppress(FileNotFoundError):
            newest.unlink()  # only still there when backups == 1
        try:
            os.link(self.path, newest)
        except OSError:  # a filesystem without hard links: copy (the state file stays in place)
            shutil.copyfile(self.path, newest)

    def _publish(self, chunks: tuple[bytes, ...]) -> SavedSnapshot:
        self._generation += 1
        snapshot = SavedSnapshot(chunks, saved_at=utcnow(), generation=self._generation)
        self._last_saved = snapshot
        return snapshot


def _open_lock_file(lock_path: Path, state_path: Path) -> int:
    """Open the lock file of a state file in an existing directory, creating it complete if missing.

    The directory is never created: a state file in a directory that does not exist is a
    typo far more often than a wish (the default `state/` is created by the caller). A new
    lock file is written aside and linked into place with this process's PID already in it,
    so a failure (a full disk) leaves no empty lock file behind; an existing one is reused.
    """
    if not state_path.parent.is_dir():
        raise StateStoreError(
            f"The directory {state_path.parent} of the state file {state_path} does not exist: create it, "
            "or give a state file in an existing directory.",
            str(state_path),
        )
    try:
        if not lock_path.exists():
            fd, tmp = tempfile.mkstemp(prefix=f".{lock_path.name}.", suffix=".new", dir=lock_path.parent)
            try:
                os.fchmod(fd, 0o644)
                _write_pid(fd)
                with contextlib.suppress(FileExistsError):  # another process created it meanwhile
                    os.link(tmp, lock_path)
            finally:
                os.close(fd)
                remove_quietly(Path(tmp))
        return os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as e:
        raise _lock_file_error(lock_path, state_path, e) from None


def _write_pid(fd: int) -> None:
    """Put this process's PID in the lock file: overwritten in place, then cut to length (no new
    block is needed for an existing file, so this works on a full disk too)."""
    data = f"{os.getpid()}\n".encode()
    os.pwrite(fd, data, 0)
    os.ftruncate(fd, len(data))


def _lock_file_error(lock_path: Path, state_path: Path, e: OSError) -> StateStoreError:
    if e.errno in (errno.ENOSPC, errno.EDQUOT):
        fix = f"free some space on the disk of {state_path.parent}, then start again"
    elif e.errno == errno.EFBIG:
        fix = "raise this process's file size limit (ulimit -f), then start again"
    else:
        fix = "check the path and its permissions"
    return StateStoreError(
        f"Cannot write the lock file {lock_path} of the state file {state_path} ({e.strerror}): {fix}.",
        str(state_path),
    )


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        return int(text) if text else None
    except (OSError, ValueError):
        return None
