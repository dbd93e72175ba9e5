"""Checks on what :func:`clustergeo.partition` is given, before any model is built.

:func:`validate_graph` refuses graphs the model cannot use (directed graphs, multigraphs,
self-loops) and node measures that are not plain numbers >= 0 (booleans, strings, NaN,
infinity, negatives), each with a :class:`~clustergeo.errors.DataError` naming the node and
the attribute. :func:`estimate_memory` says how much memory the model will take (it grows
with the unit-hub pairs, the square of the units), and :func:`check_memory` stops before
building one larger than ``settings.max_memory``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Hashable, Iterable, Mapping
from typing import Any

import networkx as nx
import numpy as np

from .errors import DataError, Problem, TooLargeError
from .settings import settings

#: Measured: the PuLP Hess model takes about 2,600 bytes per unit-hub pair on 225- and
#: 400-unit grids; the solver's own copy and the cut rounds add about half as much again.
BYTES_PER_PAIR = 4_000
#: Bytes per cost entry held by the problem (a dict of float pairs) alongside the model.
BYTES_PER_COST = 250
#: At most this many problems are listed (the rest are counted).
MAX_LISTED = 20


def _node_label(v: Hashable, data: Mapping[str, Any]) -> str:
    name = data.get("name")
    return f"{v!r} ({name})" if name is not None and str(name) != str(v) else repr(v)


def _bad_number(value: Any) -> str | None:
    """Why ``value`` is not a usable measure (None if it is one)."""
    if isinstance(value, (bool, np.bool_)):
        return f"is a boolean ({value!r}), not a number"
    if not isinstance(value, numbers.Real):
        return f"is not a number ({value!r}, {type(value).__name__})"
    if not math.isfinite(float(value)):
        return f"is not finite ({value!r})"
    if value < 0:
        return f"is negative ({value!r})"
    return None


def validate_graph(
    graph: Any,
    *,
    weight: str = "pupils",
    bounds: Mapping[str, tuple] | None = None,
    cost: Mapping[tuple[Hashable, Hashable], float] | None = None,
) -> None:
    """Raise :class:`~clustergeo.errors.DataError` if ``graph`` cannot be partitioned as given.

    Parameters
    ----------
    graph : networkx.Graph
        A plain undirected graph: no :class:`~networkx.DiGraph`, no
        :class:`~networkx.MultiGraph`, no self-loops.
    weight : str
        The node attribute holding the main measure (pupils). Where present on a node it must
        be a number >= 0 (not a boolean, a string, NaN or infinite).
    bounds : dict, optional
        More measures (``{"schools": (8, 13)}``): each checked like ``weight``.
    cost : dict, optional
        Unit-hub costs: each must be a finite number (the objective adds them up).

    Raises
    ------
    DataError
        Every problem found, each naming the node and the attribute.

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.path_graph(3)
    >>> nx.set_node_attributes(g, {0: 10, 1: 20, 2: -5}, "pupils")
    >>> try:
    ...     validate_graph(g, weight="pupils")
    ... except DataError as e:
    ...     print(e.problems[0].message)
    node attribute 'pupils' is negative (-5)
    """
    if not isinstance(graph, nx.Graph):
        raise DataError(
            Problem(
                f"partition() needs a networkx Graph, not a {type(graph).__name__}",
                fix="build an nx.Graph with one node per unit and an edge per pair of neighbours",
            )
        )
    if graph.is_directed():
        raise DataError(
            Problem(
                f"the graph is directed ({type(graph).__name__})",
                fix="pass graph.to_undirected(): neighbours are neighbours both ways",
            )
        )
    if graph.is_multigraph():
        raise DataError(
            Problem(
                f"the graph is a {type(graph).__name__} (parallel edges)",
                fix="pass nx.Graph(graph): one edge per pair of neighbours",
            )
        )
    problems = [
        Problem(
            "the node is its own neighbour (a self-loop)",
            school=_node_label(v, graph.nodes[v]),
            fix="remove the edge: graph.remove_edges_from(nx.selfloop_edges(graph))",
        )
        for v in sorted(nx.nodes_with_selfloops(graph), key=str)
    ]
    measures = [weight, *(m for m in (bounds or {}) if m != weight)]
    for m in measures:
        for v, data in graph.nodes(data=True):
            if m not in data:
                continue  # a missing attribute is reported by the model builder (or defaults, for schools)
            why = _bad_number(data[m])
            if why is not None:
                problems.append(
                    Problem(
                        f"node attribute {m!r} {why}",
                        column=m,
                        school=_node_label(v, data),
                        fix=f"give every node a whole number >= 0 for {m!r}",
                    )
                )
    if cost is not None:
        problems.extend(_cost_problems(cost))
    if problems:
        raise DataError(problems, limit=MAX_LISTED)


def _cost_problems(cost: Mapping[tuple[Hashable, Hashable], float]) -> list[Problem]:
    out = []
    for key, value in cost.items():
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)):
            out.append(
                Problem(
                    f"cost of {key!r} is not a finite number ({value!r})",
                    column="cost",
                    fix="give every unit-hub pair a finite cost (leave pairs out to forbid them)",
                )
            )
            if len(out) >= MAX_LISTED:
                break
    return out


def unit_hub_pairs(graph: nx.Graph, *, district: str | None = None, district_mode: str | None = None) -> int:
    """The unit-hub pairs a model may need before the size bounds fix any out: a unit can
    only join a hub it is connected to (inside its district under ``district_mode="within"``).

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.path_graph(4)
    >>> nx.set_node_attributes(g, {0: "a", 1: "a", 2: "b", 3: "b"}, "district")
    >>> unit_hub_pairs(g), unit_hub_pairs(g, district="district", district_mode="within")
    (16, 8)
    """
    if district is not None and district_mode == "within":
        inside = nx.Graph()
        inside.add_nodes_from(graph.nodes)
        inside.add_edges_from(
            (a, b) for a, b in graph.edges if graph.nodes[a].get(district) == graph.nodes[b].get(district)
        )
        graph = inside
    return sum(len(c) ** 2 for c in nx.connected_components(graph)) if graph.number_of_nodes() else 0


def estimate_memory(n_units: int, *, pairs: int | None = None, cost_entries: int | None = None) -> int:
    """The memory (bytes) a Hess model on ``n_units`` units may need: ``pairs`` unit-hub
    pairs (default every unit with every hub, ``n_units ** 2``) and the cost table.

    Examples
    --------
    >>> estimate_memory(1_000) // 10**9   # a million unit-hub pairs: about 4 GB
    4
    """
    pairs = n_units * n_units if pairs is None else pairs
    held = n_units * n_units if cost_entries is None else cost_entries
    return int(pairs * BYTES_PER_PAIR + held * BYTES_PER_COST)


def check_memory(
    n_units: int, *, pairs: int | None = None, cost_entries: int | None = None, limit: int | None = None
) -> None:
    """Raise :class:`~clustergeo.errors.TooLargeError` when the model would need more than
    ``limit`` bytes (default ``settings.max_memory``; ``None`` there means no limit).

    Examples
    --------
    >>> check_memory(100)            # 40 MB: fine
    """
    limit = settings.max_memory if limit is None else limit
    if limit is None:
        return
    pairs = n_units * n_units if pairs is None else pairs
    need = estimate_memory(n_units, pairs=pairs, cost_entries=cost_entries)
    if need > limit:
        raise TooLargeError(
            f"a model on {n_units:,} units ({pairs:,} unit-hub pairs) needs about "
            f"{_size(need)}, more than settings.max_memory ({_size(limit)}); "
            "fix: keep schools together in fewer units (keep_whole), split the problem by districts "
            '(districts = "within"), or raise clustergeo.settings.max_memory if the machine has the memory'
        )


def _size(n_bytes: int) -> str:
    return f"{n_bytes / 1e9:,.1f} GB" if n_bytes >= 1e9 else f"{n_bytes / 1e6:,.1f} MB"


def validate_partition_input(
    graph: Any,
    *,
    weight: str = "pupils",
    bounds: Mapping[str, tuple] | None = None,
    cost: Mapping[tuple[Hashable, Hashable], float] | None = None,
    district: str | None = None,
    district_mode: str | None = None,
    extra: Iterable[str] = (),
) -> None:
    """Everything :func:`clustergeo.partition` checks before it builds a model: the graph and
    its measures (:func:`validate_graph`), then the memory the model needs (:func:`check_memory`).

    ``extra`` names further node measures to check (``min_weight``/``max_weight`` apply to
    ``weight``, which is always checked).

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.path_graph(4)
    >>> nx.set_node_attributes(g, 100, "pupils")
    >>> validate_partition_input(g, weight="pupils", bounds={"schools": (1, 2)})
    """
    all_bounds = dict(bounds or {})
    for m in extra:
        all_bounds.setdefault(m, (None, None))
    validate_graph(graph, weight=weight, bounds=all_bounds, cost=cost)
    check_memory(
        graph.number_of_nodes(),
        pairs=unit_hub_pairs(graph, district=district, district_mode=district_mode),
        cost_entries=None if cost is None else len(cost),
    )
