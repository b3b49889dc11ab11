"""`--env-file PATH` is applied before option parsing, so env-derived option values see it.

A command that declares `--env-file` itself (check-config, which checks files rather than
running with them) receives the files instead: they are put back after its name.
"""

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


def command_name(args: list[str]) -> str | None:
    """The command a (global-option-free) argv runs: its first word that is not an option."""
    for arg in args:
        if arg == "--":
            return None
        if not arg.startswith("-"):
            return arg
    return None


def pass_to_command(files: list[Path], args: list[str]) -> list[str]:
    """Re-insert `--env-file X` right after the command name, in the original order."""
    name = command_name(args)
    assert name is not None
    i = args.index(name) + 1
    given = [a for f in files for a in (FLAG, str(f))]
    return args[:i] + given + args[i:]
