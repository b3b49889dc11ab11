"""`trade-executor version`."""

import typer

from tradeexecutor.version import get_git_revision, get_version


def version() -> None:
    """Print the package version and the git revision it was built from, when known."""
    revision = get_git_revision()
    typer.echo(f"trade-executor {get_version()}" + (f" (git {revision})" if revision else ""))
