"""The house: data flows one way (no import circle in grader/, counting imports inside functions),
no room is too big, and the README's map names every module there is."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from grader.paths import PACKAGE
from tests.conftest import PROJECT

MAX_LINES = 400


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(path: Path, known: set[str]) -> set[str]:
    """Every grader module ``path`` imports, anywhere in it (deferred imports count)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return {name for name in found if name in known}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_grader_has_no_import_circle() -> None:
    found = modules()
    graph = {name: imports(path, set(found)) - {name} for name, path in found.items()}
    assert not cycles(graph), cycles(graph)


def test_the_circle_finder_finds_circles() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_is_too_big() -> None:
    big = {name: n for name, path in modules().items() if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert not big, big


def test_the_readme_map_names_every_module() -> None:
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    mapped = set(re.findall(r"`(grader/[\w/]+\.py)`", readme))
    present = {path.relative_to(PACKAGE.parent).as_posix() for path in modules().values()
               if path.name != "__init__.py" or path.parent == PACKAGE}
    present.discard("grader/__init__.py")
    present.discard("grader/__main__.py")
    assert not present - mapped, f"modules the README's map does not name: {sorted(present - mapped)}"
    assert not mapped - present, f"the README names modules that do not exist: {sorted(mapped - present)}"
