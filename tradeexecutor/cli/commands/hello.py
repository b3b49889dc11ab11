"""`trade-executor hello`: prove the install (and the Docker image) starts."""

import typer


def hello() -> None:
    """Print a greeting; used to check that the installation or image works."""
    typer.echo("Hello blockchain")
