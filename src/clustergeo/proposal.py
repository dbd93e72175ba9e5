"""From a schools table and rules to a plan: the planner-level entry point.

:func:`propose` runs the whole flow: set aside excluded, apart and pinned schools; build the
neighbour graph and travel times; contract schools to planning units; compile the rules to
:func:`clustergeo.partition`; expand the answer back to schools; build the :class:`Plan`; and
check it with the independent checker before returning it.
"""

from __future__ import annotations

import difflib
import logging
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import pandas as pd

from . import crossings, penalty, travel, units
from . import graph as graphs
from .errors import (
    DataError,
    GraphError,
    InfeasibleError,
    Problem,
    RulesError,
    SolverError,
)
from .measure import count_phases, measured, record_measure
from .plan import Plan, build_plan
from .rules import OBJECTIVES, Rules, hub_schools
from .settings import settings
from .solve import partition
from .solve.problem import CROSSING_CAP_KEY

log = logging.getLogger(__name__)


def _select(schools: pd.DataFrame, selector: dict[str, Any], what: str) -> pd.Series:
    mask = pd.Series(True, index=schools.index)
    for col, values in selector.items():
        if col not in schools.columns:
            raise DataError(
                Problem(
                    f"{what} selects on a column the schools table does not have",
                    column=col,
                    fix=f"use one of {list(schools.columns)}",
                )
            )
        values = values if isinstance(values, (list, tuple, set)) else [values]
        mask &= schools[col].isin(list(values))
    return mask


#: the solver settings :func:`propose` takes as keywords, with their defaults
SOLVER_OPTIONS = {"solver": None, "time_limit": 120.0, "gap": None, "threads": None, "seed": None}


def _solver_options(given: dict[str, Any]) -> dict[str, Any]:
    """The solver settings with their defaults; an unknown keyword is a TypeError naming it."""
    unknown = sorted(set(given) - set(SOLVER_OPTIONS))
    if unknown:
        raise TypeError(
            f"propose() got unexpected keyword argument(s) {', '.join(map(repr, unknown))}; "
            f"the solver settings are {', '.join(SOLVER_OPTIONS)}"
        )
    return {**SOLVER_OPTIONS, **given}


def propose(
    schools: gpd.GeoDataFrame,
    rules: Rules,
    *,
    boundary: Any = None,
    areas: gpd.GeoSeries | None = None,
    network: Any = None,
    links: list[tuple[str, str]] | None = None,
    progress: Callable | bool | None = None,
    name: str = "plan",
    layers: dict[str, gpd.GeoDataFrame] | None = None,
    exclude: list[Plan] | None = None,
    **solver_options: Any,
) -> Plan:
    """Propose clusters for ``schools`` under ``rules``.

    The stages, each a function of this module: :func:`set_aside` (excluded, apart and pinned
    schools), :func:`neighbours` (graph and travel times), :func:`compile_units` (units and
    the costs the rules imply), :func:`solve_units` (the optimiser, with the crossing cap or
    fewest crossings when asked) and :func:`assemble` (the checked :class:`Plan`, with the
    proofs and the district report in its run record).

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
    **solver_options
        ``solver``, ``time_limit`` (seconds, default 120), ``gap``, ``threads`` and ``seed``,
        passed to the solver (:data:`SOLVER_OPTIONS`).
    progress : callable, False or None
        How the solve reports as it goes (see :func:`clustergeo.partition`): by default a
        status line on stderr once it has run 2 s; False for nothing.
    exclude : list of Plan, optional
        Earlier plans under the same rules to rule out (see :func:`alternatives`).
    name : str
        The plan's title in the summary, maps and report (default ``"plan"``).
    layers : dict of str to GeoDataFrame, optional
        Context drawn on the maps: ``districts`` (their lines), ``authority``.

    Returns
    -------
    Plan

    Raises
    ------
    InfeasibleError
        With the reasons in planner language.

    Examples
    --------
    >>> import clustergeo as cg
    >>> ds = cg.datasets.load("north-lanarkshire")
    >>> plan = cg.propose(ds.schools, cg.Rules(min_schools=8, max_schools=13, clusters=10),
    ...                   boundary=ds.layers["authority"])  # doctest: +SKIP
    """
    opts = {**_solver_options(solver_options), "progress": progress}
    prep = prepare(schools, rules, boundary=boundary, areas=areas, links=links, network=network)
    threads, seed, time_limit, gap = opts["threads"], opts["seed"], opts["time_limit"], opts["gap"]
    result, crossing_proof = solve_units(
        prep.u, rules, prep.compiled, opts, exclude=exclude, fixed_crossings=prep.fixed_crossings
    )
    return finish(
        prep,
        result,
        rules,
        crossing_proof=crossing_proof,
        name=name,
        layers=layers,
        settings_used={
            "threads": threads or settings.threads,
            "seed": settings.seed if seed is None else seed,
            "time_limit": time_limit,
            "gap_limit": gap,
        },
    )


@dataclass
class Prepared:
    """What the stages before the solve produce (see :func:`prepare`)."""

    schools: pd.DataFrame
    status: pd.Series
    cluster: pd.Series
    school_graph: Any
    cells: Any
    times: Any
    links_added: list
    membership: pd.Series
    u: Any
    compiled: dict
    fixed_crossings: int


def prepare(
    schools: gpd.GeoDataFrame,
    rules: Rules,
    *,
    boundary: Any = None,
    areas: Any = None,
    links: list | None = None,
    network: Any = None,
) -> Prepared:
    """Stages 1 to 3: set aside, neighbours and travel times, units and compiled rules."""
    s = measured(schools.reset_index(drop=True).copy(), rules)
    status, cluster = set_aside(s, rules)
    g_all, g, cells, tt, added = neighbours(
        s, status, rules, boundary=boundary, areas=areas, links=links, network=network
    )
    membership, u, compiled = compile_units(s.loc[status == "placed"], g, rules, tt)
    return Prepared(
        s, status, cluster, g_all, cells, tt, added, membership, u, compiled, _pinned_crossings(s, status, cluster)
    )


def finish(
    prep: Prepared,
    result: Any,
    rules: Rules,
    *,
    crossing_proof: dict | None = None,
    name: str = "plan",
    layers: dict | None = None,
    settings_used: dict | None = None,
) -> Plan:
    """Stage 5: schools back from units, the checked :class:`Plan`, its proofs and reports."""
    cluster = prep.cluster.copy()
    row_of = dict(zip(prep.schools["school_id"], prep.schools.index))
    for sid, c in units.expand(result.assignment, prep.membership).items():
        cluster[row_of[sid]] = c
    plan = build_plan(
        prep.schools,
        prep.status,
        cluster,
        result=result,
        rules=rules,
        unit_graph=prep.u,
        membership=prep.membership,
        school_graph=prep.school_graph,
        cells=prep.cells,
        times=prep.times,
        links_added=prep.links_added,
        name=name,
        layers=layers or {},
        settings_used=settings_used or {},
    )
    return assemble(plan, prep.u, result, rules, crossing_proof)


def _pinned_crossings(s: pd.DataFrame, status: pd.Series, cluster: pd.Series) -> int:
    """How many pinned clusters have schools in more than one district (fixed before solving)."""
    if "district" not in s.columns:
        return 0
    pinned = s[status == "pinned"].assign(cluster=cluster[status == "pinned"])
    return int((pinned.groupby("cluster")["district"].nunique() > 1).sum())


def set_aside(s: pd.DataFrame, rules: Rules) -> tuple[pd.Series, pd.Series]:
    """Stage 1: each school's status (placed, excluded, apart, pinned) and, for apart and pinned
    schools, their cluster."""
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
                near = difflib.get_close_matches(label, sorted(known), 1)
                raise DataError(
                    Problem(
                        f"pinned cluster {label!r} is not a current cluster",
                        column="cluster",
                        fix=f"did you mean {near[0]!r}?" if near else "check the label",
                    )
                )
        mask = s["cluster"].isin(rules.pinned) & (status == "placed")
        status[mask], cluster[mask] = "pinned", s.loc[mask, "cluster"]
    return status, cluster


def neighbours(
    s: pd.DataFrame, status: pd.Series, rules: Rules, *, boundary: Any, areas: Any, links: list | None, network: Any
) -> tuple[Any, Any, Any, Any, list]:
    """Stage 2: the school graph (all geographic schools), the graph of the placed ones (stray
    parts joined or reported), their cells and the travel times."""
    geo = s[status.isin(["placed", "pinned"])]
    if areas is None:
        if boundary is None:
            raise GraphError(
                Problem(
                    "need the authority boundary (or areas) to find neighbours", fix="pass boundary=... or areas=..."
                )
            )
        cells = graphs.voronoi_cells(geo, boundary)
    else:
        cells = areas.loc[geo.index]
    g_all = graphs.school_graph(geo, cells)
    g = g_all.subgraph(s.loc[status == "placed", "school_id"].tolist()).copy()
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
    return g_all, g, cells, tt, added


def compile_units(placed: pd.DataFrame, g: Any, rules: Rules, tt: Any) -> tuple[pd.Series, Any, dict]:
    """Stage 3: planning units, the unit graph, and what the rules compile to: the cost, the
    edge weights (keeping current clusters) and the unit-hub pairs a travel cap forbids."""
    membership = units.make_units(placed, keep_whole=rules.keep_whole, split=rules.redraw, must_link=rules.must_link)
    u = units.contract(g, membership)
    count_phases(u, placed, rules)  # schools of each phase per unit, for the composition rule
    hubs = _hub_units(placed, u, rules)
    objective = OBJECTIVES[rules.objective]
    cost = tt.unit_costs(u) if objective == "hess" else None
    edge_w: dict[tuple[Hashable, Hashable], float] | None = None
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
        forbid = {
            (a, b) for (a, b), c in per_pupil.items() if a != b and c / max(u.nodes[a]["pupils"], 1) > rules.max_minutes
        }
    return membership, u, {"cost": cost, "objective": objective, "edge_weights": edge_w, "forbid": forbid, "hubs": hubs}


def _hub_units(placed: pd.DataFrame, u: Any, rules: Rules) -> frozenset | None:
    """The units that may head a cluster under ``rules.hubs`` (None: any), each with its
    ``hub_school``: its largest candidate school, where travel is measured to."""
    candidates = hub_schools(rules, placed)
    if candidates is None:
        return None
    pupils = dict(zip(placed["school_id"].astype(str), placed["pupils"]))
    out = set()
    for v, d in u.nodes(data=True):
        mine = [m for m in d.get("members", [v]) if str(m) in candidates]
        if mine:
            d["hub_school"] = max(mine, key=lambda m: (pupils.get(str(m), 0), str(m)))
            out.add(v)
    if not out:
        raise RulesError(
            f"rule 'hubs' = {rules.hubs!r} leaves no placed school that may be a hub; "
            "name other schools or a phase the placed schools have"
        )
    return frozenset(out)


def partition_kwargs(rules: Rules, compiled: dict, opts: dict, *, exclude: list[Plan] | None = None) -> dict:
    """The arguments of :func:`clustergeo.partition` the rules compile to."""
    k = rules.clusters
    return dict(
        weight="pupils",
        bounds=rules.bounds(),
        k=k,
        fewest=rules.fewest,
        cost=compiled["cost"],
        objective=compiled["objective"],
        district="district" if rules.districts != "off" else None,
        district_mode=rules.districts if rules.districts != "off" else None,
        district_penalty=rules.district_penalty,
        division="division" if rules.divisions != "off" else None,
        division_mode=rules.divisions if rules.divisions != "off" else None,
        division_penalty=rules.division_penalty,
        edge_weights=compiled["edge_weights"],
        forbid=compiled["forbid"],
        hubs=compiled.get("hubs"),
        **opts,
        exclude=[old.run["unit_clusters"] for old in (exclude or [])] or None,
    )


def solve_units(
    u: Any, rules: Rules, compiled: dict, opts: dict, *, exclude: list[Plan] | None = None, fixed_crossings: int = 0
) -> tuple[Any, dict | None]:
    """Stage 4: :func:`clustergeo.partition` on the unit graph; with ``max_crossings`` or
    ``fewest_crossings``, :func:`clustergeo.crossings.fewest_crossings` (then also its proof)."""
    kwargs = partition_kwargs(rules, compiled, opts, exclude=exclude)
    if rules.fewest_crossings or rules.max_crossings is not None:
        cap = rules.max_crossings
        if not rules.fewest_crossings and cap is not None:  # a cap alone: one solve under it
            g = u.copy()
            g.graph[CROSSING_CAP_KEY] = max(cap - fixed_crossings, 0)
            if cap < fixed_crossings:
                raise InfeasibleError(
                    [
                        (
                            f"the kept clusters alone cross district lines {fixed_crossings} times, "
                            f"more than the cap of {rules.max_crossings}"
                        )
                    ],
                    relaxations=[f"allow {fixed_crossings} crossing clusters"],
                )
            return partition(g, **{**kwargs, "contiguity": "cuts", "decompose": False}), None
        return crossings.fewest_crossings(
            u, max_crossings=rules.max_crossings, fixed_crossings=fixed_crossings, **kwargs
        )
    if rules.districts == "penalty" and rules.fewest and not exclude:
        # the plan inside districts is a plan here too, and decomposes: start from it
        t0 = time.perf_counter()
        found = penalty.penalty_plan(u, **kwargs)
        if found is not None:
            return found, None
        if kwargs.get("time_limit") is not None:  # the time limit covers both tries
            kwargs["time_limit"] = max(kwargs["time_limit"] - (time.perf_counter() - t0), penalty.FINAL_MIN_SECONDS)
    return partition(u, **kwargs), None


def assemble(plan: Plan, u: Any, result: Any, rules: Rules, crossing_proof: dict | None) -> Plan:
    """Stage 5: record the proofs and the district report in the plan's run record and metrics."""
    record_measure(plan, rules)
    search = getattr(result, "count_search", None)
    if rules.fewest and search:
        plan.run["fewest_proof"] = {
            "fewest": int(search["count"]),
            "proved": not search["not_settled"],  # every smaller count down to the lower bound ruled out
            "proof": penalty.count_words(search),
            "search": search,
            "seconds": round(float(result.seconds), 3),
        }
    elif rules.fewest:
        plan.run["fewest_proof"] = crossings.count_proof(
            u,
            result,
            bounds=rules.bounds(),
            k=rules.clusters,
            district="district" if rules.districts == "within" else None,
        )
    if "district" in plan.schools.columns:
        report = crossings.district_report(plan.schools)
        plan.run["district_crossings"] = report.to_dict(orient="records")
        plan.metrics["clusters_crossing_districts"] = len(report)
        plan.metrics["schools_outside_district"] = int(report["outside"].sum())
        cap = rules.max_crossings
        if cap is not None and len(report) > cap:
            raise SolverError(f"internal error: {len(report)} clusters cross district lines, above the cap of {cap}")
        words = crossings.gave_way(report, clusters=int(plan.metrics["clusters_total"]))
        if words and rules.districts == "within":
            plan.run["gave_way"] = words
    if crossing_proof is not None:
        crossing_proof["of"] = int(plan.metrics["clusters"] + plan.metrics["pinned_clusters"])
        plan.run["crossings_proof"] = crossing_proof
    outside = _zoned_outside(plan.schools)
    if outside:
        plan.run["zoned_outside"] = outside
    return plan


def _zoned_outside(schools: pd.DataFrame) -> list[str]:
    """The schools whose catchment secondary is outside the authority, where they were placed and how."""
    if "cluster_source" not in schools.columns:
        return []
    rows = schools[schools["cluster_source"].astype(str).str.contains("out of authority")]
    out = []
    for _, r in rows.iterrows():
        zoned = r.get("sn_catchment_secondary_name") or r.get("sn_catchment_secondary_seed") or "a secondary"
        whole = r.get("unit") not in (None, r["school_id"])
        how = {"apart": "with its group, outside the geography", "pinned": "in a kept cluster"}.get(
            r["status"],
            (
                f"with its current cluster, {r.get('current_cluster')}'s, merged whole"
                if whole
                else "placed school by school"
            )
            + f"; {r.get('current_cluster')} is the nearest council "
            "secondary of its layer",
        )
        out.append(f"{r['name']} (zoned to {zoned}, outside the council): in {r['cluster']} ({how})")
    return out


def alternatives(
    schools: gpd.GeoDataFrame, rules: Rules, n: int = 3, *, min_difference: float = 0.0, **kwargs: Any
) -> list[Plan]:
    """The best ``n`` distinct plans under one set of rules, best first.

    Each plan after the first is the best plan that differs from all earlier ones: by at least
    one school (a no-good constraint on the partition), or, with ``min_difference``, by at
    least that share of the schools (0 to 1) in a different cluster after matching clusters
    one to one (:func:`clustergeo.versions.difference`; enforced exactly, see
    :func:`clustergeo.versions.differing_partition`). Compare them with
    :func:`clustergeo.versions.versions_table`. Fewer than ``n`` come back when no further
    plan meets the rules.

    Examples
    --------
    >>> plans = alternatives(schools, rules, n=3, min_difference=0.1, boundary=b)  # doctest: +SKIP
    """
    from .versions import differing_partition

    plans: list[Plan] = []
    base = kwargs.pop("name", "plan")
    if min_difference <= 0:
        for i in range(n):
            try:
                plans.append(propose(schools, rules, exclude=plans, name=f"{base} #{i + 1}", **kwargs))
            except InfeasibleError:
                break
        return plans
    if rules.fewest_crossings or rules.max_crossings is not None:
        raise RulesError(
            "alternatives with a minimum difference do not combine with crossing caps yet; "
            "use min_difference=0 or drop max_crossings/fewest_crossings"
        )
    place = {key: kwargs.pop(key) for key in ("boundary", "areas", "links", "network") if key in kwargs}
    layers = kwargs.pop("layers", None)
    prep = prepare(schools, rules, **place)
    opts = {key: kwargs.get(key) for key in ("solver", "time_limit", "gap", "threads", "seed", "progress")}
    for i in range(n):
        earlier = [p.run["unit_clusters"] for p in plans]
        try:
            result = differing_partition(
                prep.u, earlier, min_difference=min_difference, **partition_kwargs(rules, prep.compiled, opts)
            )
        except InfeasibleError:
            break
        plan = finish(
            prep,
            result,
            rules,
            name=f"{base} #{i + 1}",
            layers=layers,
            settings_used={"time_limit": opts["time_limit"], "min_difference": min_difference},
        )
        plans.append(plan)
    return plans
