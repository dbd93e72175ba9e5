"""Planning units: schools, or groups of schools that must stay together.

The optimiser works on units. A unit is a single school, or a group that must stay whole:
a current cluster merged whole, a secondary with its feeder primaries, or a user-given
must-link group. :func:`make_units` builds the membership (school -> unit),
:func:`contract` turns the school graph into the unit graph (summed pupils and school
counts, unioned areas, induced edges), and :func:`expand` turns a unit plan back into a
school plan. Contraction then expansion loses no school and no pupil.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from typing import Any

import geopandas as gpd
import networkx as nx
import pandas as pd
import shapely

from .errors import DataError, Problem


def make_units(
    schools: gpd.GeoDataFrame,
    *,
    keep_whole: str | None = "cluster",
    split: Iterable[str] | None = None,
    must_link: Iterable[Iterable[str]] | None = None,
    id_column: str = "school_id",
) -> pd.Series:
    """Map each school to its planning unit.

    Parameters
    ----------
    schools : GeoDataFrame
        The schools taking part (excluded and apart schools already removed).
    keep_whole : str or None
        Column whose groups stay whole (``"cluster"``: current clusters merged whole;
        ``"feeds"``: each secondary with the primaries that feed it). ``None``: school by school.
    split : iterable of str, optional
        Values of ``keep_whole`` whose schools are redrawn school by school (Norfolk's King's
        Lynn, Great Yarmouth and Norwich clusters), or values of ``district`` meaning every
        school in that district is redrawn.
    must_link : iterable of iterables of school ids, optional
        Extra groups that must stay together; groups that share a school are merged.

    Returns
    -------
    pandas.Series
        ``school_id -> unit id`` (a string). Whole groups are named by their label, single
        schools by their id.
    """
    ids = schools[id_column].astype(str).tolist()
    unit = dict(zip(ids, ids))
    split = set(split or ())
    if keep_whole is not None:
        if keep_whole not in schools.columns:
            raise DataError(
                Problem(
                    "cannot keep groups whole: the column is missing",
                    column=keep_whole,
                    fix="add the column or pass keep_whole=None",
                )
            )
        labels = schools[keep_whole]
        if keep_whole == "feeds":  # a secondary is the head of its own feeder group
            labels = labels.where(
                labels.notna(), schools[id_column].where(schools["phase"].isin(["secondary", "all-through"]))
            )
        districts = schools["district"] if "district" in schools.columns else pd.Series(None, index=schools.index)
        for sid, lab, dist in zip(ids, labels, districts):
            if lab is None or pd.isna(lab) or lab in split or dist in split:
                continue
            unit[sid] = f"{lab}"
    # must-link groups: union-find over current units
    parent: dict[str, str] = {}

    def find(a: str) -> str:
        while parent.get(a, a) != a:
            a = parent[a]
        return a

    for group in must_link or ():
        group = [str(g) for g in group]
        unknown = [g for g in group if g not in unit]
        if unknown:
            raise DataError(
                [
                    Problem(
                        "must-link group names a school that is not taking part",
                        school=g,
                        fix="check the id, or that it is not excluded",
                    )
                    for g in unknown
                ]
            )
        roots = sorted({find(unit[g]) for g in group})
        for r in roots[1:]:
            parent[r] = roots[0]
    return pd.Series({sid: find(u) for sid, u in unit.items()}, name="unit")


def contract(graph: nx.Graph, membership: Mapping[Hashable, Hashable] | pd.Series) -> nx.Graph:
    """The unit graph: one node per unit, an edge where any two member schools are neighbours.

    Node attributes: ``pupils`` and ``schools`` summed; ``x``/``y`` the pupil-weighted mean
    location; ``members`` (sorted school ids); ``area`` the union of member areas (when
    present); ``district``/``division`` the one holding most pupils (ties: alphabetical), with
    ``districts`` listing all; ``name`` the unit id.
    """
    member_of = dict(membership)
    missing = [n for n in graph.nodes if n not in member_of]
    if missing:
        raise DataError([Problem("school is in the graph but has no unit", school=str(n)) for n in missing])
    groups: dict[Hashable, list[Hashable]] = {}
    for n in sorted(graph.nodes, key=str):
        groups.setdefault(member_of[n], []).append(n)
    u = nx.Graph(**graph.graph)
    for unit_id in sorted(groups, key=str):
        members = groups[unit_id]
        data = [graph.nodes[m] for m in members]
        pupils = sum(d["pupils"] for d in data)
        w = [max(d["pupils"], 1) for d in data]
        attrs: dict[str, Any] = {
            "pupils": pupils,
            "schools": sum(d.get("schools", 1) for d in data),
            "x": sum(d["x"] * wi for d, wi in zip(data, w)) / sum(w),
            "y": sum(d["y"] * wi for d, wi in zip(data, w)) / sum(w),
            "members": members,
            "name": str(unit_id) if len(members) > 1 else data[0].get("name", str(unit_id)),
        }
        for level in ("district", "division"):
            vals: dict[Any, int] = {}
            for d in data:
                if d.get(level) is not None and not (isinstance(d.get(level), float) and pd.isna(d[level])):
                    vals[d[level]] = vals.get(d[level], 0) + d["pupils"]
            if vals:
                attrs[level] = sorted(vals.items(), key=lambda kv: (-kv[1], str(kv[0])))[0][0]
                attrs[f"{level}s"] = sorted(vals, key=str)
        if all("area" in d for d in data):
            attrs["area"] = shapely.union_all([d["area"] for d in data])
        u.add_node(unit_id, **attrs)
    for a, b, d in graph.edges(data=True):
        ua, ub = member_of[a], member_of[b]
        if ua != ub:
            if u.has_edge(ua, ub):
                if "link" in d:
                    u.edges[ua, ub].setdefault("link", d["link"])
            else:
                u.add_edge(ua, ub, **{k: v for k, v in d.items() if k == "link"})
    return u


def expand(
    unit_assignment: Mapping[Hashable, Hashable], membership: Mapping[Hashable, Hashable] | pd.Series
) -> pd.Series:
    """A school plan from a unit plan: ``school_id -> cluster``."""
    out = {}
    missing = []
    for school, unit in dict(membership).items():
        if unit not in unit_assignment:
            missing.append(Problem("the plan has no cluster for this school's unit", school=str(school)))
        else:
            out[school] = unit_assignment[unit]
    if missing:
        raise DataError(missing)
    return pd.Series(out, name="cluster")
