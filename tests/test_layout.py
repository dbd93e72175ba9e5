"""The house rules of the code base: short functions, few parameters, no private reach-ins, no
import cycles (imports inside functions count too)."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

SRC = Path(__file__).resolve().parents[1] / "src" / "clustergeo"
MAX_LINES = 120  # lines of one function, from its def to its last line, docstring included
MAX_PARAMETERS = 12  # named parameters of one function (self and **kwargs not counted)


def _modules() -> dict[str, ast.Module]:
    out = {}
    for f in sorted(SRC.rglob("*.py")):
        parts = f.relative_to(SRC.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = ast.parse(f.read_text(), filename=str(f))
    return out


def _resolve(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    base = module.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
    return ".".join(base + ([node.module] if node.module else []))


def test_no_function_is_too_long_or_takes_too_many_parameters():
    bad = []
    for name, tree in _modules().items():
        for n in ast.walk(tree):
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)):
                a = n.args
                params = [p.arg for p in a.posonlyargs + a.args + a.kwonlyargs if p.arg not in ("self", "cls")]
                lines = n.end_lineno - n.lineno + 1
                if lines > MAX_LINES or len(params) > MAX_PARAMETERS:
                    bad.append(f"{name}.{n.name}: {lines} lines, {len(params)} parameters")
    assert not bad, bad


def test_no_private_name_is_imported_from_another_module():
    bad = [
        f"{name}: {n.module}.{alias.name}"
        for name, tree in _modules().items()
        for n in ast.walk(tree)
        if isinstance(n, ast.ImportFrom) and n.level > 0
        for alias in n.names
        if alias.name.startswith("_") and not alias.name.startswith("__")
    ]
    assert not bad, bad


def _type_checking_only(tree: ast.Module) -> set[int]:
    """The ids of the nodes under ``if TYPE_CHECKING:`` (imports for annotations, never run)."""
    out: set[int] = set()
    for n in ast.walk(tree):
        test = n.test if isinstance(n, ast.If) else None
        if (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
            isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
        ):
            out.update(id(k) for m in n.body for k in ast.walk(m))
    return out


def _import_graph(*, inside_functions: bool) -> nx.DiGraph:
    """Module -> module it imports from (relative imports; a package stands for its ``__init__``)."""
    mods = _modules()
    g = nx.DiGraph()
    for name, tree in mods.items():
        is_package = (SRC.parent / Path(*name.split(".")) / "__init__.py").exists()
        skip = _type_checking_only(tree)
        nodes = ast.walk(tree) if inside_functions else iter(tree.body)
        for n in nodes:
            if isinstance(n, ast.ImportFrom) and n.level > 0 and id(n) not in skip:
                target = _resolve(name, n, is_package)
                for alias in n.names:  # "from . import x" names a submodule
                    sub = f"{target}.{alias.name}"
                    g.add_edge(name, sub if sub in mods else target, line=n.lineno)
    return g


def _cycles(g: nx.DiGraph) -> list[str]:
    return [
        " -> ".join(f"{a} (line {g.edges[a, b]['line']})" for a, b in zip(c, c[1:] + c[:1])) + f" -> {c[0]}"
        for c in nx.simple_cycles(g)
    ]


def test_no_import_cycle_at_import_time():
    """Module-level imports only: what runs when ``import clustergeo`` runs."""
    assert not _cycles(_import_graph(inside_functions=False))


def test_no_import_cycle_through_imports_inside_functions():
    """Imports inside functions and methods count too (a lower module never reaches up to a
    higher one, even late); imports under ``if TYPE_CHECKING:`` do not (they never run)."""
    cycles = _cycles(_import_graph(inside_functions=True))
    assert not cycles, cycles


def test_no_module_imports_the_package_it_belongs_to():
    """``from . import x`` in a submodule must name a submodule, not a name ``__init__`` re-exports
    (the package imports every module, so that would be a cycle)."""
    g = _import_graph(inside_functions=True)
    assert not [(a, b) for a, b in g.edges if b == "clustergeo"]
