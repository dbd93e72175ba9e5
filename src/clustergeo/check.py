"""The second opinion: checks a plan against the rules, sharing no code with the model.

Everything here is recomputed from the graph and the plan with networkx and plain Python;
nothing is imported from :mod:`clustergeo.solve`. Every plan the library returns has passed
:func:`check_partition` (on units) and, for school plans, :func:`check_plan`.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping

import networkx as nx
import pandas as pd

from .rules import PHASE_ALIASES

#: Counts whose noun drops its plural "s" for one ("1 school", not "1 schools").
COUNT_NOUNS = {"schools", "pupils", "problems"}


def _noun(noun: str, count: float) -> str:
    """``noun`` for ``count`` as printed (rounded): "school" for 1, "schools" otherwise."""
    return noun[:-1] if noun in COUNT_NOUNS and round(count) == 1 else noun


def check_partition(
    graph: nx.Graph,
    assignment: Mapping[Hashable, Hashable],
    *,
    bounds: Mapping[str, tuple[float | None, float | None]] | None = None,
    k: int | tuple[int, int] | str | None = None,
    contiguous: bool = True,
    district: str | None = None,
    district_mode: str | None = None,
    division: str | None = None,
    division_mode: str | None = None,
) -> list[str]:
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
                out.append(f"cluster {c!r} has {total:,.0f} {_noun(m, total)}, below the minimum {lo:,.0f}")
            if hi is not None and total > hi + 1e-6:
                out.append(f"cluster {c!r} has {total:,.0f} {_noun(m, total)}, above the maximum {hi:,.0f}")
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


STATUSES = {"placed", "pinned", "apart", "excluded"}


def _unit_district(schools: pd.DataFrame) -> dict:
    """District of each unit: the one holding most of its pupils (ties: alphabetical)."""
    out = {}
    for unit, grp in schools.groupby("unit"):
        tot = grp.groupby("district")["pupils"].sum()
        if len(tot):
            out[unit] = sorted(tot.items(), key=lambda kv: (-kv[1], str(kv[0])))[0][0]
    return out


def verify_plan(schools: pd.DataFrame, clusters: pd.DataFrame, rules: Mapping, unit_edges=None) -> list[str]:
    """Check a saved plan (its schools and clusters tables) against its rules, from scratch.

    ``schools`` needs ``school_id, cluster, status, pupils``, and ``unit`` and ``district``
    for the contiguity and district checks; ``rules`` is :meth:`Rules.to_dict`;
    ``unit_edges`` the neighbour pairs of units from the run record.
    """
    out: list[str] = []
    ids = schools["school_id"].astype(str)
    for sid in sorted(set(ids[ids.duplicated()])):
        out.append(f"school {sid} appears more than once")
    bad = set(schools["status"]) - STATUSES
    if bad:
        out.append(f"unknown status values {sorted(bad)}")
    active = schools[schools["status"] != "excluded"]
    for sid in active.loc[active["cluster"].isna(), "school_id"]:
        out.append(f"school {sid} has no cluster")
    geo = active[(active["status"] == "placed") & active["cluster"].notna()]
    lo_p, hi_p = rules.get("min_pupils"), rules.get("max_pupils")
    lo_s, hi_s = rules.get("min_schools"), rules.get("max_schools")
    for lab, grp in geo.groupby("cluster"):
        p, n = int(grp["pupils"].sum()), len(grp)
        for v, lo, hi, what in ((p, lo_p, hi_p, "pupils"), (n, lo_s, hi_s, "schools")):
            if lo is not None and v < lo:
                out.append(f"cluster {lab!r} has {v:,} {_noun(what, v)}, below the minimum {lo:,}")
            if hi is not None and v > hi:
                out.append(f"cluster {lab!r} has {v:,} {_noun(what, v)}, above the maximum {hi:,}")
    out += _composition(geo, rules)
    k = rules.get("clusters")
    n_geo = geo["cluster"].nunique()
    if isinstance(k, int) and n_geo != k:
        out.append(f"{n_geo} geographic clusters, not {k}")
    if isinstance(k, (list, tuple)) and not (k[0] <= n_geo <= k[1]):
        out.append(f"{n_geo} geographic clusters, outside {k[0]} to {k[1]}")
    if "unit" in geo.columns:
        unit_cluster = geo.groupby("unit")["cluster"].agg(lambda c: sorted(set(c), key=str))
        for unit, labs in unit_cluster.items():
            if len(labs) > 1:
                out.append(f"{unit_words(rules.get('keep_whole'))} {unit!r} is split across clusters {labs}")
        if unit_edges is not None:
            g = nx.Graph()
            g.add_nodes_from(unit_cluster.index)
            g.add_edges_from((a, b) for a, b in unit_edges if a in g and b in g)
            for lab, grp in geo.groupby("cluster"):
                us = sorted(set(grp["unit"]))
                if not nx.is_connected(g.subgraph(us)):
                    out.append(f"cluster {lab!r} is not in one piece")
        if rules.get("districts") == "within" and "district" in geo.columns:
            ud = _unit_district(geo)
            for lab, grp in geo.groupby("cluster"):
                ds = {ud.get(u) for u in set(grp["unit"])}
                if len(ds) > 1:
                    out.append(f"cluster {lab!r} crosses district lines ({', '.join(sorted(map(str, ds)))})")
    for label in rules.get("pinned") or []:
        current = active.get("current_cluster", pd.Series(index=active.index, dtype=object))
        cur = active[(current == label) & (active["status"] != "apart")]  # apart schools leave first
        if len(cur) and (set(cur["cluster"]) != {label}):
            out.append(f"pinned cluster {label!r} was changed")
        extra = active[(active["cluster"] == label) & ~active["school_id"].isin(cur["school_id"])]
        for sid in extra["school_id"]:
            out.append(f"school {sid} was added to pinned cluster {label!r}")
    for name in rules.get("apart") or {}:
        if not (active.loc[active["cluster"] == name, "status"] == "apart").all():
            out.append(f"apart cluster {name!r} holds schools that are not apart")
    # the cluster table agrees with the schools table
    if clusters is not None and len(clusters):
        totals = active.groupby("cluster")["pupils"].sum()
        for _, row in clusters.iterrows():
            if int(totals.get(row["cluster"], -1)) != int(row["pupils"]):
                out.append(
                    f"cluster table says {row['cluster']!r} has {row['pupils']} pupils; schools add up to "
                    f"{int(totals.get(row['cluster'], 0))}"
                )
        missing = set(totals.index) - set(clusters["cluster"])
        for lab in sorted(missing):
            out.append(f"cluster {lab!r} is missing from the cluster table")
    return out


def _composition(geo: pd.DataFrame, rules: Mapping) -> list[str]:
    """The composition rule (``min_phase``) and the hub candidates (``hubs``) per cluster."""
    out = []
    for phase, n in sorted((rules.get("min_phase") or {}).items()):
        if "phase" not in geo.columns:
            break
        same = PHASE_ALIASES.get(phase, {phase})
        for lab, grp in geo.groupby("cluster"):
            have = int(grp["phase"].isin(same).sum())
            if have < n:
                out.append(
                    f"cluster {lab!r} holds {have} {phase} {_noun('schools', have)}, "
                    f"fewer than the {n} the rules ask for"
                )
    hubs = rules.get("hubs")
    if hubs and "hub_school" in geo.columns:
        ids = geo["school_id"].astype(str)
        if isinstance(hubs, str):
            ok = set(ids[geo["phase"].isin(PHASE_ALIASES.get(hubs, {hubs}))])
        else:
            ok = set(map(str, hubs))
        for lab, hub in geo.groupby("cluster")["hub_school"].first().items():
            if str(hub) not in ok:
                out.append(f"cluster {lab!r} is hubbed at school {hub}, which is not a hub candidate ({hubs!r})")
    return out


def unit_words(keep_whole: object) -> str:
    """What a unit the rules keep whole is, in a planner's words."""
    return {"cluster": "current cluster", "feeds": "feeder group"}.get(str(keep_whole), "unit")


def _who(sid: str, names: Mapping[str, str]) -> str:
    name = names.get(sid)
    return f"school {sid} ({name})" if name else f"school {sid}"


def _cell(v) -> str | None:
    return None if v is None or (isinstance(v, float) and v != v) or v == "" else str(v)


def compare_assignments(
    expected: pd.DataFrame, got: pd.DataFrame, *, names: Mapping[str, str], expected_in: str, got_in: str
) -> list[str]:
    """Every school that ``got`` (``school_id, cluster, status``) places differently from
    ``expected``, or lists twice, or lacks, or adds: each named, in words.

    Examples
    --------
    >>> a = pd.DataFrame({"school_id": ["1", "2"], "cluster": ["A", "A"], "status": ["placed"] * 2})
    >>> b = pd.DataFrame({"school_id": ["1", "3"], "cluster": ["B", "A"], "status": ["placed"] * 2})
    >>> for p in compare_assignments(a, b, names={}, expected_in="plan.gpkg", got_in="assignment.csv"):
    ...     print(p)
    school 1 moved from cluster 'A' (plan.gpkg) to 'B' (assignment.csv)
    school 2 is in plan.gpkg but missing from assignment.csv
    school 3 is in assignment.csv but not in plan.gpkg (an unknown school)
    """
    out = []
    got_ids = got["school_id"].astype(str)
    for sid in sorted(set(got_ids[got_ids.duplicated()])):
        out.append(f"{_who(sid, names)} appears more than once in {got_in}")
    want = {
        str(s): (_cell(c), _cell(st))
        for s, c, st in zip(expected["school_id"], expected["cluster"], expected["status"])
    }
    have = {str(s): (_cell(c), _cell(st)) for s, c, st in zip(got_ids, got["cluster"], got["status"])}
    for sid in sorted(set(want) | set(have)):
        if sid not in have:
            out.append(f"{_who(sid, names)} is in {expected_in} but missing from {got_in}")
        elif sid not in want:
            out.append(f"{_who(sid, names)} is in {got_in} but not in {expected_in} (an unknown school)")
        elif have[sid][0] != want[sid][0]:
            out.append(
                f"{_who(sid, names)} moved from cluster {want[sid][0]!r} ({expected_in}) to {have[sid][0]!r} ({got_in})"
            )
        elif have[sid][1] != want[sid][1]:
            out.append(f"{_who(sid, names)} has status {have[sid][1]!r} in {got_in}, {want[sid][1]!r} in {expected_in}")
    return out


def check_cluster_table(table: pd.DataFrame, schools: pd.DataFrame, *, where: str) -> list[str]:
    """Whether the cluster table's ``schools`` and ``pupils`` totals are those of the schools
    placed in each cluster, and it lists every cluster and no other.

    Examples
    --------
    >>> schools = pd.DataFrame({"school_id": ["1", "2"], "cluster": ["A", "A"], "pupils": [100, 50]})
    >>> table = pd.DataFrame({"cluster": ["A"], "schools": [2], "pupils": [160]})
    >>> check_cluster_table(table, schools, where="clusters.csv")
    ["clusters.csv says cluster 'A' has 160 pupils; its schools add up to 150"]
    """
    out = []
    missing = [c for c in ("cluster", "schools", "pupils") if c not in table.columns]
    if missing:
        return [f"{where} has no column {', '.join(map(repr, missing))}"]
    active = schools[schools["cluster"].notna()]
    pupils = active.groupby("cluster")["pupils"].sum()
    count = active.groupby("cluster").size()
    listed = table["cluster"].astype(str)
    for lab in sorted(set(listed[listed.duplicated()])):
        out.append(f"{where} lists cluster {lab!r} more than once")
    for _, row in table.iterrows():
        lab = str(row["cluster"])
        if lab not in count.index:
            out.append(f"{where} lists cluster {lab!r}, which holds no school")
            continue
        for what, total in (("schools", count), ("pupils", pupils)):
            try:
                value = float(row[what])
            except (TypeError, ValueError):
                out.append(f"{where}: cluster {lab!r} has {what} {row[what]!r}, not a number")
                continue
            if value != float(total[lab]):
                out.append(
                    f"{where} says cluster {lab!r} has {value:,.0f} {what}; its schools add up to "
                    f"{float(total[lab]):,.0f}"
                )
    for lab in sorted(set(count.index.astype(str)) - set(listed)):
        out.append(f"cluster {lab!r} is missing from {where}")
    return out


def check_groups(
    groups: pd.DataFrame,
    schools: pd.DataFrame,
    *,
    phase: str = "primary",
    sizes: tuple[int, ...] | list[int] = (3, 4),
    unsplittable: str = "share",
    clusters: list | None = None,
) -> list[str]:
    """Every way a peer-group table breaks its rules, in words. Empty if none.

    ``groups`` has ``school`` (the school id), ``cluster``, ``group`` (and ``exception``); ``schools``
    the plan's schools
    (``school_id, cluster, phase, status``). Checked: every school of ``phase`` in a grouped cluster
    is in exactly one group and nothing else is; each group's size is allowed and its schools share
    one cluster, unless the group is an exception of the option named (``shared`` with
    ``unsplittable="share"``, ``other-size`` with ``"other-size"``, at most one per cluster).
    ``clusters`` limits the check to those clusters (default: every cluster in ``groups``).
    """
    out: list[str] = []
    ids = groups["school"].astype(str)
    for sid in sorted(set(ids[ids.duplicated()])):
        out.append(f"school {sid} is in more than one peer group")
    s = schools[(schools["phase"] == phase) & schools["cluster"].notna()]
    if "status" in s.columns:
        s = s[s["status"] != "excluded"]
    wanted = set(groups["cluster"]) if clusters is None else set(clusters)
    expected = set(s.loc[s["cluster"].isin(wanted), "school_id"].astype(str))
    for sid in sorted(expected - set(ids)):
        out.append(f"{phase} school {sid} is in no peer group")
    for sid in sorted(set(ids) - expected):
        out.append(f"school {sid} is in a peer group but is not a {phase} school of a grouped cluster")
    home = dict(zip(s["school_id"].astype(str), s["cluster"]))
    exception = groups["exception"] if "exception" in groups else pd.Series("", index=groups.index)
    odd_per_cluster: dict = {}
    for gid, grp in groups.assign(exception=exception.fillna("")).groupby("group"):
        kind = set(grp["exception"]) - {""}
        where = {home.get(str(x), c) for x, c in zip(grp["school"], grp["cluster"])}
        for x, c in zip(grp["school"].astype(str), grp["cluster"]):
            if x in home and home[x] != c:
                out.append(f"school {x} is listed in cluster {c!r} but the plan puts it in {home[x]!r}")
        if len(where) > 1 and not (kind == {"shared"} and unsplittable == "share" and len(where) == 2):
            out.append(f"group {gid!r} mixes clusters {sorted(map(str, where))} without the 'share' option")
        if len(grp) not in set(sizes):
            if kind == {"other-size"} and unsplittable == "other-size" and len(where) == 1:
                c = next(iter(where))
                odd_per_cluster[c] = odd_per_cluster.get(c, 0) + 1
            else:
                out.append(
                    f"group {gid!r} has {len(grp)} {_noun('schools', len(grp))}; allowed sizes are {sorted(sizes)}"
                )
    for c, n in sorted(odd_per_cluster.items(), key=lambda kv: str(kv[0])):
        if n > 1:
            out.append(f"cluster {c!r} has {n} groups of another size; the option allows one")
    return out


def check_allocation(
    table: pd.DataFrame, *, total: float, minimum: float = 0, maximum: float | None = None, unit: str = "posts"
) -> list[str]:
    """Every way one allocation's table breaks its terms, in words. Empty if none.

    ``table`` has ``cluster`` and ``amount`` (posts, or pounds). Checked: whole posts (whole pence
    for pounds), adding up exactly to ``total``, each within ``minimum`` and ``maximum``.
    """
    out: list[str] = []
    scale = 100 if unit == "pounds" else 1
    got = {}
    for c, a in zip(table["cluster"], table["amount"]):
        units = float(a) * scale
        if abs(units - round(units)) > 1e-6:
            out.append(f"cluster {c!r} gets {a}, not a whole number of {'pence' if scale > 1 else 'posts'}")
        got[c] = units
    if len(set(table["cluster"])) != len(table):
        out.append("a cluster appears more than once in the allocation")
    want = round(float(total) * scale)
    added = sum(float(a) * scale for a in table["amount"])
    if abs(added - want) > 1e-6:
        out.append(f"the amounts add up to {added / scale:g}, not the total {total:g}")
    for c, u in got.items():
        if u < round(float(minimum) * scale) - 1e-6:
            out.append(f"cluster {c!r} gets {u / scale:g}, below the minimum {minimum:g}")
        if maximum is not None and u > round(float(maximum) * scale) + 1e-6:
            out.append(f"cluster {c!r} gets {u / scale:g}, above the maximum {maximum:g}")
    return out


def check_inside(
    groups: pd.DataFrame | None, allocations: pd.DataFrame | None, schools: pd.DataFrame, run: Mapping
) -> list[str]:
    """Check a plan's peer groups and allocations against the terms its run record holds."""
    out: list[str] = []
    spec = run.get("peer_groups")
    if groups is not None and spec:
        out += check_groups(
            groups,
            schools,
            phase=spec["phase"],
            sizes=tuple(spec["sizes"]),
            unsplittable=spec["unsplittable"],
            clusters=[c["cluster"] for c in spec["clusters"]],
        )
    for rec in run.get("allocations") or []:
        rows = allocations[allocations["allocation"] == rec["name"]] if allocations is not None else pd.DataFrame()
        if rows.empty:
            out.append(f"allocation {rec['name']!r} has no rows")
            continue
        out += [
            f"allocation {rec['name']!r}: {p}"
            for p in check_allocation(
                rows, total=rec["total"], minimum=rec.get("minimum") or 0, maximum=rec.get("maximum"), unit=rec["unit"]
            )
        ]
    return out
