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
    cuts = []
    for j in sorted(clusters):
        comps = components(clusters[j], adj)
        if len(comps) == 1:
            continue
        for piece in comps:
            if j in piece:
                continue
            boundary = {v for u in piece for v in adj[u] if v not in piece}
            region = _reach(j, piece | boundary, adj)
            sep = {c for c in boundary if any(v in region for v in adj[c]) or c == j}
            sep.discard(j)
            cuts.append(SeparatorCut(j, tuple(sorted(piece)), tuple(sorted(sep))))
    return cuts


def is_contiguous(assignment: list[int], adj: list[list[int]]) -> bool:
    return not separate(assignment, adj)
