"""`trade-executor version`."""

import typer


def version() -> None:
    """Print the package version and the git revision it was built from, when known."""
    # imported here: importlib.metadata and subprocess would cost every other command start-up time
    from tradeexecutor.version import get_git_revision, get_version

    revision = get_git_revision()
    typer.echo(f"trade-executor {get_version()}" + (f" (git {revision})" if revision else ""))
