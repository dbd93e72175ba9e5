"""Tabu search on the boundary of a plan, for the cut-edges objective.

The spanning-tree search (:mod:`~clustergeo.solve.recom`) makes big moves: it redraws two
neighbouring clusters at once. Near a good plan, small moves do better: move one boundary
unit to a neighbouring cluster, or swap two units across a boundary (under a tight size
window a single move rarely fits, a swap of two similar units often does). :func:`polish`
takes the best move that keeps both clusters contiguous and inside every bound, even a
worsening one, and forbids moving the same units back for a few steps (tabu search); it
returns the best plan seen. On Iowa's counties at +-0.5% it took the spanning-tree search's
35-cut-edge plan to 33, the optimum.

Like the spanning-tree search it is bounded by work (pairs of units weighed, moves kept,
units scanned in contiguity checks), so it is reproducible, with a time cap for slow machines. It keeps
every rule: contiguity, every bound, the count and the ``within`` district rules. It leaves
plans with district penalties, and the Hess objective, alone.
"""

from __future__ import annotations

import time

import numpy as np

from .cuts import _components
from .heuristic import choose_hubs
from .problem import Problem

#: Steps a moved unit may not move again (unless that gives the best plan yet).
TENURE = 7
#: Returns to the best plan, after a step with no valid move, before the search gives up.
RESTARTS = 50
#: Work per second on the reference machine (pairs of units weighed for a swap, moves kept,
#: units scanned in contiguity checks: about 4 million a second on Iowa's counties).
WORK_PER_SECOND = 4_000_000


def applies(p: Problem) -> bool:
    """Whether :func:`polish` can improve plans of this problem (cut edges, no penalties)."""
    penalised = any(lab is not None and mode == "penalty" and pen > 0
                    for lab, mode, pen in ((p.district, p.district_mode, p.district_penalty),
                                           (p.division, p.division_mode, p.division_penalty)))
    return p.objective == "cut_edges" and not penalised


def polish(p: Problem, assignment: list[int], *, seed_value: int = 0, work: float = 1e6,
           seconds: float = 10.0) -> list[int]:
    """A plan at least as good as ``assignment`` (hub per unit), by tabu search of single-unit
    moves and swaps; the hubs of the result follow :meth:`Problem.first_hub`."""
    if not applies(p):
        return list(assignment)
    rng = np.random.default_rng(seed_value)
    n, adj = p.n, p.adjacency
    names = sorted(p.bounds)
    wu = [tuple(float(p.measures[m][i]) for m in names) for i in range(n)]
    lo = [-np.inf if p.bounds[m][0] is None else p.bounds[m][0] - 1e-9 for m in names]
    hi = [np.inf if p.bounds[m][1] is None else p.bounds[m][1] + 1e-9 for m in names]
    dims = range(len(names))
    within = [lab for lab, mode in ((p.district, p.district_mode), (p.division, p.division_mode))
              if lab is not None and mode == "within"]
    edge_w: dict[tuple[int, int], float] = {}
    for (a, b), v in p.edge_weights.items():
        key = (min(a, b), max(a, b))
        edge_w[key] = edge_w.get(key, 0.0) + v
    for e in p.edges():
        edge_w[e] = edge_w.get(e, 0.0) + 1.0
    wt = [{v: edge_w[(min(u, v), max(u, v))] for v in adj[u]} for u in range(n)]

    hubs = sorted(set(assignment))
    index = {h: c for c, h in enumerate(hubs)}
    k = len(hubs)

    def totals(lab: list[int]) -> list[list[float]]:
        tot = [[0.0] * len(names) for _ in range(k)]
        for i in range(n):
            for m in dims:
                tot[lab[i]][m] += wu[i][m]
        return tot

    def fits(t: list[float], sign: float, x: tuple, y: tuple | None) -> bool:
        """Whether t + sign * (x - y) is inside every bound."""
        for m in dims:
            v = t[m] + sign * (x[m] - (y[m] if y is not None else 0.0))
            if v < lo[m] or v > hi[m]:
                return False
        return True

    lab = [index[h] for h in assignment]
    tot = totals(lab)
    district_of = [tuple(lb[i] for lb in within) for i in range(n)]
    spent = 0

    def connected_after(c: int, out: int, into: int) -> bool:
        """Whether cluster c stays connected once ``out`` leaves it and ``into`` joins it
        (-1 for neither)."""
        nonlocal spent
        members = {i for i in range(n) if lab[i] == c}
        members.discard(out)
        if into >= 0:
            members.add(into)
        spent += n
        return bool(members) and len(_components(members, adj)) == 1

    def pull(u: int, c: int) -> float:
        """Edge weight from unit u to cluster c."""
        return sum(x for v, x in wt[u].items() if lab[v] == c)

    cur = sum(v for (a, b), v in edge_w.items() if lab[a] != lab[b])
    best, best_lab = cur, list(lab)
    tabu: dict[int, int] = {}
    step = restarts = 0
    t_end = time.perf_counter() + seconds
    while spent < work and time.perf_counter() < t_end:
        step += 1
        touches = [{lab[v] for v in adj[u]} - {lab[u]} for u in range(n)]
        cdistrict = {}
        for i in range(n):
            cdistrict.setdefault(lab[i], district_of[i])
        boundary = [u for u in range(n) if touches[u]]
        moves = []
        for u in boundary:
            a = lab[u]
            for b in sorted(touches[u]):
                if within and district_of[u] != cdistrict[b]:
                    continue
                gain_u = pull(u, a) - pull(u, b)  # cut weight added by moving u from a to b
                if fits(tot[a], -1.0, wu[u], None) and fits(tot[b], 1.0, wu[u], None):
                    moves.append((gain_u, u, -1, a, b))
                for v in boundary:
                    # v goes the other way: it must stay next to a without u
                    if lab[v] != b or not any(lab[x] == a and x != u for x in adj[v]):
                        continue
                    if within and district_of[v] != cdistrict[a]:
                        continue
                    if not (fits(tot[a], -1.0, wu[u], wu[v]) and fits(tot[b], 1.0, wu[u], wu[v])):
                        continue
                    e = wt[u].get(v, 0.0)
                    moves.append((gain_u + pull(v, b) - pull(v, a) + 2 * e, u, v, a, b))
        spent += len(moves) + len(boundary) * (1 + sum(len(touches[u]) for u in boundary))  # pairs weighed
        shuffled = [moves[i] for i in rng.permutation(len(moves))]
        shuffled.sort(key=lambda mv: mv[0])
        moved = False
        for delta, u, v, a, b in shuffled:
            banned = tabu.get(u, 0) > step or (v >= 0 and tabu.get(v, 0) > step)
            if banned and cur + delta >= best - 1e-9:
                continue
            if not (connected_after(a, u, v) and connected_after(b, v, u)):
                continue
            lab[u] = b
            tabu[u] = step + TENURE
            for m in dims:
                tot[a][m] -= wu[u][m]
                tot[b][m] += wu[u][m]
            if v >= 0:
                lab[v] = a
                tabu[v] = step + TENURE
                for m in dims:
                    tot[b][m] -= wu[v][m]
                    tot[a][m] += wu[v][m]
            cur += delta
            moved = True
            break
        if cur < best - 1e-9:
            best, best_lab = cur, list(lab)
        if not moved:
            restarts += 1
            if restarts > RESTARTS:
                break
            lab, cur, tabu = list(best_lab), best, {}
            tot = totals(lab)
    clusters = [{i for i in range(n) if best_lab[i] == c} for c in range(k)]
    out = [0] * n
    for members, h in zip(clusters, choose_hubs(p, clusters)):
        for i in members:
            out[i] = h
    return out


__all__ = ["applies", "polish"]
