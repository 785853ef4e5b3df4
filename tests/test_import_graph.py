"""The project's modules import one way: no cycle in the graph of their imports.

The graph is read from the source, not from a running interpreter, so an import hidden in a
function body counts as much as one at the top of a module: it closes the same circle, only later.
Two kinds of function body are left out, because they run only once everything is loaded and are
the places the layout asks lazy imports to live: Celery task bodies (a task body calls its
service) and the signal handlers in `emsweb/celery.py`. An import of `a.b.c` counts as an import
of `a.b` and `a` too, as Python runs their `__init__` first; a module's own packages are left
out, since they are always loaded before it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = (
    "emsweb",
    "accounts",
    "orders",
    "risk",
    "stream",
    "market",
    "fix",
    "venues",
    "positions",
    "algos",
)
LEFT_OUT_FOLDERS = {"migrations", "tests", "__pycache__"}
TASK_DECORATORS = {"shared_task", "task"}
SIGNAL_HANDLER_MODULE = "emsweb.celery"


def project_modules() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if LEFT_OUT_FOLDERS.intersection(parts):
                continue
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


def _decorator_name(decorator: ast.expr) -> str:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    if isinstance(target, ast.Attribute):
        return target.attr
    return target.id if isinstance(target, ast.Name) else ""


def _may_import_lazily(function: ast.AST, module: str) -> bool:
    names = {_decorator_name(d) for d in getattr(function, "decorator_list", [])}
    if names & TASK_DECORATORS:
        return True
    return module == SIGNAL_HANDLER_MODULE and "connect" in names


def _import_nodes(node: ast.AST, module: str) -> Iterator[ast.Import | ast.ImportFrom]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) and _may_import_lazily(
            child, module
        ):
            continue
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child
        yield from _import_nodes(child, module)


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _with_parents(name: str) -> Iterator[str]:
    parts = name.split(".")
    for end in range(1, len(parts) + 1):
        yield ".".join(parts[:end])


def imported_modules(module: str, path: Path, known: set[str]) -> set[str]:
    """The project modules that running `module` imports, its own packages left out."""
    tree = ast.parse(path.read_text(), filename=str(path))
    targets: set[str] = set()
    for node in _import_nodes(tree, module):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            source = _absolute(node, module, path.name == "__init__.py")
            names = [source] + [f"{source}.{alias.name}" for alias in node.names]
        for name in names:
            targets.update(part for part in _with_parents(name) if part in known)
    own_packages = set(_with_parents(module))
    return targets - own_packages


def import_graph() -> dict[str, set[str]]:
    modules = project_modules()
    known = set(modules)
    return {name: imported_modules(name, path, known) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    lowest: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = lowest[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                lowest[node] = min(lowest[node], lowest[target])
            elif target in on_stack:
                lowest[node] = min(lowest[node], index[target])
        if lowest[node] == index[node]:
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


def test_the_cycle_finder_finds_a_circle_through_a_package():
    graph = {"a": {"b.c"}, "b": set(), "b.c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b.c"]]


def test_an_import_inside_a_function_counts_and_a_task_body_does_not(tmp_path):
    source = tmp_path / "m.py"
    source.write_text(
        "def helper():\n"
        "    from orders import sync\n"
        "@shared_task\n"
        "def route():\n"
        "    from orders import services\n"
    )
    known = {"orders", "orders.sync", "orders.services"}
    assert imported_modules("accounts.m", source, known) == {"orders", "orders.sync"}


def test_the_project_imports_one_way():
    found = cycles(import_graph())
    assert not found, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in found)
