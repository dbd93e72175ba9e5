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
    p: PartitionProblem,
    allowed: list[list[int]],
    start: list[int],
    opts: dict,
    *,
    seconds: float,
    hubs: list[int] | None = None,
    contiguous: bool = True,
) -> list[int] | None:
    """A plan better than ``start`` by location-allocation (see the module notes).

    Parameters
    ----------
    p : PartitionProblem
        With ``objective == "hess"``.
    allowed : list of list of int
        ``allowed[i]``: the hubs unit ``i`` may join.
    start : list of int
        A contiguous plan (hub per unit): the plan to beat, and unless ``hubs`` is given, its
        hubs begin the alternation.
    opts : dict
        Solver options as the exact models take them (``solver``, ``threads``, ``seed``...).
    seconds : float
        Wall-time budget over every allocation solve.
    hubs : list of int, optional
        Other hubs to begin with (unit indices, as many as the start's clusters), such as
        those the Lagrangian relaxation opens.
    contiguous : bool
        Whether the plans must be contiguous (False for ``contiguity="none"``: each
        allocation is then one solve, with no cut loop).

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
    >>> alternate(p, [list(range(6))] * 6, [0, 0, 0, 3, 3, 3], opts, seconds=10, hubs=[2, 5])
    [1, 1, 1, 4, 4, 4]
    """
    if p.objective != "hess" or p.cost is None or (hubs is not None and len(set(hubs)) != len(set(start))):
        return None
    t0 = time.perf_counter()
    ok = [set(a) for a in allowed]
    start_cost = greedy.plan_cost(p, start)
    # the chain of allocations: each no dearer than the one before (from other hubs, the first
    # may cost more than the start)
    plan: list[int] | None = start if hubs is None else None
    cost = start_cost if hubs is None else float("inf")
    following = frozenset(start if hubs is None else hubs)
    tried: set[frozenset[int]] = set()
    for _ in range(MAX_ROUNDS):
        left = seconds - (time.perf_counter() - t0)
        if following in tried or left <= 0:
            break
        tried.add(following)
        fixed = [sorted(j for j in following if j in ok[i]) for i in range(p.n)]
        model = HessModel(
            p, fixed, stage="objective", k_fixed=len(following), contiguity="cuts" if contiguous else "none"
        )
        run = model.solve(start=plan, **{**opts, "time_limit": left, "progress": None}, reduced_cost_fixing=False)
        # the allocation, and the plan the cut loop mended from a round's plan in pieces (its
        # hubs are its own, so it may beat every allocation to these hubs)
        found = [
            m
            for c in (run.assignment, run.incumbent)
            if c is not None and -1 not in c and (m := least_cost_hubs(p, ok, c)) is not None
        ]
        if not found:
            break
        moved_cost, moved = min((greedy.plan_cost(p, c), c) for c in found)
        if moved_cost >= cost - 1e-9 * max(1.0, abs(cost)):
            break
        plan, cost, following = moved, moved_cost, frozenset(moved)
    if plan is None or plan is start or cost >= start_cost - 1e-9 * max(1.0, abs(start_cost)):
        return None
    log.info("location-allocation plan: %s (%.1f s)", f"{cost:,.1f}", time.perf_counter() - t0)
    return plan


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
