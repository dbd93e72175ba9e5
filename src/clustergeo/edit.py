"""Editing a proposal: start from any plan, move schools, lock clusters, repair around the edits.

No planner takes an optimiser's plan untouched. This module turns a plan into something to
work on:

* :func:`clustergeo.read.read_assignment` reads any plan (``school_id,cluster`` as CSV, a
  GeoPackage layer or a saved plan folder), such as a council's current clusters or a plan
  edited in QGIS, and checks it against the schools data (with :func:`plan_from_board`);
* :func:`move` and :func:`lock` are edits as values: each returns a new :class:`~clustergeo.Plan`
  and keeps the one before (``plan.undo()``), so a history is a list of plans;
* :func:`violations` lists every rule a plan breaks, in planner language;
* :func:`repropose` re-optimises only the part of the plan around the edits, exactly (the
  clusters touching the edits and their neighbours, widened when that part alone cannot meet
  the rules or finds no plan in its share of the time), starting from the edited plan, and
  keeps everything else as it was;
* :func:`polish` improves a whole plan by a large-neighbourhood search: a few adjacent clusters
  at a time, each sub-problem solved exactly by :func:`clustergeo.partition`.

A school a planner moved is locked where it was put; a locked school stays in the cluster of
that name with the cluster's hub school (the school it is named after; in a repair, the locked
schools, the hub and the units joining them inside that cluster are kept together), and a locked
cluster keeps exactly its schools. The locks and edits travel with the
plan in its run record (``plan.run["edit"]``).
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
import re
import time
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely

from . import graph as graphs
from . import travel, units
from .check import unit_words, verify_plan
from .errors import DataError, InfeasibleError, NoPlanInTimeError, Problem, RulesError
from .labels import counted
from .measure import count_phases, record_measure
from .rules import OBJECTIVES, Rules
from .solve import PartitionResult, partition
from .solve.options import BUDGET
from .tables import plan_tables

if TYPE_CHECKING:  # edits receive plans and build new ones of the same type: plan is not imported
    from .plan import Plan

log = logging.getLogger(__name__)

EDIT_KEY = "edit"  # the run-record key holding the locks and the edits
SPLIT_KEY = "split_units"  # the run-record key: units a plan read from a file puts in several clusters
MAX_NAMED_MOVES = 6  # schools named in one split unit's line
MISSPELT_CUTOFF = 0.93  # difflib similarity above which a small cluster's name is taken for a typo
MISSPELT_MAX_SCHOOLS = 3  # ... when it holds at most this many schools
SEPARATION_TRIES = 5  # re-solves that rule out a plan joining two locked clusters before giving up
ANCHOR = "locked: "  # prefix of the node that stands for a cluster's locked schools in a sub-problem
#: of the repair's time left, the share one free part gets while a wider part remains to try
REPAIR_TRY_SHARE = 0.5
HUB_KEEPS_NAME = 1e6  # matching weight: a cluster holding an old cluster's hub school keeps its name
PLAN_COLUMNS = ("cluster", "status", "unit", "hub_school", "minutes_to_hub")  # added by build_plan


# --------------------------------------------------------------------------- the ground a plan is drawn on


@dataclass
class Geography:
    """What every plan of one authority is drawn on: the schools, their areas, neighbours and
    travel times.

    Attributes
    ----------
    schools : GeoDataFrame
        The input schools table (``cluster`` is the current cluster, as given to
        :func:`clustergeo.propose`).
    status : pandas.Series
        ``school_id -> placed | pinned | apart | excluded``.
    cells : GeoSeries
        The area of each school on the map (placed and pinned schools), indexed like ``schools``.
    graph : networkx.Graph
        The neighbour graph of the placed schools, links included.
    times : TravelTimes
        Travel times in minutes between the placed schools.
    links_added : list of (school_id, school_id)
        Links joining stray parts of the graph.
    """

    schools: gpd.GeoDataFrame
    status: pd.Series
    cells: gpd.GeoSeries
    graph: nx.Graph
    times: travel.TravelTimes
    links_added: list = field(default_factory=list)
    _cache: dict = field(default_factory=dict, repr=False)

    def unit_graph(self, membership: dict) -> tuple[nx.Graph, dict[tuple[Hashable, Hashable], float]]:
        """The unit graph for ``membership`` (school -> unit) and its unit-hub costs in
        pupil-minutes (cached: a repair asks for the same units many times)."""
        key = tuple(sorted((str(k), str(v)) for k, v in membership.items()))
        if key not in self._cache:
            u = units.contract(self.graph, membership)
            self._cache.clear()  # one membership at a time: the cost table is large
            self._cache[key] = (u, self.times.unit_costs(u))
        return self._cache[key]


@dataclass
class EditState:
    """What an edited plan carries besides its tables: the geography and the plan before."""

    geography: Geography | None = None
    parent: Plan | None = None


def geography(
    schools: gpd.GeoDataFrame,
    status: pd.Series | None = None,
    *,
    boundary: Any = None,
    areas: gpd.GeoSeries | None = None,
    network: Any = None,
    links: Iterable[tuple[str, str]] | None = None,
    unit_edges: Iterable[tuple[str, str]] | None = None,
    membership: dict | None = None,
) -> Geography:
    """Build the :class:`Geography` of ``schools`` the way :func:`clustergeo.propose` does.

    Parameters
    ----------
    schools : GeoDataFrame
        The schools table (:func:`clustergeo.read_schools`).
    status : Series, optional
        ``school_id -> status``; by default ``excluded`` where the table says so, else ``placed``.
    boundary, areas, network, links
        As for :func:`clustergeo.propose`.
    unit_edges, membership : optional
        The neighbour pairs of units of a saved plan and its school -> unit map: pairs the
        school graph lacks (links added by hand) are restored between their nearest schools.

    Returns
    -------
    Geography

    Examples
    --------
    >>> import clustergeo as cg
    >>> nl = cg.datasets.load("north-lanarkshire")
    >>> geo = cg.edit.geography(nl.schools, boundary=nl.layers["authority"])  # doctest: +SKIP
    """
    s = schools.reset_index(drop=True).copy()
    s["school_id"] = s["school_id"].astype(str)
    if status is None:
        excluded = s.get("excluded", pd.Series("", index=s.index)).fillna("") != ""
        status = pd.Series(np.where(excluded, "excluded", "placed"), index=s["school_id"])
    status = status.reindex(s["school_id"]).fillna("excluded")
    st = pd.Series(status.values, index=s.index)
    geo = s[st.isin(["placed", "pinned"])]
    if areas is not None:
        cells = areas.reset_index(drop=True).loc[geo.index]  # one area per school, in the table's order
    elif boundary is not None:
        cells = graphs.voronoi_cells(geo, boundary)
    else:
        raise DataError(
            Problem("need the authority boundary (or areas) to find neighbours", fix="pass boundary=... or areas=...")
        )
    g = graphs.school_graph(geo, cells).subgraph(s.loc[st == "placed", "school_id"]).copy()
    if links:
        graphs.add_links(g, links)
    tt = travel.travel_times(s.loc[st == "placed"], network=network)
    if unit_edges is not None and membership:
        _restore_links(g, unit_edges, membership, tt)
    added = graphs.connect_nearest(g, cost=tt) if len(graphs.components(g)) > 1 else []
    return Geography(s, status, cells, g, tt, added)


def _restore_links(g: nx.Graph, unit_edges: Iterable, membership: dict, tt: travel.TravelTimes) -> None:
    members: dict = {}
    for sid, u in membership.items():
        if sid in g:
            members.setdefault(str(u), []).append(sid)
    for a, b in unit_edges:
        ma, mb = members.get(str(a), []), members.get(str(b), [])
        if ma and mb and not any(g.has_edge(x, y) for x in ma for y in mb):
            best = min((tt(x, y), x, y) for x in ma for y in mb)
            g.add_edge(best[1], best[2], link="restored")


def input_table(plan: Plan) -> gpd.GeoDataFrame:
    """The schools table a plan was drawn from (its ``current_cluster`` back as ``cluster``)."""
    s = plan.schools.drop(columns=[c for c in PLAN_COLUMNS if c in plan.schools])
    if "current_cluster" in s:
        s = s.rename(columns={"current_cluster": "cluster"})
    return s.reset_index(drop=True)


def geography_of(plan: Plan, *, network: Any = None, boundary: Any = None) -> Geography:
    """The :class:`Geography` of ``plan``: the one it carries, else rebuilt from the plan itself
    (its schools; the cells within the outline of its clusters unless ``boundary`` is given;
    its neighbour pairs of units)."""
    state = plan.edit_state
    if state is not None and state.geography is not None:
        return state.geography
    if plan.run.get("travel_method") == "road" and network is None:
        raise DataError(
            Problem(
                "the plan's travel times came from a road network",
                fix="pass network= (the same network file) to read or edit it",
            )
        )
    if boundary is None:
        outline = plan.clusters.geometry.dropna()
        if not len(outline):
            raise DataError(
                Problem("the plan has no cluster polygons to take the outline from", fix="pass boundary=...")
            )
        boundary = shapely.union_all(outline.values)
    status = pd.Series(plan.schools["status"].values, index=plan.schools["school_id"].astype(str))
    membership = {
        str(a): str(b)
        for a, b in zip(plan.schools["school_id"], plan.schools.get("unit", []))
        if b is not None and not (isinstance(b, float) and np.isnan(b))
    }
    geo = geography(
        input_table(plan),
        status,
        boundary=boundary,
        network=network,
        unit_edges=plan.run.get("unit_edges"),
        membership=membership,
    )
    plan.edit_state = EditState(geo, state.parent if state is not None else None)
    return geo


# --------------------------------------------------------------------------- the unit-level board


@dataclass
class Board:
    """A plan at the level a repair works on: units, their clusters and the locks."""

    geo: Geography
    rules: Rules
    membership: dict  # school -> unit (placed schools)
    label: dict  # unit -> cluster label (placed units)
    hub: dict  # cluster label -> hub unit
    locked: set  # cluster labels kept exactly as they are
    anchors: dict  # cluster label -> units holding its locked schools
    labels_fixed: dict = field(default_factory=dict)  # non-geographic schools -> their label

    @property
    def units(self) -> nx.Graph:
        return count_phases(self.geo.unit_graph(self.membership)[0], self.geo.schools, self.rules)

    @property
    def cost(self) -> dict:
        return self.geo.unit_graph(self.membership)[1]

    def clusters(self) -> dict:
        out: dict = {}
        for v, c in self.label.items():
            out.setdefault(c, []).append(v)
        return out

    def best_hub(self, members: list) -> Hashable:
        cost = self.cost
        return min(members, key=lambda j: (sum(cost[i, j] for i in members), str(j)))


def _edge_weights(board: Board) -> dict:
    """Extra cost for neighbours of one current cluster put apart (``keep_current_weight``)."""
    w = board.rules.keep_current_weight
    if w <= 0:
        return {}
    g, m = board.geo.graph, board.membership
    out: dict = {}
    for a, b in g.edges:
        ca, cb = g.nodes[a].get("cluster"), g.nodes[b].get("cluster")
        if ca is not None and ca == cb and m[a] != m[b]:
            key = (m[a], m[b]) if str(m[a]) < str(m[b]) else (m[b], m[a])
            out[key] = out.get(key, 0.0) + w
    return out


def objective(plan: Plan, rules: Rules | None = None) -> float:
    """The objective of ``plan`` under ``rules``, in the solver's units (pupil-minutes to the hub,
    or split neighbour pairs), penalties included; each cluster headed by its best hub.

    Examples
    --------
    >>> objective(plan)  # doctest: +SKIP
    1262807.5
    """
    return _objective(_board(plan, rules or plan.rules))


def _objective(board: Board, clusters: dict | None = None) -> float:
    rules, u = board.rules, board.units
    clusters = clusters if clusters is not None else board.clusters()
    label = {v: c for c, ms in clusters.items() for v in ms}
    total = 0.0
    if OBJECTIVES[rules.objective] == "hess":
        cost = board.cost
        for ms in clusters.values():
            total += min(sum(cost[i, j] for i in ms) for j in ms)
    else:
        total += sum(1.0 for a, b in u.edges if a in label and b in label and label[a] != label[b])
    for (a, b), w in _edge_weights(board).items():
        if a in label and b in label and label[a] != label[b]:
            total += w
    for attr, mode, pen in (
        ("district", rules.districts, rules.district_penalty),
        ("division", rules.divisions, rules.division_penalty),
    ):
        if mode == "penalty":
            total += pen * sum(len({u.nodes[v].get(attr) for v in ms}) - 1 for ms in clusters.values())
    return float(total)


def _edit_record(plan: Plan) -> dict:
    """The locks and edits of ``plan``: ``locked_clusters`` (label -> its school ids when
    locked), ``locked_schools`` (school id -> label) and ``moves`` (in order)."""
    rec = plan.run.get(EDIT_KEY) or {}
    return {
        "locked_clusters": {c: list(v) for c, v in dict(rec.get("locked_clusters", {})).items()},
        "locked_schools": dict(rec.get("locked_schools", {})),
        "moves": list(rec.get("moves", [])),
    }


def _board(plan: Plan, rules: Rules, geo: Geography | None = None) -> Board:
    geo = geo or geography_of(plan)
    s = plan.schools
    placed = s[s["status"] == "placed"]
    membership = {str(a): str(b) for a, b in zip(placed["school_id"], placed["unit"])}
    label = {}
    for sid, c in zip(placed["school_id"].astype(str), placed["cluster"]):
        label[membership[sid]] = c
    unit_of = membership.get
    hub: dict = {}
    for c, grp in placed.groupby("cluster"):
        h = unit_of(str(grp["hub_school"].iloc[0])) if "hub_school" in grp else None
        hub[c] = h if h is not None and label.get(h) == c else None
    board = Board(geo, rules, membership, label, hub, set(), {})
    for c, ms in board.clusters().items():
        if hub.get(c) is None:
            hub[c] = board.best_hub(ms)
    rec = _edit_record(plan)
    board.locked = set(rec["locked_clusters"])
    for sid, c in rec["locked_schools"].items():
        if sid in membership:
            board.anchors.setdefault(c, set()).add(membership[sid])
    for c, us in board.anchors.items():  # a locked school stays with its cluster's hub school
        if hub.get(c) is not None:
            us.add(hub[c])
    board.labels_fixed = {
        str(a): c for a, c, st in zip(s["school_id"], s["cluster"], s["status"]) if st in ("pinned", "apart")
    }
    return board


def plan_from_board(
    board: Board,
    base: Plan | None,
    *,
    plan_type: type[Plan],
    name: str,
    status: str,
    record: dict,
    extra: dict | None = None,
    objective_value: float | None = None,
    seconds: float = 0.0,
    check: bool = False,
) -> Plan:
    """Assemble the Plan of ``board`` (tables, polygons, metrics) with the cluster labels kept.

    ``base`` is the plan edited (None for a plan read in); ``plan_type`` the class of the new
    plan (``type(base)``, or :class:`clustergeo.Plan`: this module does not import it).
    """
    geo = board.geo
    s = geo.schools
    u = board.units
    clusters = board.clusters()
    hub = {c: (board.hub.get(c) if board.hub.get(c) in ms else board.best_hub(ms)) for c, ms in clusters.items()}
    hub_label = {h: c for c, h in hub.items()}
    cluster = pd.Series(None, index=s.index, dtype=object)
    st = pd.Series(geo.status.reindex(s["school_id"]).values, index=s.index)
    target = {}
    for i, sid in zip(s.index, s["school_id"]):
        if st[i] == "placed":
            cluster[i] = hub[board.label[board.membership[sid]]]
            target[sid] = board.label[board.membership[sid]]
        elif st[i] in ("pinned", "apart"):
            cluster[i] = board.labels_fixed.get(sid)
    obj = _objective(board) if objective_value is None else objective_value
    result = PartitionResult(
        assignment={v: hub[c] for v, c in board.label.items()},
        hubs={h: h for h in hub_label},
        status=status,
        objective=obj,
        bound=None,
        gap=None,
        seconds=seconds,
        solver="clustergeo.edit",
        formulation="edit",
    )
    tables = plan_tables(
        s,
        st,
        cluster,
        result=result,
        rules=board.rules,
        unit_graph=u,
        membership=pd.Series(board.membership),
        cells=geo.cells,
        times=geo.times,
        name=name,
        settings_used={},
        links_added=geo.links_added,
    )
    plan = plan_type(name, *tables, board.rules, base.layers if base else {})
    built = dict(zip(plan.schools["school_id"].astype(str), plan.schools["cluster"]))
    rename = {built[sid]: lab for sid, lab in target.items()}
    plan.schools["cluster"] = plan.schools["cluster"].map(lambda c: rename.get(c, c))
    plan.clusters["cluster"] = plan.clusters["cluster"].map(lambda c: rename.get(c, c))
    plan.clusters = plan.clusters.sort_values("cluster").reset_index(drop=True)
    plan.run[EDIT_KEY] = record
    if base is not None and base.run.get(SPLIT_KEY):
        plan.run[SPLIT_KEY] = base.run[SPLIT_KEY]
    record_measure(plan, board.rules)
    plan.run.update(extra or {})
    plan.edit_state = EditState(geo, base)
    if check:
        problems = violations(plan)
        if problems:
            raise InfeasibleError(problems)
    return plan


# --------------------------------------------------------------------------- edits as values


def _school_row(plan: Plan, school: str) -> pd.Series:
    s = plan.schools
    ids = s["school_id"].astype(str)
    hit = s[(ids == str(school)) | (s["name"] == school)] if "name" in s else s[ids == str(school)]
    if len(hit) != 1:
        near = difflib.get_close_matches(str(school), sorted(ids) + sorted(s.get("name", pd.Series()).dropna()), 1)
        why = "is not in the plan" if not len(hit) else "matches several schools by name"
        raise DataError(
            Problem(
                f"the school {why}",
                school=str(school),
                column="school_id",
                fix=f"did you mean {near[0]!r}?" if near and not len(hit) else "give its id",
            )
        )
    return hit.iloc[0]


def _geographic(plan: Plan) -> list[str]:
    return sorted(plan.clusters.loc[plan.clusters["kind"] == "geographic", "cluster"].astype(str))


def _cluster_name(plan: Plan, cluster: str, *, what: str = "cluster") -> str:
    known = _geographic(plan)
    if cluster not in known:
        near = difflib.get_close_matches(str(cluster), known, 1)
        raise RulesError(
            f"{what} {cluster!r} is not a geographic cluster of the plan"
            + (f": did you mean {near[0]!r}?" if near else f"; its clusters: {', '.join(known[:8])} ...")
        )
    return cluster


def _derived(plan: Plan, record: dict, *, name: str | None = None) -> Plan:
    """A copy of ``plan`` with a new edit record, remembering ``plan`` as the one before."""
    run = {**plan.run, EDIT_KEY: record}
    new = dataclasses.replace(
        plan,
        name=name or plan.name,
        schools=plan.schools.copy(),
        clusters=plan.clusters.copy(),
        metrics=dict(plan.metrics),
        run=run,
    )
    state = plan.edit_state
    new.edit_state = EditState(state.geography if state is not None else None, plan)
    return new


def move(plan: Plan, school: str, *, to: str, lock: bool = True, name: str | None = None) -> Plan:
    """Move one school to another cluster: a new plan (the old one is ``new.undo()``).

    The school leaves its planning unit (a whole current cluster, say) and is locked in
    ``to`` unless ``lock=False``, so a repair keeps it where the planner put it. The new plan
    may break the rules: see :func:`violations`, then :func:`repropose`.

    Parameters
    ----------
    plan : Plan
    school : str
        Its id (URN or seed code) or its exact name.
    to : str
        A geographic cluster of the plan.
    lock : bool
        Lock the school in ``to`` (default).

    Returns
    -------
    Plan

    Examples
    --------
    >>> edited = plan.move("121034", to="Wymondham High Academy cluster")  # doctest: +SKIP
    >>> edited.violations()  # doctest: +SKIP
    ["cluster 'Hethersett Academy cluster' has 2,310 pupils, below the minimum 2,500"]
    """
    row = _school_row(plan, school)
    sid, was = str(row["school_id"]), row["cluster"]
    if row["status"] != "placed":
        raise RulesError(
            f"school {sid} ({row.get('name', sid)}) is {row['status']}: only schools of geographic clusters move"
        )
    to = _cluster_name(plan, to, what="target cluster")
    record = _edit_record(plan)
    for c in {was, to} - {None} if was != to else set():
        if c in record["locked_clusters"]:
            raise RulesError(
                f"cluster {c!r} is locked: it keeps exactly its schools (undo the lock, or move another school)"
            )
    board = _board(plan, plan.rules)
    unit = board.membership[sid]
    if sum(1 for u in board.membership.values() if u == unit) > 1:
        board.membership[sid] = sid  # the planner splits the unit: this school goes on its own
    board.label[board.membership[sid]] = to
    live = set(board.membership.values())
    board.label = {v: c for v, c in board.label.items() if v in live}
    record["moves"].append({"school": sid, "name": str(row.get("name", sid)), "from": was, "to": to})
    if lock:
        record["locked_schools"][sid] = to
    new = plan_from_board(board, plan, plan_type=type(plan), name=name or plan.name, status="edited", record=record)
    new.run["seconds"] = 0.0
    return new


def lock(plan: Plan, *, clusters: Iterable[str] | None = None, schools: Iterable[str] | None = None) -> Plan:
    """Lock whole clusters (kept exactly as they are) and schools (kept in their cluster).

    Returns a new plan; the old one is ``new.undo()``.

    Examples
    --------
    >>> locked = plan.lock(clusters=["Dereham Neatherd High School cluster"], schools=["121034"])  # doctest: +SKIP
    """
    record = _edit_record(plan)
    for c in clusters or ():
        c = _cluster_name(plan, str(c))
        members = plan.schools.loc[plan.schools["cluster"] == c, "school_id"].astype(str)
        record["locked_clusters"][c] = sorted(members)
    for school in schools or ():
        row = _school_row(plan, str(school))
        if row["status"] != "placed":
            raise RulesError(f"school {row['school_id']} is {row['status']}: it is not in a geographic cluster")
        record["locked_schools"][str(row["school_id"])] = row["cluster"]
    return _derived(plan, record)


def undo(plan: Plan) -> Plan:
    """The plan before the last edit (the same object).

    Examples
    --------
    >>> plan.move("121034", to="Wymondham High Academy cluster").undo() is plan  # doctest: +SKIP
    True
    """
    state = plan.edit_state
    if state is None or state.parent is None:
        raise RulesError("nothing to undo: this plan was not made by an edit")
    return state.parent


def violations(plan: Plan, rules: Rules | None = None) -> list[str]:
    """Every rule ``plan`` breaks (sizes, one piece, districts, the count, the locks), in words.

    Empty when the plan meets ``rules`` (default: the plan's own).

    Examples
    --------
    >>> plan.move("121034", to="Wymondham High Academy cluster").violations()  # doctest: +SKIP
    ["cluster 'Hethersett Academy cluster' has 2,310 pupils, below the minimum 2,500"]
    """
    rules = rules or plan.rules
    s = plan.schools
    out = [
        p
        for p in verify_plan(s, plan.clusters, rules.to_dict(), plan.run.get("unit_edges"))
        if not p.endswith("is not in one piece")
    ]
    out += _pieces(plan)
    out += split_units(plan)
    name_of = dict(zip(s["school_id"].astype(str), s.get("name", s["school_id"])))
    where = dict(zip(s["school_id"].astype(str), s["cluster"]))
    record = _edit_record(plan)
    for sid, c in record["locked_schools"].items():
        if where.get(sid) != c:
            out.append(f"{name_of.get(sid, sid)} ({sid}) is locked in {c!r} but is in {where.get(sid)!r}")
    for c, members in record["locked_clusters"].items():
        now = sorted(s.loc[s["cluster"] == c, "school_id"].astype(str))
        if now != sorted(members):
            out.append(f"locked cluster {c!r} was changed ({len(set(now) ^ set(members))} schools differ)")
    return out


def name_hints(plan: Plan) -> list[str]:
    """Small clusters whose name is nearly another, larger cluster's: in an edited file, most
    likely a typo (a hint, not a broken rule: a planner may name a new cluster so).

    Examples
    --------
    >>> cg.edit.name_hints(plan)  # doctest: +SKIP
    ["cluster 'Attleborugh Academy cluster' (1 school) is nearly the name of 'Attleborough Academy cluster': a typo?"]
    """
    counts = plan.schools.loc[plan.schools["status"] == "placed", "cluster"].astype(str).value_counts()
    out = []
    for c, n in counts.items():
        others = [x for x in counts.index if x != c and counts[x] > n]
        near = difflib.get_close_matches(c, others, 1, MISSPELT_CUTOFF)
        if near and n <= MISSPELT_MAX_SCHOOLS and not _numbered_alike(c, near[0]):
            out.append(f"cluster {c!r} ({counted(int(n), 'school')}) is nearly the name of {near[0]!r}: a typo?")
    return out


def _numbered_alike(a: str, b: str) -> bool:
    """ "Cluster 1" and "Cluster 12": names that differ in their numbers are not typos of each other."""
    return re.sub(r"\d+", "#", a) == re.sub(r"\d+", "#", b) and re.findall(r"\d+", a) != re.findall(r"\d+", b)


def _split(plan: Plan) -> list[tuple[str, str, list[str]]]:
    """The units of ``run["split_units"]`` still in several clusters: ``(unit, the cluster
    holding most of its schools, the schools elsewhere)``."""
    where = dict(zip(plan.schools["school_id"].astype(str), plan.schools["cluster"]))
    out: list[tuple[str, str, list[str]]] = []
    for unit, members in (plan.run.get(SPLIT_KEY) or {}).items():
        held = [where.get(str(m)) for m in members]
        if len(set(held) - {None}) > 1:
            home = max(sorted(set(held) - {None}, key=str), key=held.count)
            out.append((str(unit), str(home), [str(m) for m, c in zip(members, held) if c not in (home, None)]))
    return out


def split_units(plan: Plan) -> list[str]:
    """The units kept whole by the rules (a current cluster, say) that ``plan`` splits, each
    naming the schools moved from the cluster holding the rest of it (a plan read from a file:
    :func:`clustergeo.read.read_assignment` records its units in ``run["split_units"]``)."""
    s = plan.schools
    name_of = dict(zip(s["school_id"].astype(str), s.get("name", s["school_id"]).astype(str)))
    where = dict(zip(s["school_id"].astype(str), s["cluster"]))
    out = []
    for unit, home, moved in _split(plan):
        labs = sorted({home, *(where[m] for m in moved)}, key=str)
        named = "; ".join(f"{name_of.get(m, m)} ({m}) moved to {where[m]!r}" for m in moved[:MAX_NAMED_MOVES])
        more = f"; and {len(moved) - MAX_NAMED_MOVES} more" if len(moved) > MAX_NAMED_MOVES else ""
        word = unit_words(plan.rules.keep_whole)
        out.append(f"{word} {unit!r} is split across clusters {labs}: its schools are in {home!r} but {named}{more}")
    return out


def _split_hint(plan: Plan) -> list[str]:
    """Why a repair of a plan that splits units kept whole may find no plan, in words."""
    out = []
    for unit, home, moved in _split(plan):
        names = ", ".join(f"{n} ({m})" for m, n in zip(moved, _names(plan, moved)))
        out.append(
            f"the likely cause is the edit: {names} moved out of {unit!r}, a current cluster the rules keep "
            f"whole (its other schools are in {home!r}); lock fewer schools, or move the whole current "
            f"cluster {unit!r}"
        )
    return out


def _names(plan: Plan, ids: list[str]) -> list[str]:
    s = plan.schools
    name_of = dict(zip(s["school_id"].astype(str), s.get("name", s["school_id"]).astype(str)))
    return [name_of.get(i, i) for i in ids]


def _pieces(plan: Plan) -> list[str]:
    """Clusters not in one piece, naming the schools cut off."""
    s = plan.schools[plan.schools["status"] == "placed"]
    edges = plan.run.get("unit_edges") or []
    g = nx.Graph()
    g.add_nodes_from(s["unit"].astype(str))
    g.add_edges_from((str(a), str(b)) for a, b in edges if str(a) in g and str(b) in g)
    out = []
    for c, grp in s.groupby("cluster"):
        parts = sorted(nx.connected_components(g.subgraph(set(grp["unit"].astype(str)))), key=len)
        if len(parts) > 1:
            cut = grp[grp["unit"].astype(str).isin(set().union(*parts[:-1]))]
            names = ", ".join(cut["name"].astype(str).head(4)) + (" ..." if len(cut) > 4 else "")
            out.append(
                f"cluster {c!r} is in {len(parts)} pieces: {names} "
                f"{'is' if len(cut) == 1 else 'are'} cut off from the rest"
            )
    return out


# --------------------------------------------------------------------------- repair around the edits


def _neighbour_clusters(board: Board, region: set) -> set:
    """Clusters next to ``region``; with districts as hard lines, only those in its districts
    (a cluster across the line can take none of its units)."""
    u, label = board.units, board.label
    out = set()
    for a, b in u.edges:
        ca, cb = label.get(a), label.get(b)
        if ca in region and cb is not None and cb not in region:
            out.add(cb)
        elif cb in region and ca is not None and ca not in region:
            out.add(ca)
    if board.rules.districts == "within":
        district = {c: {u.nodes[v].get("district") for v in ms} for c, ms in board.clusters().items()}
        inside = set().union(*(district[c] for c in region if c in district))
        out = {c for c in out if district[c] & inside}
    return out


def _broken_clusters(board: Board) -> set:
    """Clusters that break a size bound, are in pieces, or hold a school locked elsewhere."""
    u, rules = board.units, board.rules
    out = set()
    for c, ms in board.clusters().items():
        for m, (lo, hi) in rules.bounds().items():
            total = sum(u.nodes[v].get(m, 1) for v in ms)
            if (lo is not None and total < lo) or (hi is not None and total > hi):
                out.add(c)
        if not nx.is_connected(u.subgraph(ms)):
            out.add(c)
        if rules.districts == "within" and len({u.nodes[v].get("district") for v in ms}) > 1:
            out.add(c)
    for c, us in board.anchors.items():
        misplaced = {board.label.get(v) for v in us} - {c, None}
        if misplaced:
            out |= misplaced | {c}
    return out


def _anchored(board: Board, units_in: set, region: set) -> tuple[nx.Graph, dict, dict] | None:
    """The sub-problem graph: the free units, with each free cluster's locked schools (and the
    units joining them, preferring the cluster's own) contracted to one node. None when the
    locked schools of one cluster cannot be joined inside the free part."""
    u = board.units
    sub = u.subgraph(units_in)
    groups = {c: set(us) & units_in for c, us in board.anchors.items() if c in region}
    groups = {c: g for c, g in groups.items() if g}
    for c, grp in groups.items():

        def weight(a, b, _d, c=c):
            return 1.0 if board.label.get(a) == c and board.label.get(b) == c else 10.0

        parts = list(nx.connected_components(sub.subgraph(grp)))
        while len(parts) > 1:
            others = set().union(*parts[1:])
            try:
                _dist, path = nx.multi_source_dijkstra(sub, parts[0], weight=weight)
            except nx.NetworkXNoPath:
                return None
            reach = [v for v in others if v in path]
            if not reach:
                return None
            grp |= set(path[min(reach, key=lambda v: len(path[v]))])
            parts = list(nx.connected_components(sub.subgraph(grp)))
    seen: set = set()
    for grp in groups.values():
        if grp & seen:
            return None
        seen |= grp
    node_of = {v: v for v in units_in}
    for c, grp in groups.items():
        for v in grp:
            node_of[v] = ANCHOR + c
    csub = units.contract(sub, node_of)
    for n in csub.nodes:
        inner = [v for v in units_in if node_of[v] == n]
        csub.nodes[n]["members"] = sorted(m for v in inner for m in u.nodes[v]["members"])
    for c in groups:  # named so in an explanation: a school moved far off drags the schools between along
        csub.nodes[ANCHOR + c]["name"] = f"the schools locked in {c} with those linking them"
    count_phases(csub, board.geo.schools, board.rules)
    return csub, node_of, {c: ANCHOR + c for c in groups}


def _region_count(board: Board, region: set, count: str) -> tuple[Any, bool]:
    if count == "same":
        return len(region), False
    if count != "rules":
        raise RulesError(
            f"count must be 'same' (keep the number of clusters in the free part) or 'rules', not {count!r}"
        )
    k = board.rules.clusters
    outside = len(set(board.label.values()) - region)
    if k is None:
        return None, board.rules.fewest
    lo, hi = (k, k) if isinstance(k, int) else k
    lo, hi = max(lo - outside, 1), hi - outside
    if hi < 1:
        raise InfeasibleError([f"the {outside} clusters outside the free part already reach the maximum count"])
    return (lo if lo == hi else (lo, hi)), board.rules.fewest and lo != hi


def _solve_region(
    board: Board,
    region: set,
    *,
    count: str,
    solver: str | None,
    time_limit: float | None,
    seed: int | None,
    move_cost: float = 0.0,
) -> tuple[dict, PartitionResult, dict]:
    """Re-partition the units of ``region`` exactly; returns unit -> new cluster key, the
    solver's result and the anchor nodes (cluster label -> node)."""
    rules = board.rules
    units_in = {v for v, c in board.label.items() if c in region}
    prepared = _anchored(board, units_in, region)
    if prepared is None:
        raise InfeasibleError(["the locked schools of one cluster cannot be joined inside the free part"])
    csub, node_of, anchor_nodes = prepared
    k, fewest = _region_count(board, region, count)
    objective_kind = OBJECTIVES[rules.objective]
    needs_cost = objective_kind == "hess" or rules.max_minutes is not None
    cost = board.geo.times.unit_costs(csub) if needs_cost else {}
    forbid = None
    if rules.max_minutes is not None:
        forbid = {
            (a, b) for (a, b), c in cost.items() if a != b and c / max(csub.nodes[a]["pupils"], 1) > rules.max_minutes
        }
    ew: dict = {}
    for (a, b), w in _edge_weights(board).items():
        if a in node_of and b in node_of and node_of[a] != node_of[b]:
            key = tuple(sorted((node_of[a], node_of[b]), key=str))
            ew[key] = ew.get(key, 0.0) + w
    if move_cost > 0:
        # a unit pays for each school it takes into a cluster headed from another cluster
        now = {
            n: (n[len(ANCHOR) :] if isinstance(n, str) and n.startswith(ANCHOR) else board.label[n]) for n in csub.nodes
        }
        if objective_kind == "hess":
            cost = {
                (a, b): c + (move_cost * csub.nodes[a]["schools"] if now[a] != now[b] else 0.0)
                for (a, b), c in cost.items()
            }
        else:
            for a, b in csub.edges:
                if now[a] == now[b]:
                    key = tuple(sorted((a, b), key=str))
                    ew[key] = ew.get(key, 0.0) + move_cost * min(csub.nodes[a]["schools"], csub.nodes[b]["schools"])
    # the plan as it stands is the warm start (when it meets the rules: after a move it often does not)
    start = {
        n: (n[len(ANCHOR) :] if isinstance(n, str) and n.startswith(ANCHOR) else board.label[n]) for n in csub.nodes
    }
    exclude: list = []
    separators: list = []  # the cuts of one try hold for the next: the same sub-graph
    for _attempt in range(SEPARATION_TRIES + 1):
        r = partition(
            csub,
            weight="pupils",
            bounds=rules.bounds(),
            k=k,
            fewest=fewest,
            cost=cost if objective_kind == "hess" else None,
            objective=objective_kind,
            district="district" if rules.districts != "off" else None,
            district_mode=rules.districts if rules.districts != "off" else None,
            district_penalty=rules.district_penalty,
            division="division" if rules.divisions != "off" else None,
            division_mode=rules.divisions if rules.divisions != "off" else None,
            division_penalty=rules.division_penalty,
            edge_weights=ew or None,
            forbid=forbid,
            solver=solver,
            time_limit=time_limit,
            seed=seed,
            progress=False,
            exclude=exclude or None,
            start=start,
            separators=separators,
        )
        separators = r.separators
        heads = [r.assignment[n] for n in anchor_nodes.values()]
        if len(set(heads)) == len(heads):
            real = {n: _real_hub(board, n, node_of) for n in set(r.assignment.values())}
            keys = {v: real[r.assignment[node_of[v]]] for v in units_in}
            return keys, r, {c: real[r.assignment[n]] for c, n in anchor_nodes.items()}
        exclude.append(r.assignment)  # the best plan joins two locked clusters: rule it out, solve again
    together = ", ".join(sorted(anchor_nodes))
    reason = f"the locked schools of {together} keep ending up in one cluster (after {SEPARATION_TRIES} tries)"
    raise InfeasibleError([reason], relaxations=["free more clusters"])


def _apply(board: Board, keys: dict, anchor_nodes: dict, region: set) -> None:
    # keys: unit -> the unit heading its new cluster; anchor_nodes: locked label -> that head
    """Write a region's new clusters into the board: locked clusters keep their names, the others
    take the old name they overlap most (by pupils), new ones are named after their hub."""
    u = board.units
    pupils = {v: u.nodes[v]["pupils"] for v in keys}
    old = {v: board.label[v] for v in keys}
    name_of_key = {key: c for c, key in anchor_nodes.items()}
    # the other names go where they keep the most schools in place (a maximum matching)
    taken = set(name_of_key.values())
    free_keys = sorted(set(keys.values()) - set(name_of_key), key=str)
    free_labels = sorted(region - taken)
    if free_keys and free_labels:
        from scipy.optimize import linear_sum_assignment

        schools = {v: u.nodes[v]["schools"] for v in keys}
        kept = np.zeros((len(free_keys), len(free_labels)))
        ki, li = {k: i for i, k in enumerate(free_keys)}, {c: i for i, c in enumerate(free_labels)}
        for v, key in keys.items():
            if key in ki and old[v] in li:
                kept[ki[key], li[old[v]]] += schools[v] + 1e-6 * pupils[v]
        for lab in free_labels:  # a name follows its hub school first (clusters are named after it)
            h = board.hub.get(lab)
            if h in keys and keys[h] in ki:
                kept[ki[keys[h]], li[lab]] += HUB_KEEPS_NAME
        for i, j in zip(*linear_sum_assignment(kept, maximize=True)):
            if kept[i, j] > 0:
                name_of_key[free_keys[i]] = free_labels[j]
                taken.add(free_labels[j])
    used = set(board.label.values()) - region | taken
    for key in sorted(set(keys.values()) - set(name_of_key), key=str):
        base = f"{board.geo.graph.nodes[_largest_school(board, key)].get('name', key)} cluster"
        lab, n = base, 2
        while lab in used:
            lab, n = f"{base} ({n})", n + 1
        name_of_key[key], used = lab, used | {lab}
    for c in region:
        board.hub.pop(c, None)
    for v, key in keys.items():
        board.label[v] = name_of_key[key]
    for key, lab in name_of_key.items():
        board.hub[lab] = key


def _largest_school(board: Board, unit: Hashable) -> str:
    g = board.geo.graph
    return max(board.units.nodes[unit]["members"], key=lambda m: (g.nodes[m]["pupils"], str(m)))


def _real_hub(board: Board, node: Hashable, node_of: dict) -> Hashable:
    """The unit heading a cluster whose solver hub may be the contracted node of locked schools:
    the unit holding that node's largest school (the node's hub school)."""
    if not (isinstance(node, str) and node.startswith(ANCHOR)):
        return node
    g = board.geo.graph
    inner = [v for v, n in node_of.items() if n == node]
    return max(inner, key=lambda v: (g.nodes[_largest_school(board, v)]["pupils"], str(v)))


def _moves(before: Plan, after: Plan) -> list[dict]:
    a = dict(zip(before.schools["school_id"].astype(str), before.schools["cluster"]))
    b = after.schools

    def same(x: Any, y: Any) -> bool:
        return x == y or (pd.isna(x) and pd.isna(y))  # excluded schools have no cluster on either side

    return [
        {"school_id": sid, "name": str(nm), "from": a.get(sid), "to": c}
        for sid, nm, c in zip(b["school_id"].astype(str), b.get("name", b["school_id"]), b["cluster"])
        if not same(a.get(sid), c)
    ]


def start_of_edits(plan: Plan) -> Plan:
    """The plan the edits started from: back through the edited plans to the first that is not."""
    p = plan
    while p.edit_state is not None and p.edit_state.parent is not None and p.run.get("status") in ("edited", "locked"):
        p = p.edit_state.parent
    return p


def _free_region(board: Board, plan: Plan, free: Iterable[str] | None, rings: int = 1) -> set:
    if free is not None:
        region = {_cluster_name(plan, str(c), what="free cluster") for c in free}
        return region - board.locked
    record = _edit_record(plan)
    seeds = {c for m in record["moves"] for c in (m["from"], m["to"])} & set(board.label.values())
    seeds |= _broken_clusters(board)
    where = dict(zip(plan.schools["school_id"].astype(str), plan.schools["cluster"]))
    seeds |= {c for _unit, home, moved in _split(plan) for c in (home, *map(where.get, moved))}
    seeds &= set(board.label.values())
    if not seeds:
        raise RulesError(
            "nothing to repair: the plan has no edits and breaks no rule; pass free=[...] to "
            "re-optimise chosen clusters, or use polish() to improve the whole plan"
        )
    region = set(seeds)
    for _ in range(rings):
        region |= _neighbour_clusters(board, region)
    return region - board.locked


def _with_anchors(board: Board, region: set) -> set:
    """Add the clusters that schools locked inside ``region`` belong to (they must be free too)."""
    extra = {c for c, us in board.anchors.items() if any(board.label.get(v) in region for v in us)}
    return region | (extra & set(board.label.values())) - board.locked


def _repair_widening(
    board: Board, region: set, *, widen: bool, t0: float, time_limit: float | None, opts: dict
) -> tuple[dict, PartitionResult, dict, dict]:
    """Solve ``region``, widening it by a ring of neighbouring clusters while it has no plan:
    proved infeasible, or none found in its share of the time (``REPAIR_TRY_SHARE`` of what is
    left while a wider ring remains; the last try has all of it)."""
    why: list[str] = []
    while True:
        if not region:
            raise InfeasibleError(
                ["every cluster around the edits is locked: nothing is free to repair"],
                relaxations=["unlock a cluster"],
            )
        ring = _neighbour_clusters(board, region) - board.locked if widen else set()
        left = None if time_limit is None else max(time_limit - (time.perf_counter() - t0), BUDGET.min_seconds)
        share = left if left is None or not ring else max(REPAIR_TRY_SHARE * left, BUDGET.min_seconds)
        try:
            keys, result, anchors = _solve_region(board, region, time_limit=share, **opts)
            return keys, result, anchors, {"free": sorted(region), "why": why}
        except InfeasibleError as e:
            if not ring:
                locks = "; locked: " + ", ".join(sorted(board.locked)) if board.locked else ""
                hint = (
                    f" (every unlocked cluster that borders them{locks}): the edits are the likely cause, "
                    "so undo a move or unlock a cluster"
                    if widen
                    else "; widen=True frees their neighbours too"
                )
                raise InfeasibleError(
                    [*e.reasons, f"that is with {len(region)} clusters free{hint}"],
                    relaxations=[*e.relaxations, *(["undo a move", "unlock a cluster"] if widen else [])],
                ) from e
            why.append("no plan")
        except NoPlanInTimeError as e:
            if not ring:
                raise NoPlanInTimeError(
                    f"{e} (the repair had {len(region)} clusters free"
                    + ("" if widen else "; widen=True frees their neighbours too")
                    + ")"
                ) from e
            why.append(f"no plan in {share:.0f} s")
        log.info("the %d free clusters have %s: freeing %d more", len(region), why[-1], len(ring))
        region = _with_anchors(board, region | ring)


def _rejoined(
    plan: Plan, rules: Rules, locked: Iterable[str] | None, free: Iterable[str] | None
) -> tuple[Plan | None, list[str] | None]:
    """``plan`` with the unlocked schools it split off units kept whole (a current cluster, say)
    back in their unit's cluster, or None when every such school is locked (itself, or the
    cluster it is in or would go back to); and ``free`` without the clusters that emptied (by
    default: the clusters the schools left and went back to, still standing)."""
    record = _edit_record(plan)
    board = _board(plan, rules)
    kept = {*record["locked_clusters"], *(str(c) for c in locked or ())}
    where = dict(zip(plan.schools["school_id"].astype(str), plan.schools["cluster"]))
    back = [
        (sid, unit)
        for unit, home, moved in _split(plan)
        for sid in moved
        if sid not in record["locked_schools"]
        and board.membership.get(sid) == sid
        and home not in kept
        and where.get(sid) not in kept
    ]
    free = None if free is None else [str(c) for c in free]
    if not back:
        return None, free
    for sid, unit in back:
        board.membership[sid] = unit
    live = set(board.membership.values())
    board.label = {v: c for v, c in board.label.items() if v in live}
    new = plan_from_board(board, plan, plan_type=type(plan), name=plan.name, status="edited", record=record)
    still = set(new.schools["cluster"].dropna())
    touched = {str(c) for _unit, home, moved in _split(plan) for c in (home, *(where.get(sid) for sid in moved))}
    return new, sorted(c for c in (touched if free is None else free) if c in still)


def _after_rejoining(edited: Plan, rejoined: Plan, repaired: Plan, seconds: float) -> Plan:
    """The repair of a plan whose split-off schools had to rejoin their unit: its moves and
    objective measured from the plan as the planner gave it, with the reason."""
    rep = repaired.run["repair"]
    rep["moves"] = _moves(edited, repaired)
    rep["schools_moved"] = len(rep["moves"])
    rep["rejoined"] = [m["school_id"] for m in _moves(edited, rejoined)]
    rep["objective_before"] = objective(edited)
    rep["change"] = rep["objective_after"] - rep["objective_before"]
    rep["seconds"] = round(seconds, 3)  # the try that kept them apart included
    rep["widened_because"] = [
        "no plan keeps the schools split off a unit the rules keep whole (not locked): they rejoined it",
        *rep["widened_because"],
    ]
    return repaired


def _repair_board(plan: Plan, rules: Rules, locked: Iterable[str] | None) -> tuple[Board, dict[str, Any]]:
    """The board a repair works on, with the extra locked clusters, and the edit record kept."""
    board = _board(plan, rules)
    for c in locked or ():
        board.locked.add(_cluster_name(plan, str(c), what="locked cluster"))
    record = _edit_record(plan)
    for c in board.locked - set(record["locked_clusters"]):
        record["locked_clusters"][c] = sorted(plan.schools.loc[plan.schools["cluster"] == c, "school_id"].astype(str))
    return board, record


def _repair_report(
    plan: Plan,
    new: Plan,
    region: set[str],
    widened: dict[str, Any],
    keys: dict[str, str],
    result: PartitionResult,
    objectives: tuple[float, float],
    move_cost: float,
    t0: float,
) -> dict[str, Any]:
    """``run["repair"]`` of a repaired plan: what was free, what moved and the objective's change."""
    before, after = objectives
    moved = _moves(plan, new)
    # the repair takes the schools the edit split off as the planner's choice, as move() does
    split_kept = {unit: moved_out for unit, _home, moved_out in _split(new)}
    new.run.pop(SPLIT_KEY, None)
    return {
        "free_clusters": sorted(region),
        "widened": len(widened["why"]),
        "widened_because": widened["why"],
        "free_units": len(keys),
        "clusters_after": len(set(keys.values())),
        "status": result.status,
        "region_objective": result.objective,
        "region_bound": result.bound,
        "region_gap": result.gap,
        "objective_before": before,
        "objective_after": after,
        "change": after - before,
        "schools_moved": len(moved),
        "moves": moved,
        "seconds": round(time.perf_counter() - t0, 3),
        "solver": result.solver,
        "move_cost": move_cost,
        "units_left_split": split_kept,
    }


def repropose(
    plan: Plan,
    rules: Rules | None = None,
    *,
    locked: Iterable[str] | None = None,
    free: Iterable[str] | None = None,
    rings: int = 1,
    count: str = "same",
    widen: bool | None = None,
    move_cost: float = 0.0,
    solver: str | None = None,
    time_limit: float | None = 60.0,
    seed: int | None = None,
    name: str | None = None,
) -> Plan:
    """Re-optimise the part of ``plan`` around its edits, exactly, and keep the rest as it was.

    The free part is, by default, the clusters touching the edits (the moved schools' old and
    new clusters) and the clusters that break a rule, with their neighbours; locked clusters
    stay out of it. Its units are re-partitioned by :func:`clustergeo.partition` on their own
    subgraph, with the locked schools of each free cluster held together (and apart from the
    other clusters' locked schools), under the same rules and the same number of clusters
    there, starting from the plan as it stands. When the free part alone cannot meet the rules,
    or no plan for it is found in its share of the time, it widens by a ring of neighbouring
    clusters and tries again.

    Parameters
    ----------
    plan : Plan
        Usually an edited plan (:func:`move`, :func:`lock`), or any plan (:func:`clustergeo.read.read_assignment`).
    rules : Rules, optional
        Default: the plan's own.
    locked : list of str, optional
        More clusters to keep exactly as they are (on top of the plan's locks).
    free : list of str, optional
        The clusters to re-optimise, instead of the default part (no widening unless
        ``widen=True``).
    rings : int
        How many rings of neighbouring clusters the default part takes around the clusters
        touching the edits (default 1; 0: those clusters alone, widened only when needed).
    count : {"same", "rules"}
        The number of clusters in the free part: the same as now (default), or any number the
        rules' count allows together with the clusters outside (fewest first when the rules say so).
    widen : bool, optional
        Widen the free part when it cannot meet the rules or finds no plan in its share of the
        time (default: yes, unless ``free`` is given).
    move_cost : float
        Charged for each school the repair moves (in objective units: pupil-minutes, or split
        neighbour pairs), to trade the objective for fewer moves; a school counts as moved when
        its new cluster is headed from another cluster. 0 (default): the best objective alone.
    solver, time_limit, seed
        For the sub-problems: ``time_limit`` is in seconds for the whole repair; while a wider
        part remains to try, each part gets ``REPAIR_TRY_SHARE`` (half) of the time left.

    Returns
    -------
    Plan
        ``run["repair"]`` says which clusters were free, whether the sub-problem was proved
        optimal, which schools moved and the change in the objective; ``units_left_split``
        the units kept whole by the rules that a plan read from a file split and the repair
        left split (the planner's choice); ``rejoined`` the unlocked schools sent back to
        such a unit when no plan keeps them apart.

    Raises
    ------
    InfeasibleError
        When no plan meets the rules with these locks, even with every unlocked cluster that
        borders the part free (``widen``); the reasons name the locks and the edits.
    NoPlanInTimeError
        When the last part tried found no plan in the time left.

    Examples
    --------
    >>> edited = plan.move("121034", to="Wymondham High Academy cluster")  # doctest: +SKIP
    >>> repaired = cg.edit.repropose(edited)  # doctest: +SKIP
    >>> repaired.run["repair"]["schools_moved"], repaired.violations()  # doctest: +SKIP
    (4, [])
    """
    t0 = time.perf_counter()
    board, record = _repair_board(plan, rules or plan.rules, locked)
    widen = free is None if widen is None else widen
    region = _with_anchors(board, _free_region(board, plan, free, rings))
    before = _objective(board)
    try:
        keys, result, anchors, widened = _repair_widening(
            board,
            region,
            widen=widen,
            t0=t0,
            time_limit=time_limit,
            opts=dict(count=count, solver=solver, seed=seed, move_cost=move_cost),
        )
    except InfeasibleError as e:
        rejoined, free = _rejoined(plan, rules or plan.rules, locked, free)
        if rejoined is None:
            hint = _split_hint(plan)
            if not hint:
                raise
            raise InfeasibleError([*e.reasons, *hint], relaxations=e.relaxations) from e
        left = None if time_limit is None else max(time_limit - (time.perf_counter() - t0), 1.0)
        widen = True if widen is None else widen  # as for the edits themselves: widen when needed
        again: dict[str, Any] = dict(locked=locked, free=free, rings=rings, count=count, widen=widen, seed=seed)
        repaired = repropose(rejoined, rules, **again, move_cost=move_cost, solver=solver, time_limit=left)
        return _after_rejoining(plan, rejoined, repaired, time.perf_counter() - t0)
    region = set(widened["free"])
    _apply(board, keys, anchors, region)
    after = _objective(board)
    new = plan_from_board(
        board,
        plan,
        plan_type=type(plan),
        name=name or plan.name,
        status="repaired",
        record=record,
        objective_value=after,
        seconds=time.perf_counter() - t0,
    )
    new.run["repair"] = _repair_report(plan, new, region, widened, keys, result, (before, after), move_cost, t0)
    new.run["gap"] = result.gap
    return new


def polish(
    plan: Plan,
    rules: Rules | None = None,
    *,
    size: int = 3,
    time_limit: float | None = 120.0,
    sub_time_limit: float | None = 20.0,
    solver: str | None = None,
    seed: int | None = None,
    name: str | None = None,
) -> Plan:
    """Improve a whole plan by a large-neighbourhood search: ``size`` adjacent clusters at a time.

    Each cluster in turn, with its ``size - 1`` neighbours sharing the most borders, is
    re-partitioned exactly (:func:`clustergeo.partition`, the same number of clusters); a better
    answer is kept. Sets of units already proved optimal are not solved again (a cache keyed by
    the units and the count). It stops when a whole pass improves nothing, or at ``time_limit``
    seconds. Locked clusters and schools are kept.

    Returns
    -------
    Plan
        ``run["polish"]`` holds the objective before and after, the sub-problems solved and
        how many improved the plan.

    Examples
    --------
    >>> better = cg.edit.polish(plan, size=3, time_limit=60)  # doctest: +SKIP
    >>> better.run["polish"]["objective_after"] <= better.run["polish"]["objective_before"]  # doctest: +SKIP
    True
    """
    t0 = time.perf_counter()
    board = _board(plan, rules or plan.rules)
    before = _objective(board)
    done: set = set()
    solved = improved = passes = 0
    better = True
    while better and (time_limit is None or time.perf_counter() - t0 < time_limit):
        better, passes = False, passes + 1
        for c in sorted(set(board.label.values()) - board.locked):
            if time_limit is not None and time.perf_counter() - t0 >= time_limit:
                break
            if c not in set(board.label.values()):
                continue
            region = {c} | _closest_neighbours(board, c, size - 1)
            key = (frozenset(v for v, lab in board.label.items() if lab in region), len(region))
            if key in done or len(region) < 2:
                continue
            done.add(key)
            current = _objective(board, {lab: ms for lab, ms in board.clusters().items() if lab in region})
            try:
                keys, _result, anchors = _solve_region(
                    board, region, count="same", solver=solver, time_limit=sub_time_limit, seed=seed
                )
            except InfeasibleError:
                continue
            solved += 1
            # judged on the units themselves (a contracted node of locked schools counts one district)
            candidate: dict = {}
            for v, head in keys.items():
                candidate.setdefault(head, []).append(v)
            if _objective(board, candidate) < current - 1e-6 * max(abs(current), 1.0):
                _apply(board, keys, anchors, region)
                improved, better = improved + 1, True
    after = _objective(board)
    new = plan_from_board(
        board,
        plan,
        plan_type=type(plan),
        name=name or plan.name,
        status="polished",
        record=_edit_record(plan),
        objective_value=after,
        seconds=time.perf_counter() - t0,
    )
    new.run["polish"] = {
        "objective_before": before,
        "objective_after": after,
        "change": after - before,
        "subproblems_solved": solved,
        "improved": improved,
        "passes": passes,
        "schools_moved": len(_moves(plan, new)),
        "seconds": round(time.perf_counter() - t0, 3),
    }
    return new


def _closest_neighbours(board: Board, c: str, n: int) -> set:
    """The ``n`` unlocked clusters sharing the most neighbour pairs with ``c``."""
    shared: dict = {}
    for a, b in board.units.edges:
        ca, cb = board.label.get(a), board.label.get(b)
        for x, y in ((ca, cb), (cb, ca)):
            if x == c and y is not None and y != c and y not in board.locked:
                shared[y] = shared.get(y, 0) + 1
    return set(sorted(shared, key=lambda y: (-shared[y], str(y)))[:n])


def apply_locks(plan: Plan, source: str | Path | pd.DataFrame) -> Plan:
    """Apply a locks file: ``school_id`` rows lock a school (moving it to ``cluster`` first when
    that column names another cluster); rows with only ``cluster`` lock that whole cluster.

    Examples
    --------
    >>> locked = cg.edit.apply_locks(plan, "locks.csv")  # doctest: +SKIP
    """
    if isinstance(source, pd.DataFrame):
        table = source.astype(object).where(source.notna(), "")
    else:
        path = Path(source)
        if not path.exists():
            raise DataError(Problem(f"no locks file at {path}", fix="give a CSV with school_id and/or cluster"))
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    if not {"school_id", "cluster"} & set(table.columns):
        raise DataError(
            Problem(
                "the locks file needs a school_id or a cluster column",
                column="school_id",
                fix="one row per locked school (school_id) or locked cluster (cluster)",
            )
        )
    ids = table["school_id"].astype(str).str.strip() if "school_id" in table else pd.Series("", index=table.index)
    labels = table["cluster"].astype(str).str.strip() if "cluster" in table else pd.Series("", index=table.index)
    where = dict(zip(plan.schools["school_id"].astype(str), plan.schools["cluster"]))
    for sid, c in zip(ids, labels):
        if sid and c and where.get(sid) != c:
            plan = move(plan, sid, to=c)
        elif sid:
            plan = lock(plan, schools=[sid])
        elif c:
            plan = lock(plan, clusters=[c])
    return plan


def border_schools(plan: Plan) -> pd.DataFrame:
    """The schools on the border of two geographic clusters, which a planner might move:
    one row per school and neighbouring geographic cluster (``school_id, name, cluster, next_to,
    pupils``), sorted by cluster and name.

    Examples
    --------
    >>> cg.edit.border_schools(plan).head()  # doctest: +SKIP
    """
    geo = geography_of(plan)
    s = plan.schools.set_index(plan.schools["school_id"].astype(str))
    geographic = set(_geographic(plan))
    rows = set()
    for a, b in geo.graph.edges:
        for x, y in ((a, b), (b, a)):
            cx, cy = s.at[x, "cluster"], s.at[y, "cluster"]
            if cx != cy and cx in geographic and cy in geographic:
                rows.add((x, cy))
    out = pd.DataFrame(sorted(rows), columns=["school_id", "next_to"])
    out.insert(1, "name", out["school_id"].map(s["name"]) if "name" in s else out["school_id"])
    out.insert(2, "cluster", out["school_id"].map(s["cluster"]))
    out["pupils"] = out["school_id"].map(s["pupils"]).astype(int)
    return out.sort_values(["cluster", "name", "next_to"]).reset_index(drop=True)
