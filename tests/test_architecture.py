"""The import graph of ``bau``: no import circles, no arrow running back up the layers.

Every ``import`` / ``from ... import`` of every module is read with ``ast`` (those inside
functions and ``if TYPE_CHECKING`` blocks too: a lazy import is still an arrow), giving a
graph of modules. ``from bau.x import y`` points at ``bau.x.y`` when that is a module, else at
``bau.x``. The package root ``bau`` is left out: it holds ``__version__`` and a lazy facade.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "bau"

# Import layers, lowest first: a module may import from its own layer and from lower layers.
LAYERS: list[set[str]] = [
    {"bau.errors", "bau.io", "bau.layout"},
    {"bau.devices", "bau.config", "bau.distributed", "bau.checkpoint"},
    {"bau.datasets", "bau.metrics"},
    {"bau.pipeline"},
    {"bau.models"},
    {"bau.losses"},
    {"bau.evaluation"},
    {"bau.training"},
    {"bau.report", "bau.synth"},
    {"bau.plan"},
    {"bau.cli"},
    {"bau.__main__"},
]

# Third-party packages a layer must never import, even lazily.
FORBIDDEN_EXTERNAL = {"bau.datasets": {"torch", "torchvision"}}

# Known violations other branches are removing. Empty these lists once those land: the tests
# fail both on a new violation and on a listed one that is gone.
KNOWN_CYCLES: list[set[str]] = []
KNOWN_UPWARD: set[tuple[str, str]] = set()


def _modules() -> dict[str, Path]:
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def import_graph() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(bau module -> bau modules it imports, bau module -> top-level external packages)."""
    modules = _modules()
    internal: dict[str, set[str]] = defaultdict(set)
    external: dict[str, set[str]] = defaultdict(set)

    def add(module: str, target: str) -> None:
        if target == "bau":
            return
        if target.split(".")[0] == "bau":
            assert target in modules, f"{module} imports {target}, which is not a module of bau"
            internal[module].add(target)
        else:
            external[module].add(target.split(".")[0])

    for module, path in modules.items():
        if module == "bau":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    add(module, alias.name)
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 0, f"{path}: use absolute imports (from bau.x import y)"
                for alias in node.names:
                    submodule = f"{node.module}.{alias.name}"
                    add(module, submodule if submodule in modules else node.module)
    return internal, external


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components with more than one module, or a module importing itself (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph.get(node, ())):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                found.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def package_of(module: str) -> str:
    return ".".join(module.split(".")[:2])


def layer_of(package: str) -> int:
    for level, members in enumerate(LAYERS):
        if package in members:
            return level
    raise AssertionError(f"package {package} is in no layer of tests/test_architecture.py: add it to LAYERS")


def upward_arrows(graph: dict[str, set[str]]) -> set[tuple[str, str]]:
    """(package, package) pairs where the first imports a package of a higher layer."""
    arrows = set()
    for module, targets in graph.items():
        source = package_of(module)
        for target in map(package_of, targets):
            if layer_of(target) > layer_of(source):
                arrows.add((source, target))
    return arrows


def test_cycle_finder_on_a_hand_made_graph():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e"}, "f": {"d"}}
    assert sorted(map(sorted, cycles(graph))) == [["a", "b", "c"], ["e"]]


def test_upward_arrow_finder_on_a_hand_made_graph():
    graph = {"bau.datasets.base": {"bau.pipeline.loaders", "bau.errors"}, "bau.training.trainer": {"bau.models"}}
    assert upward_arrows(graph) == {("bau.datasets", "bau.pipeline")}


def test_every_package_has_a_layer():
    internal, _ = import_graph()
    for module in [*internal, *_modules()]:
        if module != "bau":
            assert layer_of(package_of(module)) >= 0


def test_no_import_circles():
    internal, _ = import_graph()
    found = cycles(internal)
    new = [sorted(cycle) for cycle in found if cycle not in KNOWN_CYCLES]
    assert new == [], f"import circles: {new}"
    gone = [sorted(cycle) for cycle in KNOWN_CYCLES if cycle not in found]
    assert gone == [], f"these circles are gone: remove them from KNOWN_CYCLES in {__file__}"


def test_no_arrow_runs_back_up():
    internal, _ = import_graph()
    arrows = upward_arrows(internal)
    assert sorted(arrows - KNOWN_UPWARD) == [], "imports of a higher layer (see LAYERS)"
    assert sorted(KNOWN_UPWARD - arrows) == [], f"these arrows are gone: remove them from KNOWN_UPWARD in {__file__}"


@pytest.mark.parametrize("package", sorted(FORBIDDEN_EXTERNAL))
def test_forbidden_third_party_imports(package):
    _, external = import_graph()
    offenders = {
        module: sorted(external[module] & FORBIDDEN_EXTERNAL[package])
        for module in external
        if package_of(module) == package
    }
    assert {module: names for module, names in offenders.items() if names} == {}


def test_the_dataset_parsers_import_only_errors_io_and_layout():
    """bau.datasets sits just above the utilities: config -> datasets -> pipeline -> models."""
    internal, _ = import_graph()
    outside = {
        (module, target)
        for module, targets in internal.items()
        if package_of(module) == "bau.datasets"
        for target in targets
        if package_of(target) != "bau.datasets"
    }
    assert {package_of(target) for _, target in outside} <= {"bau.errors", "bau.io", "bau.layout"}, sorted(outside)


# Jobs that only plot or plan must not pay torch's import (seconds per job): `bau figure`
# and `bau table` (bau.report.figures / tables) and the workflow's parsing (bau.plan).
# Checked by importing them in a fresh interpreter: lazy imports inside functions they
# never call on that path (bau.io.torch_save) do not count.
@pytest.mark.parametrize("entry", ["bau.plan", "bau.report.figures", "bau.report.tables", "bau.cli"])
def test_plot_and_plan_entry_points_never_import_torch(entry):
    code = f"import sys, {entry}; print(sorted(m for m in ('torch', 'torchvision', 'timm') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
