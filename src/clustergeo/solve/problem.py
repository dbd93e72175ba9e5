"""The partitioning problem on a plain graph, before any solver sees it.

:class:`PartitionProblem` holds the nodes in a fixed sorted order (integer indices, so model builds are
reproducible), their measures (pupils, schools, ...), the bounds, the cluster count, the cost
and the district rule. :func:`allowed_hubs` does the variable fixing the literature relies
on: unit ``i`` may join the cluster hubbed at ``j`` only when

* both lie in the same district (rule ``within``), on a path inside that district;
* the lightest connected path from ``j`` to ``i`` (summing every measure with a maximum over
  its vertices) stays within each maximum;
* ``i`` is not cut off from ``j`` by a travel-time cap;
* and ``j`` can gather each minimum from the units it may take at all.

For the cut-edges objective the hub is only a representative: with :attr:`PartitionProblem.hub_rank`
set (by :func:`~clustergeo.solve.roots.root_order`) only roots can be hubs, each taking the
units it reaches through later units; without it, the lowest-indexed member is the hub.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import networkx as nx
import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from ..errors import RulesError
from .options import problem_options
from .roots import rooted_reach

M2_PER_KM2 = 1e6  # the default cost is in km^2 from x/y in metres


#: The graph attribute that caps the clusters crossing district lines (see
#: :func:`clustergeo.crossings.fewest_crossings`): an additive hook read by :func:`build_problem`.
CROSSING_CAP_KEY = "max_crossings"
#: The graph attribute holding extra rows over unit-hub pairs (see :class:`PartitionProblem`).
PAIR_ROWS_KEY = "pair_rows"


@dataclass
class PartitionProblem:
    """A partitioning problem on a plain graph, indexed 0..n-1 in sorted node order."""

    graph: nx.Graph
    nodes: list
    measures: dict[str, np.ndarray]
    bounds: dict[str, tuple[float | None, float | None]]
    k: int | tuple[int, int] | str | None = None
    cost: dict[tuple[int, int], float] | None = None
    objective: str = "hess"
    district: np.ndarray | None = None  # labels per node, or None
    district_mode: str | None = None  # "within" or "penalty"
    district_penalty: float = 0.0
    division: np.ndarray | None = None
    division_mode: str | None = None
    division_penalty: float = 0.0
    edge_weights: dict[tuple[int, int], float] = field(default_factory=dict)
    max_cost: float | None = None
    forbid: set[tuple[int, int]] = field(default_factory=set)
    hub_rank: np.ndarray | None = None  # cut edges: the hub of a cluster is its lowest-ranked unit
    hub_roots: int = 0  # ... and only the units ranked below this can be hubs (roots.py)
    # at most this many clusters may touch more than one label of ``touches`` (the district
    # labels of each unit's schools); set from ``graph.graph["max_crossings"]``
    crossing_cap: int | None = None
    touches: list[frozenset] | None = None
    # extra rows sum(coef * x[i, j]) <= rhs over unit-hub pairs (e.g. a minimum difference from
    # earlier plans); set from ``graph.graph["pair_rows"]`` as ([(node, hub, coef), ...], rhs)
    pair_rows: list[tuple[list[tuple[int, int, float]], float]] = field(default_factory=list)
    # which units may head a cluster (None: any): x[j, j] = 0 for the others
    hub_ok: np.ndarray | None = None

    @property
    def n(self) -> int:
        return len(self.nodes)

    @property
    def adjacency(self) -> list[list[int]]:
        pos = {v: i for i, v in enumerate(self.nodes)}
        adj: list[list[int]] = [[] for _ in self.nodes]
        for u, v in self.graph.edges:
            if u in pos and v in pos and u != v:
                adj[pos[u]].append(pos[v])
                adj[pos[v]].append(pos[u])
        return [sorted(set(a)) for a in adj]

    def first_hub(self, members) -> int:
        """The representative hub of a cluster when the objective does not care which unit
        heads it: the lowest rank (see :mod:`~clustergeo.solve.roots`), else the lowest index."""
        rank = self.hub_rank
        if rank is None:
            return int(min(members))
        return int(min(members, key=lambda i: (rank[i], i)))

    def edges(self) -> list[tuple[int, int]]:
        return sorted({(min(i, j), max(i, j)) for i, a in enumerate(self.adjacency) for j in a})

    def k_range(self) -> tuple[int, int]:
        if self.k is None or self.k == "fewest":
            return 1, self.n
        if isinstance(self.k, int):
            return self.k, self.k
        lo, hi = cast(tuple, self.k)
        return int(lo), int(hi)


def build_problem(graph: nx.Graph, **options: Any) -> PartitionProblem:
    """Check the arguments of :func:`clustergeo.partition` and build a :class:`PartitionProblem`.

    ``options`` are the fields of :class:`~clustergeo.solve.options.Sizes`,
    :class:`~clustergeo.solve.options.Districts` and :class:`~clustergeo.solve.options.Costs`
    (``min_weight=``, ``district=``, ``cost=`` ...), or those groups whole (``sizes=Sizes(...)``)."""
    z, d, c = problem_options(options)
    if c.objective not in ("hess", "cut_edges"):
        raise RulesError(f"objective must be 'hess' or 'cut_edges', not {c.objective!r}")
    if graph.number_of_nodes() == 0:
        raise RulesError("the graph has no nodes")
    nodes = sorted(
        graph.nodes, key=lambda v: (str(type(v)), v) if isinstance(v, (int, float)) else (str(type(v)), str(v))
    )
    all_bounds: dict[str, tuple[float | None, float | None]] = {}
    if z.min_weight is not None or z.max_weight is not None:
        all_bounds[z.weight] = (z.min_weight, z.max_weight)
    for m, (lo, hi) in (z.bounds or {}).items():
        all_bounds[m] = (lo, hi)
    measures = _measures(graph, nodes, sorted(set(all_bounds) | {z.weight}))
    for m, (lo, hi) in all_bounds.items():
        if lo is not None and hi is not None and lo > hi:
            raise RulesError(f"the minimum {m} ({lo:g}) is above the maximum ({hi:g})")
    _check_count(z.k)
    pos = {v: i for i, v in enumerate(nodes)}
    cost = _unit_costs(graph, nodes, measures[z.weight], c.cost) if c.objective == "hess" else None
    ew = {}
    for (a, b), val in (c.edge_weights or {}).items():
        if a in pos and b in pos:
            ew[min(pos[a], pos[b]), max(pos[a], pos[b])] = float(val)
    for mode in (d.district_mode, d.division_mode):
        if mode not in (None, "within", "penalty", "off"):
            raise RulesError(f"a district rule is 'within', 'penalty' or 'off', not {mode!r}")
    ruled = ("within", "penalty")
    cap = graph.graph.get(CROSSING_CAP_KEY)
    touches = None
    if cap is not None:
        touches = [
            frozenset(
                str(d) for d in (graph.nodes[v].get("districts") or [graph.nodes[v].get("district")]) if d is not None
            )
            for v in nodes
        ]
    hub_ok = None
    if c.hubs is not None:
        if c.objective != "hess":
            raise RulesError("hub candidates (hubs=...) need objective 'hess' (travel to the hub)")
        hub_ok = np.array([v in c.hubs for v in nodes], dtype=bool)
    return PartitionProblem(
        graph=graph,
        hub_ok=hub_ok,
        nodes=nodes,
        measures=measures,
        bounds=all_bounds,
        k=z.k,
        cost=cost,
        crossing_cap=None if cap is None else int(cap),
        touches=touches,
        pair_rows=[
            ([(pos[a], pos[b], float(w)) for a, b, w in terms if a in pos and b in pos], float(rhs))
            for terms, rhs in graph.graph.get(PAIR_ROWS_KEY, [])
        ],
        objective=c.objective,
        district=_labels(graph, nodes, d.district) if d.district_mode in ruled else None,
        district_mode=d.district_mode if d.district_mode in ruled else None,
        district_penalty=d.district_penalty,
        division=_labels(graph, nodes, d.division) if d.division_mode in ruled else None,
        division_mode=d.division_mode if d.division_mode in ruled else None,
        division_penalty=d.division_penalty,
        edge_weights=ew,
        max_cost=c.max_cost,
        forbid={(pos[a], pos[b]) for a, b in (c.forbid or ()) if a in pos and b in pos and a != b},
    )


def _measures(graph: nx.Graph, nodes: list, names: list[str]) -> dict[str, np.ndarray]:
    """Each measure per node, in node order (``schools`` defaults to 1)."""
    measures: dict[str, np.ndarray] = {}
    for m in names:
        vals = []
        for v in nodes:
            d = graph.nodes[v]
            if m not in d:
                if m == "schools":
                    vals.append(1.0)
                    continue
                raise RulesError(
                    f"node {v!r} has no {m!r} attribute; every node needs one (or drop the bound on {m!r})"
                )
            vals.append(float(d[m]))
        measures[m] = np.asarray(vals)
    return measures


def _check_count(k: Any) -> None:
    if isinstance(k, tuple):
        if len(k) != 2 or k[0] > k[1] or k[0] < 1:
            raise RulesError(f"k as a range must be (min, max) with 1 <= min <= max, not {k!r}")
    elif isinstance(k, str) and k != "fewest":
        raise RulesError(f"k must be an int, a (min, max) tuple or 'fewest', not {k!r}")
    elif isinstance(k, int) and k < 1:
        raise RulesError("k must be at least 1")


def _unit_costs(
    graph: nx.Graph, nodes: list, w: np.ndarray, cost: Mapping[tuple[Hashable, Hashable], float] | None
) -> dict[tuple[int, int], float]:
    """Unit-hub costs by index: the given ones, or the measure x squared straight-line distance
    (km^2) between x/y."""
    if cost is None:
        xy = np.array([[graph.nodes[v].get("x", 0.0), graph.nodes[v].get("y", 0.0)] for v in nodes])
        if not all("x" in graph.nodes[v] for v in nodes):
            raise RulesError("objective 'hess' needs a cost, or x/y on every node")
        d2 = ((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1) / M2_PER_KM2
        return {(i, j): float(w[i] * d2[i, j]) for i in range(len(nodes)) for j in range(len(nodes))}
    pos = {v: i for i, v in enumerate(nodes)}
    return {(pos[a], pos[b]): float(val) for (a, b), val in cost.items() if a in pos and b in pos}


def _labels(graph: nx.Graph, nodes: list, attr: str | None) -> np.ndarray | None:
    if attr is None:
        return None
    vals = [graph.nodes[v].get(attr) for v in nodes]
    missing = [v for v, x in zip(nodes, vals) if x is None]
    if missing:
        raise RulesError(
            f"{len(missing)} nodes have no {attr!r} (e.g. {missing[:3]}); "
            f"give every node a {attr} or turn the {attr} rule off"
        )
    return np.asarray([str(x) for x in vals], dtype=object)


def _same(labels: np.ndarray | None, mode: str | None) -> np.ndarray | None:
    if labels is None or mode != "within":
        return None
    return labels[:, None] == labels[None, :]


def cost_matrix(p: PartitionProblem, missing: float = np.inf) -> np.ndarray:
    """``p.cost`` as an n x n array, ``missing`` where a pair has no cost (by default infinite:
    the pair cannot be used)."""
    mat = np.full((p.n, p.n), missing, dtype=float)
    if p.cost:
        idx = np.fromiter((i * p.n + j for i, j in p.cost), dtype=np.int64, count=len(p.cost))
        mat.flat[idx] = np.fromiter(p.cost.values(), dtype=float, count=len(p.cost))
    return mat


def allowed_hubs(p: PartitionProblem, *, contiguous: bool = True) -> tuple[list[list[int]], dict]:
    """For each unit ``i``, the hubs ``j`` it may join (always including itself if it may be a hub).

    Returns ``(allowed, stats)`` where ``allowed[i]`` is a sorted list of hub indices and
    ``stats`` counts the pairs fixed to zero by each reason.
    """
    n = p.n
    ok = np.ones((n, n), dtype=bool)
    stats = {"pairs": n * n}
    same = None
    for lab, mode in ((p.district, p.district_mode), (p.division, p.division_mode)):
        s = _same(lab, mode)
        if s is not None:
            same = s if same is None else same & s
    if same is not None:
        stats["fixed_by_district"] = int((~same).sum())
        ok &= same
    edges = p.edges()
    for m, (_lo, hi) in p.bounds.items():
        if hi is None or not contiguous:  # path-based fixing assumes connected clusters
            continue
        w = p.measures[m]
        rows, cols, vals = [], [], []
        for a, b in edges:
            if same is not None and not same[a, b]:
                continue
            rows += [a, b]
            cols += [b, a]
            vals += [w[b] + 1e-9, w[a] + 1e-9]
        mat = csr_matrix((vals, (rows, cols)), shape=(n, n))
        dist = dijkstra(mat, directed=True) + w[:, None]  # dist[j, i]: lightest path j -> i
        far = dist.T > hi + 1e-6  # [i, j]
        stats[f"fixed_by_max_{m}"] = int((far & ok).sum())
        ok &= ~far
    # units must be reachable (inside the district under 'within')
    rows, cols = [], []
    for a, b in edges:
        if same is None or same[a, b]:
            rows += [a, b]
            cols += [b, a]
    mat = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    reach = np.isfinite(dijkstra(mat, directed=False, unweighted=True)) if contiguous else np.ones((n, n), bool)
    stats["fixed_by_reach"] = int((~reach & ok).sum())
    ok &= reach
    if p.max_cost is not None and p.cost is not None:
        for (i, j), val in p.cost.items():
            if i != j and val > p.max_cost and ok[i, j]:
                ok[i, j] = False
                stats["fixed_by_travel"] = stats.get("fixed_by_travel", 0) + 1
    if p.hub_ok is not None:
        stats["fixed_by_hubs"] = int((ok & ~p.hub_ok[None, :]).sum())
        ok &= p.hub_ok[None, :]
    for i, j in sorted(p.forbid):
        if ok[i, j]:
            ok[i, j] = False
            stats["fixed_by_travel"] = stats.get("fixed_by_travel", 0) + 1
    if p.objective == "cut_edges" and p.hub_rank is not None and contiguous:
        # hub = first root in the rank order; a root reaches only later units (roots.py)
        rooted = rooted_reach(p, p.hub_rank, p.hub_roots)
        stats["fixed_by_roots"] = int((ok & ~rooted).sum())
        ok &= rooted
    elif p.objective == "cut_edges":  # hub = lowest-indexed member: breaks hub symmetry
        tri = np.tril(np.ones((n, n), dtype=bool))  # i >= j
        stats["fixed_by_symmetry"] = int((ok & ~tri).sum())
        ok &= tri
    # a hub must be able to gather every minimum from the units it may take
    changed = True
    while changed:
        changed = False
        for m, (lo, _hi) in p.bounds.items():
            if lo is None:
                continue
            reach = p.measures[m] @ ok  # per hub j: sum of w_i over allowed i
            bad = (reach < lo - 1e-6) & ok.diagonal()
            if bad.any():
                ok[:, bad] = False
                changed = True
    allowed = [sorted(np.flatnonzero(ok[i]).tolist()) for i in range(n)]
    stats["kept"] = int(ok.sum())
    return allowed, stats
