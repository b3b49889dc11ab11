"""How commands print a result for scripts: `--json` writes one JSON object on stdout.

Decimals are written as exact JSON numbers (`10000.5`, never a float approximation or a
string), datetimes as ISO 8601 UTC, and the text goes through the same secret redaction as
every log line and error message, so a result can never carry a key or an API token.
"""

from __future__ import annotations

from typing import Any

import typer


def json_text(document: Any) -> str:
    import msgspec

    from tradeexecutor.config.redaction import redact

    return redact(msgspec.json.Encoder(decimal_format="number").encode(document).decode())


def echo_json(document: Any) -> None:
    """Print `document` as one line of JSON on stdout."""
    typer.echo(json_text(document))


def echo_result(result: Any, json_output: bool) -> None:
    """A result with `lines()` and `document()`: its JSON with `--json`, else its lines."""
    if json_output:
        echo_json(result.document())
    else:
        for line in result.lines():
            typer.echo(line)
