"""Build and run the image with podman, and bring docker-compose.yml up with Docker Compose v2.

Runs /work/shared/tools/container-check.sh (or ../shared/tools/ beside the checkout), which
needs podman: skipped where podman is not installed. About 2 minutes with a cached base image.

What it proves: the Dockerfile lints (hadolint) and builds from local images only; the
image serves the webhook on the published port 127.0.0.1:19003 -> 3456 (HTTP_HOST=0.0.0.0
from the image); its HEALTHCHECK (`trade-executor healthcheck`) passes; `podman stop` ends
it well inside the 10 s grace period; `docker run IMAGE hello`; a `GIT_REVISION` build
argument shows in `version`; `start --execution-type backtest` runs the example strategy
in the image (as the non-root user, writing its state volume); the production compose
service (ports, volumes, user, init, restart, logging, env_file) comes up healthy and
answers; docker-compose.demo.yml, unchanged, builds the `demo` target, starts the devchain
(anvil + Uniswap v2 + a simulated market inside the image), then the executor once the
devchain is healthy, sharing its volume and network, and that executor, running the real
`start --execution-type uniswap_v2_hot_wallet`, turns healthy and answers /ping.

After a code-only change (one line of tradeexecutor/ in a copy of the build context) the image
is rebuilt: the layers that change must add up to less than 5 MB, and the dependency layer
(the biggest) must be the very same layer, so an upgrade ships only the application.

The plain image and the production service have no chain to trade on here, so they run the
image's own webhook stack in place of `start` (tests/docker/webhook_probe.py, see
tests/docker/compose-check.yml).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CANDIDATES = [ROOT.parent / "shared/tools/container-check.sh", Path("/work/shared/tools/container-check.sh")]


WORK = Path(os.environ.get("WORK", "/tmp/container-check"))  # container-check.sh's state directory
PODMAN_ENV = {
    "CONTAINERS_CONF": str(WORK / "containers.conf"),
    "CONTAINERS_STORAGE_CONF": str(WORK / "storage.conf"),
}


@contextmanager
def health_ticker() -> Iterator[None]:
    """Run pending health checks every 2 s while the check script runs.

    Podman 4.3 schedules health checks with systemd timers, absent here, and the script's
    own ticker stops at the first failing check (a `set -e` subshell), which happens
    whenever a check runs before the service is up; `compose up --wait` then waits forever.
    """
    env = {**os.environ, **PODMAN_ENV}
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(2):
            listed = subprocess.run(
                ["podman", "ps", "-q", "--filter", "health=starting", "--filter", "health=unhealthy"],
                env=env,
                capture_output=True,
                text=True,
            )
            for container in listed.stdout.split():
                subprocess.run(["podman", "healthcheck", "run", container], env=env, capture_output=True)

    thread = threading.Thread(target=tick, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(30)


def finished(returncode: int, output: str) -> bool:
    """Exit 0, or every step passed and only the closing `du` lost a race with podman's cleanup."""
    if returncode == 0:
        return True
    last = output.rstrip().splitlines()[-1]
    return "] done: disk used by" in output and last.startswith("du: ") and "No such file" in last


CHECKS = {
    # the production service of docker-compose.yml, webhook on 127.0.0.1:19003
    "production": {"COMPOSE_FILE_NAME": "tests/docker/compose-check.yml", "HOST_PORT": "19003"},
    # docker-compose.demo.yml as it is: the devchain with a simulated market, then `start` trading
    # on it live from the executor container sharing its network, webhook on 127.0.0.1:19004
    "demo": {
        "COMPOSE_FILE_NAME": "docker-compose.demo.yml",
        "HOST_PORT": "19004",
        "DEMO_HTTP_PORT": "19004",
    },
}


@pytest.mark.podman
@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("check", list(CHECKS))
def test_container_check(check: str, tmp_path: Path) -> None:
    script = next((p for p in CANDIDATES if p.is_file()), None)
    if shutil.which("podman") is None or script is None:
        pytest.skip("podman or container-check.sh is not available here")
    final_env = tmp_path / "final.env"
    final_env.write_text("HTTP_ENABLED=true\n")
    probe = ROOT / "tests/docker/webhook_probe.py"
    env = {
        **os.environ,
        "TRADE_EXECUTOR_VERSION": "ci",
        "SMA_CROSSOVER_ENV_FILE": str(final_env),
        "HTTP_PATH": "/ping",
        "RUN_ARGS": f"--entrypoint python -v {probe}:/probe/webhook_probe.py:ro",
        "RUN_CMD": "/probe/webhook_probe.py",
        "HADOLINT_THRESHOLD": "style",
        **CHECKS[check],
    }
    with health_ticker():
        result = subprocess.run(["bash", str(script), str(ROOT)], env=env, capture_output=True, text=True)
    output = result.stdout + result.stderr
    (tmp_path / "container-check.log").write_text(output)  # kept by pytest for a failed run
    assert finished(result.returncode, output), output[-3000:]
    assert "docker compose (v2" in output, "the compose step did not run"
    assert output.count('{"ping":"pong"}') == 2, "the container and the compose project both answer"
    assert "healthcheck: healthy" in output
    assert "PID 1 ignores SIGTERM" not in output

    podman_env = {
        **os.environ,
        "CONTAINERS_CONF": "/tmp/container-check/containers.conf",
        "CONTAINERS_STORAGE_CONF": "/tmp/container-check/storage.conf",
    }
    hello = subprocess.run(
        ["podman", "run", "--rm", "localhost/project:ci", "hello"],
        env=podman_env,
        capture_output=True,
        text=True,
    )
    assert hello.stdout.strip() == "Hello blockchain", hello.stderr

    if check == "production":  # `start` runs a strategy in the image (backtest: no chain needed)
        backtest = subprocess.run(
            [
                "podman",
                "run",
                "--rm",
                "localhost/project:ci",
                "start",
                "--execution-type",
                "backtest",
                "--strategy-file",
                "strategies/sma_crossover.py",
                "--synthetic-data",
                "--backtest-start",
                "2024-01-01",
                "--backtest-end",
                "2024-01-02",
            ],
            env={**os.environ, **PODMAN_ENV},
            capture_output=True,
            text=True,
        )
        assert backtest.returncode == 0, backtest.stdout[-2000:] + backtest.stderr[-2000:]
        assert "Sharpe" in backtest.stdout  # the summary table
        assert "State saved to state/sma_crossover-backtest.json" in backtest.stderr

    if check == "production":  # the revision is baked in by the build argument
        tag = "localhost/trade-executor:revision-check"
        build = subprocess.run(
            [
                "podman",
                "build",
                "-q",
                "--pull=never",
                "--format",
                "docker",
                "--build-arg",
                "GIT_REVISION=0123456789ab",
                "-t",
                tag,
                str(ROOT),
            ],
            env={**os.environ, **PODMAN_ENV},
            capture_output=True,
            text=True,
        )
        assert build.returncode == 0, build.stderr[-2000:]
        version = subprocess.run(
            ["podman", "run", "--rm", tag, "version"],
            env={**os.environ, **PODMAN_ENV},
            capture_output=True,
            text=True,
        )
        assert version.stdout.strip() == "trade-executor 0.1.0 (git 0123456789ab)", version.stderr

    if check == "production":  # a code-only change: only the application layer is new
        context = tmp_path / "code-change"
        context.mkdir()
        for item in BUILD_CONTEXT:
            source, target = ROOT / item, context / item
            if source.is_dir():
                shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "GIT_REVISION"))
            else:
                shutil.copy2(source, target)
        with (context / "tradeexecutor/version.py").open("a") as f:
            f.write("\n# a code-only change\n")
        tag = "localhost/trade-executor:code-change"
        build = subprocess.run(
            ["podman", "build", "-q", "--pull=never", "--format", "docker", "-t", tag, str(context)],
            env={**os.environ, **PODMAN_ENV},
            capture_output=True,
            text=True,
        )
        assert build.returncode == 0, build.stderr[-2000:]
        before, after = layers("localhost/project:ci"), layers(tag)
        new = {layer: size for layer, size in after.items() if layer not in before}
        (tmp_path / "layers.txt").write_text(f"before {before}\nafter {after}\nnew {new}\n")
        assert 0 < sum(new.values()) < 5_000_000, f"a code-only change ships {new}"
        biggest = max(after, key=after.__getitem__)
        assert biggest in before and after[biggest] > 100_000_000, "the dependency layer must be reused"


# What the Dockerfile COPYs from the build context (tests/test_docker_files.py checks the COPY lines).
BUILD_CONTEXT = [
    "Dockerfile",
    ".dockerignore",
    "pyproject.toml",
    "poetry.lock",
    "README.md",
    "docker",
    "tradeexecutor",
    "strategies",
    "package.json",
    "package-lock.json",
]


def layers(image: str) -> dict[str, int]:
    """Layer digest (content-addressed diff id) -> size in bytes, for the image's layers.

    `podman history` has the sizes, newest first, but no usable layer ids (`<missing>` for
    most); the image's RootFS lists the diff ids, oldest first: pair the non-empty entries."""
    env = {**os.environ, **PODMAN_ENV}

    def podman(*args: str) -> str:
        return subprocess.run(["podman", *args], env=env, capture_output=True, text=True, check=True).stdout

    history = json.loads(podman("history", "--no-trunc", "--format", "json", image))
    sizes = [entry["size"] for entry in reversed(history) if entry["size"] > 0]
    digests = json.loads(podman("image", "inspect", "--format", "{{json .RootFS.Layers}}", image))
    assert len(sizes) == len(digests), (
        f"cannot pair {len(sizes)} sized history entries with {len(digests)} layers"
    )
    return dict(zip(digests, sizes, strict=True))
