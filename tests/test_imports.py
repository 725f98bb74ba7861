"""The package's imports flow one way: no cycles between jixiao modules (lazy imports inside
functions count: they only hide a cycle), no stage below the back-ends importing them, and the
provider SDKs only inside `jixiao.backends`."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import jixiao

PACKAGE = Path(jixiao.__file__).resolve().parent
# Stages the back-ends build on: they must not reach up into `jixiao.backends`.
BELOW_BACKENDS = ("jixiao.schema", "jixiao.validate", "jixiao.evaluate", "jixiao.compare", "jixiao.check",
                  "jixiao.taxonomy", "jixiao.text")
PROVIDER_SDKS = ("openai", "instructor")


@dataclass(frozen=True)
class Import:
    source: str  # the importing jixiao module
    target: str  # the imported module, absolute
    line: int
    runtime: bool  # False under `if TYPE_CHECKING:`, which never runs

    def where(self) -> str:
        return f"{self.source} -> {self.target} (line {self.line})"


def module_name(path: Path) -> str:
    parts = ["jixiao", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _is_package(name: str) -> bool:
    return MODULES.get(name, Path()).name == "__init__.py"


def _absolute(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module if _is_package(module) else module.rpartition(".")[0]
    for _ in range(node.level - 1):
        base = base.rpartition(".")[0]
    return f"{base}.{node.module}" if node.module else base


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    """ids of the import nodes under `if TYPE_CHECKING:`."""
    hidden: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            hidden |= {id(inner) for stmt in node.body for inner in ast.walk(stmt)}
    return hidden


def imports_of(module: str) -> list[Import]:
    """Every import in the module, at its top and inside functions, as absolute module names
    (`from pkg import name` names the submodule `pkg.name` when there is one)."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    hidden = _type_checking_nodes(tree)
    found: list[Import] = []
    for node in ast.walk(tree):
        runtime = id(node) not in hidden
        if isinstance(node, ast.Import):
            found += [Import(module, alias.name, node.lineno, runtime) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(module, node)
            for alias in node.names:
                target = f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                found.append(Import(module, target, node.lineno, runtime))
    return found


ALL_IMPORTS = [imp for module in MODULES for imp in imports_of(module)]


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def import_graph() -> dict[str, dict[str, Import]]:
    """module -> {imported jixiao module: the first import of it}, run-time imports only."""
    graph: dict[str, dict[str, Import]] = {module: {} for module in MODULES}
    for imp in ALL_IMPORTS:
        if imp.runtime and imp.target in MODULES and imp.target != imp.source:
            graph[imp.source].setdefault(imp.target, imp)
    return graph


def strongly_connected(graph: dict[str, dict[str, Import]]) -> list[list[str]]:
    """Tarjan's components of more than one module: each holds at least one cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def a_cycle(graph: dict[str, dict[str, Import]], component: list[str], start: str | None = None) -> list[Import]:
    """The shortest cycle through `start` (the component's first module unless given), as the
    imports that make it."""
    start, members = start or component[0], set(component)
    came_by: dict[str, Import] = {}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for nxt, imp in graph[node].items():
            if nxt not in members:
                continue
            if nxt == start:
                path = [imp]
                while path[0].source != start:
                    path.insert(0, came_by[path[0].source])
                return path
            if nxt not in came_by:
                came_by[nxt] = imp
                queue.append(nxt)
    raise AssertionError(f"no cycle in {component}")


def test_the_scan_sees_the_package():
    # the checks below pass vacuously if the walk finds no modules or misreads relative imports
    assert {"jixiao.pipeline", "jixiao.backends", "jixiao.backends.rules"} <= set(MODULES)
    targets = {imp.target for imp in ALL_IMPORTS if imp.source == "jixiao.extract"}
    assert {"jixiao.backends", "jixiao.schema", "jixiao.errors"} <= targets
    # `from ... import taxonomy` names the module; an import inside a function is seen too
    assert "jixiao.taxonomy" in {imp.target for imp in imports_of("jixiao.backends.rules.grid")}
    assert "ray" in {imp.target for imp in imports_of("jixiao.ray_engine")}


def test_a_lazy_import_closes_a_cycle():
    graph = {"a": {}, "b": {}, "c": {}}
    graph["a"]["b"] = Import("a", "b", 1, True)
    graph["b"]["c"] = Import("b", "c", 9, True)  # inside a function: counted all the same
    graph["c"]["a"] = Import("c", "a", 3, True)
    assert strongly_connected(graph) == [["a", "b", "c"]]
    assert cycles_of(graph, ["a", "b", "c"]) == ["a -> b (line 1) -> c (line 9) -> a (line 3)"]


def _chain(path: list[Import]) -> str:
    return " -> ".join([path[0].source] + [f"{imp.target} (line {imp.line})" for imp in path])


def cycles_of(graph: dict[str, dict[str, Import]], component: list[str]) -> list[str]:
    """The shortest cycle through each module of the component, each named once."""
    found: dict[frozenset, str] = {}
    for module in component:
        path = a_cycle(graph, component, module)
        found.setdefault(frozenset((imp.source, imp.target) for imp in path), _chain(path))
    return list(found.values())


def test_no_import_cycles():
    graph = import_graph()
    cycles = [cycle for component in strongly_connected(graph) for cycle in cycles_of(graph, component)]
    assert not cycles, "import cycles (lazy imports included):\n" + "\n".join(cycles)


def a_path(graph: dict[str, dict[str, Import]], start: str, goal) -> list[Import] | None:
    """The shortest chain of imports from `start` to a module `goal` accepts, or None."""
    came_by: dict[str, Import] = {}
    queue, seen = [start], {start}
    while queue:
        node = queue.pop(0)
        for nxt, imp in graph[node].items():
            if nxt in seen:
                continue
            seen.add(nxt)
            came_by[nxt] = imp
            if goal(nxt):
                path = [imp]
                while path[0].source != start:
                    path.insert(0, came_by[path[0].source])
                return path
            queue.append(nxt)
    return None


def test_stages_below_the_backends_do_not_import_them():
    # directly, or through a module they import (check -> confidence -> backends would do as much harm)
    graph = import_graph()
    low = [module for module in MODULES if any(_within(module, name) for name in BELOW_BACKENDS)]
    chains = {_chain(path) for module in low
              if (path := a_path(graph, module, lambda name: _within(name, "jixiao.backends")))}
    assert not chains, "imports of jixiao.backends from below it:\n" + "\n".join(sorted(chains))


def test_provider_sdks_only_inside_the_backends():
    outside = {imp.where() for imp in ALL_IMPORTS
               if any(_within(imp.target, sdk) for sdk in PROVIDER_SDKS) and not _within(imp.source, "jixiao.backends")}
    assert not outside, "openai/instructor imported outside jixiao.backends:\n" + "\n".join(sorted(outside))


def test_importing_the_pipeline_loads_no_provider_sdk_or_scipy():
    # these take seconds to import; the offline rules path and `jixiao --help` never need them
    code = ("import sys, jixiao, jixiao.pipeline, jixiao.cli, jixiao.evaluate, jixiao.backends.hybrid; "
            "print(' '.join(m for m in ('openai', 'instructor', 'scipy') if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            env={**os.environ, "PYTHONPATH": str(PACKAGE.parent)}).stdout.split()
    assert loaded == []
