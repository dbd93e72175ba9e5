"""A fast constructive heuristic: greedy amalgamation of adjacent units, then local search.

It gives the exact solver a warm start and gives an answer (with its measured gap to the
solver's bound) when the exact solve hits its time limit. It is also the simple baseline the
benchmarks compare against. Its plans are contiguous by construction; they are still checked.
"""

from __future__ import annotations

import numpy as np

from ..cuts import components
from ..problem import PartitionProblem

#: the most border moves :func:`rebalance` makes (a planner's edit needs a few; a plan that needs
#: many is better left to the search for a start)
REBALANCE_MOVES = 50


def _fits_upper(p: PartitionProblem, totals: dict[str, float]) -> bool:
    return all(hi is None or totals[m] <= hi + 1e-9 for m, (_lo, hi) in p.bounds.items())


def _below_lower(p: PartitionProblem, totals: dict[str, float]) -> float:
    """How far below its minimums a cluster is (0 when it meets them)."""
    gap = 0.0
    for m, (lo, _hi) in p.bounds.items():
        if lo is not None and totals[m] < lo - 1e-9:
            gap += (lo - totals[m]) / max(lo, 1e-9)
    return gap


def _allowed_together(p: PartitionProblem, a: set[int], b: set[int]) -> bool:
    for lab, mode in ((p.district, p.district_mode), (p.division, p.division_mode)):
        if lab is not None and mode == "within":
            if lab[next(iter(a))] != lab[next(iter(b))]:
                return False
    return True


def choose_hubs(p: PartitionProblem, clusters: list[set[int]], allowed: list[list[int]] | None = None) -> list[int]:
    """Best hub of each cluster: least cost (``hess``) or :meth:`PartitionProblem.first_hub`
    (``cut_edges``: the first root, or the lowest index)."""
    hubs = []
    for c in clusters:
        members = sorted(c)
        cost = p.cost
        if p.objective == "hess" and cost is not None:
            best = min(members, key=lambda j: (sum(cost.get((i, j), np.inf) for i in members), j))
        else:
            best = p.first_hub(members)
        hubs.append(best)
    return hubs


def plan_cost(p: PartitionProblem, assignment: list[int]) -> float:
    """The objective of a plan (``assignment[i]`` = hub of ``i``), penalties included."""
    total = 0.0
    if p.objective == "hess" and p.cost is not None:
        total += sum(p.cost.get((i, j), np.inf) for i, j in enumerate(assignment))
    else:
        total += sum(1.0 for a, b in p.edges() if assignment[a] != assignment[b])
    for (a, b), w in p.edge_weights.items():
        if assignment[a] != assignment[b]:
            total += w
    for lab, mode, pen in (
        (p.district, p.district_mode, p.district_penalty),
        (p.division, p.division_mode, p.division_penalty),
    ):
        if lab is not None and mode == "penalty":
            touched: dict[int, set] = {}
            for i, j in enumerate(assignment):
                touched.setdefault(j, set()).add(lab[i])
            total += pen * sum(len(s) - 1 for s in touched.values())
    return float(total)


def greedy(p: PartitionProblem, *, target: int | None = None, fewest: bool = False) -> list[int] | None:
    """Greedy amalgamation. Returns ``assignment`` (hub per unit) or ``None`` if it gets stuck.

    Start from single units; merge the cluster furthest below a minimum into the adjacent
    cluster that keeps every maximum and gives the smallest merged size; then, to reach the
    count (``target``, or as few as possible with ``fewest``), merge the adjacent pair with the
    smallest combined size while every maximum holds.
    """
    adj = p.adjacency
    n = p.n
    cid = list(range(n))
    members: dict[int, set[int]] = {i: {i} for i in range(n)}
    totals = {i: {m: float(p.measures[m][i]) for m in p.measures} for i in range(n)}
    primary = next(iter(p.bounds), next(iter(p.measures)))

    def neighbours(c: int) -> set[int]:
        return {cid[v] for u in members[c] for v in adj[u]} - {c}

    def merge(a: int, b: int) -> None:
        for u in members[b]:
            cid[u] = a
        members[a] |= members.pop(b)
        for m in totals[a]:
            totals[a][m] += totals[b][m]
        del totals[b]

    def merged(a: int, b: int) -> dict[str, float]:
        return {m: totals[a][m] + totals[b][m] for m in totals[a]}

    while True:
        short = [c for c in members if _below_lower(p, totals[c]) > 0]
        if not short:
            break
        c = max(short, key=lambda c: (_below_lower(p, totals[c]), -c))
        options = [
            d for d in neighbours(c) if _fits_upper(p, merged(c, d)) and _allowed_together(p, members[c], members[d])
        ]
        if not options:
            return None
        d = min(options, key=lambda d: (_below_lower(p, merged(c, d)) > 0, totals[d][primary], d))
        merge(min(c, d), max(c, d))
    lo, hi = p.k_range()
    want = target if target is not None else (lo if fewest else hi)
    while len(members) > want:
        pairs = []
        for c in members:
            for d in neighbours(c):
                if c < d and _fits_upper(p, merged(c, d)) and _allowed_together(p, members[c], members[d]):
                    pairs.append((merged(c, d)[primary], c, d))
        if not pairs:
            break
        _, c, d = min(pairs)
        merge(c, d)
    if not (lo <= len(members) <= hi) and not fewest:
        return None
    clusters = [members[c] for c in sorted(members)]
    hubs = choose_hubs(p, clusters)
    out = [0] * n
    for group, h in zip(clusters, hubs):
        for u in group:
            out[u] = h
    return local_search(p, out)


def local_search(p: PartitionProblem, assignment: list[int], max_passes: int = 20) -> list[int]:
    """Move single boundary units between adjacent clusters while the objective falls.

    A move is kept only if both clusters still meet every bound and stay connected.
    """
    adj = p.adjacency
    a = list(assignment)
    best = plan_cost(p, a)
    for _ in range(max_passes):
        improved = False
        for u in range(p.n):
            src = a[u]
            for dst in sorted({a[v] for v in adj[u]} - {src}):
                if not _allowed_together(p, {u}, {dst}):
                    continue
                src_members = {i for i, h in enumerate(a) if h == src} - {u}
                if not src_members:
                    continue
                dst_members = {i for i, h in enumerate(a) if h == dst} | {u}
                ok = True
                for m, (lo, hi) in p.bounds.items():
                    w = p.measures[m]
                    ts, td = w[list(src_members)].sum(), w[list(dst_members)].sum()
                    if (lo is not None and ts < lo - 1e-9) or (hi is not None and td > hi + 1e-9):
                        ok = False
                if not ok or len(components(src_members, adj)) != 1:
                    continue
                trial = list(a)
                trial[u] = dst
                if u == src:  # the hub moved: pick a new hub for what is left
                    new_hub = choose_hubs(p, [src_members])[0]
                    for i in src_members:
                        trial[i] = new_hub
                # re-choose both hubs for the hess objective
                for h in {trial[i] for i in src_members} | {dst}:
                    group = {i for i, x in enumerate(trial) if x == h}
                    nh = choose_hubs(p, [group])[0]
                    for i in group:
                        trial[i] = nh
                cost = plan_cost(p, trial)
                if cost < best - 1e-9:
                    a, best, improved = trial, cost, True
                    break
        if not improved:
            break
    return a


def repair(p: PartitionProblem, assignment: list[int]) -> list[int] | None:
    """Make a plan contiguous: stray pieces join a neighbouring cluster (the cheapest that fits,
    else the cheapest they may join), then border units move until every cluster is within its
    bounds (:func:`rebalance`), then the objective is polished by single moves.

    Returns a plan meeting every bound and the count, or ``None``. Used to warm-start the next
    round of the cut loop from the last (disconnected) solution, and as the plan in hand when
    the loop stops at its limit. (Joining the pieces alone leaves the clusters they left under
    their minimum under narrow windows: North Lanarkshire school by school with 8-13 schools and
    2,500-4,500 pupils mended none of its rounds' plans that way.)
    """
    a = _join_strays(p, assignment)
    lo_k, hi_k = p.k_range()
    if a is None or not lo_k <= len(set(a)) <= hi_k:
        return None
    out = rebalance(p, a)  # (a plan within its bounds only gets its hubs)
    return None if out is None else local_search(p, out, max_passes=3)


def _join_strays(p: PartitionProblem, assignment: list[int]) -> list[int] | None:
    """Each piece of a cluster cut off from its hub joins a neighbouring cluster: the cheapest
    within the maxima, else the cheapest it may join at all. None when a piece may join none."""
    adj = p.adjacency
    a = list(assignment)
    for _ in range(p.n):
        clusters: dict[int, set[int]] = {}
        for i, j in enumerate(a):
            clusters.setdefault(j, set()).add(i)
        stray = [comp for j, members in clusters.items() for comp in components(members, adj) if j not in comp]
        if not stray:
            return a
        piece = min(stray, key=lambda c: (len(c), min(c)))
        options = sorted({a[v] for u in piece for v in adj[u]} - {a[next(iter(piece))]})
        best = None
        for h in options:
            if not _allowed_together(p, piece, {h}):
                continue
            members = clusters[h] | piece
            over = not _fits_upper(p, {m: float(p.measures[m][list(members)].sum()) for m in p.measures})
            c = sum(p.cost.get((i, h), np.inf) for i in piece) if p.cost is not None else 0.0
            if best is None or (over, c) < best[:2]:
                best = (over, c, h)
        if best is None:
            return None
        for i in piece:
            a[i] = best[2]
    return None


def _breach(p: PartitionProblem, members: set[int]) -> float:
    """How far a cluster is outside its bounds, each measure relative to its bound (0: within)."""
    out = 0.0
    for m, (lo, hi) in p.bounds.items():
        t = float(p.measures[m][list(members)].sum()) if members else 0.0
        if lo is not None and t < lo - 1e-9:
            out += (lo - t) / max(lo, 1e-9)
        if hi is not None and t > hi + 1e-9:
            out += (t - hi) / max(hi, 1e-9)
    return out


def rebalance(p: PartitionProblem, assignment: list[int]) -> list[int] | None:
    """Bring a contiguous plan within its bounds by moving single border units: each step the
    move that most reduces how far the clusters are outside their bounds (then the cheapest),
    every cluster kept connected and non-empty. Used on a plan a planner edited (one school moved
    past a bound) to give the exact solve a start. Returns the plan (hub per unit), or ``None``
    when no single move helps, or ``REBALANCE_MOVES`` moves did not do it."""
    adj = p.adjacency
    label = list(assignment)  # a cluster keeps its first label; hubs are chosen at the end
    cost = p.cost or {}
    for _ in range(REBALANCE_MOVES + 1):
        groups: dict[int, set[int]] = {}
        for i, c in enumerate(label):
            groups.setdefault(c, set()).add(i)
        breach = {c: _breach(p, g) for c, g in groups.items()}
        if not any(breach.values()):
            out = [0] * p.n
            for g, hub in zip(groups.values(), choose_hubs(p, list(groups.values()))):
                for i in g:
                    out[i] = hub
            return out
        best: tuple | None = None
        for u in range(p.n):
            src = label[u]
            for dst in sorted({label[v] for v in adj[u]} - {src}):
                if breach[src] == 0 and breach[dst] == 0:
                    continue
                rest = groups[src] - {u}
                if not rest or not _allowed_together(p, {u}, groups[dst]) or len(components(rest, adj)) != 1:
                    continue
                gain = breach[src] + breach[dst] - _breach(p, rest) - _breach(p, groups[dst] | {u})
                if gain > 1e-12:
                    key = (-gain, cost.get((u, dst), 0.0) - cost.get((u, src), 0.0), u, dst)
                    best = key if best is None or key < best else best
        if best is None:
            return None
        label[best[2]] = best[3]
    return None
