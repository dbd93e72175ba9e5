"""Which units may head a cluster when the objective does not care which unit does.

For the cut-edges objective (and edge weights and district penalties) a cluster's hub is only
a representative, so any rule that names one member per cluster removes the hub symmetry.
The lowest index is such a rule, but it leaves almost every unit a possible hub. A far
better rule picks the hub from a small set ``R`` of *roots* that every cluster must contain:
when each connected piece of the graph without ``R`` is lighter than the minimum, no cluster
fits inside such a piece, so every cluster meets ``R``. The hub of a cluster is then its first
root in a fixed order (heaviest first), and a root ``j`` can only take units it reaches
through units *after* it in the order within the maximum: the earlier roots are not in its
cluster. This is Validi & Buchanan's "L-fixing" with the "max B" problem and their
"U-fixing" on the shrinking graph (Political districting to minimize cut edges, Math. Prog.
Comp. 2022), written for the rooted (Hess) model.

The largest complement ``B = V - R`` comes from a small MIP: the units of ``B`` go into
``q`` bins, each lighter than the minimum, and neighbours in ``B`` share a bin (so each
piece of ``B`` lies in one bin). Any feasible answer is valid (the empty ``B`` is), so the
MIP runs from a greedy warm start and stops after :data:`MIP_NODES` nodes of its tree, so
that the roots (and the labelling model built on them) are the same on any machine; its time
limit is only a cap for slow machines.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import numpy as np
import pulp
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra

from .backends import solvers

if TYPE_CHECKING:
    from .problem import PartitionProblem

log = logging.getLogger("clustergeo.solve")

MIP_MAX_UNITS = 500  # above this the max-B MIP's build alone outlasts its time; greedy only
#: Nodes the max-B MIP may explore: more rarely finds fewer roots on the county graphs.
MIP_NODES = 100


def _edges(p: PartitionProblem) -> list[tuple[int, int]]:
    """Edges a cluster can use (inside one district under the ``within`` rule)."""
    out = []
    for a, b in p.edges():
        if any(
            lab is not None and mode == "within" and lab[a] != lab[b]
            for lab, mode in ((p.district, p.district_mode), (p.division, p.division_mode))
        ):
            continue
        out.append((a, b))
    return out


def _minimum(p: PartitionProblem) -> tuple[str, float] | None:
    """The measure whose minimum leaves the fewest roots: the one closest to its total."""
    best = None
    for m, (lo, _hi) in sorted(p.bounds.items()):
        if lo is None or lo <= 0:
            continue
        share = lo / max(float(p.measures[m].sum()), 1e-9)
        if best is None or share > best[0]:
            best = (share, m, float(lo))
    return None if best is None else (best[1], best[2])


def _graph_on(n: int, edges: list[tuple[int, int]], keep: np.ndarray, head: np.ndarray | None = None) -> csr_matrix:
    """The graph on the units in ``keep``, both arc directions; arc ``u -> v`` weighs
    ``head[v]`` (the measure entered, for lightest paths) or 1."""
    pairs = [(a, b) for a, b in edges if keep[a] and keep[b]]
    rows = [a for a, b in pairs] + [b for a, b in pairs]
    cols = [b for a, b in pairs] + [a for a, b in pairs]
    vals = np.ones(len(rows)) if head is None else head[cols] + 1e-9
    return csr_matrix((vals, (rows, cols)), shape=(n, n))


def _pieces(n: int, edges: list[tuple[int, int]], roots: set[int]) -> tuple[np.ndarray, np.ndarray]:
    """``(keep, label)``: the units that are not roots, and their connected piece."""
    keep = np.ones(n, dtype=bool)
    keep[list(roots)] = False
    _, lab = connected_components(_graph_on(n, edges, keep), directed=False)
    return keep, lab


def too_light(
    p: PartitionProblem, roots: set[int], measure: str, lo: float, edges: list[tuple[int, int]] | None = None
) -> bool:
    """True when every connected piece of the graph without ``roots`` weighs under ``lo``."""
    keep, lab = _pieces(p.n, _edges(p) if edges is None else edges, roots)
    w = p.measures[measure]
    totals = np.bincount(lab[keep], weights=w[keep], minlength=p.n)
    return bool(np.all(totals < lo - 1e-9))


def _light_set(order: list[int], adj: list[list[int]], w: np.ndarray, lo: float) -> set[int]:
    """Take units in ``order`` into ``B`` while every connected piece of ``B`` stays under
    ``lo`` (a maximal ``B``: its complement is a valid root set)."""
    piece: dict[int, int] = {}
    members: dict[int, list[int]] = {}
    weight: dict[int, float] = {}
    chosen: set[int] = set()
    for v in order:
        near = {piece[u] for u in adj[v] if u in chosen}
        total = float(w[v]) + sum(weight[c] for c in near)
        if total >= lo - 1e-9:
            continue
        merged = [v] + [u for c in near for u in members.pop(c)]
        for c in near:
            weight.pop(c)
        members[v], weight[v] = merged, total
        for u in merged:
            piece[u] = v
        chosen.add(v)
    return chosen


def greedy_roots(p: PartitionProblem, measure: str, lo: float, *, iterations: int = 1500, seed: int = 0) -> set[int]:
    """Few roots by iterated greedy: lightest units into ``B`` first, then repeatedly drop
    a random third of the best ``B`` and refill it in a shuffled light-first order."""
    w = p.measures[measure]
    adj: list[list[int]] = [[] for _ in range(p.n)]
    for a, b in _edges(p):
        adj[a].append(b)
        adj[b].append(a)
    rng = np.random.default_rng(seed)
    best = _light_set(np.argsort(w, kind="stable").tolist(), adj, w, lo)
    for _ in range(iterations):
        keep = [v for v in sorted(best) if rng.random() > 0.3]
        kept = set(keep)
        rest = [v for v in range(p.n) if v not in kept]
        noise = rng.random(len(rest))
        rest = [v for _, v in sorted(zip((w[rest] * (1 + noise)).tolist(), rest))]
        trial = _light_set(keep + rest, adj, w, lo)
        if len(trial) >= len(best):
            best = trial
    return set(range(p.n)) - best


def _cap(w: np.ndarray, lo: float) -> float:
    """The most a piece may weigh and still be under the minimum ``lo``."""
    if np.all(np.equal(np.mod(w, 1), 0)):
        return float(np.ceil(lo - 1e-9) - 1)  # whole numbers: below lo means at most ceil(lo) - 1
    return lo - 1e-6 * max(1.0, abs(lo))


def _bins(
    p: PartitionProblem, roots: set[int], measure: str, cap: float, q: int, edges: list[tuple[int, int]]
) -> dict[int, int] | None:
    """Pieces of the graph without ``roots`` packed into ``q`` bins of at most ``cap`` (first
    fit decreasing): a warm start for the MIP. ``None`` when they do not fit."""
    keep, lab = _pieces(p.n, edges, roots)
    w = p.measures[measure]
    pieces: dict[int, list[int]] = {}
    for i in np.flatnonzero(keep).tolist():
        pieces.setdefault(int(lab[i]), []).append(i)
    load = [0.0] * q
    out: dict[int, int] = {}
    for members in sorted(pieces.values(), key=lambda m: -float(w[m].sum())):
        tot = float(w[members].sum())
        for b in range(q):
            if load[b] + tot <= cap:
                load[b] += tot
                out.update({i: b for i in members})
                break
        else:
            return None
    # number the bins by their first unit (the MIP's symmetry rule)
    firsts = sorted(
        {b: min(i for i, c in out.items() if c == b) for b in set(out.values())}.items(), key=lambda t: t[1]
    )
    renumber = {b: r for r, (b, _first) in enumerate(firsts)}
    return {i: renumber[b] for i, b in out.items()}


def root_order(
    p: PartitionProblem, *, seconds: float = 10.0, threads: int = 1, seed: int = 0
) -> tuple[np.ndarray, int] | None:
    """The hub rank of every unit (roots first, heaviest first, then the rest) and the
    number of roots: ``(rank, roots)``, for :attr:`PartitionProblem.hub_rank` and
    :attr:`PartitionProblem.hub_roots`. ``None`` when no unit can be ruled out as a hub (no minimum).
    """
    found = _minimum(p)
    if found is None:
        return None
    measure, lo = found
    t0 = time.perf_counter()
    n = p.n
    w = p.measures[measure]
    edges = _edges(p)
    roots = greedy_roots(p, measure, lo, seed=seed)
    lo_k, _hi_k = p.k_range()
    q = int(min(max(lo_k, 2), 8))
    cap = _cap(w, lo)
    start = _bins(p, roots, measure, cap, q, edges)
    left = seconds - (time.perf_counter() - t0)
    if left > 0.5 and n <= MIP_MAX_UNITS:
        prob = pulp.LpProblem("max_B", pulp.LpMaximize)
        x = {(i, b): pulp.LpVariable(f"x_{i}_{b}", cat=pulp.LpBinary) for i in range(n) for b in range(q)}
        inb = {i: pulp.LpVariable(f"b_{i}", cat=pulp.LpBinary) for i in range(n)}
        prob += pulp.lpSum(inb.values())
        for i in range(n):
            prob += pulp.lpSum(x[i, b] for b in range(q)) == inb[i], f"one_{i}"
            for b in range(i + 1, q):  # bins numbered by their first unit: no bin symmetry
                x[i, b].upBound = 0
        for b in range(q):
            prob += pulp.lpSum(float(w[i]) * x[i, b] for i in range(n)) <= cap, f"light_{b}"
        for a, c in edges:
            for u, v in ((a, c), (c, a)):
                for b in range(q):
                    prob += x[u, b] + inb[v] <= 1 + x[v, b], f"same_{u}_{v}_{b}"
        if start is not None:
            for i in range(n):
                inb[i].setInitialValue(1 if i in start else 0)
                for b in range(q):
                    x[i, b].setInitialValue(1 if start.get(i) == b else 0)
        s = solvers.make(
            "highs",
            time_limit=left,
            gap=None,
            threads=threads,
            seed=seed,
            warm_start=start is not None,
            highs_options={"mip_max_nodes": MIP_NODES},
        )
        info = solvers.run(prob, s)
        if info.has_solution:
            chosen = {i for i in range(n) if (inb[i].varValue or 0.0) > 0.5}
            mip_roots = set(range(n)) - chosen
            # the solver's answer is checked, never trusted: it must leave only light pieces
            if len(mip_roots) < len(roots) and too_light(p, mip_roots, measure, lo, edges):
                roots = mip_roots
    order = sorted(roots, key=lambda v: (-float(w[v]), v))
    rank = np.empty(n, dtype=np.int64)
    rest = [i for i in range(n) if i not in roots]
    for r, v in enumerate(order + rest):
        rank[v] = r
    log.info(
        "hub symmetry: %d of %d units can head a cluster (every cluster holds one; %.1f s)",
        len(order),
        n,
        time.perf_counter() - t0,
    )
    return rank, len(order)


def rooted_reach(p: PartitionProblem, rank: np.ndarray, n_roots: int) -> np.ndarray:
    """``ok[i, j]``: root ``j`` may take unit ``i`` (``i`` later in the order, reached through
    later units within every maximum). Columns of units that are not roots are all False."""
    n = p.n
    ok = np.zeros((n, n), dtype=bool)
    edges = _edges(p)
    maxima = [(m, hi) for m, (_lo, hi) in sorted(p.bounds.items()) if hi is not None]
    for j in np.flatnonzero(rank < n_roots).tolist():
        later = rank >= rank[j]
        reach = np.ones(n, dtype=bool)
        if not maxima:
            reach &= np.isfinite(dijkstra(_graph_on(n, edges, later), directed=False, unweighted=True, indices=j))
        for m, hi in maxima:
            wm = p.measures[m]
            reach &= dijkstra(_graph_on(n, edges, later, wm), directed=True, indices=j) + wm[j] <= hi + 1e-6
        ok[:, j] = reach & later
    return ok
