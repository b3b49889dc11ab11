"""The one atomic-write helper (tradeexecutor/state/filewrite.py): old file or new file, never a part."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tradeexecutor.state.filewrite import replacing, write_atomic


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_write_atomic_replaces_the_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "deployment.json"
    path.write_text("old")
    write_atomic(path, b"new")
    assert path.read_bytes() == b"new"
    write_atomic(path, (piece for piece in (b"one ", b"two")))
    assert path.read_bytes() == b"one two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deployment.json"]


def test_mode_is_what_open_gives_unless_asked_for_owner_only(tmp_path: Path) -> None:
    plain, secret = tmp_path / "plain.txt", tmp_path / "secret.env"
    write_atomic(plain, b"x")
    write_atomic(secret, b"PRIVATE_KEY=...", mode=0o600)
    assert stat.S_IMODE(plain.stat().st_mode) == 0o666 & ~current_umask()
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600


def test_temporary_file_of_a_secret_is_never_readable_by_others(tmp_path: Path) -> None:
    with replacing(tmp_path / "secret.env", mode=0o600) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(".secret.env.")
        assert stat.S_IMODE(tmp.stat().st_mode) == 0o600  # before a byte is written


def test_a_failure_while_filling_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "candles.csv"
    path.write_text("old")
    with pytest.raises(RuntimeError), replacing(path) as tmp:
        tmp.write_bytes(b"half of the new")
        raise RuntimeError("encoder failed")
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["candles.csv"]


def test_an_unwritable_directory_is_an_oserror_and_nothing_is_left(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        write_atomic(tmp_path / "missing-dir" / "file.txt", b"x")
    assert list(tmp_path.iterdir()) == []
