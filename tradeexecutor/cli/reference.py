"""Render every command, option and environment variable of the CLI as Markdown.

docs/cli-reference.md is generated from the Typer app itself (`make docs`), and a test
fails when the file is out of date, so the reference can never drift from the code.
"""

from __future__ import annotations

import typer.main
from typer.core import TyperGroup, TyperOption

from tradeexecutor.cli.main import app

HEADER = """# CLI reference

Generated from the code by `make docs`; do not edit by hand. Every option can also be
set with the environment variable shown (or in a `.env` file given with `--env-file`);
a flag on the command line wins over the environment.

Environment-only settings (secrets are never command line options):

| variable | meaning |
| --- | --- |
| `PRIVATE_KEY` | the hot wallet's private key (64 hex digits); never printed or logged |
| `JSON_RPC_ETHEREUM`, `JSON_RPC_BINANCE`, `JSON_RPC_POLYGON`, `JSON_RPC_ARBITRUM`, `JSON_RPC_BASE`, `JSON_RPC_ANVIL`, `JSON_RPC_CHAIN_<id>` | node URL(s) of the strategy's chain; several, separated by spaces, fail over in order |
| `TS_PUBLIC_STRATEGIES` | fleet dashboard: JSON list of `{id, name, url}` (alternative to `--strategies`) |
| `ANVIL_BINARY`, `TRADE_EXECUTOR_NODE_MODULES` | devchain and tests: where the anvil binary / npm tooling is |
| `GIT_REVISION` | overrides the git revision `version` prints (set by the Docker build) |
"""


def _commands(group: TyperGroup, prefix: str = "") -> list[tuple[str, object]]:
    found: list[tuple[str, object]] = []
    for name in sorted(group.commands):
        cmd = group.commands[name]
        if getattr(cmd, "hidden", False):
            continue
        if isinstance(cmd, TyperGroup):
            found += _commands(cmd, f"{prefix}{name} ")
        else:
            found.append((prefix + name, cmd))
    return found


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _option_rows(params: list) -> list[str]:
    rows = []
    for param in params:
        if not isinstance(param, TyperOption) or param.name == "help":
            continue
        flags = ", ".join(f"`{o}`" for o in [*param.opts, *param.secondary_opts])
        envvar = param.envvar[0] if isinstance(param.envvar, list) else param.envvar
        default = param.default
        shown = (
            ""
            if default in (None, False, "") or callable(default)
            else f"`{getattr(default, 'value', default)}`"
        )
        rows.append(f"| {flags} | {f'`{envvar}`' if envvar else ''} | {shown} | {_cell(param.help or '')} |")
    return rows


ENV_FILE_ROW = (
    "| `--env-file PATH` |  |  | Load a Docker-style .env file before options are read (repeatable, anywhere on the "
    "command line); later files win, and variables already set in the environment win over files. |"
)
TABLE_HEAD = "\n| option | env var | default | meaning |\n| --- | --- | --- | --- |\n"


def render() -> str:
    root = typer.main.get_command(app)
    assert isinstance(root, TyperGroup)
    parts = [
        HEADER,
        "\n## `trade-executor` (before any command)\n",
        TABLE_HEAD,
        "\n".join([*_option_rows(root.params), ENV_FILE_ROW]) + "\n",
    ]
    for name, cmd in _commands(root):
        parts.append(f"\n## `trade-executor {name}`\n\n{_cell(cmd.help or '')}\n")  # type: ignore[attr-defined]
        rows = _option_rows(cmd.params)  # type: ignore[attr-defined]
        if rows:
            parts.append(TABLE_HEAD)
            parts.append("\n".join(rows) + "\n")
    return "".join(parts)


if __name__ == "__main__":
    print(render(), end="")
