"""Run a command with one directory on a full disk, for real.

Preferred: a 64 KiB tmpfs mounted over the directory and filled to the last byte, in a
private mount namespace of the command (`unshare --user --map-root-user --mount`, which works
as root and, where user namespaces are allowed, without it), so nothing outside the command
sees the mount and nothing needs unmounting. The directory's listing after the command is
written next to it, since the tmpfs vanishes with the namespace.

Fallback where no mount namespace can be made: the command runs with RLIMIT_FSIZE = 0, so every
write that would grow a file fails (EFBIG instead of ENOSPC; Python ignores SIGXFSZ). Files
written before the command are then on the real disk and cannot be "full", which is why
`seed` needs the tmpfs.
"""

from __future__ import annotations

import functools
import resource
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

TMPFS_SIZE = "64k"


@functools.cache
def can_mount_tmpfs() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(
        [
            "unshare",
            "--user",
            "--map-root-user",
            "--mount",
            "sh",
            "-c",
            "mount -t tmpfs -o size=4k tmpfs /mnt",
        ],
        capture_output=True,
    )
    return probe.returncode == 0


@dataclass
class FullDiskRun:
    result: subprocess.CompletedProcess[str]
    listing: list[str]  # names in the directory after the command, the filler excluded
    how: str  # "tmpfs" or "rlimit"


def run_on_full_disk(
    command: list[str],
    directory: Path,
    *,
    seed: dict[str, bytes] | None = None,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 120,
) -> FullDiskRun:
    """Run `command` while `directory` (created empty) is on a full filesystem.

    `seed`: files written into the directory before it is filled (tmpfs only).
    """
    directory.mkdir(parents=True, exist_ok=True)
    listing_file = directory.with_name(directory.name + ".listing")
    if can_mount_tmpfs():
        seed_dir = directory.with_name(directory.name + ".seed")
        seed_dir.mkdir(exist_ok=True)
        for name, data in (seed or {}).items():
            (seed_dir / name).write_bytes(data)
        d = shlex.quote(str(directory))
        script = (
            f"mount -t tmpfs -o size={TMPFS_SIZE} tmpfs {d} || exit 97\n"
            f"cp -a {shlex.quote(str(seed_dir))}/. {d}/\n"
            f"dd if=/dev/zero of={d}/filler bs=4k 2>/dev/null\n"
            f"[ $(df --output=avail {d} | tail -1) -eq 0 ] || exit 98\n"
            'cd "$PWD"\n'  # a working directory at or below the mount point: onto the tmpfs
            '"$@"; rc=$?\n'
            f"ls -A {d} > {shlex.quote(str(listing_file))}\n"
            "exit $rc\n"
        )
        result = subprocess.run(
            ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script, "sh", *command],
            capture_output=True,
            text=True,
            env=env,
            cwd=cwd,
            timeout=timeout,
        )
        assert result.returncode not in (97, 98), f"could not fill a tmpfs: {result.stderr}"
        names = listing_file.read_text().split()
        return FullDiskRun(result, [n for n in names if n != "filler"], "tmpfs")

    if seed:
        raise RuntimeError("seeded files need a tmpfs: check can_mount_tmpfs() first")

    def no_file_growth() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))

    result = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=timeout,
        preexec_fn=no_file_growth,
    )
    return FullDiskRun(result, sorted(p.name for p in directory.iterdir()), "rlimit")
