"""Errors raised by the domain model and its store.

Every message is one sentence that names the object (position, trade, asset, file) and,
where a person has to act, what to do; the CLI prints it as it is. `StateStoreError` and its
subclasses are the ones a user can cause (a corrupt, locked, missing or too new state file):
the CLI shows them without a traceback.
"""

from __future__ import annotations


class StateError(Exception):
    """An operation on the state would make it inconsistent; nothing was changed."""


class IllegalTransition(StateError):
    """A lifecycle step that is not allowed from the current status (e.g. success -> broadcast)."""


class InsufficientBalance(StateError):
    """A trade or fee needs more of an asset than the state holds."""


class ArchivedPositionError(StateError):
    """A closed position that was sealed into the archive cannot be changed (see archive.py)."""


class IntegrityError(StateError):
    """The state breaks one of its structural or accounting invariants (see integrity.py)."""


class StateFormatError(StateError):
    """Bytes that are not a state document this version can read (the reason, without a path)."""


class SchemaTooNew(StateFormatError):
    """The document was written by a newer trade-executor."""

    def __init__(self, found: int, supported: int) -> None:
        self.found = found
        self.supported = supported
        super().__init__(f"schema {found}, this version reads up to {supported}")


class StateStoreError(StateError):
    """A state file cannot be opened, read or written; the message names the file and the fix."""

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.path = path


class StateFileCorrupt(StateStoreError):
    """The file is unreadable or breaks an invariant; it was left exactly as it was."""


class StateFileTooNew(StateStoreError):
    """The file's schema version is newer than this trade-executor understands."""


class StateFileLocked(StateStoreError):
    """Another process holds the state file's lock."""

    def __init__(self, message: str, path: str | None = None, holder_pid: int | None = None) -> None:
        super().__init__(message, path)
        self.holder_pid = holder_pid


class StateFileReadOnly(StateStoreError):
    """A save was attempted through a store opened read-only."""


class StateFileExists(StateStoreError):
    """create() was asked to start a new state where a file already exists."""


class StateFileMissing(StateStoreError):
    """load() was asked for a state file that does not exist."""


class StateSaveRefused(StateStoreError):
    """The state failed its integrity check, so nothing was written."""
