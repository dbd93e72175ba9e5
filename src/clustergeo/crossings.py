"""Clusters that cross district (or locality) lines: the cap, the proven fewest, and why.

A cluster *crosses* when its schools lie in more than one district, counted school by school.
:func:`fewest_crossings` finds the plan with the fewest crossing clusters and, among those, the
most compact one (lexicographic), and proves the minimum: every smaller cap is solved and
shown to have no plan. :func:`district_report` names, per cluster, the schools outside its
main district and why (their current cluster, kept whole, straddles the line).
:func:`count_proof` says how the fewest number of clusters was proved.
"""

from __future__ import annotations

import math
import time
from collections.abc import Hashable, Mapping
from typing import Any

import networkx as nx
import pandas as pd

from .errors import InfeasibleError, NoPlanInTimeError
from .solve import partition
from .solve.problem import CROSSING_CAP_KEY

#: the share of the time limit the free (uncapped) solve may take: the caps need the rest
FREE_SOLVE_SHARE = 0.5
MIN_CAP_SECONDS = 1.0  # a solve is never handed less than this, even past the limit


def touches(graph: nx.Graph, v: Hashable, attr: str = "district") -> frozenset:
    """The district labels unit ``v``'s schools lie in (its ``districts`` list, else ``attr``)."""
    d = graph.nodes[v]
    labels = d.get(f"{attr}s") or ([d[attr]] if d.get(attr) is not None else [])
    return frozenset(str(x) for x in labels)


def count_crossings(graph: nx.Graph, assignment: Mapping[Hashable, Hashable], attr: str = "district") -> int:
    """How many clusters of ``assignment`` (unit -> cluster) touch more than one district.

    Examples
    --------
    >>> g = nx.path_graph(3)
    >>> nx.set_node_attributes(g, {0: "A", 1: "A", 2: "B"}, "district")
    >>> count_crossings(g, {0: 0, 1: 0, 2: 0})
    1
    """
    seen: dict[Hashable, set] = {}
    for v, c in assignment.items():
        seen.setdefault(c, set()).update(touches(graph, v, attr))
    return sum(len(s) > 1 for s in seen.values())


def fewest_crossings(
    graph: nx.Graph, *, max_crossings: int | None = None, fixed_crossings: int = 0, **kwargs: Any
) -> tuple[Any, dict[str, Any]]:
    """The most compact plan among those with the fewest clusters crossing district lines.

    Lexicographic: first the fewest crossing clusters (proved: each smaller number is solved
    and has no plan), then the objective of :func:`clustergeo.partition` with that number.

    Parameters
    ----------
    graph : networkx.Graph
        Units with a ``district`` label and, for units whose schools lie in several districts,
        a ``districts`` list (as :func:`clustergeo.units.contract` gives).
    max_crossings : int, optional
        Stop at this number: no plan with at most this many crossing clusters raises
        :class:`~clustergeo.errors.InfeasibleError`.
    fixed_crossings : int
        Crossing clusters outside the graph (pinned clusters), added to every count reported.
    **kwargs
        Passed to :func:`clustergeo.partition` (bounds, ``k``, cost, solver, ...). The
        district rule is the cap here, so leave ``district_mode`` off. ``time_limit`` covers
        the whole search: the free solve takes up to ``FREE_SOLVE_SHARE`` of it, the caps the
        rest (a cap with no plan in time leaves the count unproved).

    Returns
    -------
    (PartitionResult, dict)
        The plan, and the proof: ``fewest`` (including ``fixed_crossings``), ``proof`` in
        words, ``infeasible_caps`` tried and ``seconds``.

    Examples
    --------
    >>> g = nx.path_graph(4)
    >>> nx.set_node_attributes(g, {0: "A", 1: "A", 2: "B", 3: "B"}, "district")
    >>> nx.set_node_attributes(g, 1, "pupils")
    >>> nx.set_node_attributes(g, {v: 1000.0 * v for v in g}, "x")
    >>> nx.set_node_attributes(g, 0.0, "y")
    >>> result, proof = fewest_crossings(g, min_weight=2, max_weight=2, k=2, progress=False)
    >>> proof["fewest"]
    0
    """
    t0 = time.perf_counter()
    base = dict(kwargs)
    base.setdefault("contiguity", "cuts")  # the cap lives in the Hess model, not in listed clusters
    base.update(decompose=False, explain=False)
    limit = base.get("time_limit")

    def left(share: float = 1.0) -> float | None:  # the time limit covers the whole search
        return None if limit is None else max(share * limit - (time.perf_counter() - t0), MIN_CAP_SECONDS)

    # the most compact plan: its crossings bound the minimum (and when none exists, say which rule to relax)
    free = partition(graph, **{**base, "time_limit": left(FREE_SOLVE_SHARE), "explain": kwargs.get("explain", True)})
    upper = count_crossings(graph, free.assignment)
    top = upper - 1 if max_crossings is None else min(upper - 1, max_crossings - fixed_crossings)
    tried, best, timed_out = [], free, False
    for cap in range(top + 1):
        g = graph.copy()
        g.graph[CROSSING_CAP_KEY] = cap
        try:  # the separator cuts of the free solve hold under any cap: the capped solve starts with them
            best = partition(g, **{**base, "time_limit": left()}, separators=free.separators)
        except InfeasibleError:
            tried.append(cap)
            continue
        except NoPlanInTimeError:  # no plan under this cap in the time left: the free plan stands, unproved
            best, timed_out = free, True
        break
    fewest = count_crossings(graph, best.assignment)
    if max_crossings is not None and fewest + fixed_crossings > max_crossings and timed_out:
        raise NoPlanInTimeError(
            f"no plan with at most {max_crossings} clusters crossing district lines was found in the time "
            f"limit, and none was proved impossible; raise time_limit"
        )
    if max_crossings is not None and fewest + fixed_crossings > max_crossings:
        raise InfeasibleError(
            [
                (
                    f"no plan has at most {max_crossings} clusters crossing district lines: the fewest "
                    f"possible is {fewest + fixed_crossings}"
                )
            ],
            relaxations=[f"allow {fewest + fixed_crossings} crossing clusters"],
        )
    seconds = time.perf_counter() - t0
    proven = max(tried) + 1 if tried else 0  # every cap below this was proved to have no plan
    kept = f" (with {fixed_crossings} kept clusters that cross)" if fixed_crossings else ""
    if fewest == 0:
        words = "no cluster needs to cross a district line"
    elif fewest == proven:
        caps = (
            f"a cap of {fixed_crossings}"
            if fewest == 1
            else f"each cap from {fixed_crossings} to {fewest - 1 + fixed_crossings}"
        )
        words = (
            f"no plan with {fewest - 1 + fixed_crossings} crossing clusters exists{kept}: the solver proved "
            f"{caps} infeasible ({seconds:.1f} s in all)"
        )
    elif not tried:
        words = (
            f"NOT PROVED: no smaller number of crossing clusters was settled in the time limit{kept}; "
            f"the best plan found has {fewest + fixed_crossings}"
        )
    else:  # the solve under the next cap stopped at its time limit with a plan above the cap
        words = (
            f"NOT PROVED: at least {proven + fixed_crossings} clusters must cross{kept} (the solver proved the "
            f"caps below infeasible), and the best plan found in time has {fewest + fixed_crossings}"
        )
    return best, {
        "fewest": fewest + fixed_crossings,
        "proved": fewest == proven,
        "geographic": fewest,
        "fixed": fixed_crossings,
        "proof": words,
        "infeasible_caps": [c + fixed_crossings for c in tried],
        "most_compact_plan_crossings": upper + fixed_crossings,
        "seconds": round(seconds, 3),
    }


def count_proof(
    unit_graph: nx.Graph, result: Any, *, bounds: Mapping[str, tuple], k: Any, district: str | None = None
) -> dict[str, Any] | None:
    """How the fewest number of clusters was proved, in words (None when not asked for).

    With clusters inside districts the count is the sum over the parts (each district's
    connected pieces); each part needs at least its total over the maximum size. Where a part
    got more than that bound, the solver tried the smaller counts and proved them infeasible.

    Examples
    --------
    >>> g = nx.path_graph(3)
    >>> nx.set_node_attributes(g, 2, "pupils")
    >>> class R: assignment, seconds = {0: 0, 1: 0, 2: 2}, 0.1
    >>> count_proof(g, R(), bounds={"pupils": (None, 4)}, k=None)["fewest"]
    2
    """
    parts = _parts(unit_graph, district)
    rows: list[dict[str, Any]] = []  # part name, units, lower bound and clusters found
    k_found = len(set(result.assignment.values()))
    for where, comp in parts:
        lower = 1
        for m, (_lo, hi) in bounds.items():
            if hi:
                total = sum(float(unit_graph.nodes[v].get(m, 1 if m == "schools" else 0)) for v in comp)
                lower = max(lower, math.ceil(total / hi - 1e-9))
        got = len({result.assignment[v] for v in comp})
        rows.append({"part": where, "units": len(comp), "lower_bound": lower, "clusters": got})
    lo_k = k[0] if isinstance(k, (tuple, list)) else None
    lower = sum(r["lower_bound"] for r in rows)
    if lo_k is not None and k_found == lo_k and lower < lo_k:
        how = f"{k_found} is the smallest number the rules allow"
    else:
        sizes = "; ".join(f"at most {hi:,.0f} {m}" for m, (_lo, hi) in bounds.items() if hi)
        how = f"the totals need at least {lower} clusters of {sizes or 'any size'}" + (
            f", adding up the {len(rows)} parts (clusters stay inside districts)" if district and len(rows) > 1 else ""
        )
        solved = [r for r in rows if r["clusters"] > r["lower_bound"]]
        if solved:
            how += "; the solver proved " + ", ".join(
                f"{r['part']} impossible with "
                + (
                    f"{r['lower_bound']}"
                    if r["clusters"] - 1 == r["lower_bound"]
                    else f"{r['lower_bound']} to {r['clusters'] - 1}"
                )
                + f" clusters (it needs {r['clusters']})"
                for r in solved
            )
        if lower + sum(r["clusters"] - r["lower_bound"] for r in solved) == k_found:
            how += f": {k_found} in all"
    return {
        "fewest": k_found,
        "proof": f"no plan with {k_found - 1} clusters exists: {how} (proved in {float(result.seconds):.1f} s)",
        "parts": rows,
        "seconds": round(float(result.seconds), 3),
    }


def _parts(g: nx.Graph, attr: str | None) -> list[tuple[str, list]]:
    if attr is None:
        return [("the area", sorted(c, key=str)) for c in nx.connected_components(g)]
    out = []
    for label in sorted({str(g.nodes[v].get(attr)) for v in g.nodes}):
        sub = g.subgraph([v for v in g.nodes if str(g.nodes[v].get(attr)) == label])
        pieces = sorted((sorted(c, key=str) for c in nx.connected_components(sub)), key=lambda c: str(c[0]))
        for n, comp in enumerate(pieces, start=1):
            out.append((label if len(pieces) == 1 else f"{label} (part {n})", comp))
    return out


def district_report(schools: pd.DataFrame, *, attr: str = "district") -> pd.DataFrame:
    """Per cluster that crosses district lines: its main district, the schools outside it, why.

    ``schools`` is a plan's school table (``cluster``, ``status``, ``pupils``, ``unit``,
    ``current_cluster``, ``attr``). The main district holds most of the cluster's pupils.

    Examples
    --------
    >>> s = pd.DataFrame({"school_id": ["a", "b"], "name": ["A", "B"], "cluster": ["X", "X"],
    ...                   "status": "placed", "pupils": [300, 100], "district": ["D1", "D2"],
    ...                   "unit": ["C", "C"], "current_cluster": ["C", "C"]})
    >>> int(district_report(s)["outside"].iloc[0])
    1
    """
    rows = []
    active = schools[schools["status"].isin(["placed", "pinned"]) & schools[attr].notna()]
    unit_size = active.groupby("unit")["school_id"].size() if "unit" in active else pd.Series(dtype=int)
    for lab, grp in active.groupby("cluster", sort=True):
        by = grp.groupby(attr)["pupils"].sum().sort_index()
        if len(by) < 2:
            continue
        main = by.idxmax()
        out = grp[grp[attr] != main]
        why = []
        for _, s in out.iterrows():
            cur = s.get("current_cluster")
            if s["status"] == "pinned":
                why.append(f"{s['name']} ({s[attr]}): the cluster is kept as it is")
            elif unit_size.get(s.get("unit"), 1) > 1:
                why.append(f"{s['name']} ({s[attr]}): its current cluster {cur} is kept whole and straddles the line")
            else:
                why.append(f"{s['name']} ({s[attr]}): redrawn school by school and placed across the line")
        rows.append(
            {
                "cluster": lab,
                "kind": "pinned" if (grp["status"] == "pinned").all() else "geographic",
                "main_district": main,
                "districts": "; ".join(map(str, by.index)),
                "other_districts": "; ".join(str(d) for d in by.index if d != main),
                "outside": len(out),
                "pupils_outside": int(out["pupils"].sum()),
                "schools_outside": "; ".join(why),
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "cluster",
            "kind",
            "main_district",
            "districts",
            "other_districts",
            "outside",
            "pupils_outside",
            "schools_outside",
        ],
    )


def gave_way(
    report: pd.DataFrame, *, clusters: int, word: str = "district", principle: str = "whole current clusters"
) -> str:
    """One paragraph: which principle gave way, where and why ("" when none did).

    Examples
    --------
    >>> gave_way(district_report(pd.DataFrame(columns=["school_id", "name", "cluster", "status", "pupils",
    ...                                                "district", "unit", "current_cluster"])), clusters=3)
    ''
    """
    if report.empty:
        return ""
    whole = report["schools_outside"].str.contains("kept whole|kept as it is").sum()
    where = "; ".join(f"{r.cluster} ({r.outside} of its schools in {r.other_districts})" for r in report.itertuples())
    return (
        f"The {word} lines gave way in {len(report)} of {clusters} clusters, which hold "
        f"{int(report['outside'].sum())} schools outside their main {word}: {where}. "
        f"In {whole} of them the reason is {principle}, which come first: a current cluster "
        f"that straddles a {word} line is kept whole and counted in the {word} holding most "
        f"of its pupils. Schools redrawn one by one are each inside their cluster's {word}"
        + (" except where named above." if whole < len(report) else ".")
    )
