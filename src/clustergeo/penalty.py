"""Districts as a penalty, solved from the plan that keeps clusters inside districts.

With ``districts = "penalty"`` the whole area is one model (nothing decomposes), and on a county
of a couple of hundred units the fewest-count search can spend its whole limit without a plan.
Every plan inside districts is a plan here too (with no penalty), and that plan decomposes by
district and is proved quickly. So :func:`penalty_plan` solves the rules with districts
``"within"`` first (where a district has no plan on its own, it is taken together with its
neighbour: :func:`merged_districts_plan`); tries each smaller count in a short share of the
limit (the heuristics and the exact model, from the count in hand downwards: the fewest count
with a plan wins, a count proved impossible is recorded, the rest are reported as not settled);
and then solves the penalty model at the count found, warm-started from the best plan in hand,
so the answer is never worse than the plan inside districts.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping
from typing import Any

import networkx as nx

from .errors import InfeasibleError, NoPlanInTimeError
from .solve import partition

#: the share of the time limit spent on counts below the plan inside districts
LOWER_COUNTS_SHARE = 0.2
#: the least each smaller count is given (seconds): enough for the heuristics to try
LOWER_COUNT_MIN_SECONDS = 4.0
#: the penalty model is solved from the plan in hand only with at least this many seconds left
FINAL_MIN_SECONDS = 10.0


def lower_bound(graph: nx.Graph, bounds: Mapping[str, tuple], k: Any) -> int:
    """The fewest clusters the totals allow: each measure's total over its maximum, and the
    smallest count the rules allow."""
    lower = 1
    for m, (_lo, hi) in bounds.items():
        if hi:
            total = sum(float(graph.nodes[v].get(m, 1 if m == "schools" else 0)) for v in graph.nodes)
            lower = max(lower, math.ceil(total / hi - 1e-9))
    if isinstance(k, (tuple, list)):
        lower = max(lower, int(k[0]))
    return lower


def penalty_plan(graph: nx.Graph, **kwargs: Any) -> Any:
    """The fewest-count plan with district lines crossed at a penalty, from the plan inside
    districts; None when no plan inside districts is found (solve the penalty model alone).

    Parameters
    ----------
    graph : networkx.Graph
        The unit graph, with a ``district`` label per unit.
    **kwargs
        :func:`clustergeo.partition`'s arguments, with ``district_mode="penalty"`` and
        ``fewest=True``.

    Returns
    -------
    PartitionResult or None
        Its ``count_search`` says how the count was found: ``within`` (the fewest
        inside districts), ``proved_impossible`` and ``not_settled`` (smaller counts), ``count``.
    """
    t0 = time.perf_counter()
    limit = kwargs.get("time_limit")
    merged: list[str] = []
    try:
        within = partition(graph, **{**kwargs, "district_mode": "within", "explain": False})
    except (InfeasibleError, NoPlanInTimeError):
        found = merged_districts_plan(graph, kwargs, deadline=None if limit is None else t0 + limit)
        if found is None:
            return None
        within, merged = found
    sizes = kwargs.get("bounds") or {}
    lower = lower_bound(graph, sizes, kwargs.get("k"))
    smaller = list(range(lower, within.k))
    impossible, unsettled, untried, best = [], [], [], within
    budget = None if limit is None else LOWER_COUNTS_SHARE * max(limit - (time.perf_counter() - t0), 0.0)
    t_lower = time.perf_counter()
    # from the count in hand downwards: plans are easiest to find next to it
    for kk in reversed(smaller):
        spent = time.perf_counter() - t_lower
        if budget is not None and spent >= budget:
            untried.append(kk)
            continue
        each = None if budget is None else max(LOWER_COUNT_MIN_SECONDS, (budget - spent) / (kk - lower + 1))
        try:
            best = partition(
                graph,
                **{**kwargs, "k": kk, "fewest": False, "explain": False, "time_limit": each},
                separators=best.separators,  # the contiguity cuts found so far hold at every count
            )
        except InfeasibleError:
            impossible.append(kk)
        except NoPlanInTimeError:
            unsettled.append(kk)
    below = best.k  # only the counts below the plan's matter for the proof
    impossible, unsettled, untried = (sorted(c for c in xs if c < below) for xs in (impossible, unsettled, untried))
    left = None if limit is None else limit - (time.perf_counter() - t0)
    if left is not None and left < FINAL_MIN_SECONDS and best is within and not merged:
        result = dataclasses.replace(within, status="feasible", bound=None, gap=None)  # no time to improve it
    else:
        result = partition(
            graph,
            **{**kwargs, "k": best.k, "fewest": False, "start": best.assignment, "time_limit": _at_least(left, 1.0)},
            separators=best.separators,
        )
    result.seconds = time.perf_counter() - t0
    result.count_search = {
        "within": within.k,
        "merged": merged,
        "lower_bound": lower,
        "within_seconds": round(within.seconds, 3),
        "proved_impossible": impossible,
        "not_settled": unsettled + untried,
        "not_tried": untried,
        "count": result.k,
    }
    return result


def merged_districts_plan(graph: nx.Graph, kwargs: dict, *, deadline: float | None) -> tuple[Any, list[str]] | None:
    """A plan inside districts where each district that has no plan on its own is taken together
    with the neighbouring district it shares most borders with (repeated until every region has
    a plan); None when only the whole area is left, or the count falls outside the rules.

    Returns
    -------
    (PartitionResult, list of str) or None
        The combined plan (status ``"feasible"``) and the regions formed by merging.
    """
    region = {v: str(graph.nodes[v].get("district")) for v in graph.nodes}
    solved: dict[str, Any] = {}
    while True:
        failed = []
        for r in sorted(set(region.values()) - set(solved)):
            sub = graph.subgraph([v for v in graph.nodes if region[v] == r]).copy()
            left = None if deadline is None else max(deadline - time.perf_counter(), 1.0)
            opts = {**kwargs, "k": None, "fewest": True, "district": None, "district_mode": None}
            keep = set(sub.nodes)
            if opts.get("cost") is not None:
                opts["cost"] = {(a, b): c for (a, b), c in opts["cost"].items() if a in keep and b in keep}
            try:
                solved[r] = partition(sub, **{**opts, "explain": False, "time_limit": left})
            except InfeasibleError:
                failed.append(r)
            except NoPlanInTimeError:
                return None  # out of time: a larger region would not do better
        if not failed:
            break
        if len(set(region.values())) == 1:
            return None
        for r in failed:
            if r not in set(region.values()):
                continue  # merged already in this round
            border: dict[str, int] = {}
            for a, b in graph.edges:
                ra, rb = region[a], region[b]
                if ra != rb and r in (ra, rb):
                    other = rb if ra == r else ra
                    border[other] = border.get(other, 0) + 1
            if not border:
                return None
            other = max(border, key=lambda k: (border[k], k))
            name = f"{r} + {other}"
            for v in region:
                if region[v] in (r, other):
                    region[v] = name
            solved.pop(other, None)
    assignment = {v: c for res in solved.values() for v, c in res.assignment.items()}
    k = len(set(assignment.values()))
    lo_k, hi_k = _k_range(kwargs.get("k"), graph.number_of_nodes())
    if not lo_k <= k <= hi_k:
        return None
    parts = list(solved.values())
    result = dataclasses.replace(
        parts[0],
        assignment=assignment,
        hubs={c: c for c in set(assignment.values())},
        status="feasible",
        objective=None,
        bound=None,
        gap=None,
        seconds=sum(r.seconds for r in parts),
    )
    return result, sorted(r for r in solved if " + " in r)


def _at_least(seconds: float | None, least: float) -> float | None:
    """``seconds`` raised to ``least`` (None, no limit, stays None)."""
    return None if seconds is None else max(seconds, least)


def _k_range(k: Any, n: int) -> tuple[int, int]:
    if isinstance(k, int):
        return k, k
    if isinstance(k, (tuple, list)):
        return int(k[0]), int(k[1])
    return 1, n


def count_words(search: Mapping[str, Any]) -> str:
    """How the count of a penalty plan was found, in words.

    Examples
    --------
    >>> print(count_words({"within": 28, "proved_impossible": [], "not_settled": [24, 25], "count": 28}))
    ... # doctest: +NORMALIZE_WHITESPACE
    28 clusters, the fewest with every cluster inside its districts (solved first, by district); with
    district lines crossed at a penalty, 24 to 25 clusters were tried and not settled in time (no plan
    found, none ruled out)
    """
    k, within = search["count"], search["within"]
    merged = search.get("merged") or []
    inside = "inside its districts" + (f" ({'; '.join(merged)} taken together)" if merged else "")
    head = (
        f"{k} clusters, the fewest with every cluster {inside} (solved first, by district)"
        if k == within
        else f"{k} clusters, fewer than the {within} needed with every cluster {inside}"
    )
    bits = []
    tried = [c for c in search.get("not_settled") or [] if c not in set(search.get("not_tried") or [])]
    for counts, what in (
        (search.get("proved_impossible") or [], "proved impossible"),
        (tried, "tried and not settled in time (no plan found, none ruled out)"),
        (search.get("not_tried") or [], "not tried (no time left)"),
    ):
        if counts:
            run = counts == list(range(counts[0], counts[-1] + 1))
            span = f"{counts[0]} to {counts[-1]}" if run and len(counts) > 1 else ", ".join(map(str, counts))
            bits.append(f"{span} clusters were {what}")
    return head + ("; with district lines crossed at a penalty, " + "; ".join(bits) if bits else "")
