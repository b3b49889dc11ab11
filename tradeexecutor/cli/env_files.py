"""`--env-file PATH` is applied before option parsing, so env-derived option values see it."""

from __future__ import annotations

from pathlib import Path

from tradeexecutor.errors import UserError

FLAG = "--env-file"


def extract_env_files(argv: list[str]) -> tuple[list[Path], list[str]]:
    """Remove every `--env-file X` / `--env-file=X` from argv, wherever it stands."""
    files: list[Path] = []
    rest: list[str] = []
    skip_next = False
    for i in range(len(argv)):
        arg = argv[i]
        if skip_next:
            skip_next = False
            continue
        if arg == "--":
            rest.extend(argv[i:])
            break
        if arg == FLAG:
            if i + 1 >= len(argv):
                raise UserError("--env-file needs a path, e.g. --env-file env/my-strategy.env.")
            files.append(Path(argv[i + 1]))
            skip_next = True
        elif arg.startswith(FLAG + "="):
            files.append(Path(arg.split("=", 1)[1]))
        else:
            rest.append(arg)
    return files, rest
