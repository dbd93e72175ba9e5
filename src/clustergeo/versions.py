"""Versions of a proposal side by side, and how far apart two versions are.

:func:`difference` is the share of schools in a different cluster: the clusters of the two
plans are matched one to one so that as many schools as possible keep their cluster, and
every school outside the matched pairs counts as moved. :func:`versions_table` puts named
versions in one table (count, sizes, crossings, travel, schools moved).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from .solve import partition
from .solve.problem import PAIR_ROWS_KEY

if TYPE_CHECKING:
    from .plan import Plan

MAX_DIFFERENCE_ROUNDS = 50  # matching cuts added before giving up (each one is a re-solve)


def difference(a: Mapping[Hashable, Hashable], b: Mapping[Hashable, Hashable]) -> float:
    """Share (0 to 1) of the items of ``a`` that sit in a different cluster in ``b``.

    ``a`` and ``b`` map item -> cluster (schools or units); the labels need not agree: the
    clusters are matched one to one to keep as many items together as possible.

    Examples
    --------
    >>> difference({1: "x", 2: "x", 3: "y", 4: "y"}, {1: "p", 2: "p", 3: "q", 4: "p"})
    0.25
    """
    items = sorted(set(a) & set(b), key=str)
    if not items:
        return 0.0
    la = sorted({a[i] for i in items}, key=str)
    lb = sorted({b[i] for i in items}, key=str)
    ia, ib = {c: n for n, c in enumerate(la)}, {c: n for n, c in enumerate(lb)}
    shared = np.zeros((len(la), len(lb)))
    for i in items:
        shared[ia[a[i]], ib[b[i]]] += 1
    rows, cols = linear_sum_assignment(-shared)
    return float(1 - shared[rows, cols].sum() / len(items))


def _matching(old: Mapping, new: Mapping, size: Mapping) -> tuple[float, list[tuple[Any, Any]]]:
    """The schools kept together by the best one-to-one matching of old to new clusters, and it."""
    lo = sorted(set(old.values()), key=str)
    ln = sorted(set(new.values()), key=str)
    io, inew = {c: n for n, c in enumerate(lo)}, {c: n for n, c in enumerate(ln)}
    shared = np.zeros((len(lo), len(ln)))
    for v, c in new.items():
        if v in old:
            shared[io[old[v]], inew[c]] += size[v]
    rows, cols = linear_sum_assignment(-shared)
    return float(shared[rows, cols].sum()), [(lo[r], ln[c]) for r, c in zip(rows, cols) if shared[r, c] > 0]


def differing_partition(
    graph: nx.Graph, earlier: list[Mapping], *, min_difference: float, size: str = "schools", **kwargs: Any
):
    """The best partition whose difference from each earlier one is at least ``min_difference``.

    The difference (:func:`difference`, weighted by ``size`` per node: schools per unit) is a
    maximum over matchings, so it is enforced lazily and exactly: solve, find the earlier plan
    and the matching of its clusters to the new hubs that keep too many schools together, add
    ``sum over matched (old cluster g, hub h) of size_i x[i, h] for i in g <= (1 - d) * total``
    (true of every plan that differs enough), and re-solve until none keeps too many.

    Parameters
    ----------
    graph : networkx.Graph
    earlier : list of dict
        Earlier plans, node -> cluster (any labels).
    min_difference : float
        0 to 1: the least share of ``size`` in a different cluster.
    **kwargs
        Passed to :func:`clustergeo.partition` (which then neither decomposes nor explains).

    Returns
    -------
    PartitionResult

    Examples
    --------
    >>> g = nx.path_graph(6)
    >>> nx.set_node_attributes(g, 1, "pupils")
    >>> nx.set_node_attributes(g, {v: 1000.0 * v for v in g}, "x")
    >>> nx.set_node_attributes(g, 0.0, "y")
    >>> first = partition(g, min_weight=3, max_weight=3, k=2, progress=False).assignment
    >>> r = differing_partition(g, [first], min_difference=0.15, min_weight=2, max_weight=4, k=2, progress=False)
    >>> round(difference(first, r.assignment), 3)
    0.167
    """
    if not 0 <= min_difference <= 1:
        from .errors import RulesError

        raise RulesError(f"min_difference is a share of schools from 0 to 1, not {min_difference!r}")
    sizes = {v: float(graph.nodes[v].get(size, 1)) for v in graph.nodes}
    keep = (1 - min_difference) * sum(sizes.values()) + 1e-9
    olds = [{str(k): v for k, v in old.items()} for old in earlier]
    by_name = {str(v): v for v in graph.nodes}
    rows: list = []
    g = graph.copy()
    separators: list = []  # each round solves the same graph: its contiguity cuts carry over
    for _ in range(MAX_DIFFERENCE_ROUNDS):
        g.graph[PAIR_ROWS_KEY] = list(rows)
        result = partition(
            g,
            **{**kwargs, "decompose": False, "explain": False, "contiguity": kwargs.get("contiguity", "cuts")},
            separators=separators,
        )
        separators = result.separators
        new = {str(v): c for v, c in result.assignment.items()}
        added = 0
        for old in olds:
            kept, matched = _matching(old, new, {str(v): w for v, w in sizes.items()})
            if kept > keep:
                members: dict = {}
                for v, c in old.items():
                    members.setdefault(c, []).append(v)
                # new clusters are labelled by their hub node
                terms = [(by_name[v], h, sizes[by_name[v]]) for c, h in matched for v in members[c] if v in by_name]
                rows.append((terms, keep))
                added += 1
        if not added:
            return result
    from .errors import SolverError

    raise SolverError(
        f"no plan differing by {min_difference:.0%} was settled within {MAX_DIFFERENCE_ROUNDS} "
        "rounds of matching cuts; lower min_difference"
    )


def versions_table(
    plans: Mapping[str, Plan], *, reference: str | None = None, failed: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """One row per named version: count, sizes, crossings, travel, schools moved.

    ``schools_moved`` counts schools away from their current cluster's main new cluster;
    ``differs_from_first`` is :func:`difference` against the first version (or ``reference``):
    the share of schools in a different cluster (0.05: one school in twenty). ``failed`` names
    the versions that have no plan, with the reason (``status``), so every version has a row.

    Examples
    --------
    >>> versions_table({})
    Empty DataFrame
    Columns: []
    Index: []
    """
    if not plans:
        return pd.DataFrame(index=list(failed or ()), data={"status": list((failed or {}).values())})
    ref = plans[reference or next(iter(plans))]

    def placed(plan: Plan) -> dict:
        s = plan.schools[plan.schools["status"] != "excluded"]
        return dict(zip(s["school_id"], s["cluster"]))

    rows = {}
    for name, plan in plans.items():
        m = plan.metrics
        rows[name] = {
            "clusters": m["clusters"],
            "clusters_total": m["clusters_total"],
            "pupils_min": m["pupils_min"],
            "pupils_max": m["pupils_max"],
            "crossing_districts": m.get("clusters_crossing_districts", m.get("district_splits")),
            "schools_outside_district": m.get("schools_outside_district"),
            "mean_minutes_to_hub": round(m["mean_minutes_to_hub"], 1),
            "max_minutes_to_hub": round(m["max_minutes_to_hub"], 1),
            "schools_moved": m["schools_moved"],
            "differs_from_first": round(difference(placed(ref), placed(plan)), 3),
            "fewest_proved": _proved_count(plan.run.get("fewest_proof")),
            "status": plan.run["status"],
        }
    for name, why in (failed or {}).items():
        rows[name] = {"status": why}
    return pd.DataFrame.from_dict(rows, orient="index")


def _proved_count(proof: dict | None) -> int | None:
    """The fewest count when it was proved (None when not asked for or not proved)."""
    if not proof or not proof.get("proved", True):
        return None
    return proof.get("fewest")
