"""Location-allocation for the Hess objective: the best contiguous plan for fixed hubs, then
each cluster's best hub, until the hubs stay put.

With the hubs fixed, the Hess model has one variable per unit and hub (``n * k`` instead of
``n * n``), so its cut loop proves the best contiguous allocation in seconds; moving each hub to
the member its cluster costs least then can only lower the cost, and the next allocation
starts from that plan. This is Hess et al.'s (1965) alternation with an exact, contiguous
allocation step. It improves a start found by the spanning-tree search, which looks for
balanced contiguous plans and knows compactness only through its local moves (West
Virginia's tracts, 3 clusters: a start 13% above the Lagrangian bound).
"""

from __future__ import annotations

import logging
import time

from .heuristics import greedy
from .models.hess import HessModel
from .problem import PartitionProblem

log = logging.getLogger("clustergeo.solve")

#: alternations at most (each an allocation solve; on the tracts the hubs settled in one to three)
MAX_ROUNDS = 8


def alternate(
    p: PartitionProblem, allowed: list[list[int]], start: list[int], opts: dict, *, seconds: float
) -> list[int] | None:
    """A plan better than ``start`` by location-allocation (see the module notes).

    Parameters
    ----------
    p : PartitionProblem
        With ``objective == "hess"``.
    allowed : list of list of int
        ``allowed[i]``: the hubs unit ``i`` may join.
    start : list of int
        A contiguous plan (hub per unit) whose hubs begin the alternation.
    opts : dict
        Solver options as the exact models take them (``solver``, ``threads``, ``seed``...).
    seconds : float
        Wall-time budget over every allocation solve.

    Returns
    -------
    list of int or None
        The best contiguous plan found (hub per unit), or None when none beats ``start``.

    Examples
    --------
    >>> import networkx as nx
    >>> from clustergeo.solve.problem import build_problem
    >>> g = nx.path_graph(6)
    >>> for v in g:
    ...     g.nodes[v].update(pupils=1, x=float(v), y=0.0)
    >>> p = build_problem(g, k=2, weight="pupils", min_weight=3, max_weight=3)
    >>> opts = dict(solver="highs", gap=None, threads=1, seed=0)
    >>> alternate(p, [list(range(6))] * 6, [0, 0, 0, 3, 3, 3], opts, seconds=10)
    [1, 1, 1, 4, 4, 4]
    """
    if p.objective != "hess" or p.cost is None:
        return None
    t0 = time.perf_counter()
    ok = [set(a) for a in allowed]
    best, best_cost = start, greedy.plan_cost(p, start)
    tried: set[frozenset[int]] = set()
    for _ in range(MAX_ROUNDS):
        hubs = frozenset(best)
        left = seconds - (time.perf_counter() - t0)
        if hubs in tried or left <= 0:
            break
        tried.add(hubs)
        fixed = [sorted(j for j in hubs if j in ok[i]) for i in range(p.n)]
        model = HessModel(p, fixed, stage="objective", k_fixed=len(hubs), contiguity="cuts")
        run = model.solve(start=best, **{**opts, "time_limit": left, "progress": None}, reduced_cost_fixing=False)
        plan = run.assignment
        if plan is None or -1 in plan:
            break
        plan = least_cost_hubs(p, ok, plan)
        if plan is None:
            break
        cost = greedy.plan_cost(p, plan)
        if cost >= best_cost - 1e-9 * max(1.0, abs(best_cost)):
            break
        best, best_cost = plan, cost
    if best is start:
        return None
    log.info("location-allocation plan: %s (%.1f s)", f"{best_cost:,.1f}", time.perf_counter() - t0)
    return best


def least_cost_hubs(p: PartitionProblem, ok: list[set[int]], labels: list) -> list[int] | None:
    """A plan (a cluster label per unit, in index order) as hub per unit, each cluster hubbed at
    the member, allowed (``ok[i]``) to every other member, that costs it least; None when a
    cluster has no such member."""
    cost = p.cost or {}
    groups: dict = {}
    for i, c in enumerate(labels):
        groups.setdefault(c, []).append(i)
    out = [0] * p.n
    for members in groups.values():
        hubs = [h for h in members if all(h in ok[i] for i in members)]
        if not hubs:
            return None
        h = min(hubs, key=lambda c: (sum(cost.get((i, c), 0.0) for i in members), c))
        for i in members:
            out[i] = h
    return out
