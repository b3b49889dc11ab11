"""The image's install steps (docker/install.sh, run by the Dockerfile) in a fresh venv.

Proves without a container engine what the deps and builder stages produce: exactly
poetry.lock's main-group versions and nothing from the dev group, no pip and no stray
top-level `docs` package, the package installed as a wheel (not from the source tree),
`trade-executor hello` / `version` working with a baked revision, and an application layer
holding the package, its metadata and the command, nothing of the dependencies.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
POETRY = ROOT / ".tools" / "bin" / "poetry"
# What the Dockerfile's builder stage COPYs before running the script.
BUILD_CONTEXT = ["pyproject.toml", "poetry.lock", "README.md", "docker/install.sh", "tradeexecutor"]


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked(group: str) -> dict[str, tuple[str, str | None]]:
    """name -> (version, markers) of every poetry.lock package in `group`."""
    lock = tomllib.loads((ROOT / "poetry.lock").read_text())
    found = {}
    for package in lock["package"]:
        if group in package.get("groups", []):
            markers = package.get("markers")
            if isinstance(markers, dict):
                markers = markers.get(group)
            found[normalise(package["name"])] = (package["version"], markers)
    return found


@pytest.mark.slow
def test_install_script_builds_the_locked_runtime(tmp_path: Path) -> None:
    if not POETRY.exists():
        pytest.skip("run `make deps` first: the test uses the project's Poetry")
    context = tmp_path / "src"
    for item in BUILD_CONTEXT:
        source, target = ROOT / item, context / item
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "GIT_REVISION"))
        else:
            shutil.copy2(source, target)
    venv = tmp_path / "venv"
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "GIT_REVISION")}
    env |= {"POETRY": str(POETRY), "PYTHON": sys.executable}
    layer = tmp_path / "app-layer"
    for step in (["deps", str(venv)], ["app", str(venv), "cafe0123beef"], ["layer", str(venv), str(layer)]):
        result = subprocess.run(
            ["sh", "docker/install.sh", *step], cwd=context, env=env, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stdout + result.stderr

    listing = subprocess.run(
        [
            str(venv / "bin/python"),
            "-I",
            "-c",
            "import json, importlib.metadata as m; print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    installed = {normalise(k): v for k, v in json.loads(listing.stdout).items()}
    installed.pop("trade-executor")
    assert "pip" not in installed, "nothing installs at run time: no pip in the runtime venv"
    # setuptools stays: it is locked, because pyramid 2.1 imports pkg_resources
    site = next((venv / "lib").glob("python3.*/site-packages"))
    assert not (site / "docs").exists(), "a stray top-level docs package (eth-abi, hexbytes wheels)"
    main, dev = locked("main"), locked("dev")
    not_locked = {n: v for n, v in installed.items() if n not in main}
    assert not_locked == {}, f"installed but not in the lock's main group: {not_locked}"
    assert {n: v for n, v in installed.items() if main[n][0] != v} == {}, "versions differ from poetry.lock"
    missing = [n for n, (_, markers) in main.items() if markers is None and n not in installed]
    assert missing == [], f"locked main dependencies not installed: {missing}"
    dev_only = set(dev) - set(main)
    assert dev_only and not dev_only & set(installed), "dev dependencies leaked into the runtime"

    # run from elsewhere, so nothing can come from the source tree
    cli = str(venv / "bin/trade-executor")
    hello = subprocess.run([cli, "hello"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert hello.stdout == "Hello blockchain\n", hello.stderr
    version = subprocess.run([cli, "version"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert version.stdout.strip() == "trade-executor 0.1.0 (git cafe0123beef)"
    assert not (context / "tradeexecutor/GIT_REVISION").exists(), "the revision went into the source tree"

    # the application layer: the package (with the baked revision), its metadata, the command
    shipped = {str(p.relative_to(layer)) for p in layer.rglob("*") if p.is_file()}
    site_in_layer = str(site.relative_to("/"))
    assert f"{site_in_layer}/tradeexecutor/GIT_REVISION" in shipped
    assert f"{site_in_layer}/tradeexecutor/cli/main.py" in shipped
    assert f"{str(venv.relative_to('/'))}/bin/trade-executor" in shipped
    outside = {
        p
        for p in shipped
        if not p.startswith((f"{site_in_layer}/tradeexecutor/", f"{site_in_layer}/trade_executor-"))
    }
    assert outside == {f"{str(venv.relative_to('/'))}/bin/trade-executor"}, outside
    assert sum((layer / p).stat().st_size for p in shipped) < 5_000_000, (
        "the application layer must stay small"
    )
