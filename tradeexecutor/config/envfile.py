"""Docker-style .env files, parsed by python-dotenv.

Format: one `NAME=value` per line, `#` comments and blank lines ignored, an optional
`export ` prefix tolerated. Values are read as docker compose reads an `env_file:` (python-dotenv
implements the same rules): one pair of surrounding quotes is removed, an unquoted value ends
at ` #` (a comment), `$VARIABLES` are not expanded. So a file means the same to this CLI and to
`docker compose`. `docker run --env-file` reads the text after `=` literally instead: each
entry keeps that literal reading too, and `check-config` refuses a value the two read differently.

Precedence when loading into the process environment: later files override earlier
files, and a variable already set in the real environment wins over every file. That
matches docker compose (`environment:` beats `env_file:`) and lets an operator override
one value for one run without editing the file.
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass
from pathlib import Path

from dotenv.parser import Binding, parse_stream

from tradeexecutor.state.filewrite import write_atomic

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NEWLINE = re.compile(r"\r\n|\n|\r")


class EnvFileError(ValueError):
    """A .env file cannot be read or has a malformed line."""


@dataclass(frozen=True, slots=True)
class EnvEntry:
    name: str
    value: str  # as docker compose (and this CLI) reads it
    literal: str  # the text after `=`, one pair of surrounding quotes removed: docker run's reading
    path: Path
    line: int


def _line_of(binding: Binding) -> int:
    """The line a binding's text starts on: dotenv counts from the blank lines before it."""
    text = binding.original.string
    return binding.original.line + len(_NEWLINE.findall(text[: len(text) - len(text.lstrip())]))


def _literal(text: str) -> str:
    value = text.partition("=")[2].strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def parse_env_file(path: Path) -> list[EnvEntry]:
    """Parse one file; raise EnvFileError naming the file and line of the first bad line."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise EnvFileError(f"Env file {path} does not exist.") from None
    except (OSError, UnicodeDecodeError) as e:
        raise EnvFileError(f"Env file {path} cannot be read: {e.__class__.__name__}.") from None

    entries: list[EnvEntry] = []
    for binding in parse_stream(io.StringIO(text)):
        if binding.key is None and not binding.error:
            continue  # a comment or blank lines
        line, written = _line_of(binding), binding.original.string.strip()
        name, value = binding.key, binding.value
        if binding.error:
            # compose cannot read it (`A='quoted' rest`); docker run can: keep the literal reading,
            # which check-config then refuses with the reason
            name, value = written.removeprefix("export ").partition("=")[0].strip(), _literal(written)
            if "=" not in written:
                name = ""
        if value is None or not _NAME.fullmatch(name or ""):
            shown = name if value is not None and name else written
            raise EnvFileError(
                f"{path}:{line}: expected NAME=value, got {shown[:40]!r}; fix or comment out this line."
            )
        entries.append(EnvEntry(name, value, _literal(written), path, line))
    return entries


def merge_env_files(paths: list[Path]) -> dict[str, EnvEntry]:
    """Splice files in order; a later file's value for the same name replaces an earlier one."""
    merged: dict[str, EnvEntry] = {}
    for path in paths:
        for entry in parse_env_file(path):
            merged[entry.name] = entry
    return merged


def load_env_files(paths: list[Path], environ: dict[str, str] | None = None) -> dict[str, str]:
    """Apply files to the environment without overriding variables that are already set.

    Returns the variables that were applied.
    """
    target = os.environ if environ is None else environ
    applied: dict[str, str] = {}
    for name, entry in merge_env_files(paths).items():
        if name not in target:
            target[name] = entry.value
            applied[name] = entry.value
    return applied


def docker_value_problem(value: str) -> str | None:
    """Why a value cannot be written unquoted to a Docker env file and read back unchanged.

    `docker run --env-file` takes everything after `=` literally, while `docker compose`
    trims whitespace, removes quotes, drops ` #comments` and expands `$VARIABLES`. A final
    file must mean the same to both, so such values are refused rather than quoted.
    """
    if any(c in value for c in "\n\r\0"):
        return "the value contains a line break, which a Docker env file cannot hold; put it on one line."
    if value != value.strip():
        return "the value starts or ends with whitespace, which docker compose would trim; remove it."
    if value[:1] in ("'", '"'):
        return "the value starts with a quote, which docker compose would remove; remove the quotes."
    if "$" in value:
        return "the value contains '$', which docker compose expands as a variable; avoid '$' in it."
    if re.search(r"\s#", value):
        return (
            "the value contains ' #', which docker compose reads as a comment; remove the space before '#'."
        )
    return None


def write_env_file(path: Path, variables: list[tuple[str, str]], header: str = "") -> None:
    """Write NAME=value lines atomically, readable by the owner only (it holds secrets).

    Atomic (state/filewrite.py): a reader sees the old file or the new one, never a half-written
    one, and the file is never readable by others, not even for an instant.
    """
    bad = [name for name, value in variables if docker_value_problem(value) is not None]
    if bad:
        raise EnvFileError(f"Cannot write {', '.join(bad)} to a Docker env file unchanged: fix the value(s).")
    for name, _ in variables:
        if not _NAME.fullmatch(name):
            raise EnvFileError(f"{name!r} is not a valid variable name.")
    lines = [f"# {line}".rstrip() for line in header.splitlines()]
    lines += [f"{name}={value}" for name, value in variables]
    write_atomic(path, ("\n".join(lines) + "\n").encode("utf-8"), mode=0o600)
