"""From a schools table and rules to a plan: the planner-level entry point.

:func:`propose` runs the whole flow: set aside excluded, apart and pinned schools; build the
neighbour graph and travel times; contract schools to planning units; compile the rules to
:func:`clustergeo.partition`; expand the answer back to schools; build the :class:`Plan`; and
check it with the independent checker before returning it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import geopandas as gpd
import pandas as pd

from . import graph as graphs
from . import travel, units
from .errors import DataError, GraphError, Problem
from .plan import Plan, build_plan
from .rules import OBJECTIVES, Rules
from .settings import settings
from .solve import partition

log = logging.getLogger(__name__)


def _select(schools: pd.DataFrame, selector: dict[str, Any], what: str) -> pd.Series:
    mask = pd.Series(True, index=schools.index)
    for col, values in selector.items():
        if col not in schools.columns:
            raise DataError(Problem(f"{what} selects on a column the schools table does not have",
                                    column=col, fix=f"use one of {list(schools.columns)}"))
        values = values if isinstance(values, (list, tuple, set)) else [values]
        mask &= schools[col].isin(list(values))
    return mask


def propose(schools: gpd.GeoDataFrame, rules: Rules, *, boundary: Any = None,
            areas: gpd.GeoSeries | None = None, network: Any = None,
            links: list[tuple[str, str]] | None = None, solver: str | None = None,
            time_limit: float | None = 120.0, gap: float | None = None, threads: int | None = None,
            seed: int | None = None, progress: Callable | bool | None = None, name: str = "plan",
            layers: dict[str, gpd.GeoDataFrame] | None = None, exclude: list[Plan] | None = None) -> Plan:
    """Propose clusters for ``schools`` under ``rules``.

    Parameters
    ----------
    schools : GeoDataFrame
        The schools table (:func:`clustergeo.read_schools`). Excluded schools stay in the plan
        with their status.
    rules : Rules
    boundary : geometry, optional
        The authority outline, for Voronoi cells when ``areas`` is not given.
    areas : GeoSeries, optional
        One area per school (catchments or any areas holding the schools).
    network : path or graph, optional
        A road network (see :func:`clustergeo.travel.load_network`); without one, travel times
        are the labelled straight-line estimate.
    links : list of (school_id, school_id), optional
        Neighbour links added by hand (bridges, ferries).
    solver, time_limit, gap, threads, seed
        Passed to the solver. ``time_limit`` in seconds (default 120).
    progress : callable, False or None
        How the solve reports as it goes (see :func:`clustergeo.partition`): by default a
        status line on stderr once it has run 2 s; False for nothing.
    exclude : list of Plan, optional
        Earlier plans under the same rules to rule out (see :func:`alternatives`).

    Returns
    -------
    Plan

    Raises
    ------
    InfeasibleError
        With the reasons in planner language.
    """
    s = schools.reset_index(drop=True).copy()
    status = pd.Series("placed", index=s.index, dtype=object)
    cluster = pd.Series(None, index=s.index, dtype=object)
    excluded = s.get("excluded", pd.Series("", index=s.index)).fillna("") != ""
    status[excluded] = "excluded"
    for cname, sel in rules.apart.items():
        mask = _select(s, sel, f"apart cluster {cname!r}") & ~excluded & (status == "placed")
        if not mask.any():
            raise DataError(Problem(f"apart cluster {cname!r} selects no school", fix="check its selector"))
        status[mask], cluster[mask] = "apart", cname
    if rules.pinned:
        if "cluster" not in s.columns:
            raise DataError(Problem("pinned clusters need a current cluster column", column="cluster"))
        known = set(s["cluster"].dropna())
        for label in rules.pinned:
            if label not in known:
                import difflib

                near = difflib.get_close_matches(label, sorted(known), 1)
                raise DataError(Problem(f"pinned cluster {label!r} is not a current cluster", column="cluster",
                                        fix=f"did you mean {near[0]!r}?" if near else "check the label"))
        mask = s["cluster"].isin(rules.pinned) & (status == "placed")
        status[mask], cluster[mask] = "pinned", s.loc[mask, "cluster"]

    geo = s[status.isin(["placed", "pinned"])]
    if areas is None:
        if boundary is None:
            raise GraphError(Problem("need the authority boundary (or areas) to find neighbours",
                                     fix="pass boundary=... or areas=..."))
        cells = graphs.voronoi_cells(geo, boundary)
    else:
        cells = areas.loc[geo.index]
    g_all = graphs.school_graph(geo, cells)
    placed_ids = s.loc[status == "placed", "school_id"].tolist()
    g = g_all.subgraph(placed_ids).copy()
    if links:
        graphs.add_links(g, links)
    tt = travel.travel_times(s.loc[status == "placed"], network=network)
    added = []
    if len(graphs.components(g)) > 1:
        if rules.connect == "error":
            graphs.check_connected(g)
        added = graphs.connect_nearest(g, cost=tt)
        for a, b in added:
            log.warning("joined stray part: %s -- %s (nearest by travel time)", g.nodes[a]["name"], g.nodes[b]["name"])

    placed = s.loc[status == "placed"]
    membership = units.make_units(placed, keep_whole=rules.keep_whole, split=rules.redraw,
                                  must_link=rules.must_link)
    u = units.contract(g, membership)
    objective = OBJECTIVES[rules.objective]
    cost = tt.unit_costs(u) if objective == "hess" else None
    edge_w = None
    if rules.keep_current_weight > 0 and "cluster" in placed.columns:
        current = dict(zip(placed["school_id"], placed["cluster"]))
        edge_w = {}
        for a, b in g.edges:
            if current.get(a) is not None and current.get(a) == current.get(b):
                ua, ub = membership[a], membership[b]
                if ua != ub:
                    key = (ua, ub) if str(ua) < str(ub) else (ub, ua)
                    edge_w[key] = edge_w.get(key, 0.0) + rules.keep_current_weight
    forbid = None
    if rules.max_minutes is not None:
        # travel cap: unit i may not join hub j if its pupils would travel more than
        # max_minutes on average to j's hub school
        per_pupil = cost if cost is not None else tt.unit_costs(u)
        forbid = {(a, b) for (a, b), c in per_pupil.items()
                  if a != b and c / max(u.nodes[a]["pupils"], 1) > rules.max_minutes}
    k = rules.clusters
    result = partition(
        u, weight="pupils", bounds=rules.bounds(), k=k if k is not None else ("fewest" if rules.fewest else None),
        fewest=rules.fewest and k is not None, cost=cost, objective=objective,
        district="district" if rules.districts != "off" else None,
        district_mode=rules.districts if rules.districts != "off" else None,
        district_penalty=rules.district_penalty,
        division="division" if rules.divisions != "off" else None,
        division_mode=rules.divisions if rules.divisions != "off" else None,
        division_penalty=rules.division_penalty, edge_weights=edge_w, forbid=forbid,
        solver=solver, time_limit=time_limit, gap=gap, threads=threads, seed=seed, progress=progress,
        exclude=[old.run["unit_clusters"] for old in (exclude or [])] or None)
    school_cluster = units.expand(result.assignment, membership)
    row_of = dict(zip(s["school_id"], s.index))
    for sid, c in school_cluster.items():
        cluster[row_of[sid]] = c
    return build_plan(s, status, cluster, result=result, rules=rules, unit_graph=u, membership=membership,
                      school_graph=g_all, cells=cells, times=tt, links_added=added, name=name,
                      layers=layers or {}, settings_used={"threads": threads or settings.threads,
                                                          "seed": settings.seed if seed is None else seed,
                                                          "time_limit": time_limit, "gap_limit": gap})


def alternatives(schools: gpd.GeoDataFrame, rules: Rules, n: int = 3, **kwargs: Any) -> list[Plan]:
    """The best ``n`` distinct plans under one set of rules, best first.

    Each plan after the first is the best plan that differs from all earlier ones (a no-good
    constraint on the partition). Compare them with :func:`clustergeo.metrics_table`. Fewer than
    ``n`` come back when no further plan meets the rules.
    """
    from .errors import InfeasibleError

    plans: list[Plan] = []
    base = kwargs.pop("name", "plan")
    for i in range(n):
        try:
            plans.append(propose(schools, rules, exclude=plans, name=f"{base} #{i + 1}", **kwargs))
        except InfeasibleError:
            break
    return plans
