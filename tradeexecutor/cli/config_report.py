"""What check-config prints: a redacted table of the spliced settings, then every problem."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import typer

from tradeexecutor.config.envfile import EnvEntry
from tradeexecutor.config.redaction import (
    REDACTED,
    SecretRedactor,
    is_secret_name,
    is_url_name,
    looks_like_private_key,
    url_value_has_credentials,
)
from tradeexecutor.config.validation import Problem, Splice

MAX_SHOWN = 60


def redactor_for(merged: Mapping[str, EnvEntry]) -> SecretRedactor:
    """A redactor knowing every secret in these files, whatever file it came from."""
    redactor = SecretRedactor()
    redactor.register_environment({name: entry.value for name, entry in merged.items()})
    redactor.register(*(e.value for e in merged.values() if looks_like_private_key(e.value)))
    return redactor


def shown_value(name: str, value: str) -> str:
    if value == "":
        return "(empty)"
    if is_secret_name(name) or looks_like_private_key(value):
        return REDACTED
    if is_url_name(name) and url_value_has_credentials(value):
        from tradeexecutor.ethereum.connection import redact_url

        return " ".join(redact_url(u) + "/" + REDACTED for u in value.split())
    return value if len(value) <= MAX_SHOWN else value[: MAX_SHOWN - 3] + "..."


def print_summary(splice: Splice, public_files: Sequence[Path], redactor: SecretRedactor) -> None:
    merged = splice.merged
    rows = [("VARIABLE", "VALUE", "FROM")]
    for name in sorted(merged):
        entry = merged[name]
        source = f"{entry.path}:{entry.line}"
        earlier = splice.overridden(name)
        if earlier:
            source += f" (overrides {earlier[-1].path}:{earlier[-1].line})"
        rows.append((name, shown_value(name, entry.value), source))
    widths = [max(len(r[i]) for r in rows) for i in range(2)]
    kinds = ", ".join(f"{f} ({'public' if f in public_files else 'secret'})" for f in splice.files)
    typer.echo(f"Spliced {kinds}; later files win:")
    for name, value, source in rows:
        typer.echo(redactor.redact(f"  {name:<{widths[0]}}  {value:<{widths[1]}}  {source}"))


def print_problems(problems: Sequence[Problem], redactor: SecretRedactor) -> None:
    noun = "problem" if len(problems) == 1 else "problems"
    typer.echo(f"{len(problems)} {noun} found; nothing was written:", err=True)
    for problem in problems:
        typer.echo(redactor.redact(f"  - {problem}"), err=True)
