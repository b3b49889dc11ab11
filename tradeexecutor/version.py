"""Package version and git revision, cheap enough for `trade-executor version` and `hello`."""

from __future__ import annotations

import os
import subprocess
from importlib import metadata
from pathlib import Path

PACKAGE_NAME = "trade-executor"
_REVISION_FILE = Path(__file__).with_name("GIT_REVISION")


def get_version() -> str:
    try:
        return metadata.version(PACKAGE_NAME)
    except metadata.PackageNotFoundError:
        return "0+unknown"


def get_git_revision() -> str | None:
    """Revision baked into the image (env or file) first, then the checkout we run from, if any."""
    baked = os.environ.get("GIT_REVISION", "").strip()
    if baked:
        return baked
    if _REVISION_FILE.exists():
        text = _REVISION_FILE.read_text().strip()
        if text:
            return text
    repo = Path(__file__).resolve().parent.parent
    if not (repo / ".git").exists():
        return None
    try:
        out = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--short=12", "HEAD"],
            capture_output=True,
            text=True,
            timeout=2,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None
