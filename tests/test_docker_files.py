"""The Dockerfile, .dockerignore, compose files and env examples agree with each other and the code."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml  # PyYAML: a dev dependency (through backtesting -> bokeh)
from typer.testing import CliRunner

from tradeexecutor.cli.main import app
from tradeexecutor.config.deployment import COMPOSE_VARIABLES, CONTAINER_WORKDIR
from tradeexecutor.config.envfile import parse_env_file
from tradeexecutor.config.redaction import is_url_name

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_FILES = [
    "docker-compose.yml",
    "docker-compose.demo.yml",
    "tests/docker/compose-check.yml",
]


def dockerfile_stages() -> dict[str, list[str]]:
    """Stage name -> its instructions (continuation lines joined, comments dropped)."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    stages: dict[str, list[str]] = {}
    current: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        match = re.match(r"FROM\s+(\S+)\s+AS\s+(\S+)", line, re.IGNORECASE)
        if match:
            current = stages.setdefault(match.group(2), [])
        current.append(line)
    return stages


def instruction(stage: list[str], keyword: str) -> list[str]:
    return [line[len(keyword) :].strip() for line in stage if line.upper().startswith(keyword + " ")]


def test_final_stage_is_the_runtime_image() -> None:
    stages = dockerfile_stages()
    assert list(stages)[-1] == "runtime", "the default build target must be the runtime image"
    assert stages["runtime"] == ["FROM app AS runtime"]
    app_stage = stages["app"]
    assert instruction(stages["base"], "FROM") == ["python:3.11-slim AS base"]
    assert instruction(app_stage, "ENTRYPOINT") == ['["trade-executor"]']
    assert instruction(app_stage, "CMD") == ['["start"]']
    assert instruction(app_stage, "EXPOSE") == ["3456"]
    assert instruction(app_stage, "WORKDIR") == [CONTAINER_WORKDIR]
    assert instruction(app_stage, "USER") == ["10001:10001"], "the image must not run as root"
    assert any("HTTP_HOST=0.0.0.0" in env for env in instruction(app_stage, "ENV"))
    volumes = " ".join(instruction(app_stage, "VOLUME"))
    for directory in ("strategies", "strategy", "state", "cache"):
        assert f'"{CONTAINER_WORKDIR}/{directory}"' in volumes
    (healthcheck,) = instruction(app_stage, "HEALTHCHECK")
    assert healthcheck.endswith('CMD ["trade-executor", "healthcheck"]')
    # nothing in the runtime stages installs packages or compilers
    for name in ("base", "app", "runtime"):
        assert not [r for r in instruction(stages[name], "RUN") if re.search(r"apt|pip install|poetry", r)]


def test_builder_uses_the_makefiles_poetry_and_the_shared_install_script() -> None:
    makefile = (ROOT / "Makefile").read_text()
    (poetry_version,) = re.findall(r"^POETRY_VERSION := (\S+)$", makefile, re.MULTILINE)
    stages = dockerfile_stages()
    assert f"ARG POETRY_VERSION={poetry_version}" in stages["deps"]
    assert "docker/install.sh deps /opt/venv" in " ".join(instruction(stages["deps"], "RUN"))
    assert stages["builder"][0] == "FROM deps AS builder"
    runs = " ".join(instruction(stages["builder"], "RUN"))
    assert (
        "docker/install.sh app /opt/venv" in runs and "docker/install.sh layer /opt/venv /app-layer" in runs
    )


def test_runtime_gets_dependencies_and_application_as_separate_layers() -> None:
    """A code-only change rebuilds the builder stage only: the image's dependency layer stays."""
    copies = [c for c in instruction(dockerfile_stages()["app"], "COPY") if "--from=" in c]
    assert copies[:2] == ["--from=deps /opt/venv /opt/venv", "--from=builder /app-layer/ /"]
    deps_copies = instruction(dockerfile_stages()["deps"], "COPY")
    assert not [c for c in deps_copies if "tradeexecutor" in c], "the dependency layer must not see the code"


def test_every_copied_path_exists_and_is_not_ignored() -> None:
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    for stage in dockerfile_stages().values():
        for copy in instruction(stage, "COPY"):
            if "--from=" in copy:
                continue
            sources = [s for s in copy.split() if not s.startswith("--")][:-1]
            for source in sources:
                assert (ROOT / source).exists(), f"COPY {source}: missing"
                assert source.rstrip("/") not in ignored, f"COPY {source}: excluded by .dockerignore"


def test_dockerignore_keeps_local_state_and_tooling_out() -> None:
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()}
    for path in (".git", ".venv", ".tools", "node_modules", "state", "cache", "logs", "env", "*.env"):
        assert path in ignored, f"{path} would be sent to the Docker daemon"


def load_compose(name: str) -> dict:
    return yaml.safe_load((ROOT / name).read_text())


def test_production_compose_service() -> None:
    service = load_compose("docker-compose.yml")["services"]["sma-crossover"]
    assert service["image"].startswith("ghcr.io/tradeexecutor/trade-executor:${TRADE_EXECUTOR_VERSION")
    assert service["ports"] == ["127.0.0.1:19003:3456"]
    targets = {v.split(":")[1] for v in service["volumes"]}
    assert targets == {f"{CONTAINER_WORKDIR}/{d}" for d in ("strategies", "state", "cache", "monit")}
    for volume in service["volumes"]:
        assert (ROOT / volume.split(":")[0]).is_dir(), f"{volume}: the host directory is missing"
    assert service["command"] == "start"
    assert service["restart"] == "unless-stopped"
    assert service["init"] is True
    assert service["logging"]["driver"] == "json-file"
    assert {"max-size", "max-file"} <= set(service["logging"]["options"])
    assert service["env_file"], "the final env file must be passed"


def test_demo_compose_runs_devchain_then_executor() -> None:
    services = load_compose("docker-compose.demo.yml")["services"]
    devchain, executor = services["devchain"], services["executor"]
    assert devchain["build"]["target"] == "demo" and devchain["build"]["context"] == "."
    assert devchain["command"][:2] == ["devchain", "up"]
    assert executor["network_mode"] == "service:devchain"
    assert executor["depends_on"]["devchain"]["condition"] == "service_healthy"
    assert executor["command"][-1] == "start"
    for env_file in executor["env_file"]:
        assert (ROOT / env_file).is_file()
    # the file the executor loads is the one devchain up writes, on the volume both mount
    written = next(a.split("=", 1)[1] for a in devchain["command"] if a.startswith("--devchain-env-file="))
    assert executor["command"][:2] == ["--env-file", written]
    assert "demo" in dockerfile_stages()


def test_compose_interpolations_are_known_to_check_config() -> None:
    """check-config tells operators these belong to compose, not to the container."""
    used = set()
    for name in ("docker-compose.yml", "docker-compose.demo.yml"):
        used |= set(re.findall(r"\$\{([A-Z_][A-Z0-9_]*)", (ROOT / name).read_text()))
    assert used == set(COMPOSE_VARIABLES)


def compose_binary() -> Path | None:
    """Docker Compose v2, as installed by container-check.sh, or a docker CLI plugin."""
    work = Path(os.environ.get("WORK", "/tmp/container-check"))
    for candidate in [
        work / "venv/lib/python3.11/site-packages/compose/docker-compose",
        Path.home() / ".docker/cli-plugins/docker-compose",
        Path("/usr/libexec/docker/cli-plugins/docker-compose"),
    ]:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("docker-compose")
    return Path(found) if found else None


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_real_docker_compose_accepts_the_file(name: str, tmp_path: Path) -> None:
    binary = compose_binary()
    if binary is None:
        pytest.skip("Docker Compose v2 is not installed here (container-check.sh installs it)")
    final = tmp_path / "final.env"
    final.write_text("HTTP_ENABLED=true\n")
    env = {
        **os.environ,
        "TRADE_EXECUTOR_VERSION": "v0.0.0-test",
        "SMA_CROSSOVER_ENV_FILE": str(final),
        "DOCKER_CONFIG": str(tmp_path),
    }
    result = subprocess.run(
        [str(binary), "-f", name, "config", "--quiet"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    # an unpinned version is an error, not a silent "latest"
    del env["TRADE_EXECUTOR_VERSION"]
    if name == "docker-compose.yml":
        result = subprocess.run(
            [str(binary), "-f", name, "config", "--quiet"], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert result.returncode != 0 and "TRADE_EXECUTOR_VERSION" in result.stderr


def test_secret_template_lists_only_known_secrets() -> None:
    """Every variable in env/secret.env.example (commented or not) is one check-config knows."""
    names = re.findall(r"^#?([A-Z][A-Z0-9_]+)=", (ROOT / "env/secret.env.example").read_text(), re.MULTILINE)
    assert "PRIVATE_KEY" in names and "JSON_RPC_ANVIL" in names
    from tradeexecutor.cli.config_catalogue import build_catalogue

    catalogue = build_catalogue(app, skip_commands={"check-config"}, base_dir=ROOT)
    assert [n for n in names if catalogue.lookup(n) is None] == []
    # secrets, or URLs that are secret when they carry a key or password (JSON_RPC_*, DASHBOARD_DB_URL)
    assert all(catalogue.is_secret(n) or is_url_name(n) or n == "HTTP_USERNAME" for n in names)


@pytest.mark.parametrize("env_file", ["env/sma-crossover.env", "env/demo.env"])
def test_public_env_examples_pass_check_config(env_file: str, monkeypatch) -> None:
    strategy = parse_env_file(ROOT / env_file)
    strategy_file = next(e.value for e in strategy if e.name == "STRATEGY_FILE")
    if not (ROOT / strategy_file).exists():
        pytest.skip(f"{strategy_file} arrives with the backtest branch")
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(app, ["check-config", "--env-file", env_file, "--public-only"])
    assert result.exit_code == 0, result.output


def test_final_env_file_means_the_same_to_docker_compose(tmp_path: Path, monkeypatch) -> None:
    """What check-config writes, docker compose passes to the container unchanged."""
    binary = compose_binary()
    if binary is None:
        pytest.skip("Docker Compose v2 is not installed here (container-check.sh installs it)")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "strategy.py").write_text(
        'TRADING_STRATEGY_ENGINE_VERSION = "0.1"\nTRADING_STRATEGY_CYCLE = "1h"\nRESERVE_CURRENCY = "USDC"\n'
        "CHAIN_ID = 1\ndef create_trading_universe(input): pass\ndef decide_trades(input): return []\n"
    )
    values = {
        "STRATEGY_FILE": "strategy.py",
        "EXECUTION_TYPE": "backtest",
        "BACKTEST_START": "2024-01-01",
        "BACKTEST_END": "2024-07-01",
        "NAME": "ETH-USD SMA on Pancake",  # spaces, no quotes in the output
        "ICON_URL": "https://example.com/i.png?alt=media&x=1#frag",  # ?, &, = and # (no space before it)
        "LONG_DESCRIPTION": 'Quote\'s inside: "fine" (in the middle); 100% = ok',
        "HTTP_CORS_ORIGINS": "https://a.example.com,https://b.example.com",
    }
    (tmp_path / "public.env").write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    (tmp_path / "secret.env").write_text("")
    result = CliRunner().invoke(
        app, ["check-config", "--env-file", "public.env", "--env-file", "secret.env", "--output", "final.env"]
    )
    assert result.exit_code == 0, result.output
    (tmp_path / "compose.yml").write_text("services:\n  x:\n    image: scratch\n    env_file: [final.env]\n")
    rendered = subprocess.run(
        [str(binary), "-f", "compose.yml", "config", "--format", "json"],
        cwd=tmp_path,
        env={**os.environ, "DOCKER_CONFIG": str(tmp_path)},
        capture_output=True,
        text=True,
    )
    assert rendered.returncode == 0, rendered.stderr
    assert json.loads(rendered.stdout)["services"]["x"]["environment"] == values
