"""The second opinion: checks a plan against the rules, sharing no code with the model.

Everything here is recomputed from the graph and the plan with networkx and plain Python;
nothing is imported from :mod:`clustergeo.solve`. Every plan the library returns has passed
:func:`check_partition` (on units) and, for school plans, :func:`check_plan`.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping

import networkx as nx
import pandas as pd


def check_partition(graph: nx.Graph, assignment: Mapping[Hashable, Hashable], *,
                    bounds: Mapping[str, tuple[float | None, float | None]] | None = None,
                    k: int | tuple[int, int] | str | None = None, contiguous: bool = True,
                    district: str | None = None, district_mode: str | None = None,
                    division: str | None = None, division_mode: str | None = None) -> list[str]:
    """Every way ``assignment`` (node -> cluster) breaks the rules, in words. Empty if none."""
    out: list[str] = []
    nodes = set(graph.nodes)
    assigned = set(assignment)
    for v in sorted(nodes - assigned, key=str):
        out.append(f"{v!r} has no cluster")
    for v in sorted(assigned - nodes, key=str):
        out.append(f"{v!r} is in the plan but not in the graph")
    clusters: dict[Hashable, list] = {}
    for v, c in assignment.items():
        if v in nodes:
            clusters.setdefault(c, []).append(v)
    for c, members in sorted(clusters.items(), key=lambda kv: str(kv[0])):
        if contiguous and not nx.is_connected(graph.subgraph(members)):
            parts = sorted(nx.connected_components(graph.subgraph(members)), key=len)
            out.append(f"cluster {c!r} is in {len(parts)} separate pieces (smallest: {sorted(parts[0], key=str)[:5]})")
        for m, (lo, hi) in (bounds or {}).items():
            total = sum(float(graph.nodes[v].get(m, 1 if m == "schools" else 0)) for v in members)
            if lo is not None and total < lo - 1e-6:
                out.append(f"cluster {c!r} has {total:,.0f} {m}, below the minimum {lo:,.0f}")
            if hi is not None and total > hi + 1e-6:
                out.append(f"cluster {c!r} has {total:,.0f} {m}, above the maximum {hi:,.0f}")
        for attr, mode in ((district, district_mode), (division, division_mode)):
            if attr and mode == "within":
                labels = {graph.nodes[v].get(attr) for v in members}
                if len(labels) > 1:
                    out.append(f"cluster {c!r} crosses {attr} lines ({', '.join(sorted(map(str, labels)))})")
    n = len(clusters)
    if isinstance(k, int) and n != k:
        out.append(f"the plan has {n} clusters, not {k}")
    elif isinstance(k, tuple) and not (k[0] <= n <= k[1]):
        out.append(f"the plan has {n} clusters, outside {k[0]} to {k[1]}")
    return out


def check_plan(assignment: pd.DataFrame, schools: pd.DataFrame) -> list[str]:
    """School-level checks: every input school exactly once, and nothing invented.

    ``assignment`` has columns ``school_id`` and ``cluster`` (and ``status``); ``schools`` is
    the input table.
    """
    out = []
    ids = schools["school_id"].astype(str)
    got = assignment["school_id"].astype(str)
    dup = got[got.duplicated()]
    for sid in sorted(set(dup)):
        out.append(f"school {sid} appears more than once in the plan")
    for sid in sorted(set(ids) - set(got)):
        out.append(f"school {sid} is missing from the plan")
    for sid in sorted(set(got) - set(ids)):
        out.append(f"school {sid} is in the plan but not in the input")
    if "status" in assignment:
        placed = assignment[assignment["status"].isin(["placed", "pinned", "apart"])]
        for sid in placed.loc[placed["cluster"].isna(), "school_id"]:
            out.append(f"school {sid} is placed but has no cluster")
    return out
