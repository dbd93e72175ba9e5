"""Districts as a penalty, solved from the plan that keeps clusters inside districts.

With ``districts = "penalty"`` the whole area is one model (nothing decomposes), and on a county
of a couple of hundred units the fewest-count search can spend its whole limit without a plan.
Every plan inside districts is a plan here too (with no penalty), and that plan decomposes by
district and is proved quickly. So :func:`penalty_plan` solves the rules with districts
``"within"`` first; tries each smaller count in a short share of the limit (the heuristics and
the exact model: a plan found there wins, a count proved impossible is recorded, the rest are
reported as not settled); and then solves the penalty model at the count found, warm-started
from the best plan in hand, so the answer is never worse than the plan inside districts.
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
    try:
        within = partition(graph, **{**kwargs, "district_mode": "within", "explain": False})
    except (InfeasibleError, NoPlanInTimeError):
        return None
    sizes = kwargs.get("bounds") or {}
    lower = lower_bound(graph, sizes, kwargs.get("k"))
    smaller = list(range(lower, within.k))
    impossible, unsettled, untried, best = [], [], [], within
    budget = None if limit is None else LOWER_COUNTS_SHARE * max(limit - (time.perf_counter() - t0), 0.0)
    t_lower = time.perf_counter()
    for kk in smaller:
        spent = time.perf_counter() - t_lower
        if budget is not None and spent >= budget:
            untried.append(kk)
            continue
        each = None if budget is None else max(LOWER_COUNT_MIN_SECONDS, (budget - spent) / (within.k - kk))
        try:
            best = partition(graph, **{**kwargs, "k": kk, "fewest": False, "explain": False, "time_limit": each})
            break
        except InfeasibleError:
            impossible.append(kk)
        except NoPlanInTimeError:
            unsettled.append(kk)
    left = None if limit is None else limit - (time.perf_counter() - t0)
    if left is not None and left < FINAL_MIN_SECONDS and best is within:
        result = dataclasses.replace(within, status="feasible", bound=None, gap=None)  # no time to improve it
    else:
        result = partition(
            graph,
            **{**kwargs, "k": best.k, "fewest": False, "start": best.assignment, "time_limit": max(left or 0, 1.0)},
        )
    result.seconds = time.perf_counter() - t0
    result.count_search = {
        "within": within.k,
        "lower_bound": lower,
        "within_seconds": round(within.seconds, 3),
        "proved_impossible": impossible,
        "not_settled": unsettled + untried,
        "not_tried": untried,
        "count": result.k,
    }
    return result


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
    head = (
        f"{k} clusters, the fewest with every cluster inside its districts (solved first, by district)"
        if k == within
        else f"{k} clusters, fewer than the {within} needed with every cluster inside its districts"
    )
    bits = []
    tried = [c for c in search.get("not_settled") or [] if c not in set(search.get("not_tried") or [])]
    for counts, what in (
        (search.get("proved_impossible") or [], "proved impossible"),
        (tried, "tried and not settled in time (no plan found, none ruled out)"),
        (search.get("not_tried") or [], "not tried (no time left)"),
    ):
        if counts:
            span = f"{counts[0]}" if len(counts) == 1 else f"{counts[0]} to {counts[-1]}"
            bits.append(f"{span} clusters were {what}")
    return head + ("; with district lines crossed at a penalty, " + "; ".join(bits) if bits else "")
