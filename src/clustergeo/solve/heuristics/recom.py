"""Spanning-tree heuristic: recursive tree partitioning, then recombination.

Under a tight size balance (county graphs within 0.5% of the mean) greedy amalgamation rarely
lands inside the window. Random spanning trees do: cutting one edge of a spanning tree of a
connected region splits it into two connected parts, and a tree has many edges to choose from.

* :func:`seed` splits off one cluster at a time along a random spanning tree of what is left
  (the recursive tree partitioning of DeFord, Duchin & Solomon's ReCom seeding), keeping only
  cuts that leave a remainder which can still make the clusters still needed.
* :func:`improve` repeats recombination steps: merge two neighbouring clusters, draw a random
  spanning tree of the union, and re-split it at the tree edge whose two sides meet every bound
  and cost least; the step is kept when the plan's objective does not get worse.

Both are exact about the rules: every plan they return is contiguous, meets every bound, the
count and the district rule. They are used as the exact solver's warm start and as its answer
when it finds none in the time limit; the benchmarks report them next to the peers.

The search is bounded by work, not only by time: it counts the spanning trees it draws,
weighted by their size, and stops at a budget (``work``), so the same problem and seed give
the same plan on any machine and under any load; the time limit stays as a cap for slow
machines. (Bounded by time alone, Iowa's start had 35 cut edges after 6 s of search and 34
after 12 s, so it hung on the machine's speed and load; the exact solver's proof takes about
half as long from the optimum, 33, as from 35.)
"""

from __future__ import annotations

import time

import numpy as np

from ..problem import PartitionProblem, cost_matrix

#: The work of one spanning tree: its units plus this many (a tree of 11 units takes 0.55 ms
#: on the reference machine, one of 267 units 4.7 ms: about 0.016 ms a unit plus 0.4 ms).
TREE_WORK = 25
#: Work per second of search on the reference machine (2 cores, Python 3.11: 62,000-103,000
#: on grids of 16-400 units and the county graphs), to turn seconds into a work budget.
WORK_PER_SECOND = 70_000


class _Data:
    """Arrays the search needs, built once per problem, and the work done so far."""

    def __init__(self, p: PartitionProblem):
        self.p = p
        self.work, self.budget = 0, float("inf")  # spanning-tree work done (TREE_WORK); the cap
        self.adj = p.adjacency
        self.names = sorted(p.bounds)
        self.w = np.array([p.measures[m] for m in self.names], dtype=float).reshape(len(self.names), p.n)
        self.lo = np.array([-np.inf if p.bounds[m][0] is None else p.bounds[m][0] for m in self.names])
        self.hi = np.array([np.inf if p.bounds[m][1] is None else p.bounds[m][1] for m in self.names])
        self.cost = None
        if p.objective == "hess" and p.cost is not None:
            self.cost = cost_matrix(p)
        self.edge_w: dict[tuple[int, int], float] = {}
        for (a, b), v in p.edge_weights.items():
            key = (min(a, b), max(a, b))
            self.edge_w[key] = self.edge_w.get(key, 0.0) + v
        if p.objective == "cut_edges":
            for e in p.edges():
                self.edge_w[e] = self.edge_w.get(e, 0.0) + 1.0
        self.within = [
            lab
            for lab, mode in ((p.district, p.district_mode), (p.division, p.division_mode))
            if lab is not None and mode == "within"
        ]
        self.penalties = [
            (lab, pen)
            for lab, mode, pen in (
                (p.district, p.district_mode, p.district_penalty),
                (p.division, p.division_mode, p.division_penalty),
            )
            if lab is not None and mode == "penalty" and pen > 0
        ]

    def spent(self) -> bool:
        """Whether the work budget is used up."""
        return self.work >= self.budget

    def fits(self, tot: np.ndarray, clusters: int = 1) -> bool:
        return bool(np.all(tot >= clusters * self.lo - 1e-9) and np.all(tot <= clusters * self.hi + 1e-9))

    def one_district(self, members: np.ndarray) -> bool:
        return all(len(set(lab[members].tolist())) == 1 for lab in self.within)

    def hub_and_cost(self, members: np.ndarray) -> tuple[int, float]:
        """The best hub of a cluster and the cluster's own share of the objective."""
        cost = 0.0
        if self.cost is not None:
            sums = self.cost[np.ix_(members, members)].sum(axis=0)
            best = int(np.argmin(sums))
            hub, cost = int(members[best]), float(sums[best])
        else:
            hub = self.p.first_hub(members.tolist())
        for lab, pen in self.penalties:
            cost += pen * (len(set(lab[members].tolist())) - 1)
        return hub, cost


def _tree(d: _Data, members: np.ndarray, rng: np.random.Generator):
    """A random spanning tree of the region ``members``: (BFS order, parent) in local indices,
    or None when the region is not connected.

    The minimum spanning tree under random edge weights (Kruskal's, unique as the weights are
    distinct), walked breadth first from a random root with each unit's neighbours in index
    order: the tree and order SciPy's ``minimum_spanning_tree`` and ``breadth_first_order``
    give, without their set-up cost, which dominates on the small regions the search draws
    (0.8 ms against 0.08 ms for 8 units)."""
    d.work += len(members) + TREE_WORK
    local = {int(v): i for i, v in enumerate(members)}
    rows, cols = [], []
    for v in members.tolist():
        for u in d.adj[v]:
            if u in local and u > v:
                rows.append(local[v])
                cols.append(local[u])
    m = len(members)
    if m == 1:
        return np.array([0]), np.array([-9999])
    if not rows:
        return None
    weights = rng.random(len(rows)) + 1e-3
    nbr = _kruskal(m, rows, cols, weights)
    root = int(rng.integers(m))
    if nbr is None:
        return None
    parent = np.full(m, -9999)
    order, seen = [root], [False] * m
    seen[root] = True
    for v in order:  # grows while walked: breadth first
        for u in sorted(nbr[v]):
            if not seen[u]:
                seen[u] = True
                parent[u] = v
                order.append(u)
    return np.array(order), parent


def _kruskal(m: int, rows: list[int], cols: list[int], weights: np.ndarray) -> list[list[int]] | None:
    """The minimum spanning tree's neighbour lists, or None when the edges do not connect ``m`` units."""
    root = list(range(m))

    def find(a: int) -> int:
        while root[a] != a:
            root[a] = root[root[a]]
            a = root[a]
        return a

    nbr: list[list[int]] = [[] for _ in range(m)]
    joined = 0
    for e in np.argsort(weights, kind="stable").tolist():
        a, b = rows[e], cols[e]
        ra, rb = find(a), find(b)
        if ra != rb:
            root[ra] = rb
            nbr[a].append(b)
            nbr[b].append(a)
            joined += 1
            if joined == m - 1:
                return nbr
    return None


def _subtree_totals(d: _Data, members: np.ndarray, order: np.ndarray, parent: np.ndarray) -> np.ndarray:
    tot = d.w[:, members].copy()
    for v in order[::-1][:-1]:
        tot[:, parent[v]] += tot[:, v]
    return tot


def _subtree(order: np.ndarray, parent: np.ndarray, v: int) -> np.ndarray:
    """Local indices in the subtree below ``v`` (``order`` is a BFS order, parents first)."""
    inside = np.zeros(len(order), dtype=bool)
    inside[v] = True
    for u in order:
        if u != v and parent[u] >= 0 and inside[parent[u]]:
            inside[u] = True
    return np.flatnonzero(inside)


def _assignment(d: _Data, clusters: list[np.ndarray]) -> list[int]:
    """Hub per unit, each cluster hubbed at its best unit."""
    out = [0] * d.p.n
    for c in clusters:
        hub, _ = d.hub_and_cost(c)
        for v in c.tolist():
            out[v] = hub
    return out


def _touching(d: _Data, label: np.ndarray, units) -> list[tuple[int, int]]:
    """The pairs of neighbouring clusters seen from ``units``."""
    return sorted(
        {(min(label[u], label[v]), max(label[u], label[v])) for u in units for v in d.adj[u] if label[u] != label[v]}
    )


def seed(
    p: PartitionProblem,
    k: int,
    *,
    rng: np.random.Generator,
    attempts: int = 200,
    deadline: float | None = None,
    budgeted: bool = True,
    _d: _Data | None = None,
) -> list[int] | None:
    """A plan of exactly ``k`` clusters by recursive spanning-tree splits, or None (also when
    the work budget is spent, unless ``budgeted`` is False)."""
    d = _d or _Data(p)
    everything = np.arange(p.n)
    if not d.fits(d.w.sum(axis=1), k):
        return None
    for _ in range(attempts):
        if (budgeted and d.spent()) or (deadline is not None and time.perf_counter() > deadline):
            return None
        clusters: list = []
        rest, ok = everything, True
        while len(clusters) < k - 1:
            found = None
            for _t in range(20):
                tree = _tree(d, rest, rng)
                if tree is None:
                    break
                order, parent = tree
                sub = _subtree_totals(d, rest, order, parent)
                total = sub[:, order[0]]
                left = k - len(clusters) - 1
                cands = [v for v in order[1:] if d.fits(sub[:, v]) and d.fits(total - sub[:, v], left)]
                rng.shuffle(cands)
                for v in cands:
                    piece = rest[_subtree(order, parent, v)]
                    if d.one_district(piece):
                        found = piece
                        break
                if found is not None:
                    break
            if found is None:
                ok = False
                break
            clusters.append(found)
            rest = np.setdiff1d(rest, found, assume_unique=True)
        if not ok or not d.fits(d.w[:, rest].sum(axis=1)) or not d.one_district(rest):
            continue
        clusters.append(rest)
        return _assignment(d, clusters)
    return None


def _cut_weight(d: _Data, a: np.ndarray, b: np.ndarray) -> float:
    if not d.edge_w:
        return 0.0
    bs = set(b.tolist())
    return sum(d.edge_w.get((min(u, v), max(u, v)), 0.0) for u in a.tolist() for v in d.adj[u] if v in bs)


def improve(
    p: PartitionProblem,
    assignment: list[int],
    *,
    rng: np.random.Generator,
    seconds: float = 2.0,
    steps: int = 100_000,
    _d: _Data | None = None,
) -> list[int]:
    """Recombination search from a valid plan; returns a plan at least as good."""
    d = _d or _Data(p)
    t_end = time.perf_counter() + seconds
    groups: dict[int, list[int]] = {}
    for i, h in enumerate(assignment):
        groups.setdefault(h, []).append(i)
    clusters = [np.array(sorted(g)) for g in groups.values()]
    label = np.empty(p.n, dtype=int)
    for c_idx, c in enumerate(clusters):
        label[c] = c_idx
    costs = [d.hub_and_cost(c)[1] for c in clusters]
    pairs = _touching(d, label, range(p.n))
    if not pairs:
        return list(assignment)
    stall, scale = 0, max(1.0, abs(sum(costs)))
    for _ in range(steps):
        # the budget, the time, or no gain for long
        if d.spent() or time.perf_counter() > t_end or stall > 30 * len(pairs) + 200:
            break
        stall += 1
        a, b = pairs[int(rng.integers(len(pairs)))]
        union = np.concatenate([clusters[a], clusters[b]])
        if not d.one_district(union) and d.within:
            continue
        tree = _tree(d, union, rng)
        if tree is None:
            continue
        order, parent = tree
        sub = _subtree_totals(d, union, order, parent)
        total = sub[:, order[0]]
        old = costs[a] + costs[b] + _cut_weight(d, clusters[a], clusters[b])
        best = None
        for v in order[1:]:
            if not (d.fits(sub[:, v]) and d.fits(total - sub[:, v])):
                continue
            inside = _subtree(order, parent, v)
            s1 = union[inside]
            s2 = np.setdiff1d(union, s1, assume_unique=True)
            if not (d.one_district(s1) and d.one_district(s2)):
                continue
            c1, c2 = d.hub_and_cost(s1)[1], d.hub_and_cost(s2)[1]
            new = c1 + c2 + _cut_weight(d, s1, s2)
            if new <= old + 1e-9 and (best is None or new < best[0]):
                best = (new, s1, s2, c1, c2)
        if best is None:
            continue
        _, s1, s2, c1, c2 = best
        clusters[a], clusters[b], costs[a], costs[b] = s1, s2, c1, c2
        if best[0] < old - 1e-9 * scale:
            stall = 0
        label[s1], label[s2] = a, b
        pairs = sorted(
            set(_touching(d, label, np.concatenate([s1, s2]).tolist()))
            | {q for q in pairs if a not in q and b not in q}
        )
    return _assignment(d, clusters)


def search(
    p: PartitionProblem, k: int, *, seconds: float = 2.0, seed_value: int = 0, work: float | None = None
) -> list[int] | None:
    """Seed a plan of ``k`` clusters and improve it; when the search stalls, start again from
    a new seed, and return the best plan; None if no seed was found.

    It stops when its spanning trees add up to ``work`` (each its units plus ``TREE_WORK``;
    reproducible, see the module's docstring; about ``work / WORK_PER_SECOND`` seconds) or
    after ``seconds``, whichever comes first. The first plan is sought until ``seconds``,
    whatever the budget."""
    from .greedy import plan_cost

    rng = np.random.default_rng(seed_value)
    d = _Data(p)
    if work is not None:
        d.budget = work
    deadline = time.perf_counter() + seconds
    best, best_cost = None, np.inf
    while True:
        start = seed(p, k, rng=rng, deadline=deadline, budgeted=best is not None, _d=d)
        if start is None:
            break
        plan = improve(p, start, rng=rng, seconds=max(deadline - time.perf_counter(), 0.0), _d=d)
        cost = plan_cost(p, plan)
        if cost < best_cost:
            best, best_cost = plan, cost
        if time.perf_counter() >= deadline or d.spent():
            break
    return best
