"""No import circle inside lcl_repro/: schemas at the base, registries above them, composition and
validation above both (docs/extending.md#where-code-lives).

The graph is read from the source with `ast`, so an import inside a function counts like one at the
top of a module: a function-level import is no way around a circle, only a way to hide it. Imports under
`if TYPE_CHECKING:` are left out (they never run). An edge goes to the module an import names:
`from lcl_repro.data.formats import FORMATS` points at the package `lcl_repro.data.formats`,
`from lcl_repro.methods import lcl` at the submodule `lcl_repro.methods.lcl`. A package that keeps a
`Registry` of its own modules (lcl_repro/registry.py) imports them all when first asked for an entry, so
an import of such a package from outside it points at each of its modules too. Fast: parses files only.

`python -m tests.test_imports` prints the circles, or says there are none."""
from __future__ import annotations

import ast
import functools
from pathlib import Path

import networkx as nx

REPO = Path(__file__).resolve().parents[1]
PACKAGE = "lcl_repro"


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.AST) -> bool:
    test = node.test if isinstance(node, ast.If) else None
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement in the tree, at any depth, except those under `if TYPE_CHECKING:`."""
    found, stack = [], [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        children = list(ast.iter_child_nodes(node))
        if _is_type_checking(node):
            children = node.orelse
        stack.extend(children)
    return found


def _resolve(name: str, modules: set[str]) -> str | None:
    """The longest prefix of `name` that is a module of the package (`a.b.c` of `a.b` -> `a.b`)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _keeps_a_registry_of_its_modules(tree: ast.AST) -> bool:
    """`Registry(kind, __name__, ...)`: the registry imports every module of this package (lcl_repro/registry.py)."""
    return any(isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Registry"
               and any(isinstance(arg, ast.Name) and arg.id == "__name__" for arg in node.args)
               for node in ast.walk(tree))


@functools.cache
def import_graph() -> nx.DiGraph:
    files = {module_name(path): path for path in sorted((REPO / PACKAGE).rglob("*.py"))}
    modules = set(files)
    trees = {module: ast.parse(path.read_text(encoding="utf-8"), filename=str(path)) for module, path in files.items()}
    registry_members = {package: [m for m in modules if m.rpartition(".")[0] == package]
                        for package, tree in trees.items()
                        if files[package].name == "__init__.py" and _keeps_a_registry_of_its_modules(tree)}
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for module, path in files.items():
        is_package = path.name == "__init__.py"
        for node in _imports(trees[module]):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:  # relative: from the module's package, one level up per extra dot
                    anchor = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
                    base = ".".join(anchor + ([base] if base else []))
                targets = [f"{base}.{alias.name}" for alias in node.names] or [base]
            for target in targets:
                resolved = _resolve(target, modules)
                if resolved and resolved != module:
                    graph.add_edge(module, resolved, line=node.lineno)
                if resolved in registry_members and not module.startswith(f"{resolved}."):
                    for member in registry_members[resolved]:
                        graph.add_edge(module, member, line=f"{node.lineno}, via {resolved}'s registry")
    return graph


def circles(graph: nx.DiGraph) -> list[str]:
    """Each strongly connected set of modules, as its modules and the imports that tie them."""
    found = []
    for component in sorted((c for c in nx.strongly_connected_components(graph) if len(c) > 1), key=sorted):
        sub = graph.subgraph(component)
        edges = "".join(f"\n  {a} -> {b} (line {sub.edges[a, b]['line']})" for a, b in sorted(sub.edges))
        found.append(f"{len(component)} modules in a circle:{edges}")
    return found


def test_the_graph_is_read():
    graph = import_graph()
    assert graph.has_edge("lcl_repro.methods.lcl", "lcl_repro.losses")  # a top-level import
    assert graph.has_edge("lcl_repro.cli", "lcl_repro.pipeline")  # an import inside a function
    assert graph.has_edge("lcl_repro.data", "lcl_repro.data.formats.glue")  # through the formats registry
    assert not graph.has_edge("lcl_repro.methods.lcl", "lcl_repro.methods.ce")  # a member registers, never asks
    assert graph.number_of_nodes() > 50


def test_a_circle_is_found():
    graph = nx.DiGraph()
    graph.add_edges_from([("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")], line=1)
    assert circles(graph) == ["3 modules in a circle:\n  a -> b (line 1)\n  b -> c (line 1)\n  c -> a (line 1)"]


def test_schemas_sit_below_the_registries_and_composition_above_both():
    graph = import_graph()
    reach = {module: nx.descendants(graph, module) for module in graph}
    assert reach["lcl_repro.config"] <= {"lcl_repro.choices"}  # the base: schemas and their fixed choices
    for registry, member in (("lcl_repro.methods", "lcl_repro.methods.lcl"),
                             ("lcl_repro.data.formats", "lcl_repro.data.formats.emoint")):
        assert "lcl_repro.config" in reach[member]  # an entry's schema extends the shared one
        assert not (reach[registry] | reach[member]) & {"lcl_repro.compose", "lcl_repro.validation"}
    assert {"lcl_repro.config", "lcl_repro.methods", "lcl_repro.data.formats"} <= reach["lcl_repro.compose"]
    assert "lcl_repro.compose" in reach["lcl_repro.validation"]


def test_no_import_circle_in_the_package():
    found = circles(import_graph())
    assert not found, "import circles in lcl_repro/ (move the shared part below both):\n" + "\n".join(found)


if __name__ == "__main__":
    print("\n".join(circles(import_graph())) or "no import circle in lcl_repro/")
