"""Contiguity by a,b-separator cuts (Validi, Buchanan & Lykhovyd), found at integer solutions.

PuLP has no lazy-constraint callbacks for HiGHS or CBC, so the loop is: solve, find every
cluster that falls apart, add a cut for each stray piece, warm-start, re-solve. For a piece
``S`` of the cluster hubbed at ``j`` that does not contain ``j``, every unit ``a`` in ``S`` can
only be in ``j``'s cluster if some vertex of a separator ``C`` between ``S`` and ``j`` is too:

    sum_{c in C} x[c, j] >= x[a, j]

``C`` is the vertex boundary of ``S``, trimmed to the vertices that touch the part of the graph
(outside ``S`` and its boundary) where ``j`` lies: a minimal separator is a stronger cut.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

#: fractional separation: the support thresholds a hub's pieces are read at, and the least
#: violation worth a row (shared by the LP rounds before the cut loop and SCIP's handler)
FRACTIONAL_THRESHOLDS = (1e-6, 0.25, 0.5)
FRACTIONAL_VIOLATION = 0.05


@dataclass(frozen=True)
class SeparatorCut:
    hub: int
    piece: tuple[int, ...]
    separator: tuple[int, ...]


def components(members: set[int], adj: list[list[int]]) -> list[set[int]]:
    """The connected pieces of ``members`` in the graph ``adj`` (unit -> neighbours), in the
    order of their smallest unit; shared by the cut loop and the heuristics."""
    seen: set[int] = set()
    comps = []
    for s in sorted(members):
        if s in seen:
            continue
        comp = {s}
        queue = deque([s])
        seen.add(s)
        while queue:
            u = queue.popleft()
            for v in adj[u]:
                if v in members and v not in seen:
                    seen.add(v)
                    comp.add(v)
                    queue.append(v)
        comps.append(comp)
    return comps


def _reach(start: int, blocked: set[int], adj: list[list[int]]) -> set[int]:
    seen = {start}
    queue = deque([start])
    while queue:
        u = queue.popleft()
        for v in adj[u]:
            if v not in seen and v not in blocked:
                seen.add(v)
                queue.append(v)
    return seen


def separate(assignment: list[int], adj: list[list[int]]) -> list[SeparatorCut]:
    """Cuts for every disconnected cluster in an integer solution (``assignment[i]`` = hub of ``i``)."""
    clusters: dict[int, set[int]] = {}
    for i, j in enumerate(assignment):
        clusters.setdefault(j, set()).add(i)
    cuts: list[SeparatorCut] = []
    for j in sorted(clusters):
        comps = components(clusters[j], adj)
        if len(comps) == 1:
            continue
        cuts.extend(_cut(j, piece, adj) for piece in comps if j not in piece)
    return cuts


def _cut(j: int, piece: set[int], adj: list[list[int]]) -> SeparatorCut:
    """The cut for a ``piece`` cut off from hub ``j``: its boundary, trimmed to the vertices
    that touch the region where ``j`` lies."""
    boundary = {v for u in piece for v in adj[u] if v not in piece}
    region = _reach(j, piece | boundary, adj)
    sep = {c for c in boundary if any(v in region for v in adj[c]) or c == j}
    sep.discard(j)
    return SeparatorCut(j, tuple(sorted(piece)), tuple(sorted(sep)))


def support(values) -> dict[int, dict[int, float]]:
    """A fractional point by hub, as :func:`separate_fractional` reads it: ``values`` gives
    ``((i, j), x[i, j])`` pairs; units at zero are left out, and hubs not open in the point."""
    by_hub: dict[int, dict[int, float]] = {}
    for (i, j), val in values:
        if val > 1e-6:
            by_hub.setdefault(j, {})[i] = val
    return {j: xj for j, xj in by_hub.items() if j in xj}


def separate_fractional(
    values: dict[int, dict[int, float]],
    adj: list[list[int]],
    *,
    thresholds: tuple[float, ...] = FRACTIONAL_THRESHOLDS,
    violation: float = FRACTIONAL_VIOLATION,
) -> list[SeparatorCut]:
    """Cuts violated by a fractional point: ``values[j][i]`` is ``x[i, j]`` (units at zero left
    out). For each hub and threshold, the units above it split into pieces; a piece without
    the hub whose separator holds less than ``x[a, j] - violation`` for some ``a`` in it gives
    a cut (only the units ``a`` it is violated for). A heuristic: exact separation needs a
    minimum vertex cut per unit and hub."""
    cuts = []
    for j in sorted(values):
        xj = values[j]
        seen: set[tuple[int, ...]] = set()
        for t in thresholds:
            members = {i for i, v in xj.items() if v > t} | {j}
            for piece in components(members, adj):
                if j in piece:
                    continue
                cut = _cut(j, piece, adj)
                lhs = sum(xj.get(c, 0.0) for c in cut.separator)
                units = tuple(a for a in cut.piece if xj.get(a, 0.0) - lhs > violation)
                if units and units not in seen:
                    seen.add(units)
                    cuts.append(SeparatorCut(j, units, cut.separator))
    return cuts


def rows(
    cuts: list[SeparatorCut], adj: list[list[int]], hubs_of: dict[int, list[int]], *, all_hubs: bool
) -> list[tuple[int, tuple[int, ...], tuple[int, ...]]]:
    """The cuts as ``(hub, separator, piece)``: ``sum_{s in separator} x[s, hub] >= x[a, hub]``
    for each ``a`` in ``piece``. With ``all_hubs`` a stray piece is cut off, behind its whole
    boundary, from every hub (``hubs_of[a]``: the hubs unit ``a`` may join) beyond that boundary,
    not only from the hub it was found at: otherwise answers as good shuffle the same piece from
    hub to hub."""
    out = []
    for c in cuts:
        if not all_hubs:
            out.append((c.hub, c.separator, c.piece))
            continue
        boundary = {v for u in c.piece for v in adj[u]} - set(c.piece)
        blocked = set(c.piece) | boundary
        sep = tuple(sorted(boundary))
        out.extend((j, sep, c.piece) for j in sorted({j for a in c.piece for j in hubs_of[a]} - blocked))
    return out


def is_contiguous(assignment: list[int], adj: list[list[int]]) -> bool:
    return not separate(assignment, adj)
