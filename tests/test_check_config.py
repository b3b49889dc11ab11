"""`trade-executor check-config`: splicing, every kind of bad input, redaction, the final file."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tradeexecutor.cli.main import run
from tradeexecutor.config.envfile import parse_env_file

KEY = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
RPC_WITH_KEY = "https://bsc-mainnet.example.com/v3/9f2c4e7a1b3d5f60718293a4b5c6d7e8"

STRATEGY = """\
TRADING_STRATEGY_ENGINE_VERSION = "0.1"
TRADING_STRATEGY_CYCLE = "1h"
RESERVE_CURRENCY = "USDC"
CHAIN_ID = {chain_id}

def create_trading_universe(input):
    return input.create_universe()

def decide_trades(input):
    return []
"""

BACKTEST = "EXECUTION_TYPE=backtest\nBACKTEST_START=2024-01-01\nBACKTEST_END=2024-02-01\n"

PUBLIC = """\
# public settings
STRATEGY_FILE=strategies/example.py
EXECUTION_TYPE=uniswap_v2_hot_wallet
EXCHANGE_SLUG=pancakeswap-v2
NAME=Example strategy
HTTP_ENABLED=true
HTTP_PORT=3456
MAX_SLIPPAGE=50
"""


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A deployment directory: strategies/example.py on BNB Chain (56), public and secret files."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "strategies").mkdir()
    (tmp_path / "strategies" / "example.py").write_text(STRATEGY.format(chain_id=56))
    (tmp_path / "public.env").write_text(PUBLIC)
    (tmp_path / "secret.env").write_text(f"PRIVATE_KEY={KEY}\nJSON_RPC_BINANCE={RPC_WITH_KEY}\n")
    for name in ("STRATEGY_FILE", "PRIVATE_KEY", "EXECUTION_TYPE", "ENV_FILE", "OUTPUT", "PUBLIC_ONLY"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        run(["check-config", *args])
    except SystemExit as e:
        code = int(e.code or 0)
    else:
        code = 0
    out, err = capsys.readouterr()
    assert KEY not in out + err and KEY[2:] not in out + err, "the private key was printed"
    assert "9f2c4e7a1b3d5f60718293a4b5c6d7e8" not in out + err, "the RPC key was printed"
    assert "Traceback" not in out + err
    return code, out, err


def test_good_configuration_is_spliced_and_written(workdir: Path, capsys) -> None:
    code, out, err = check(
        capsys, "--env-file", "public.env", "--env-file", "secret.env", "--output", "final.env"
    )
    assert code == 0, err
    assert "Configuration OK: 9 variables from 2 file(s)." in out
    final = workdir / "final.env"
    assert stat.S_IMODE(final.stat().st_mode) == 0o600
    values = {e.name: e.value for e in parse_env_file(final)}
    assert values["PRIVATE_KEY"] == KEY and values["NAME"] == "Example strategy"
    assert values["JSON_RPC_BINANCE"] == RPC_WITH_KEY
    # unquoted, one NAME=value per line, as `docker run --env-file` reads it
    assert "NAME=Example strategy\n" in final.read_text()
    assert not list(workdir.glob(".final.env.*")), "temporary file left behind"


def test_summary_table_redacts_secrets(workdir: Path, capsys) -> None:
    code, out, _ = check(capsys, "--env-file", "public.env", "--env-file", "secret.env")
    assert code == 0
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ")}
    assert "***" in lines["PRIVATE_KEY"] and "secret.env:1" in lines["PRIVATE_KEY"]
    assert "https://bsc-mainnet.example.com" in lines["JSON_RPC_BINANCE"]
    assert "Example strategy" in lines["NAME"]
    assert "public.env (public), secret.env (secret)" in out


def test_later_file_wins_and_the_override_is_shown(workdir: Path, capsys) -> None:
    (workdir / "secret.env").write_text(
        f"PRIVATE_KEY={KEY}\nJSON_RPC_BINANCE={RPC_WITH_KEY}\nMAX_SLIPPAGE=80\n"
    )
    code, out, _ = check(
        capsys, "--env-file", "public.env", "--env-file", "secret.env", "--output", "final.env"
    )
    assert code == 0
    assert "overrides public.env:8" in out
    values = {e.name: e.value for e in parse_env_file(workdir / "final.env")}
    assert values["MAX_SLIPPAGE"] == "80"


def test_global_env_file_option_is_handed_to_check_config(workdir: Path, capsys, monkeypatch) -> None:
    """Operators type --env-file anywhere; the files are checked, not loaded into the environment."""
    try:
        run(["--env-file", "public.env", "check-config", "--env-file", "secret.env"])
    except SystemExit as e:
        assert e.code in (0, None)
    out, _ = capsys.readouterr()
    assert "public.env (public), secret.env (secret)" in out
    assert "PRIVATE_KEY" not in os.environ and "STRATEGY_FILE" not in os.environ


def problems(err: str) -> list[str]:
    return [line[4:] for line in err.splitlines() if line.startswith("  - ")]


def test_every_problem_is_listed_and_nothing_is_written(workdir: Path, capsys) -> None:
    (workdir / "public.env").write_text(
        "STRATEGY_FLE=strategies/example.py\n"  # 1 misspelt
        "EXECUTION_TYPE=uniswap_v3\n"  # 2 not a choice
        "HTTP_PORT=abc\n"  # 3 not an int
        "HTTP_ENABLED=maybe\n"  # 4 not a bool
        "MAX_SLIPPAGE=20000\n"  # 5 out of range
        "http_port=1\n"  # 6 wrong case
        "TRADE_EXECUTOR_VERSION=v1\n"  # 7 belongs to compose
        "FOO_BAR=1\n"  # 8 unknown, nothing close
        "NAME=a\n"  # 9
        "NAME=b\n"  # 10 duplicate
        "MIN_GAS_BALANCE=-1\n"  # 11 custom parser
    )
    (workdir / "secret.env").write_text("PRIVATE_KEY=0x1234\nJSON_RPC_CHAIN_99=ws://node\n")
    code, out, err = check(
        capsys, "--env-file", "public.env", "--env-file", "secret.env", "--output", "final.env"
    )
    assert code == 1
    assert not (workdir / "final.env").exists()
    found = problems(err)
    expected = [
        "public.env:1: unknown variable STRATEGY_FLE: did you mean STRATEGY_FILE?",
        "public.env:2: EXECUTION_TYPE='uniswap_v3': use one of 'uniswap_v2_hot_wallet', 'dummy', 'backtest'.",
        "public.env:3: HTTP_PORT='abc': Input should be a valid integer",
        "public.env:4: HTTP_ENABLED='maybe': Input should be a valid boolean",
        "public.env:5: MAX_SLIPPAGE='20000': Input should be less than or equal to 9999.",
        "public.env:6: unknown variable http_port: did you mean HTTP_PORT? (names are case-sensitive)",
        "public.env:7: TRADE_EXECUTOR_VERSION is read by docker compose",
        "public.env:8: unknown variable FOO_BAR: remove it",
        "public.env:10: NAME is already set on line 9 of this file: keep one of the two lines.",
        "public.env:11: MIN_GAS_BALANCE='-1': '-1' must be a number of 0 or more.",
        "secret.env:1: PRIVATE_KEY is not a valid 32-byte hex private key",
        "secret.env:2: JSON_RPC_CHAIN_99='ws://node': Entry 1 of JSON_RPC_CHAIN_99 is not an http:// or https:// URL",
        "STRATEGY_FILE is not set: give the path of the strategy module to run; set it in the public file.",
    ]
    assert len(found) == len(expected), "\n".join(found)
    for got, want in zip(found, expected, strict=True):
        assert got.startswith(want), f"{got!r} does not start with {want!r}"
    assert f"{len(expected)} problems found; nothing was written:" in err


def test_secrets_in_the_public_file_are_refused(workdir: Path, capsys) -> None:
    with (workdir / "public.env").open("a") as f:
        f.write(
            f"PRIVATE_KEY={KEY}\nJSON_RPC_BINANCE={RPC_WITH_KEY}\nDISCORD_WEBHOOK_URL=https://discord.com/api/webhooks/1/TokEn9876xyz\n"
        )
        f.write(f"NOTES_KEYISH={KEY[2:]}\n")
    code, _, err = check(capsys, "--env-file", "public.env", "--env-file", "secret.env")
    assert code == 1
    found = problems(err)
    assert (
        "public.env:9: PRIVATE_KEY is a secret but is in a public file: move it to the secret file (secret.env)."
        in found
    )
    assert any(p.startswith("public.env:10: JSON_RPC_BINANCE holds a URL with a key") for p in found)
    assert any(p.startswith("public.env:11: DISCORD_WEBHOOK_URL is a secret") for p in found)
    assert any("the value of NOTES_KEYISH looks like a private key" in p for p in found)
    assert "TokEn9876xyz" not in err  # the Discord token is not shown


def test_public_rpc_url_without_credentials_may_be_public(workdir: Path, capsys) -> None:
    with (workdir / "public.env").open("a") as f:
        f.write("JSON_RPC_POLYGON=https://polygon-rpc.com\n")
    code, _, err = check(capsys, "--env-file", "public.env", "--env-file", "secret.env")
    assert code == 0, err


def test_live_execution_needs_key_and_the_strategy_chains_rpc(workdir: Path, capsys) -> None:
    (workdir / "secret.env").write_text(f"JSON_RPC_ETHEREUM={RPC_WITH_KEY}\n")
    code, _, err = check(capsys, "--env-file", "public.env", "--env-file", "secret.env")
    assert code == 1
    found = problems(err)
    assert found == [
        "PRIVATE_KEY is not set: uniswap_v2_hot_wallet signs trades with the hot wallet's key; set it in the secret file.",
        "JSON_RPC_BINANCE is not set: the strategy trades on chain 56 (binance): give its JSON-RPC node URL(s); "
        "set it in the secret file.",
    ]


def test_backtest_needs_no_secrets(workdir: Path, capsys) -> None:
    (workdir / "public.env").write_text("STRATEGY_FILE=strategies/example.py\n" + BACKTEST)
    (workdir / "secret.env").write_text("")
    code, _, err = check(capsys, "--env-file", "public.env", "--env-file", "secret.env")
    assert code == 0, err


def test_backtest_needs_its_date_range(workdir: Path, capsys) -> None:
    (workdir / "public.env").write_text("STRATEGY_FILE=strategies/example.py\nEXECUTION_TYPE=backtest\n")
    code, _, err = check(capsys, "--env-file", "public.env", "--env-file", "secret.env")
    assert code == 1
    assert [p.split(":")[0] for p in problems(err)] == [
        "BACKTEST_START is not set",
        "BACKTEST_END is not set",
    ]


def test_strategy_file_must_exist_and_load(workdir: Path, capsys) -> None:
    (workdir / "public.env").write_text("STRATEGY_FILE=strategies/missing.py\n" + BACKTEST)
    code, _, err = check(capsys, "--env-file", "public.env", "--env-file", "secret.env")
    assert code == 1
    assert "public.env:1: STRATEGY_FILE='strategies/missing.py':" in err and "does not exist" in err

    (workdir / "strategies" / "broken.py").write_text("CHAIN_ID = 'x'\n")
    (workdir / "public.env").write_text("STRATEGY_FILE=strategies/broken.py\n" + BACKTEST)
    code, _, err = check(capsys, "--env-file", "public.env", "--env-file", "secret.env")
    assert code == 1
    assert "public.env:1: the strategy module cannot be loaded:" in err
    assert "CHAIN_ID must be a positive integer" in err


def test_container_paths_are_checked_on_the_host(workdir: Path, capsys) -> None:
    (workdir / "public.env").write_text(
        "STRATEGY_FILE=/usr/src/trade-executor/strategies/example.py\n" + BACKTEST
    )
    code, _, err = check(capsys, "--env-file", "public.env", "--env-file", "secret.env")
    assert code == 0, err


def test_public_only_flags_secrets_but_does_not_require_them(workdir: Path, capsys) -> None:
    code, _, err = check(capsys, "--env-file", "public.env", "--public-only")
    assert code == 0, err
    with (workdir / "public.env").open("a") as f:
        f.write(f"PRIVATE_KEY={KEY}\n")
    code, _, err = check(capsys, "--env-file", "public.env", "--public-only")
    assert code == 1
    assert "move it to a secret file kept off source control" in err


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("'quoted' rest", "starts with a quote"),
        ("pa$$word", "contains '$'"),
        ("My strategy #1", "' #'"),
    ],
)
def test_values_docker_would_read_differently_are_refused(
    workdir: Path, capsys, value: str, why: str
) -> None:
    with (workdir / "public.env").open("a") as f:
        f.write(f"SHORT_DESCRIPTION={value}\n")
    code, _, err = check(
        capsys, "--env-file", "public.env", "--env-file", "secret.env", "--output", "final.env"
    )
    assert code == 1
    assert why in err and "public.env:9: SHORT_DESCRIPTION:" in err
    assert not (workdir / "final.env").exists()


def test_http_username_needs_password(workdir: Path, capsys) -> None:
    with (workdir / "public.env").open("a") as f:
        f.write("HTTP_USERNAME=admin\n")
    code, _, err = check(capsys, "--env-file", "public.env", "--env-file", "secret.env")
    assert code == 1
    assert "HTTP_USERNAME is set without HTTP_PASSWORD: set both, or neither." in err


def test_malformed_and_missing_files(workdir: Path, capsys) -> None:
    (workdir / "public.env").write_text("GOOD=1\nthis is not a setting\n")
    code, _, err = check(capsys, "--env-file", "public.env", "--env-file", "nope.env")
    assert code == 1
    assert "public.env:2: expected NAME=value" in err
    assert "Env file nope.env does not exist." in err


def test_no_files_and_output_over_an_input_are_user_errors(workdir: Path, capsys) -> None:
    code, _, err = check(capsys)
    assert code == 1 and "pass --env-file PUBLIC.env --env-file SECRET.env" in err
    code, _, err = check(
        capsys, "--env-file", "public.env", "--env-file", "secret.env", "--output", "secret.env"
    )
    assert code == 1 and "is one of the --env-file inputs" in err
    assert (workdir / "secret.env").read_text().startswith("PRIVATE_KEY=")


def test_output_into_missing_directory_is_a_user_error(workdir: Path, capsys) -> None:
    code, _, err = check(
        capsys, "--env-file", "public.env", "--env-file", "secret.env", "--output", "no/such/dir/final.env"
    )
    assert code == 1
    assert "does not exist: create it first" in err


def test_rewriting_keeps_the_old_file_until_the_new_one_is_complete(workdir: Path, capsys) -> None:
    final = workdir / "final.env"
    final.write_text("OLD=1\n")
    final.chmod(0o644)
    code, _, _ = check(
        capsys, "--env-file", "public.env", "--env-file", "secret.env", "--output", "final.env"
    )
    assert code == 0
    assert "OLD=1" not in final.read_text()
    assert stat.S_IMODE(final.stat().st_mode) == 0o600


def test_every_option_variable_is_known_and_check_configs_own_are_not(workdir: Path) -> None:
    """The known names are derived from the CLI: nothing to keep in step by hand."""
    import typer.main

    from tradeexecutor.cli.config_catalogue import build_catalogue
    from tradeexecutor.cli.main import app

    catalogue = build_catalogue(app, skip_commands={"check-config"}, base_dir=workdir)
    root = typer.main.get_command(app)

    def commands(group, prefix=""):
        for name, command in group.commands.items():
            yield prefix + name, command
            if hasattr(command, "commands"):
                yield from commands(command, prefix + name + " ")

    def envvars(command) -> list[str]:
        found = []
        for param in command.params:
            found += [param.envvar] if isinstance(param.envvar, str) else list(param.envvar or [])
        return found

    by_others = {v for path, c in commands(root) if path != "check-config" for v in envvars(c)}
    seen = 0
    for path, command in commands(root):
        for envvar in envvars(command):
            # check-config's own options (--public-only) are not settings, unless another command has them
            expected = path != "check-config" or envvar in by_others
            assert (catalogue.lookup(envvar) is not None) == expected, f"{path}: {envvar}"
            seen += 1
    assert seen > 5
    # declared in cli/options.py for `start`, known before any command uses them
    for name in ("EXECUTION_TYPE", "NAME", "SHORT_DESCRIPTION", "LONG_DESCRIPTION", "ICON_URL"):
        assert catalogue.lookup(name) is not None
    for name in ("PRIVATE_KEY", "JSON_RPC_POLYGON", "JSON_RPC_CHAIN_250", "TZ"):
        assert catalogue.lookup(name) is not None


def test_live_execution_needs_exactly_one_exchange(workdir: Path, capsys) -> None:
    public = (workdir / "public.env").read_text()
    (workdir / "public.env").write_text(public.replace("EXCHANGE_SLUG=pancakeswap-v2\n", ""))
    code, _, err = check(capsys, "--env-file", "public.env", "--env-file", "secret.env")
    assert code == 1
    assert problems(err) == [
        "None of DEPLOYMENT_FILE or EXCHANGE_SLUG is set: uniswap_v2_hot_wallet needs the exchange to trade on; "
        "set one in the public file."
    ]
    (workdir / "public.env").write_text(public + "DEPLOYMENT_FILE=state/devchain.json\n")
    code, _, err = check(capsys, "--env-file", "public.env", "--env-file", "secret.env")
    assert code == 1
    assert problems(err) == [
        "public.env:4: DEPLOYMENT_FILE and EXCHANGE_SLUG are both set: uniswap_v2_hot_wallet needs the exchange "
        "to trade on; keep one."
    ]


def test_execution_types_are_the_ones_start_accepts() -> None:
    from tradeexecutor.cli.live_start import LIVE_EXECUTION_TYPES
    from tradeexecutor.config.deployment import ExecutionType

    assert {t.value for t in ExecutionType} == {*LIVE_EXECUTION_TYPES, "backtest"}


def test_paper_trading_needs_the_chain_but_no_key(workdir: Path, capsys) -> None:
    public = (workdir / "public.env").read_text().replace("uniswap_v2_hot_wallet", "dummy")
    (workdir / "public.env").write_text(public)
    (workdir / "secret.env").write_text("")
    code, _, err = check(capsys, "--env-file", "public.env", "--env-file", "secret.env")
    assert code == 1
    assert [p.split(":")[0] for p in problems(err)] == ["JSON_RPC_BINANCE is not set"]


def test_env_only_variables_of_the_cli_reference_are_known(workdir: Path) -> None:
    import re

    from tradeexecutor.cli.config_catalogue import build_catalogue
    from tradeexecutor.cli.main import app
    from tradeexecutor.cli.reference import HEADER

    catalogue = build_catalogue(app, skip_commands={"check-config"}, base_dir=workdir)
    documented = re.findall(r"`([A-Z][A-Z0-9_]+)`", HEADER)
    assert len(documented) > 5
    assert [n for n in documented if catalogue.lookup(n) is None] == []
