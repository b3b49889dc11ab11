"""The CLI skeleton: hello, version, help, option/env naming and start-up weight."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import typer
import typer.main
from typer.core import TyperGroup, TyperOption
from typer.testing import CliRunner

from tradeexecutor.cli.main import app, run
from tradeexecutor.cli.options import NO_ENV_FLAGS, StrategyFile, env_name

runner = CliRunner()


def test_hello() -> None:
    result = runner.invoke(app, ["hello"])
    assert result.exit_code == 0
    assert result.output.strip() == "Hello blockchain"


def test_version_prints_package_version() -> None:
    result = runner.invoke(app, ["version"])
    assert result.exit_code == 0
    assert result.output.startswith("trade-executor 0.")


def test_help_lists_every_command() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    command = typer.main.get_command(app)
    assert isinstance(command, TyperGroup)
    for name in command.commands:
        assert name in result.output


def _all_commands(group: TyperGroup, prefix: str = "") -> list:
    found = []
    for name, cmd in group.commands.items():
        found.append((prefix + name, cmd))
        if isinstance(cmd, TyperGroup):
            found += _all_commands(cmd, prefix + name + " ")
    return found


def test_every_option_has_env_var_named_after_its_flag() -> None:
    root = typer.main.get_command(app)
    assert isinstance(root, TyperGroup)
    checked = 0
    for path, cmd in _all_commands(root):
        for param in cmd.params:
            if not isinstance(param, TyperOption) or param.name in ("help", "env_file"):
                continue
            long_flags = [o for o in param.opts if o.startswith("--")]
            if long_flags[0] in NO_ENV_FLAGS:
                assert not param.envvar, f"{path} {long_flags[0]} must not read the environment"
                continue
            envvars = param.envvar if isinstance(param.envvar, list) else [param.envvar]
            assert envvars[0] == env_name(long_flags[0]), f"{path} {long_flags[0]} has env {param.envvar}"
            checked += 1
    assert checked > 0


def test_flag_and_env_var_reach_the_same_setting(monkeypatch) -> None:
    probe = typer.Typer()

    @probe.command()
    def show(strategy_file: StrategyFile = None) -> None:
        typer.echo(f"strategy_file={strategy_file}")

    monkeypatch.delenv("STRATEGY_FILE", raising=False)
    by_flag = runner.invoke(probe, ["--strategy-file", "x.py"])
    by_env = runner.invoke(probe, [], env={"STRATEGY_FILE": "x.py"})
    assert by_flag.output == by_env.output == "strategy_file=x.py\n"


def _run_cli(args: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    code = (
        "import sys\n"
        "from tradeexecutor.cli.main import run\n"
        "try:\n"
        f"    run({args!r})\n"
        "except SystemExit as e:\n"
        "    code = e.code\n"
        "else:\n"
        "    code = 0\n"
        "print('HEAVY', 'web3' in sys.modules, 'pandas' in sys.modules, file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env={**os.environ, **(env or {})}
    )


def test_hello_version_help_do_not_import_web3_or_pandas() -> None:
    for args in (["hello"], ["version"], ["--help"], ["--version"]):
        result = _run_cli(args)
        assert result.returncode == 0, result.stderr
        assert "HEAVY False False" in result.stderr, f"{args} imported web3 or pandas"


def test_unknown_option_is_a_clear_error() -> None:
    result = _run_cli(["hello", "--no-such-option"])
    assert result.returncode == 2
    assert "No such option" in result.stderr


def test_env_file_is_loaded_before_options(tmp_path: Path, monkeypatch) -> None:
    env_file = tmp_path / "public.env"
    env_file.write_text("# comment\nSTRATEGY_FILE=from-file.py\n")
    monkeypatch.delenv("STRATEGY_FILE", raising=False)
    seen: dict[str, str | None] = {}

    @app.command("probe-env", hidden=True)
    def probe_env(strategy_file: StrategyFile = None) -> None:
        seen["strategy_file"] = str(strategy_file)

    try:
        try:
            run(["probe-env", "--env-file", str(env_file)])
        except SystemExit as e:
            assert e.code == 0
        assert seen["strategy_file"] == "from-file.py"
    finally:
        app.registered_commands = [c for c in app.registered_commands if c.name != "probe-env"]
        os.environ.pop("STRATEGY_FILE", None)


def test_malformed_env_file_names_file_and_line(tmp_path: Path) -> None:
    env_file = tmp_path / "bad.env"
    env_file.write_text("GOOD=1\nthis line is wrong\n")
    result = _run_cli(["--env-file", str(env_file), "hello"])
    assert result.returncode == 2
    assert f"{env_file}:2" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_reference_is_up_to_date() -> None:
    """docs/cli-reference.md documents every command and option; regenerate with `make docs`."""
    from tradeexecutor.cli.reference import render

    path = Path(__file__).resolve().parents[1] / "docs" / "cli-reference.md"
    assert path.read_text() == render(), "docs/cli-reference.md is stale: run `make docs`"


def test_start_serves_the_webhook_before_importing_web3_or_pandas(tmp_path: Path) -> None:
    """`/ping` answers within tenths of a second of `start`: web3 (about 1 s to import), pandas and
    numpy come after the webhook is up, never before it."""
    code = (
        "import os, sys\n"
        "import tradeexecutor.webhook.server as server\n"
        "started = server.WebhookServer.start\n"
        "def start(self):\n"
        "    started(self)\n"
        "    heavy = [m for m in ('web3', 'eth_account', 'pandas', 'numpy') if m in sys.modules]\n"
        "    print('HEAVY', heavy, flush=True)\n"
        "    os._exit(0)\n"
        "server.WebhookServer.start = start\n"
        "from tradeexecutor.cli.main import run\n"
        "run(sys.argv[1:])\n"
    )
    strategy = Path(__file__).resolve().parents[1] / "strategies" / "sma_crossover.py"
    args = ["start", "--execution-type", "uniswap_v2_hot_wallet", "--strategy-file", str(strategy)]
    args += ["--state-file", str(tmp_path / "state.json"), "--http-port", "0"]
    args += ["--heartbeat", "none", "--file-log-level", "none"]
    result = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "HEAVY []" in result.stdout, result.stdout + result.stderr[-2000:]


def test_version_flag_and_shell_completion() -> None:
    version = _run_cli(["version"])
    flag = _run_cli(["--version"])
    assert (
        flag.returncode == 0 and flag.stdout == version.stdout and flag.stdout.startswith("trade-executor 0.")
    )
    script = _run_cli(["--show-completion", "bash"])
    assert script.returncode == 0 and "_TRADE_EXECUTOR_COMPLETE=complete_bash" in script.stdout
    executable = Path(sys.executable).with_name("trade-executor")
    env = {**os.environ, "_TRADE_EXECUTOR_COMPLETE": "complete_bash", "COMP_CWORD": "2"}
    done = subprocess.run(
        [str(executable)],
        env={**env, "COMP_WORDS": "trade-executor backtest --synth"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout.split() == ["--synthetic-data", "--synthetic-seed"]
