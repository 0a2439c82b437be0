"""reflow's zones import one way: no circle among their modules.

Every ``import`` counts, wherever it stands (module level, inside a function, under
``TYPE_CHECKING``): a deferred or type-only import back up is still a circle to read and to
type-check.  The graph is read from the source (AST), not by importing.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import reflow
from reflow.context.state_store import DictState
from reflow.decorators import StepConfig, StepFunction

PACKAGE_DIR = Path(reflow.__file__).parent

# Zones whose modules must sit on no import circle: the client zone (root modules, its private
# helper packages, the context), the durable runtime, and the zones built on the public API
# (runners, observability, flows, the server and its client, the command line).
CHECKED_PACKAGES = (
    "_steps",
    "_retry",
    "_resources",
    "_type_names",
    "context",
    "durable",
    "runners",
    "observability",
    "flows",
    "server",
    "client",
    "cli",
    "plugins",
)


def _module_files() -> dict[str, Path]:
    modules: dict[str, Path] = {}
    for path in PACKAGE_DIR.rglob("*.py"):
        parts = ["reflow", *path.relative_to(PACKAGE_DIR).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _imported_names(module: str, path: Path, tree: ast.AST) -> Iterator[str]:
    is_package = path.name == "__init__.py"
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                stem = ".".join([*base, *([node.module] if node.module else [])])
            else:
                stem = node.module or ""
            # ``from package import name``: the submodule when ``name`` is one, else the package.
            yield from (f"{stem}.{alias.name}" for alias in node.names)


def import_graph() -> dict[str, set[str]]:
    """Module -> the reflow modules it imports (a name resolves to its longest module prefix)."""
    modules = _module_files()

    def resolve(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        targets = {
            resolve(name)
            for name in _imported_names(module, path, tree)
            if name.startswith("reflow")
        }
        graph[module] = {t for t in targets if t is not None and t != module}
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
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
    return found


def _checked(module: str) -> bool:
    parts = module.split(".")
    if len(parts) == 2 and (PACKAGE_DIR / f"{parts[1]}.py").exists():
        return True  # a module at the package root
    return len(parts) >= 2 and parts[1] in CHECKED_PACKAGES  # a checked package or its modules


def test_the_checked_zones_have_no_import_circle() -> None:
    graph = import_graph()
    assert "reflow.workflow" in graph and "reflow.durable._runtime" in graph
    assert all(f"reflow.{package}" in graph for package in CHECKED_PACKAGES)
    offending = [c for c in circles(graph) if any(_checked(m) for m in c)]
    assert offending == []


@pytest.mark.parametrize(
    ("importer", "imported"),
    [
        ("reflow.server._routes", "reflow.server._server"),
        ("reflow.runners._config", "reflow.runners._context"),
        ("reflow.observability._trace_store", "reflow.observability._durable_trace"),
    ],
)
def test_an_import_back_up_in_a_checked_zone_is_a_circle(importer: str, imported: str) -> None:
    # The import each of these zones gave up to point one way: taking it back fails the check.
    graph = import_graph()
    assert imported not in graph[importer]
    graph[importer].add(imported)
    offending = [c for c in circles(graph) if any(_checked(m) for m in c)]
    assert any(importer in c and imported in c for c in offending)


def test_the_circle_finder_finds_a_circle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert circles(graph) == [["a", "b", "c"]]
    assert circles({"a": {"b"}, "b": set()}) == []


@pytest.mark.parametrize(
    ("cls", "public_module"),
    [
        (StepConfig, "reflow.decorators"),
        (StepFunction, "reflow.decorators"),
        (DictState, "reflow.context.state_store"),
    ],
)
def test_moved_classes_keep_their_public_module(cls: type, public_module: str) -> None:
    # Snapshots, pickles and reprs name these classes by the module users import them from.
    assert cls.__module__ == public_module


def test_import_reflow_leaves_the_checks_and_the_peer_plugin_names_unloaded() -> None:
    # What every CLI call and server start pays: these load with the first Workflow built, or
    # when a custom runtime asks for the peer's plugin names.
    probe = (
        "import sys, reflow\n"
        "lazy = ['reflow._steps.validation', 'reflow._steps.stream_levels',\n"
        "        'reflow.runtime.types._plugin_extras', 'reflow.durable']\n"
        "print(sorted(m for m in lazy if m in sys.modules))\n"
        "from reflow.runtime.types.plugin import WorkerTask, as_v2_runtime_compatibility_shim\n"
        "print(WorkerTask.__module__, callable(as_v2_runtime_compatibility_shim))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.splitlines() == ["[]", "reflow.runtime.types._plugin_extras True"]


def test_unknown_plugin_attribute_is_an_attribute_error() -> None:
    import reflow.runtime.types.plugin as plugin

    with pytest.raises(AttributeError, match="NoSuchName"):
        _ = plugin.NoSuchName
