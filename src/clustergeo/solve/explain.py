"""Why no plan can meet the rules, in planner language.

:func:`precheck` checks what can be checked before solving, naming places: a unit above a
maximum on its own; a district (or a stray part of the graph) whose units hold less than a
minimum; a district whose total no number of clusters can fit; a cluster count that cannot fit
the district totals. :func:`diagnose` runs after the solver proves infeasibility: it relaxes
one group of rules at a time and reports which relaxations make a plan possible.
"""

from __future__ import annotations

import math

import numpy as np

from .problem import PartitionProblem

UNITS = {"pupils": "pupils", "schools": "schools"}


def _fmt(m: str, v: float) -> str:
    return f"{v:,.0f} {UNITS.get(m, m)}"


def _name(p: PartitionProblem, i: int) -> str:
    d = p.graph.nodes[p.nodes[i]]
    name = d.get("name", p.nodes[i])
    return f"{name}" if str(name) == str(p.nodes[i]) else f"{name} ({p.nodes[i]})"


def independent_parts(p: PartitionProblem) -> list[tuple[str, list[int]]]:
    """The independent parts: connected pieces of the graph (inside each district under 'within')."""
    adj = p.adjacency
    lab = p.district if p.district_mode == "within" else None
    if p.division is not None and p.division_mode == "within":
        lab = p.division if lab is None else np.asarray([f"{a} / {b}" for a, b in zip(lab, p.division)], dtype=object)
    seen: set[int] = set()
    parts = []
    for s in range(p.n):
        if s in seen:
            continue
        comp, stack = [s], [s]
        seen.add(s)
        while stack:
            u = stack.pop()
            for v in adj[u]:
                if v not in seen and (lab is None or lab[v] == lab[u]):
                    seen.add(v)
                    comp.append(v)
                    stack.append(v)
        where = f"district {lab[s]}" if lab is not None else "the area"
        parts.append((where, sorted(comp)))
    # name the pieces of one district apart
    counts: dict[str, int] = {}
    for where, _ in parts:
        counts[where] = counts.get(where, 0) + 1
    out = []
    for where, comp in parts:
        if counts[where] > 1:
            names = ", ".join(_name(p, i) for i in comp[:4]) + (" ..." if len(comp) > 4 else "")
            where = f"the part of {where.replace('the area', 'the map')} made of {names}"
        out.append((where, comp))
    return out


def count_range(p: PartitionProblem, comp: list[int]) -> tuple[int, int]:
    """Fewest and most clusters a part can hold, from its totals and the bounds."""
    lo_k, hi_k = 1, len(comp)
    for m, (lo, hi) in p.bounds.items():
        total = float(p.measures[m][comp].sum())
        if hi is not None and hi > 0:
            lo_k = max(lo_k, math.ceil(total / hi - 1e-9))
        if lo is not None and lo > 0:
            hi_k = min(hi_k, math.floor(total / lo + 1e-9))
    return lo_k, hi_k


def precheck(p: PartitionProblem) -> list[str]:
    """Reasons, found before solving, why no plan can exist (empty when none is found)."""
    reasons = []
    for m, (_lo, hi) in p.bounds.items():
        if hi is None:
            continue
        for i in np.flatnonzero(p.measures[m] > hi + 1e-9):
            reasons.append(
                f"{_name(p, int(i))} has {_fmt(m, p.measures[m][i])} on its own, above the "
                f"maximum of {_fmt(m, hi)} per cluster: raise the maximum or let it be split"
            )
    k_lo_total, k_hi_total = 0, 0
    for where, comp in independent_parts(p):
        lo_k, hi_k = count_range(p, comp)
        for m, (lo, _hi) in p.bounds.items():
            total = float(p.measures[m][comp].sum())
            if lo is not None and total < lo - 1e-9:
                reasons.append(
                    f"{where} holds only {_fmt(m, total)}, fewer than the minimum of "
                    f"{_fmt(m, lo)} for one cluster"
                    + (
                        ": let clusters cross district lines (districts as a penalty) or lower the minimum"
                        if "district" in where
                        else ": link it to its neighbours or lower the minimum"
                    )
                )
        if lo_k > hi_k and not any(r.startswith(where) for r in reasons):
            sizes = "; ".join(
                f"{_fmt(m, p.measures[m][comp].sum())} with {_fmt(m, lo or 0)} to "
                f"{_fmt(m, hi) if hi is not None else 'no maximum'} each"
                for m, (lo, hi) in p.bounds.items()
            )
            reasons.append(
                f"{where} cannot be cut into clusters within the bounds ({sizes}): it needs at "
                f"least {lo_k} clusters for the maximum but has room for at most {hi_k} for the minimum"
            )
        if p.hub_ok is not None:
            hubs = int(p.hub_ok[comp].sum())
            if hubs == 0:
                reasons.append(
                    f"{where} holds no unit that may head a cluster (the hub candidates, e.g. secondaries, "
                    "are all elsewhere): widen the hub candidates or let clusters cross into it"
                )
            elif hubs < lo_k:
                reasons.append(
                    f"{where} needs at least {lo_k} clusters but holds only {hubs} hub candidates: "
                    "widen the hub candidates or raise the maximum size"
                )
            hi_k = min(hi_k, hubs)
        k_lo_total += lo_k
        k_hi_total += max(hi_k, 0)
    if not reasons and p.k not in (None, "fewest"):
        klo, khi = p.k_range()
        if k_lo_total > khi:
            reasons.append(
                f"the bounds need at least {k_lo_total} clusters (adding up each district), "
                f"more than the maximum of {khi}"
            )
        if k_hi_total < klo:
            reasons.append(
                f"the bounds allow at most {k_hi_total} clusters (adding up each district), "
                f"fewer than the minimum of {klo}"
            )
    return reasons
