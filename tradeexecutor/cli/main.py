"""The `trade-executor` command.

Command modules are imported here, so each one must keep heavy imports (web3, pandas)
inside its function body: `hello`, `version` and `--help` stay fast.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
import typer.main

from tradeexecutor.cli.commands import (
    audit,
    backtest,
    check_config,
    check_strategy,
    check_universe,
    check_wallet,
    close_position,
    console,
    create_wallet,
    dashboard,
    demo,
    devchain,
    export_trades,
    healthcheck,
    hello,
    perform_test_trade,
    repair,
    reset_state,
    show_positions,
    start,
    sweep,
    version,
)
from tradeexecutor.cli.env_files import command_name, extract_env_files, pass_to_command
from tradeexecutor.errors import UserError
from tradeexecutor.state.errors import StateStoreError

app = typer.Typer(
    name="trade-executor",
    help="Run a Python trading strategy as a backtest or live on Uniswap v2 style DEXes.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion for bash, zsh, fish, PowerShell
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        version.version()
        raise typer.Exit()


@app.callback(
    epilog="Global option: --env-file PATH (repeatable) loads Docker-style .env files before options "
    "are read; later files win, and variables already set in the environment win over files."
)
def main(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print the version and git revision, then exit.",
            callback=_version,
            is_eager=True,
        ),
    ] = False,
) -> None:
    """Run a Python trading strategy as a backtest or live on Uniswap v2 style DEXes."""


app.command("hello")(hello.hello)
app.command("version")(version.version)
app.command("demo")(demo.demo)
app.command("check-strategy")(check_strategy.check_strategy)
app.command(check_config.COMMAND_NAME)(check_config.check_config)
app.command("create-wallet")(create_wallet.create_wallet)
app.command("check-universe")(check_universe.check_universe)
app.command("check-wallet")(check_wallet.check_wallet)
app.command("perform-test-trade")(perform_test_trade.perform_test_trade)
app.command("repair")(repair.repair)
app.command("console")(console.console)
app.command("show-positions")(show_positions.show_positions)
app.command("close-position")(close_position.close_position)
app.command("close-all")(close_position.close_all)
app.command("export-trades")(export_trades.export_trades)
app.command("reset-state")(reset_state.reset_state)
app.command("audit")(audit.audit)
app.command("backtest")(backtest.backtest)
app.command("start")(start.start)
app.command("sweep")(sweep.sweep)
app.command("dashboard")(dashboard.dashboard)
app.command("create-dashboard-user")(dashboard.create_dashboard_user)
app.command("healthcheck")(healthcheck.healthcheck)
app.add_typer(devchain.app, name="devchain")


def _commands_taking_env_files() -> set[str]:
    """Commands that declare --env-file themselves (check-config): they get the files, unapplied."""
    root = typer.main.get_command(app)
    return {
        name
        for name, command in getattr(root, "commands", {}).items()
        if any("--env-file" in getattr(p, "opts", ()) for p in command.params)
    }


# Commands that never touch a node, a key or a state file: kept free of the logging and
# redaction imports, which would cost them start-up time for nothing.
LIGHT_COMMANDS = {None, "hello", "version", "healthcheck", "create-wallet"}


def fail(message: str, code: int = 1) -> None:
    redaction = sys.modules.get("tradeexecutor.config.redaction")
    if redaction is not None:  # loaded by every command that could have seen a secret
        message = redaction.redact(message)
    print(f"Error: {message}", file=sys.stderr)
    sys.exit(code)


def run(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        env_files, args = extract_env_files(args)
        if env_files and command_name(args) in _commands_taking_env_files():
            args = pass_to_command(env_files, args)
        elif env_files:
            from tradeexecutor.config.envfile import EnvFileError, load_env_files

            try:
                load_env_files(env_files)
            except EnvFileError as e:
                fail(str(e), 2)
        if command_name(args) not in LIGHT_COMMANDS and not {"--help", "-h"} & set(args):
            from tradeexecutor.reporting.logging_setup import setup_default_logging

            setup_default_logging()
        app(args=args, prog_name="trade-executor")
    except UserError as e:
        fail(str(e), e.exit_code)
    except StateStoreError as e:  # a corrupt, locked, missing or too new state file
        fail(str(e), 1)
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        sys.exit(130)
