"""Package import directions and cycles, as docs/architecture.md states them.

The allowed directions (the `layers` and `leaves` blocks) and the named temporary exceptions
(the `exceptions` block) are read from docs/architecture.md, so the page and this test are
one source. Every import counts: at the top of a module, inside a function, under
TYPE_CHECKING; a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "tradeexecutor"
DOC = ROOT / "docs" / "architecture.md"


@dataclass
class Rules:
    layers: list[list[str]]
    leaves: set[str]
    exceptions: dict[tuple[str, str], str]

    def rank(self, package: str) -> int:
        return next(i for i, layer in enumerate(self.layers) if package in layer)

    @property
    def packages(self) -> set[str]:
        return {p for layer in self.layers for p in layer}


def read_rules(text: str) -> Rules:
    def block(kind: str) -> list[str]:
        found = re.search(rf"```{kind}\n(.*?)```", text, re.S)
        assert found, f"docs/architecture.md has no ```{kind} block"
        return [line.strip() for line in found.group(1).splitlines() if line.strip()]

    exceptions = {}
    for line in block("exceptions"):
        edge, _, why = line.partition(":")
        source, _, target = edge.partition("->")
        exceptions[(source.strip(), target.strip())] = why.strip()
    return Rules(
        layers=[line.split() for line in block("layers")],
        leaves={name for line in block("leaves") for name in line.split()},
        exceptions=exceptions,
    )


@dataclass
class Graph:
    """Package -> imported package -> where (file:line), for one package tree."""

    edges: dict[str, dict[str, list[str]]] = field(default_factory=lambda: defaultdict(dict))
    units: set[str] = field(default_factory=set)  # subpackages and top-level modules


def import_graph(package: Path) -> Graph:
    graph = Graph()
    name = package.name
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts  # ("tradeexecutor", "cli", "main")
        unit = parts[1]  # "__init__" for the root package's own module
        if unit != "__init__":
            graph.units.add(unit)
        module = list(parts[:-1] if parts[-1] == "__init__" else parts)
        is_package = parts[-1] == "__init__"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # relative: resolve against this module's package
                    base = module if is_package else module[:-1]
                    base = base[: len(base) - node.level + 1]
                    targets = [".".join([*base, *([node.module] if node.module else [])])]
                else:
                    targets = [node.module or ""]
            else:
                continue
            for target in targets:
                target_parts = target.split(".")
                if target_parts[0] != name or len(target_parts) < 2 or target_parts[1] == unit:
                    continue
                where = f"{path.relative_to(package.parent)}:{node.lineno}"
                graph.edges[unit].setdefault(target_parts[1], []).append(where)
    return graph


def cycles(edges: dict[str, dict[str, list[str]]]) -> list[list[str]]:
    """Strongly connected components with more than one package (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in edges.get(node, {}):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(set(edges) | {t for targets in edges.values() for t in targets}):
        if node not in index:
            visit(node)
    return sorted(found)


def violations(graph: Graph, rules: Rules) -> list[str]:
    """Imports against the directions, exceptions aside; one line each with where it happens."""
    found = []
    for source, targets in sorted(graph.edges.items()):
        for target, where in sorted(targets.items()):
            if (source, target) in rules.exceptions:
                continue
            if source in rules.leaves or source == "__init__":
                why = "a leaf module imports nothing of ours"
            elif target in rules.leaves:
                if source != "state":
                    continue
                why = "state imports nothing else of ours"
            elif rules.rank(target) > rules.rank(source):
                continue
            else:
                why = "same layer" if rules.rank(target) == rules.rank(source) else "upward"
            found.append(f"{source} -> {target} ({why}): {', '.join(where[:3])}")
    return found


def without_exceptions(graph: Graph, rules: Rules) -> dict[str, dict[str, list[str]]]:
    return {
        source: {t: w for t, w in targets.items() if (source, t) not in rules.exceptions}
        for source, targets in graph.edges.items()
    }


def test_every_package_has_its_place_in_the_layers() -> None:
    rules = read_rules(DOC.read_text())
    graph = import_graph(PACKAGE)
    placed = rules.packages | rules.leaves
    assert graph.units - placed == set(), "add these to docs/architecture.md (layers or leaves)"
    assert placed - graph.units == set(), "docs/architecture.md names packages that no longer exist"
    picture = DOC.read_text().split("## The picture", 1)[1].split("## Allowed directions", 1)[0]
    for unit in placed:
        assert re.search(rf"\b{unit}(/|\.py)", picture), f"the picture in docs/architecture.md lacks {unit}"


def test_imports_follow_the_allowed_directions() -> None:
    rules = read_rules(DOC.read_text())
    assert violations(import_graph(PACKAGE), rules) == []


def test_no_package_cycles_beyond_the_named_exceptions() -> None:
    rules = read_rules(DOC.read_text())
    graph = import_graph(PACKAGE)
    assert cycles(without_exceptions(graph, rules)) == []
    # today's known cycles, each broken by one named exception (phase 2 of issue 17 removes them)
    assert cycles(graph.edges) == [["dashboard", "webhook"], ["execution", "reporting"]]


def test_every_exception_is_still_needed() -> None:
    """An exception whose import is gone is deleted with it, so none outlives its reason."""
    rules = read_rules(DOC.read_text())
    graph = import_graph(PACKAGE)
    stale = [f"{s} -> {t}" for s, t in rules.exceptions if t not in graph.edges.get(s, {})]
    assert stale == [], "delete these lines from the exceptions block of docs/architecture.md"


def test_a_wrong_import_and_a_cycle_are_found(tmp_path: Path) -> None:
    """The checks can fail: a small package with an upward import, a cycle and a relative import."""
    root = tmp_path / "tradeexecutor"
    for package, source in {
        "state": "from tradeexecutor.errors import UserError\n",
        "execution": "def f():\n    from tradeexecutor.reporting import x\n",
        "reporting": "from ..execution import run_state\n",
        "cli": "",
    }.items():
        (root / package).mkdir(parents=True)
        (root / package / "__init__.py").write_text(source)
    (root / "errors.py").write_text("")
    rules = read_rules(
        "```layers\ncli\nreporting\nexecution\nstate\n```\n```leaves\nerrors\n```\n```exceptions\n```\n"
    )
    graph = import_graph(root)
    assert cycles(graph.edges) == [["execution", "reporting"]]
    assert [v.split(":")[0] for v in violations(graph, rules)] == [
        "execution -> reporting (upward)",
        "state -> errors (state imports nothing else of ours)",
    ]
    rules.exceptions[("execution", "reporting")] = "named"
    assert cycles(without_exceptions(graph, rules)) == []
