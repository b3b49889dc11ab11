"""Validate a spliced configuration (public + secret .env files) before it reaches Docker.

Each check takes plain data and returns every problem it finds, so an operator fixes them
all in one round. What a variable may hold comes from a `Catalogue` built by the CLI from
its own option declarations (cli/config_catalogue.py): this module knows no option names.

Problem texts never contain a secret's value: a secret variable's problems name the file,
line and variable only, and the caller redacts the final text once more.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tradeexecutor.config.envfile import EnvEntry, docker_value_problem
from tradeexecutor.config.redaction import (
    is_secret_name,
    is_url_name,
    looks_like_private_key,
    url_value_has_credentials,
)

Check = Callable[[str], str | None]
"""What is wrong with a value (a sentence that does not repeat it), or None when it is fine."""


@dataclass(frozen=True, slots=True)
class Problem:
    entry: EnvEntry | None  # the line at fault; None for what is missing from every file
    message: str

    @property
    def name(self) -> str | None:
        return self.entry.name if self.entry is not None else None

    def __str__(self) -> str:
        if self.entry is None:
            return self.message
        return f"{self.entry.path}:{self.entry.line}: {self.message}"


def sort_problems(problems: Iterable[Problem], files: Sequence[Path]) -> list[Problem]:
    """In file order, then line order; problems of the whole configuration last."""
    order = {path: i for i, path in enumerate(files)}

    def key(p: Problem) -> tuple[int, int, int]:
        if p.entry is None:
            return (1, 0, 0)
        return (0, order.get(p.entry.path, len(order)), p.entry.line)

    return sorted(problems, key=key)


@dataclass(frozen=True, slots=True)
class Variable:
    """A name the executor reads, where it comes from, and how to check its value."""

    name: str
    origin: str  # the option flag (`--http-port`) or "environment only"
    check: Check | None = None
    secret: bool = False


@dataclass(frozen=True)
class Catalogue:
    """Every variable the executor understands."""

    variables: Mapping[str, Variable]
    # Families of names such as JSON_RPC_CHAIN_<id>: (pattern, makes the variable for a name)
    families: Sequence[tuple[re.Pattern[str], Callable[[str], Variable]]] = ()
    # Names that belong to docker compose (interpolation), not to the container: name -> hint
    not_for_container: Mapping[str, str] = field(default_factory=dict)

    def lookup(self, name: str) -> Variable | None:
        found = self.variables.get(name)
        if found is not None:
            return found
        for pattern, make in self.families:
            if pattern.fullmatch(name):
                return make(name)
        return None

    def suggest(self, name: str) -> str | None:
        """The known name closest to a misspelt one, if any is close."""
        names = list(self.variables)
        if name.upper() in self.variables:
            return name.upper()
        close = difflib.get_close_matches(name.upper(), names, n=1, cutoff=0.75)
        return close[0] if close else None

    def is_secret(self, name: str) -> bool:
        variable = self.lookup(name)
        return (variable is not None and variable.secret) or is_secret_name(name)


@dataclass(frozen=True)
class Splice:
    """Files in order, each file's entries, and the result where a later file wins."""

    files: tuple[Path, ...]
    entries: tuple[tuple[EnvEntry, ...], ...]

    @property
    def merged(self) -> dict[str, EnvEntry]:
        result: dict[str, EnvEntry] = {}
        for file_entries in self.entries:
            for entry in file_entries:
                result[entry.name] = entry
        return result

    def overridden(self, name: str) -> list[EnvEntry]:
        """Earlier settings of `name` that a later one replaced, oldest first."""
        found = [e for file_entries in self.entries for e in file_entries if e.name == name]
        return found[:-1]


def check_duplicates(splice: Splice) -> list[Problem]:
    """The same name twice in one file is a mistake (the later line silently wins)."""
    problems = []
    for file_entries in splice.entries:
        first: dict[str, EnvEntry] = {}
        for entry in file_entries:
            if entry.name in first:
                problems.append(
                    Problem(
                        entry,
                        f"{entry.name} is already set on line {first[entry.name].line} of this file: "
                        "keep one of the two lines.",
                    )
                )
            else:
                first[entry.name] = entry
    return problems


def check_names(merged: Mapping[str, EnvEntry], catalogue: Catalogue) -> list[Problem]:
    problems = []
    for name, entry in merged.items():
        if catalogue.lookup(name) is not None:
            continue
        hint = catalogue.not_for_container.get(name)
        if hint is not None:
            problems.append(Problem(entry, f"{name} {hint}"))
            continue
        suggestion = catalogue.suggest(name)
        if suggestion is not None:
            case = " (names are case-sensitive)" if suggestion == name.upper() else ""
            problems.append(Problem(entry, f"unknown variable {name}: did you mean {suggestion}?{case}"))
        else:
            problems.append(
                Problem(
                    entry,
                    f"unknown variable {name}: remove it, or see `trade-executor COMMAND --help` "
                    "for the options and their variables.",
                )
            )
    return problems


def check_values(merged: Mapping[str, EnvEntry], catalogue: Catalogue) -> list[Problem]:
    """Each value against its variable's own check (types, choices, ranges, formats)."""
    problems = []
    for name, entry in merged.items():
        variable = catalogue.lookup(name)
        if variable is None or variable.check is None or entry.value == "":
            continue  # unknown names are reported by check_names; empty means unset
        wrong = variable.check(entry.value)
        if wrong is None:
            continue
        if variable.secret or catalogue.is_secret(name):
            shown = wrong if wrong.startswith(name) else f"{name} (value not shown): {wrong}"
            problems.append(Problem(entry, shown))
        else:
            problems.append(Problem(entry, f"{name}={_short(entry.value)!r}: {wrong}"))
    return problems


def check_docker_format(merged: Mapping[str, EnvEntry]) -> list[Problem]:
    """Values a Docker env file cannot carry unchanged to every reader."""
    problems = []
    for name, entry in merged.items():
        wrong = docker_value_problem(entry.literal)
        if wrong is not None:
            problems.append(Problem(entry, f"{name}: {wrong}"))
    return problems


def secret_reason(name: str, value: str, catalogue: Catalogue) -> str | None:
    """Why this setting must not be in a public file, or None."""
    if catalogue.is_secret(name):
        return f"{name} is a secret"
    if is_url_name(name) and url_value_has_credentials(value):
        return f"{name} holds a URL with a key or password in it"
    if looks_like_private_key(value):
        return f"the value of {name} looks like a private key"
    return None


def check_public_secrets(
    public_entries: Iterable[EnvEntry], catalogue: Catalogue, secret_file: Path | None
) -> list[Problem]:
    problems = []
    where = f"the secret file ({secret_file})" if secret_file else "a secret file kept off source control"
    for entry in public_entries:
        if not entry.value:
            continue
        reason = secret_reason(entry.name, entry.value, catalogue)
        if reason is not None:
            problems.append(Problem(entry, f"{reason} but is in a public file: move it to {where}."))
    return problems


@dataclass(frozen=True, slots=True)
class Requirement:
    name: str
    why: str  # completes "NAME is not set: ..." e.g. "live execution signs with the hot wallet's key"
    secret: bool = False


def check_required(merged: Mapping[str, EnvEntry], required: Iterable[Requirement]) -> list[Problem]:
    problems = []
    for req in required:
        entry = merged.get(req.name)
        if entry is None or entry.value.strip() == "":
            place = "the secret file" if req.secret else "the public file"
            state = "is empty" if entry is not None else "is not set"
            problems.append(Problem(None, f"{req.name} {state}: {req.why}; set it in {place}."))
    return problems


def check_exactly_one(merged: Mapping[str, EnvEntry], names: Sequence[str], why: str) -> list[Problem]:
    """One, and only one, of these alternatives is set (DEPLOYMENT_FILE or EXCHANGE_SLUG)."""
    present = [n for n in names if merged.get(n) is not None and merged[n].value]
    if len(present) == 1:
        return []
    if not present:
        return [Problem(None, f"None of {' or '.join(names)} is set: {why}; set one in the public file.")]
    return [Problem(merged[present[-1]], f"{' and '.join(present)} are both set: {why}; keep one.")]


def check_together(merged: Mapping[str, EnvEntry], groups: Iterable[tuple[str, ...]]) -> list[Problem]:
    """Variables that only make sense together (HTTP_USERNAME and HTTP_PASSWORD)."""
    problems = []
    for group in groups:
        present = [n for n in group if merged.get(n) is not None and merged[n].value]
        if present and len(present) != len(group):
            missing = [n for n in group if n not in present]
            problems.append(
                Problem(
                    None, f"{', '.join(present)} is set without {', '.join(missing)}: set both, or neither."
                )
            )
    return problems


def _short(value: str, limit: int = 60) -> str:
    return value if len(value) <= limit else value[: limit - 3] + "..."
