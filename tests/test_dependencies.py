"""Every third-party package our code imports is declared in pyproject.toml.

A package that is only pulled in by another dependency (requests by web3, markupsafe by jinja2)
can disappear or change major version whenever that dependency changes its own requirements.
tradeexecutor/ may import only runtime dependencies; tests/ and benchmarks/ may also import the
dev group. An import inside `try: ... except ImportError` is optional (IPython in the console).
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared() -> tuple[set[str], set[str]]:
    """(runtime, dev) distribution names from pyproject.toml."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    runtime = {canonical(re.match(r"[A-Za-z0-9._-]+", d).group()) for d in project["project"]["dependencies"]}
    groups = project["tool"]["poetry"]["group"]
    dev = {canonical(name) for name in groups["dev"]["dependencies"]}
    return runtime, dev


def optional_imports(tree: ast.AST) -> set[int]:
    """Lines guarded by `except ImportError` (or ModuleNotFoundError), and their `else:` branch."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try):
            caught = {ast.unparse(h.type) for h in node.handlers if h.type is not None}
            if caught & {"ImportError", "ModuleNotFoundError"}:
                lines |= {
                    n.lineno
                    for stmt in node.body + node.orelse
                    for n in ast.walk(stmt)
                    if hasattr(n, "lineno")
                }
    return lines


def imported_top_level(directory: Path) -> dict[str, Path]:
    """Top-level module names imported (not optionally) by the files under `directory`, one file each."""
    local = {p.stem for p in directory.rglob("*.py")} | {p.name for p in directory.rglob("*") if p.is_dir()}
    found: dict[str, Path] = {}
    for path in sorted(directory.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        optional = optional_imports(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            if node.lineno in optional:
                continue
            for name in names:
                top = name.split(".")[0]
                if (
                    top in sys.stdlib_module_names
                    or top in local
                    or top in ("tradeexecutor", "tests", "__future__")
                ):
                    continue
                found.setdefault(top, path)
    return found


def undeclared(directory: Path, allowed: set[str]) -> list[str]:
    distributions = importlib.metadata.packages_distributions()
    missing = []
    for module, path in sorted(imported_top_level(directory).items()):
        names = {canonical(d) for d in distributions.get(module, [module])}
        if not names & allowed:
            where = path.relative_to(directory.parent)
            missing.append(f"{module} ({where}; distribution {', '.join(sorted(names))})")
    return missing


def test_the_package_imports_only_runtime_dependencies() -> None:
    runtime, _ = declared()
    assert undeclared(ROOT / "tradeexecutor", runtime) == []


def test_tests_and_benchmarks_import_only_declared_dependencies() -> None:
    runtime, dev = declared()
    for directory in ("tests", "benchmarks", "strategies"):
        assert undeclared(ROOT / directory, runtime | dev) == [], directory


def test_an_undeclared_import_is_found(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "mod.py").write_text(
        "import requests\nimport json\nfrom . import sibling\n"
        "try:\n    import IPython\nexcept ImportError:\n    IPython = None\n"
    )
    assert [m.split(" ")[0] for m in undeclared(package, {"web3"})] == ["requests"]
    assert undeclared(package, {"requests"}) == []
