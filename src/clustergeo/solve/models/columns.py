"""Exact partitioning by enumerating every possible cluster, then set partitioning.

Under a tight size balance (county graphs within 0.5% of the mean) very few connected sets of
units fit the window: Maine's 16 counties have 122 such sets and a single balanced split into
two. The Hess model then spends its time cutting off disconnected near-plans one round at a
time. Garfinkel & Nemhauser's (1970) method does better there: list every connected set that
meets every bound and the district rule (each set once, grown from its lowest-numbered unit,
pruned as soon as a maximum is exceeded), drop sets that leave a remainder no plan can cover,
and choose ``k`` of them that cover every unit exactly once, at least cost, with a small
set-partitioning MIP whose LP bound is usually tight. Contiguity is exact by construction.

The objective of every rule is linear in the clusters: a cluster's Hess cost is its best hub's
sum, a split district costs its penalty, and a cut edge is half in each of its two clusters.
The enumeration stops at a budget (``max_sets`` sets visited); the caller then falls back to
the Hess model.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

import numpy as np
import pulp

from ..backends import solvers
from ..problem import PartitionProblem, cost_matrix

#: random walks in :func:`estimate_visits` (about 10 ms for 1,000 on a 50-unit graph)
ESTIMATE_PROBES = 1000

#: a partial cluster while listing: its units, their weight, units it may grow by, units ruled out
_Branch = tuple[tuple[int, ...], float, tuple[int, ...], frozenset[int]]


@dataclass
class Column:
    members: tuple[int, ...]
    hub: int
    cost: float


@dataclass
class _Listing:
    """What the listing grows sets by: the pruning measure and its window, and the district rule."""

    names: list[str]
    w: np.ndarray  # measures x units
    lo: np.ndarray
    hi: np.ndarray
    prune: int
    same: list[list[bool]] | None


def _listing(p: PartitionProblem) -> _Listing | None:
    """The listing's inputs, or None when nothing bounds the list (no maximum, or a negative
    measure that pruning by the maximum cannot handle)."""
    names = sorted(p.bounds)
    w = np.array([p.measures[m] for m in names], dtype=float).reshape(len(names), p.n)
    if (w < 0).any():
        return None
    lo = np.array([-np.inf if p.bounds[m][0] is None else p.bounds[m][0] for m in names])
    hi = np.array([np.inf if p.bounds[m][1] is None else p.bounds[m][1] for m in names])
    finite = [m for m in range(len(names)) if np.isfinite(hi[m])]
    if not finite:
        return None
    # grow sets under the maximum that admits the fewest units; every other bound is checked
    # on the sets found (a set within all maximums is within this one)
    prune = max(finite, key=lambda m: w[m].mean() / max(hi[m], 1e-9))
    within = [
        lab
        for lab, mode in ((p.district, p.district_mode), (p.division, p.division_mode))
        if lab is not None and mode == "within"
    ]
    same = [[all(lab[i] == lab[j] for lab in within) for j in range(p.n)] for i in range(p.n)] if within else None
    return _Listing(names, w, lo, hi, prune, same)


def estimate_visits(p: PartitionProblem, *, probes: int = ESTIMATE_PROBES, seed: int = 0) -> float:
    """Knuth's (1975) estimate of the sets the listing would visit: random walks down its
    search tree, each scoring the product of the branching factors met. Unbiased, and in
    practice low rather than high on these skewed trees (South Carolina: 0.2-1.9 million for
    2.8 million visited; New Mexico: 3-170 million for over 20 million), so a listing judged
    too long by it is too long. Infinite when nothing bounds the list."""
    spec = _listing(p)
    if spec is None:
        return float("inf")
    adj, w, hi, same = p.adjacency, list(spec.w[spec.prune]), spec.hi[spec.prune] + 1e-9, spec.same
    roots = [r for r in range(p.n) if w[r] <= hi]
    if not roots:
        return 0.0
    rng = random.Random(seed)
    total = 0.0
    for _ in range(probes):
        r = rng.choice(roots)
        mult, wt, blocked = float(len(roots)), w[r], frozenset((r,))
        ext = tuple(v for v in adj[r] if v > r and (same is None or same[r][v]))
        while True:
            total += mult
            kids = [i for i, v in enumerate(ext) if wt + w[v] <= hi]
            if not kids:
                break
            mult *= len(kids)
            i = rng.choice(kids)
            v = ext[i]
            blocked = blocked.union(ext[: i + 1])
            rest = ext[i + 1 :]
            ext = rest + tuple(
                u for u in adj[v] if u > r and u not in blocked and u not in rest and (same is None or same[r][u])
            )
            wt += w[v]
    return total / probes


def enumerate_clusters(
    p: PartitionProblem, allowed: list[list[int]], *, max_sets: int = 3_000_000, deadline: float | None = None
) -> list[Column] | None:
    """Every connected set of units that may form a cluster, or None over the budget."""
    spec = _listing(p)
    if spec is None:
        return None
    names, w, lo, hi, prune = spec.names, spec.w, spec.lo, spec.hi, spec.prune
    found = _connected_sets(
        p.adjacency, list(w[prune]), lo[prune] - 1e-9, hi[prune] + 1e-9, spec.same, max_sets, deadline
    )
    if found is None:
        return None
    if len(names) > 1 and found:
        sizes = np.fromiter((len(x) for x in found), dtype=np.int64, count=len(found))
        flat = np.fromiter((i for x in found for i in x), dtype=np.int64, count=int(sizes.sum()))
        tot = np.add.reduceat(w[:, flat], np.concatenate([[0], np.cumsum(sizes)[:-1]]), axis=1)
        fits = np.all((tot >= lo[:, None] - 1e-9) & (tot <= hi[:, None] + 1e-9), axis=0)
        found = [x for x, ok in zip(found, fits) if ok]
    return _keep_usable(p, found, w, lo, hi, [set(a) for a in allowed])


def _connected_sets(
    adj: list[list[int]], w: list[float], lo: float, hi: float, same, max_sets: int, deadline: float | None
) -> list[tuple[int, ...]] | None:
    """Connected sets with ``lo <= w(S) <= hi``, each once (grown from its lowest unit, the
    units skipped at a branch barred below it); None past ``max_sets`` sets or the deadline."""
    found: list[tuple[int, ...]] = []
    visited = 0
    for r in range(len(adj)):
        if w[r] > hi:
            continue
        first = tuple(v for v in adj[r] if v > r and (same is None or same[r][v]))
        stack: list[_Branch] = [((r,), w[r], first, frozenset((r,)))]
        while stack:
            s, wt, ext, blocked = stack.pop()
            visited += 1
            if visited > max_sets or (visited % 65536 == 0 and deadline is not None and time.perf_counter() > deadline):
                return None
            if wt >= lo:
                found.append(s)
            for i, v in enumerate(ext):
                nw = wt + w[v]
                if nw > hi:
                    continue
                nb = blocked.union(ext[: i + 1])
                rest = ext[i + 1 :]
                new = tuple(
                    u for u in adj[v] if u > r and u not in nb and u not in rest and (same is None or same[r][u])
                )
                stack.append((s + (v,), nw, rest + new, nb))
    return found


def _remainder_ok(
    p: PartitionProblem, sets: list[tuple[int, ...]], w: np.ndarray, lo: np.ndarray, hi: np.ndarray, chunk: int = 50_000
) -> np.ndarray:
    """For each set, whether every piece of the rest of the graph can take a whole number of
    clusters (some m with m x minimum <= piece <= m x maximum, for every measure). Vectorised
    over the sets: the pieces are found by min-label propagation on all remainders at once."""
    n = p.n
    adj = p.adjacency
    ok = np.ones(len(sets), dtype=bool)
    big = n + 1
    for start in range(0, len(sets), chunk):
        block = sets[start : start + chunk]
        rows = np.repeat(np.arange(len(block)), [len(x) for x in block])
        cols = np.fromiter((i for x in block for i in x), dtype=np.int64, count=len(rows))
        free = np.ones((n, len(block)), dtype=bool)  # unit x set: rows contiguous
        free[cols, rows] = False
        label = np.where(free, np.arange(n)[:, None], big)
        while True:
            new = label.copy()
            for v in range(n):
                for u in adj[v]:
                    np.minimum(new[v], label[u], out=new[v])
            new[~free] = big
            if np.array_equal(new, label):
                break
            label = new
        v_idx, r_idx = np.nonzero(free)
        lab = label[v_idx, r_idx]
        for m in range(len(lo)):
            flat = lab * len(block) + r_idx
            tot = np.bincount(flat, weights=w[m, v_idx], minlength=n * len(block)).reshape(n, len(block))
            has = (np.bincount(flat, minlength=n * len(block)) > 0).reshape(n, len(block))
            m_lo = (
                np.ones_like(tot)
                if not (np.isfinite(hi[m]) and hi[m] > 0)
                else np.maximum(np.ceil(tot / hi[m] - 1e-9), 1)
            )
            m_hi = np.full_like(tot, np.inf) if not lo[m] > 0 else np.floor(tot / lo[m] + 1e-9)
            bad = has & (m_lo > m_hi)
            ok[start : start + len(block)] &= ~bad.any(axis=0)
        # (with several measures, m must be the same for all; this per-measure test is weaker
        # but still only drops sets that no plan can use)
    return ok


def _keep_usable(
    p: PartitionProblem, sets: list[tuple[int, ...]], w: np.ndarray, lo: np.ndarray, hi: np.ndarray, may: list[set[int]]
) -> list[Column]:
    """Price each set (best allowed hub) and drop those no plan can use: a set whose
    remainder has a piece that no whole number of clusters can fill."""
    adj = p.adjacency
    cost = None
    if p.objective == "hess" and p.cost is not None:
        cost = cost_matrix(p)
    edge_w: dict[tuple[int, int], float] = {}
    for (a, b), v in p.edge_weights.items():
        key = (min(a, b), max(a, b))
        edge_w[key] = edge_w.get(key, 0.0) + v
    if p.objective == "cut_edges":
        for e in p.edges():
            edge_w[e] = edge_w.get(e, 0.0) + 1.0
    penalties = [
        (lab, pen)
        for lab, mode, pen in (
            (p.district, p.district_mode, p.district_penalty),
            (p.division, p.division_mode, p.division_penalty),
        )
        if lab is not None and mode == "penalty" and pen > 0
    ]
    # a connected cluster within the maximums can be hubbed at any member unless pairs were
    # fixed out for other reasons (a travel cap, forbidden pairs, hub candidates)
    restricted = bool(p.forbid) or p.max_cost is not None or p.hub_ok is not None
    usable = _remainder_ok(p, sets, w, lo, hi)
    out = []
    for s, ok in zip(sets, usable):
        if not ok:
            continue
        members = np.array(s)
        hubs = [j for j in s if all(j in may[i] for i in s)] if restricted else list(s)
        if not hubs:
            continue
        if cost is not None:
            sums = cost[np.ix_(members, np.array(hubs))].sum(axis=0)
            b = int(np.argmin(sums))
            hub, c = hubs[b], float(sums[b])
        else:
            hub, c = min(hubs), 0.0
        for lab, pen in penalties:
            c += pen * (len(set(lab[members].tolist())) - 1)
        if edge_w:
            inside = set(s)
            c += 0.5 * sum(edge_w.get((min(u, v), max(u, v)), 0.0) for u in s for v in adj[u] if v not in inside)
        if np.isfinite(c):
            out.append(Column(tuple(s), hub, c))
    return out


@dataclass
class ColumnRun:
    assignment: list[int] | None
    status: str
    objective: float | None
    bound: float | None
    seconds: float
    columns: int


def solve(
    p: PartitionProblem,
    columns: list[Column],
    *,
    k: int | tuple[int, int] | None,
    fewest: bool,
    solver: str,
    time_limit: float | None,
    gap: float | None,
    threads: int,
    seed: int,
    msg: bool = False,
    exclude: list[list[int]] | None = None,
) -> ColumnRun:
    """Choose clusters covering every unit once: fewest first if asked, then least cost."""
    t0 = time.perf_counter()
    prob = pulp.LpProblem("clustergeo_columns", pulp.LpMinimize)
    y = [pulp.LpVariable(f"y_{c}", cat=pulp.LpBinary) for c in range(len(columns))]
    cover: list[list[int]] = [[] for _ in range(p.n)]
    for c, col in enumerate(columns):
        for i in col.members:
            cover[i].append(c)
    if any(not cv for cv in cover):
        return ColumnRun(None, "infeasible", None, None, time.perf_counter() - t0, len(columns))
    for i in range(p.n):
        prob += pulp.lpSum(y[c] for c in cover[i]) == 1, f"cover_{i}"
    count = pulp.lpSum(y)
    lo_k, hi_k = (1, p.n) if k is None else ((k, k) if isinstance(k, int) else (int(k[0]), int(k[1])))
    prob += count >= lo_k, "count_min"
    prob += count <= hi_k, "count_max"
    index = {tuple(sorted(col.members)): c for c, col in enumerate(columns)}
    for e, old in enumerate(exclude or []):
        groups: dict[int, list[int]] = {}
        for i, h in enumerate(old):
            groups.setdefault(h, []).append(i)
        found = [index.get(tuple(sorted(g))) for g in groups.values()]
        ids = [c for c in found if c is not None]
        if len(ids) == len(found):  # else that plan is not among the choices anyway
            prob += pulp.lpSum(y[c] for c in ids) <= len(ids) - 1, f"nogood_{e}"

    def run(objective) -> solvers.SolveInfo:
        prob.setObjective(objective)
        left = None if time_limit is None else max(time_limit - (time.perf_counter() - t0), 1.0)
        # HiGHS's presolve spends seconds comparing thousands of near-identical columns here
        # and removes almost nothing; the set-partitioning LP is tight without it
        s = solvers.make(
            solver,
            time_limit=left,
            gap=gap,
            threads=threads,
            seed=seed,
            msg=msg,
            warm_start=False,
            highs_options={"presolve": "off"},
        )
        return solvers.run(prob, s)

    if fewest:
        info = run(count)
        if info.status != "optimal" or info.objective is None:
            return ColumnRun(
                None,
                info.status if info.status == "infeasible" else "no solution",
                None,
                None,
                time.perf_counter() - t0,
                len(columns),
            )
        kk = int(round(info.objective))
        prob += count == kk, "count_fewest"
    info = run(pulp.lpSum(col.cost * y[c] for c, col in enumerate(columns)))
    if not info.has_solution:
        return ColumnRun(None, info.status, None, info.bound, time.perf_counter() - t0, len(columns))
    out = [-1] * p.n
    for c, col in enumerate(columns):
        if y[c].varValue is not None and y[c].varValue > 0.5:
            for i in col.members:
                out[i] = col.hub
    return ColumnRun(out, info.status, info.objective, info.bound, time.perf_counter() - t0, len(columns))
