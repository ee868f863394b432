"""Which package may import which, read from the source with ``ast`` (nothing is imported).

- ``federation/`` never imports ``node/``: the dependency points one way.
- The import graph of ``node/`` and ``federation/`` has no cycle.
- Only the composition roots (``node/app.py``, ``node/cli.py``) import ``node.web``
  from outside it.
- No test module imports another test module: shared helpers live in ``tests/support/``.

Every import statement in a file counts: at module top, under ``TYPE_CHECKING``, inside
functions. The helpers are tested on small packages written to ``tmp_path``, so each rule
is shown to catch what it forbids.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("node", "federation")
# The modules that wire the web layer to the rest: the app factory and the command line.
WEB_ROOTS = frozenset({"node.app", "node.cli"})

Graph = dict[str, set[str]]


# --- the import graph -----------------------------------------------------------------


def module_files(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    """Every module of ``packages`` under ``root`` by dotted name (``pkg/__init__.py``: ``pkg``)."""
    modules: dict[str, Path] = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


def _relative_base(module: str, path: Path, level: int) -> str:
    """The package ``from .`` (level 1), ``from ..`` (level 2)… means inside ``module``."""
    parts = module.split(".")
    if path.name != "__init__.py":
        parts = parts[:-1]  # a plain module's `.` is its package
    return ".".join(parts[: len(parts) - (level - 1)])


def imported_names(module: str, path: Path, known: Iterable[str] = ()) -> set[str]:
    """The dotted names ``module`` imports, relative imports resolved; ``from pkg import
    name`` gives ``pkg.name`` when that is one of the ``known`` modules, else ``pkg``."""
    known = set(known)
    names: set[str] = set()
    for statement in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(statement, ast.Import):
            names.update(alias.name for alias in statement.names)
        elif isinstance(statement, ast.ImportFrom):
            base = statement.module or ""
            if statement.level:
                prefix = _relative_base(module, path, statement.level)
                base = f"{prefix}.{base}" if base else prefix
            for alias in statement.names:
                names.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return names


def _owning_module(name: str, known: set[str]) -> str | None:
    """The longest known module ``name`` is, or is inside (``pkg.mod.func`` → ``pkg.mod``)."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in known:
            return ".".join(parts[:end])
    return None


def import_graph(modules: dict[str, Path]) -> Graph:
    """Module → the modules among ``modules`` it imports (third-party and stdlib left out)."""
    known = set(modules)
    graph: Graph = {}
    for module, path in modules.items():
        targets = (_owning_module(name, known) for name in imported_names(module, path, known))
        graph[module] = {target for target in targets if target and target != module}
    return graph


def find_cycles(graph: Graph) -> list[list[str]]:
    """One cycle per strongly connected component that has one, as the modules around it
    (the first repeated at the end: ``[a, b, a]``), sorted for a stable report."""
    return sorted(_cycle_through(component, graph) for component in _tangles(graph))


def _tangles(graph: Graph) -> list[set[str]]:
    """Tarjan's strongly connected components of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in sorted(graph.get(module, ())):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == module:
                    break
            if len(component) > 1:
                found.append(component)

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return found


def _cycle_through(component: set[str], graph: Graph) -> list[str]:
    """A shortest path from the component's first module back to itself (breadth first)."""
    start = min(component)
    came_from: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following: list[str] = []
        for module in frontier:
            for target in sorted(graph[module] & component):
                if target == start:
                    path = [module]
                    while path[-1] != start:
                        path.append(came_from[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if target not in came_from:
                    came_from[target] = module
                    following.append(target)
        frontier = following
    raise AssertionError(f"{sorted(component)} is not strongly connected")


def forbidden_imports(
    imports: dict[str, set[str]], importers: str, target: str, allowed: Iterable[str] = ()
) -> list[str]:
    """``importer -> name`` for each module under ``importers`` importing ``target`` (or
    inside it), apart from the ``allowed`` importers and ``target``'s own modules."""
    allowed = set(allowed)

    def within(name: str, package: str) -> bool:
        return name == package or name.startswith(package + ".")

    return sorted(
        f"{module} -> {name}"
        for module, names in imports.items()
        if within(module, importers) and not within(module, target) and module not in allowed
        for name in names
        if within(name, target)
    )


def all_imports(modules: dict[str, Path]) -> dict[str, set[str]]:
    known = set(modules)
    return {module: imported_names(module, path, known) for module, path in modules.items()}


# --- the rules, on the real tree ------------------------------------------------------


@pytest.fixture(scope="module")
def tree() -> dict[str, Path]:
    return module_files(ROOT, PACKAGES)


def test_federation_never_imports_node(tree: dict[str, Path]) -> None:
    assert forbidden_imports(all_imports(tree), "federation", "node") == []


def test_node_and_federation_import_graph_has_no_cycle(tree: dict[str, Path]) -> None:
    cycles = find_cycles(import_graph(tree))
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_only_the_composition_roots_import_the_web_layer(tree: dict[str, Path]) -> None:
    assert forbidden_imports(all_imports(tree), "node", "node.web", WEB_ROOTS) == []


def cross_test_imports(modules: dict[str, Path]) -> list[str]:
    """``a imports b`` for every module ``a`` that imports a test module ``b``."""
    return sorted(
        f"{module} imports {name}"
        for module, names in all_imports(modules).items()
        for name in names
        if name in modules and name.rsplit(".", 1)[-1].startswith("test_")
    )


def test_no_test_module_imports_another() -> None:
    assert cross_test_imports(module_files(ROOT, ["tests"])) == []


# --- the helpers catch what the rules forbid ------------------------------------------


def write_package(root: Path, files: dict[str, str]) -> dict[str, Path]:
    for name, source in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    return module_files(root, {name.split("/")[0] for name in files})


def test_a_cycle_through_relative_and_from_imports_is_reported_around(tmp_path: Path) -> None:
    modules = write_package(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from . import b\n",
            "pkg/b.py": "def f():\n    from pkg.sub import c\n",
            "pkg/sub/__init__.py": "",
            "pkg/sub/c.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
            "    from ..a import thing\n",
            "pkg/d.py": "import pkg.a\n",
        },
    )
    assert find_cycles(import_graph(modules)) == [["pkg.a", "pkg.b", "pkg.sub.c", "pkg.a"]]


def test_a_graph_without_cycle_reports_none(tmp_path: Path) -> None:
    modules = write_package(
        tmp_path,
        {"pkg/__init__.py": "", "pkg/a.py": "import pkg.b\n", "pkg/b.py": "import json\n"},
    )
    assert import_graph(modules) == {"pkg": set(), "pkg.a": {"pkg.b"}, "pkg.b": set()}
    assert find_cycles(import_graph(modules)) == []


def test_a_federation_module_importing_node_is_found_even_inside_a_function(
    tmp_path: Path,
) -> None:
    modules = write_package(
        tmp_path,
        {
            "federation/__init__.py": "",
            "federation/wire.py": "import json\n\ndef f():\n    from node.db import x\n",
            "federation/ok.py": "from federation import wire\n",
            "node/__init__.py": "",
            "node/db.py": "from federation import wire\n",
        },
    )
    found = forbidden_imports(all_imports(modules), "federation", "node")
    assert found == ["federation.wire -> node.db"]


def test_a_web_import_outside_the_roots_is_found(tmp_path: Path) -> None:
    modules = write_package(
        tmp_path,
        {
            "node/__init__.py": "",
            "node/web/__init__.py": "",
            "node/web/pages.py": "from . import forms\n",
            "node/web/forms.py": "",
            "node/app.py": "from node.web import pages\n",
            "node/worker.py": "import node.web.forms\n",
        },
    )
    found = forbidden_imports(all_imports(modules), "node", "node.web", {"node.app"})
    assert found == ["node.worker -> node.web.forms"]


def test_a_test_module_importing_another_is_found(tmp_path: Path) -> None:
    modules = write_package(
        tmp_path,
        {
            "tests/__init__.py": "",
            "tests/support/__init__.py": "",
            "tests/support/helpers.py": "def vote(): ...",
            "tests/e2e/__init__.py": "",
            "tests/e2e/test_a.py": "def vote(): ...",
            "tests/e2e/test_b.py": "from tests.e2e.test_a import vote\n",
            "tests/e2e/test_c.py": "from tests.support.helpers import vote\n",
        },
    )
    assert cross_test_imports(modules) == ["tests.e2e.test_b imports tests.e2e.test_a"]
