"""`trade-executor check-config`: splice public and secret .env files, validate, write the final one.

    trade-executor check-config --env-file env/sma-crossover.env \\
        --env-file ~/sma-crossover-secret.env --output ~/sma-crossover-final.env

`--env-file` is normally a global option that loads files into the environment before a
command runs. This command declares `--env-file` itself, so main.run() hands the files to it
instead of applying them: it checks the files, not the shell it happens to run in.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from tradeexecutor.cli.options import ConfigEnvFiles, ConfigOutput, PublicOnly
from tradeexecutor.errors import UserError

if TYPE_CHECKING:
    from tradeexecutor.config.validation import Problem, Splice

COMMAND_NAME = "check-config"


def check_config(
    env_file: ConfigEnvFiles = None,
    output: ConfigOutput = None,
    public_only: PublicOnly = False,
) -> None:
    """Splice .env files (later wins), check every variable, print a redacted summary, write --output."""
    from tradeexecutor.cli.config_report import print_problems, print_summary, redactor_for
    from tradeexecutor.config.envfile import EnvFileError, parse_env_file, write_env_file
    from tradeexecutor.config.validation import Problem, Splice

    files = list(env_file or [])
    if not files:
        raise UserError(
            "No configuration given: pass --env-file PUBLIC.env --env-file SECRET.env (the last file is the secret one)."
        )
    if output is not None and any(_same_file(output, f) for f in files):
        raise UserError(
            f"--output {output} is one of the --env-file inputs: write the final file somewhere else."
        )

    parse_problems: list[Problem] = []
    entries = []
    for path in files:
        try:
            entries.append(tuple(parse_env_file(path)))
        except EnvFileError as e:
            parse_problems.append(Problem(None, str(e)))
    if parse_problems:
        print_problems(parse_problems, redactor_for({}))
        raise typer.Exit(1)

    splice = Splice(tuple(files), tuple(entries))
    problems = _validate(splice, public_only)
    redactor = redactor_for(splice.merged)
    print_summary(splice, files if public_only else files[:-1], redactor)
    if problems:
        print_problems(problems, redactor)
        raise typer.Exit(1)

    typer.echo(f"Configuration OK: {len(splice.merged)} variables from {len(files)} file(s).")
    if output is not None:
        header = (
            "Written by `trade-executor check-config` from "
            + ", ".join(str(f) for f in files)
            + ".\nDo not edit: edit those files and run check-config again."
        )
        try:
            write_env_file(output, [(e.name, e.value) for e in splice.merged.values()], header)
        except FileNotFoundError:
            raise UserError(f"The directory of --output {output} does not exist: create it first.") from None
        except IsADirectoryError:
            raise UserError(f"--output {output} is a directory: give a file name.") from None
        except PermissionError:
            raise UserError(f"Cannot write --output {output}: permission denied.") from None
        typer.echo(f"Wrote {output} (mode 0600): pass it to Docker with env_file: or --env-file.")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def _validate(splice: Splice, public_only: bool) -> list[Problem]:
    from tradeexecutor.cli.config_catalogue import build_catalogue, host_path
    from tradeexecutor.cli.main import app
    from tradeexecutor.config import validation as v
    from tradeexecutor.config.deployment import EXCHANGE_ALTERNATIVES, ExecutionType, required_variables

    merged = splice.merged
    catalogue = build_catalogue(app, skip_commands={COMMAND_NAME}, base_dir=Path.cwd())
    public_files = splice.files if public_only else splice.files[:-1]
    secret_file = None if public_only else splice.files[-1]
    public_entries = [e for file_entries in splice.entries for e in file_entries if e.path in public_files]

    problems = v.check_duplicates(splice)
    problems += v.check_names(merged, catalogue)
    value_problems = v.check_values(merged, catalogue)
    problems += value_problems
    problems += v.check_docker_format(merged)
    problems += v.check_public_secrets(public_entries, catalogue, secret_file)
    problems += v.check_together(merged, [("HTTP_USERNAME", "HTTP_PASSWORD")])

    bad_names = {p.name for p in value_problems}
    execution_type = None
    kind = merged.get("EXECUTION_TYPE")
    if kind is not None and kind.value and "EXECUTION_TYPE" not in bad_names:
        try:
            execution_type = ExecutionType(kind.value.strip().lower())
        except ValueError:
            choices = ", ".join(repr(t.value) for t in ExecutionType)
            problems.append(v.Problem(kind, f"EXECUTION_TYPE={kind.value!r}: use one of {choices}."))

    rpc_variable = chain_label = None
    strategy = merged.get("STRATEGY_FILE")
    if strategy is not None and strategy.value and "STRATEGY_FILE" not in bad_names:
        rpc_variable, chain_label, strategy_problem = _strategy_chain(host_path(strategy.value, Path.cwd()))
        if strategy_problem is not None:
            problems.append(v.Problem(strategy, strategy_problem))
    problems += v.check_required(
        merged, required_variables(execution_type, rpc_variable, chain_label, with_secrets=not public_only)
    )
    if execution_type is not None and execution_type.uses_chain:
        why = f"{execution_type.value} needs the exchange to trade on"
        problems += v.check_exactly_one(merged, EXCHANGE_ALTERNATIVES, why)
    return v.sort_problems(problems, splice.files)


def _strategy_chain(path: Path) -> tuple[str | None, str | None, str | None]:
    """(JSON_RPC_* of the strategy's chain, "chain 56 (binance)", problem) by loading the module."""
    from tradeexecutor.ethereum.connection import rpc_env_var
    from tradeexecutor.state.identifiers import ChainId
    from tradeexecutor.strategy.loader import StrategyLoadError, load_strategy_module

    try:
        module = load_strategy_module(path)
    except StrategyLoadError as e:
        return None, None, "the strategy module cannot be loaded: " + "; ".join(e.problems)
    chain_id = module.chain_id
    return rpc_env_var(chain_id), f"chain {chain_id} ({ChainId.name_of(chain_id)})", None
