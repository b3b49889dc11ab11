"""Every variable the executor reads, derived from the CLI's own declarations.

Option variables come from walking the Typer app (every command's options, their env vars
and types) plus every option declared in cli/options.py that no command uses yet, so a
new option is known to `check-config` the moment it is declared. A value is checked by the
option's own parameter, exactly as the command would parse it from the environment.
Variables with no option (PRIVATE_KEY, JSON_RPC_*) are listed here, with checks borrowed
from the code that reads them.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, get_args, get_origin

import typer
import typer.main
from typer.models import OptionInfo

from tradeexecutor.cli import options as options_module
from tradeexecutor.config.deployment import (
    COMPOSE_VARIABLES,
    CONTAINER_WORKDIR,
    PATHS_THAT_MUST_EXIST,
    RUNTIME_VARIABLES,
)
from tradeexecutor.config.validation import Catalogue, Check, Variable
from tradeexecutor.errors import UserError
from tradeexecutor.state.identifiers import ChainId

ENV_ONLY = "environment only"


def _walk(group: Any, skip: set[str], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for name, command in group.commands.items():
        if prefix + name in skip:
            continue
        yield prefix + name, command
        if hasattr(command, "commands"):
            yield from _walk(command, skip, prefix + name + " ")


def _declared_options_command() -> Any:
    """A throwaway command taking every option declared in cli/options.py."""
    parameters = []
    for attr, value in vars(options_module).items():
        if get_origin(value) is not Annotated:
            continue
        if not any(isinstance(m, OptionInfo) for m in get_args(value)[1:]):
            continue
        parameters.append(
            inspect.Parameter(attr.lower(), inspect.Parameter.KEYWORD_ONLY, annotation=value, default=None)
        )

    def declared(**kwargs: Any) -> None:  # never called
        return None

    declared.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    probe = typer.Typer()
    probe.command()(declared)
    return typer.main.get_command(probe)


def option_parameters(app: typer.Typer, skip_commands: set[str]) -> dict[str, tuple[Any, Any]]:
    """env var -> (click command, parameter), for every option of every command but `skip_commands`."""
    root = typer.main.get_command(app)
    commands = [command for _, command in _walk(root, skip_commands)]
    # options only the skipped commands take (check-config's own --output) are not settings
    skipped = {
        v for path, c in _walk(root, set()) if path in skip_commands for p in c.params for v in _envvars(p)
    }
    found: dict[str, tuple[Any, Any]] = {}
    for command in [*commands, _declared_options_command()]:
        for param in command.params:
            for envvar in _envvars(param):
                if envvar not in found and (command in commands or envvar not in skipped):
                    found[envvar] = (command, param)
    return found


def _envvars(param: Any) -> list[str]:
    envvar = param.envvar
    return [e for e in (envvar if isinstance(envvar, list | tuple) else [envvar]) if e]


def _error_text(e: Exception) -> str:
    text = e.format_message() if hasattr(e, "format_message") else str(e)
    # "Invalid value for '--http-port' (env var: 'HTTP_PORT'): Input should be ..." -> the reason
    text = re.sub(r"^Invalid value for '[^']*'(?: \(env var: '[^']*'\))?: ", "", text)
    text = re.sub(r"^(Value error, |Invalid value: )", "", text)
    return text.rstrip(".") + "."


def _parameter_check(command: Any, param: Any) -> Check:
    def check(value: str) -> str | None:
        ctx = command.context_class(command)
        raw: Any = value
        if param.multiple or param.nargs != 1:
            raw = param.split_envvar_value(value)
        try:
            param.process_value(ctx, raw)
        except Exception as e:  # the parameter's own validation, whatever its type
            return _error_text(e)
        return None

    return check


def host_path(value: str, base_dir: Path) -> Path:
    """Where a path given for the container is on this machine (compose mounts mirror it)."""
    path = Path(value)
    if path.is_absolute():
        try:
            return base_dir / path.relative_to(CONTAINER_WORKDIR)
        except ValueError:
            return path
    return base_dir / path


def _existing_path_check(inner: Check | None, base_dir: Path) -> Check:
    def check(value: str) -> str | None:
        wrong = inner(value) if inner else None
        if wrong:
            return wrong
        path = host_path(value, base_dir)
        if not path.is_file():
            return (
                f"{path} does not exist; paths are checked from the directory check-config runs in "
                "(run it where docker-compose.yml is, as the container mounts it)."
            )
        return None

    return check


def _user_error_check(parse: Any, name: str) -> Check:
    def check(value: str) -> str | None:
        try:
            parse(value, name)
        except UserError as e:
            return str(e)
        return None

    return check


def env_only_variables() -> list[Variable]:
    """Variables read from the environment directly, with the checks their readers apply."""
    from tradeexecutor.ethereum.connection import parse_rpc_urls, rpc_env_var
    from tradeexecutor.ethereum.wallet import PRIVATE_KEY_VAR, parse_private_key

    found = [
        Variable(
            PRIVATE_KEY_VAR, ENV_ONLY, _user_error_check(parse_private_key, PRIVATE_KEY_VAR), secret=True
        )
    ]
    for chain in ChainId:
        name = rpc_env_var(chain)
        found.append(Variable(name, ENV_ONLY, _user_error_check(parse_rpc_urls, name)))
    found += [Variable(name, ENV_ONLY) for name in RUNTIME_VARIABLES]
    return found


def build_catalogue(app: typer.Typer, *, skip_commands: set[str], base_dir: Path) -> Catalogue:
    from tradeexecutor.ethereum.connection import parse_rpc_urls

    variables: dict[str, Variable] = {}
    for name, (command, param) in option_parameters(app, skip_commands).items():
        flag = next((o for o in param.opts if o.startswith("--")), param.opts[0])
        check = _parameter_check(command, param)
        if name in PATHS_THAT_MUST_EXIST:
            check = _existing_path_check(check, base_dir)
        variables[name] = Variable(name, flag, check)
    for variable in env_only_variables():
        variables.setdefault(variable.name, variable)

    def rpc_of_other_chain(name: str) -> Variable:
        return Variable(name, ENV_ONLY, _user_error_check(parse_rpc_urls, name))

    return Catalogue(
        variables=variables,
        families=[(re.compile(r"JSON_RPC_CHAIN_[0-9]+"), rpc_of_other_chain)],
        not_for_container=COMPOSE_VARIABLES,
    )
