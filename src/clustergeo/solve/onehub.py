"""One cluster per part: the optimum is a choice of hub, found by enumeration.

When the count leaves room for only one cluster in each independent part (``k = 1``, a district
under ``"within"`` whose total fits one cluster only, or the fewest count when every part fits
one cluster), the plan is fixed up to the hubs: each part is one cluster, contiguous when the
part is connected, with no cut edges inside it. For the Hess objective the best hub of a part is
the unit ``j`` minimising ``sum_i cost[i, j]`` over the part, an ``O(n^2)`` column sum; for cut
edges the hub is only a representative. No solver is needed, and the answer is proved optimal.
"""

from __future__ import annotations

import numpy as np

from .explain import count_range, independent_parts
from .problem import PartitionProblem, cost_matrix

#: what the result records as its solver: no MIP solver runs
SOLVER_NAME = "hub enumeration (no solver needed)"


def forced_parts(p: PartitionProblem, *, contiguous: bool, fewest: bool) -> list[list[int]] | None:
    """The parts that must each be one whole cluster, or None when the count allows more
    clusters somewhere (or the rules are beyond this shortcut)."""
    if p.crossing_cap is not None or p.pair_rows:
        return None
    lo_k, hi_k = p.k_range()
    if not contiguous:  # clusters may span the graph's pieces: only k = 1 is forced
        whole = list(range(p.n))
        return [whole] if hi_k == 1 or count_range(p, whole)[1] == 1 or (fewest and lo_k == 1) else None
    parts = [comp for _where, comp in independent_parts(p)]
    if not lo_k <= len(parts) <= hi_k:
        return None
    ranges = [count_range(p, comp) for comp in parts]
    if len(parts) == hi_k or all(hi == 1 for _lo, hi in ranges):
        return parts
    if fewest and all(lo == 1 for lo, _hi in ranges):  # each part fits one cluster: the fewest count
        return parts
    return None


def _fits(p: PartitionProblem, comp: list[int]) -> bool:
    """Whether a part's totals lie within every bound."""
    for m, (lo, hi) in p.bounds.items():
        total = float(p.measures[m][comp].sum())
        if (lo is not None and total < lo - 1e-9) or (hi is not None and total > hi + 1e-9):
            return False
    return True


def best_hubs(p: PartitionProblem, allowed: list[list[int]], parts: list[list[int]]) -> list[int] | None:
    """The plan (hub per unit) with each part one cluster under its best hub; None when a part's
    totals miss a bound or no unit may head all of it (the general solve then explains why)."""
    ok = np.zeros((p.n, p.n), dtype=bool)
    for i, hubs in enumerate(allowed):
        ok[i, hubs] = True
    cost = cost_matrix(p) if p.objective == "hess" and p.cost is not None else None
    plan = [-1] * p.n
    for comp in parts:
        if not _fits(p, comp):
            return None
        heads = np.flatnonzero(ok[np.ix_(comp, comp)].all(axis=0))
        if heads.size == 0:
            return None
        if cost is None:  # cut edges: the hub is a representative, the lowest unit
            hub = comp[int(heads[0])]
        else:
            totals = cost[np.ix_(comp, comp)].sum(axis=0)[heads]
            hub = comp[int(heads[int(np.argmin(totals))])]
        for i in comp:
            plan[i] = hub
    return plan
