"""The house rules of the code base: short functions, few parameters, no private reach-ins, no
import cycles at import time."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

SRC = Path(__file__).resolve().parents[1] / "src" / "clustergeo"
MAX_LINES = 120  # lines of one function, its docstring not counted
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


def _docstring_lines(n: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    first = n.body[0]
    is_doc = (
        isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str)
    )
    return first.end_lineno - first.lineno + 1 if is_doc else 0


def test_no_function_is_too_long_or_takes_too_many_parameters():
    bad = []
    for name, tree in _modules().items():
        for n in ast.walk(tree):
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)):
                a = n.args
                params = [p.arg for p in a.posonlyargs + a.args + a.kwonlyargs if p.arg not in ("self", "cls")]
                lines = n.end_lineno - n.lineno + 1 - _docstring_lines(n)
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


def test_no_import_cycle_at_import_time():
    """Module-level imports only: an import inside a function or under TYPE_CHECKING runs later."""
    mods = _modules()
    g = nx.DiGraph()
    for name, tree in mods.items():
        is_package = (SRC.parent / Path(*name.split(".")) / "__init__.py").exists()
        for n in tree.body:
            if isinstance(n, ast.ImportFrom) and n.level > 0:
                target = _resolve(name, n, is_package)
                for alias in n.names:  # "from . import x" names a submodule
                    sub = f"{target}.{alias.name}"
                    g.add_edge(name, sub if sub in mods else target)
    cycles = [c for c in nx.simple_cycles(g) if not any(m == "clustergeo" for m in c)]
    assert not cycles, cycles
