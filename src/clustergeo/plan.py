"""The answer: which school goes where, the cluster table and polygons, metrics and the run record.

A :class:`Plan` holds

* ``schools``: every input school exactly once, with ``cluster`` and ``status`` (``placed``,
  ``pinned``, ``apart`` or ``excluded``) and the travel time to its cluster's hub;
* ``clusters``: one row per cluster with its polygon (dissolved Voronoi cells or catchments),
  schools, pupils, phases, districts touched, hub, mean and longest travel time to the hub,
  the current clusters merged into it and its Polsby-Popper compactness;
* ``metrics``: plan-wide figures; ``run``: the run record (solver, status, bound, gap, rules,
  input hashes, whether travel times were road-based or estimated).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .check import check_partition, check_plan
from .errors import SolverError
from .rules import Rules
from .version import __version__


@dataclass
class Plan:
    """A proposal. See the module docstring for what each table holds."""

    name: str
    schools: gpd.GeoDataFrame
    clusters: gpd.GeoDataFrame
    metrics: dict[str, Any]
    run: dict[str, Any]
    rules: Rules
    layers: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    edit_state: Any = field(default=None, repr=False, compare=False)  # clustergeo.edit: geography, plan before
    #: Peer groups inside the clusters (one row per school: ``school, name, cluster, group,
    #: group_size, shared_with, exception, group_minutes``; see :mod:`clustergeo.groups`), or None.
    groups: pd.DataFrame | None = None
    #: Staff and money per cluster (one row per allocation and cluster: ``allocation, unit,
    #: cluster, kind``, the measures, ``share, quota, amount``; see :mod:`clustergeo.allocate`), or None.
    allocations: pd.DataFrame | None = None

    @property
    def assignment(self) -> pd.DataFrame:
        """``school_id, cluster`` for every school (empty cluster for excluded schools)."""
        return self.schools[["school_id", "cluster", "status"]].copy()

    def summary(self) -> str:
        """A plain-text summary a planner can read."""
        m, r = self.metrics, self.run
        gap = "-" if r["gap"] is None else f"{100 * r['gap']:.3f}%"
        lines = [
            f"{self.name}",
            f"  {m['clusters']} geographic clusters ({m['pinned_clusters']} pinned, {m['apart_clusters']} apart "
            f"in addition); {m['schools_placed']} schools placed, {m['schools_excluded']} excluded",
            f"  pupils per geographic cluster: {m['pupils_min']:,} to {m['pupils_max']:,} "
            f"(mean {m['pupils_mean']:,.0f})",
            f"  schools per geographic cluster: {m['schools_min']} to {m['schools_max']}",
            f"  clusters crossing district lines: {m['district_splits']}; schools moved from their current "
            f"cluster: {m['schools_moved']}",
            f"  mean travel time to the hub: {m['mean_minutes_to_hub']:.1f} min ({r['travel_times']})",
            *(
                [f"  clusters drawn in pieces (their schools lie apart): {m['clusters_in_pieces']}"]
                if m.get("clusters_in_pieces")
                else []
            ),
            f"  solver: {r['status']}, objective {r['objective']:,.1f}, gap {gap}, {r['seconds']:.1f} s, {r['solver']}",
        ]
        lines += proof_lines(self.run)
        if self.groups is not None and r.get("peer_groups"):
            from .groups import summary_lines

            lines += summary_lines(r["peer_groups"])
        if self.allocations is not None and r.get("allocations"):
            from .allocate import summary_lines as allocation_lines

            lines += allocation_lines(self.allocations, r["allocations"])
        return "\n".join(lines)

    def __repr__(self) -> str:
        m, r = self.metrics, self.run
        gap = "" if r.get("gap") in (None, 0) else f", gap {100 * r['gap']:.2f}%"
        return (
            f"Plan({self.name!r}: {m.get('clusters_total', m['clusters'])} clusters, "
            f"{m['schools_placed']:,} schools placed, {m['schools_excluded']} excluded)\n"
            f"  pupils per drawn cluster {m['pupils_min']:,}-{m['pupils_max']:,}; schools {m['schools_min']}-"
            f"{m['schools_max']}; {m['district_splits']} cross district lines\n"
            f"  solver {r.get('status')}{gap}; travel {r.get('travel_method', '-')}; "
            ".summary(), .table(), .save(folder)"
        )

    def _repr_html_(self) -> str:
        import html

        cols = [
            c
            for c in ("cluster", "kind", "schools", "pupils", "districts", "mean_minutes_to_hub", "current_clusters")
            if c in self.clusters
        ]
        table = self.table()[cols].to_html(index=False, na_rep="-", float_format=lambda v: f"{v:,.1f}")
        return (
            f"<div><pre style='white-space:pre-wrap'>{html.escape(self.summary())}</pre>"
            f"<details open><summary>{len(self.clusters)} clusters</summary>{table}</details></div>"
        )

    def table(self) -> pd.DataFrame:
        """The cluster table without geometry, sorted by cluster."""
        return pd.DataFrame(self.clusters.drop(columns="geometry"))

    def check(self) -> list[str]:
        """Re-check the plan with the independent checker (see :func:`clustergeo.check.verify_plan`),
        and its peer groups and allocations when it has them (:func:`clustergeo.check.check_inside`)."""
        from .check import check_inside, verify_plan

        problems = verify_plan(self.schools, self.clusters, self.rules.to_dict(), self.run.get("unit_edges"))
        return problems + check_inside(self.groups, self.allocations, self.schools, self.run)

    def explore(self, **kwargs: Any):
        """An interactive folium map (needs the ``maps`` extra)."""
        from .maps import interactive_map

        return interactive_map(self, **kwargs)

    def plot(self, **kwargs: Any):
        """A static map (matplotlib)."""
        from .maps import static_map

        return static_map(self, **kwargs)

    def save(self, folder: Any) -> dict[str, Any]:
        """Write every output file into ``folder``; see :func:`clustergeo.outputs.write_plan`."""
        from .outputs import write_plan

        return write_plan(self, folder)

    def move(self, school: str, *, to: str, lock: bool = True) -> Plan:
        """A new plan with ``school`` moved to cluster ``to`` (see :func:`clustergeo.edit.move`)."""
        from .edit import move

        return move(self, school, to=to, lock=lock)

    def lock(self, *, clusters: Any = None, schools: Any = None) -> Plan:
        """A new plan with clusters and schools locked (see :func:`clustergeo.edit.lock`)."""
        from .edit import lock

        return lock(self, clusters=clusters, schools=schools)

    def violations(self, rules: Rules | None = None) -> list[str]:
        """Every rule the plan breaks, in words (see :func:`clustergeo.edit.violations`)."""
        from .edit import violations

        return violations(self, rules)

    def undo(self) -> Plan:
        """The plan before the last edit (see :func:`clustergeo.edit.undo`)."""
        from .edit import undo

        return undo(self)


def proof_lines(run: dict[str, Any]) -> list[str]:
    """The summary's lines for the proofs, the principles and what gave way (from the run record)."""
    import textwrap

    out = []
    if run.get("size_measure"):
        out.append(f"  pupils counted: {run['size_measure']} (the census headcount is in pupils_headcount)")
    if run.get("fewest_proof"):
        fp = run["fewest_proof"]
        how = "proved" if fp.get("proved", True) else "NOT PROVED"
        out.append(f"  fewest clusters: {fp['fewest']}, {how}: {fp['proof']}")
    if run.get("crossings_proof"):
        cp = run["crossings_proof"]
        of = f" of {cp['of']}" if cp.get("of") else ""
        out.append(
            f"  fewest clusters crossing district lines (kept clusters included): {cp['fewest']}{of}; {cp['proof']}"
        )
    if run.get("drawn_by_layer"):
        out.append(f"  polygons: {run['drawn_by_layer']}")
    if run.get("principles"):
        out.append("  principles, in order: " + "; ".join(f"{i}. {p}" for i, p in enumerate(run["principles"], 1)))
    for line in run.get("zoned_outside", []):
        out.append(f"  zoned to a neighbouring council's secondary: {line}")
    if run.get("gave_way"):
        out += textwrap.wrap(run["gave_way"], width=100, initial_indent="  ", subsequent_indent="  ")
    return out


def polsby_popper(geom: Any) -> float:
    """4 pi area / perimeter^2: 1 for a circle, near 0 for a long thin shape."""
    if geom is None or geom.is_empty or geom.length == 0:
        return float("nan")
    return float(4 * math.pi * geom.area / geom.length**2)


def _hash(df: pd.DataFrame) -> str:
    cols = [c for c in ("school_id", "pupils", "phase", "cluster", "district") if c in df.columns]
    body = df[cols].astype(str).to_csv(index=False).encode()
    xy = np.column_stack([df.geometry.x, df.geometry.y]).round(1).tobytes()
    return hashlib.sha256(body + xy).hexdigest()[:16]


#: parts of a cluster's polygon smaller than this (square metres) are slivers left by clipping
SLIVER_M2 = 1.0


def _site_key(pt: Any) -> tuple[float, float]:
    return (round(pt.x, 1), round(pt.y, 1))


def cluster_polygons(schools: gpd.GeoDataFrame, cells: gpd.GeoSeries) -> tuple[dict, dict]:
    """One polygon per cluster, a clean partition of the ground the cells cover.

    Each school's cell (``cells``, indexed like ``schools``) goes to its school's cluster. Schools
    sharing a site share a cell: it is drawn once, for the cluster with most pupils there (the
    other schools keep their point), so no two clusters overlap by accident. A part of a cluster's
    polygon that holds none of its schools (a cell cut by a river, a sliver) joins the neighbouring
    cluster with which it shares the longest border, so a cluster is in pieces only where its
    schools are.

    Returns
    -------
    (polygons, notes) : dict cluster -> polygon, and dict cluster -> {"pieces": int,
        "schools_drawn_elsewhere": int}

    Examples
    --------
    >>> polys, notes = cluster_polygons(plan.schools, cells)  # doctest: +SKIP
    """
    s = schools[schools["cluster"].notna() & schools.index.isin(cells.index)]
    sites: dict = {}
    for i, lab, pupils, pt in zip(s.index, s["cluster"], s["pupils"], s.geometry):
        sites.setdefault(_site_key(pt), []).append((i, lab, pupils))
    owned: dict = {}
    elsewhere: dict = {}
    for members in sites.values():
        tally: dict = {}
        for _i, lab, pupils in members:
            tally[lab] = tally.get(lab, 0) + max(int(pupils), 0)
        owner = sorted(tally, key=lambda k: (-tally[k], str(k)))[0]
        owned.setdefault(owner, []).append(cells[members[0][0]])
        for _i, lab, _p in members:
            if lab != owner:
                elsewhere[lab] = elsewhere.get(lab, 0) + 1
    union = {
        lab: shapely.union_all([g for g in geoms if g is not None and not g.is_empty]) for lab, geoms in owned.items()
    }
    points = {lab: list(grp.geometry) for lab, grp in s.groupby("cluster")}
    keep: dict = {lab: [] for lab in union}
    stray = []
    for lab, geom in union.items():
        for part in shapely.get_parts(geom):
            if part.geom_type != "Polygon":
                continue
            if part.area > SLIVER_M2 and any(part.covers(p) for p in points.get(lab, [])):
                keep[lab].append(part)
            else:
                stray.append((lab, part))
    for lab, part in stray:
        border = {
            other: part.boundary.intersection(shapely.union_all(ps).buffer(0.01)).length
            for other, ps in keep.items()
            if other != lab and ps
        }
        best = max(border, key=lambda k: (border[k], str(k))) if border else None
        if best is not None and border[best] > 0:
            keep[best].append(part)
        elif part.area > SLIVER_M2:
            keep[lab].append(part)  # an island of its own cluster: kept, and counted as a piece
    polygons, notes = {}, {}
    for lab, ps in keep.items():
        g = shapely.union_all(ps) if ps else shapely.Polygon()
        g = shapely.make_valid(g)
        polys = [p for p in shapely.get_parts(g) if p.geom_type == "Polygon" and p.area > SLIVER_M2]
        polygons[lab] = shapely.MultiPolygon(polys) if len(polys) > 1 else (polys[0] if polys else None)
        notes[lab] = {"pieces": len(polys), "schools_drawn_elsewhere": elsewhere.get(lab, 0)}
    for lab in points:
        if lab not in polygons:
            polygons[lab], notes[lab] = None, {"pieces": 0, "schools_drawn_elsewhere": elsewhere.get(lab, 0)}
    return polygons, notes


def _school_table(
    s: gpd.GeoDataFrame,
    status: pd.Series,
    cluster: pd.Series,
    *,
    result: Any,
    unit_graph: Any,
    membership: pd.Series,
    times: Any,
) -> gpd.GeoDataFrame:
    """Every school with its cluster (geographic clusters named after their hub), hub and travel time."""
    hub_unit_to_label: dict = {}
    pupils_of = dict(zip(s["school_id"], s["pupils"]))
    name_of = dict(zip(s["school_id"], s["name"]))
    for hub_unit in sorted(result.hubs, key=str):
        members = unit_graph.nodes[hub_unit]["members"]
        hub_school = unit_graph.nodes[hub_unit].get("hub_school") or max(members, key=lambda m: (pupils_of[m], str(m)))
        hub_unit_to_label[hub_unit] = (f"{name_of[hub_school]} cluster", hub_school)
    labels = [
        hub_unit_to_label[c][0] if st == "placed" and c in hub_unit_to_label else c for c, st in zip(cluster, status)
    ]
    out = s.copy()
    out["current_cluster"] = s["cluster"] if "cluster" in s.columns else None
    out["cluster"] = labels
    out["status"] = status.values
    out["unit"] = out["school_id"].map(membership)
    hub_school_of = {lab: hs for lab, hs in hub_unit_to_label.values()}
    # the hub of pinned/apart clusters: the largest school
    for lab, grp in out[out["status"].isin(["pinned", "apart"])].groupby("cluster"):
        hub_school_of[lab] = grp.sort_values(["pupils", "school_id"], ascending=[False, True])["school_id"].iloc[0]
    out["hub_school"] = out["cluster"].map(hub_school_of)
    pos = {sid: i for i, sid in enumerate(times.ids)}
    mins = []
    for sid, hub, st in zip(out["school_id"], out["hub_school"], out["status"]):
        if st == "placed" and sid in pos and hub in pos:
            mins.append(float(times.minutes[pos[sid], pos[hub]]))
        else:
            mins.append(np.nan)
    out["minutes_to_hub"] = mins
    out["cluster"] = out["cluster"].where(out["status"] != "excluded", None)
    return out


def _cluster_table(out: gpd.GeoDataFrame, cells: gpd.GeoSeries) -> gpd.GeoDataFrame:
    """One row per cluster: sizes, phases, districts, hub, travel, current clusters and polygon."""
    name_of = dict(zip(out["school_id"], out["name"]))
    hub_school_of = dict(zip(out["cluster"], out["hub_school"]))
    drawn = out[out["status"].isin(["placed", "pinned"])]
    polygons, notes = cluster_polygons(drawn, cells[cells.index.isin(drawn.index)])
    rows = []
    for lab, grp in out[out["cluster"].notna()].groupby("cluster", sort=True):
        kind = {"placed": "geographic", "pinned": "pinned", "apart": "apart"}[grp["status"].iloc[0]]
        geom = polygons.get(lab) if kind != "apart" else None
        note = notes.get(lab, {"pieces": 0, "schools_drawn_elsewhere": 0})
        current = sorted(set(grp["current_cluster"].dropna().astype(str))) if "current_cluster" in grp else []
        dists = sorted(set(grp["district"].dropna().astype(str))) if "district" in grp else []
        rows.append(
            {
                "cluster": lab,
                "kind": kind,
                "schools": int(len(grp)),
                "pupils": int(grp["pupils"].sum()),
                "primary": int((grp["phase"] == "primary").sum()),
                "secondary": int(grp["phase"].isin(["secondary", "all-through"]).sum()),
                "special": int((grp["phase"] == "special").sum()),
                "other": int(grp["phase"].isin(["nursery", "other"]).sum()),
                "districts": "; ".join(dists),
                "n_districts": len(dists),
                "hub": name_of.get(hub_school_of.get(lab), ""),
                "hub_id": hub_school_of.get(lab),
                "mean_minutes_to_hub": float(
                    np.average(grp["minutes_to_hub"].fillna(0), weights=grp["pupils"].clip(lower=1))
                )
                if kind == "geographic"
                else np.nan,
                "max_minutes_to_hub": float(grp["minutes_to_hub"].max()) if kind == "geographic" else np.nan,
                "current_clusters": "; ".join(current),
                "n_current_clusters": len(current),
                "polsby_popper": polsby_popper(geom) if geom is not None else np.nan,
                "area_km2": geom.area / 1e6 if geom is not None else np.nan,
                "pieces": int(note["pieces"]) if kind != "apart" else 0,
                "schools_drawn_elsewhere": int(note["schools_drawn_elsewhere"]) if kind != "apart" else 0,
                "geometry": geom,
            }
        )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=out.crs)


def _metrics(out: gpd.GeoDataFrame, clusters: gpd.GeoDataFrame, links_added: list) -> dict[str, Any]:
    geo = clusters[clusters["kind"] == "geographic"]
    placed = out[out["status"] == "placed"]
    moved = 0
    if "current_cluster" in placed and placed["current_cluster"].notna().any():
        for _cur, grp in placed.groupby("current_cluster"):
            main = grp["cluster"].value_counts().sort_index().idxmax()
            moved += int((grp["cluster"] != main).sum())
    divisions = sorted(set(placed["division"].dropna())) if "division" in placed else []
    div_splits = 0
    if divisions:
        div_splits = int(sum(grp["division"].nunique() > 1 for _, grp in placed.groupby("cluster")))
    return {
        "clusters": int(len(geo)),
        "pinned_clusters": int((clusters["kind"] == "pinned").sum()),
        "apart_clusters": int((clusters["kind"] == "apart").sum()),
        "clusters_total": int(len(clusters)),
        "schools_placed": int((out["status"] != "excluded").sum()),
        "schools_excluded": int((out["status"] == "excluded").sum()),
        "pupils_min": int(geo["pupils"].min()),
        "pupils_max": int(geo["pupils"].max()),
        "pupils_mean": float(geo["pupils"].mean()),
        "pupil_balance": float(geo["pupils"].max() / max(geo["pupils"].min(), 1)),
        "schools_min": int(geo["schools"].min()),
        "schools_max": int(geo["schools"].max()),
        "district_splits": int((geo["n_districts"] > 1).sum()),
        "division_splits": div_splits,
        "mean_polsby_popper": float(geo["polsby_popper"].mean()),
        "schools_moved": moved,
        "mean_minutes_to_hub": float(
            np.average(placed["minutes_to_hub"].fillna(0), weights=placed["pupils"].clip(lower=1))
        ),
        "max_minutes_to_hub": float(placed["minutes_to_hub"].max()),
        "clusters_in_pieces": int((clusters["pieces"] > 1).sum()),
        "links_added": [[a, b] for a, b in links_added],
    }


def _run_record(
    s: gpd.GeoDataFrame, *, result: Any, rules: Rules, unit_graph: Any, times: Any, name: str, settings_used: dict
) -> dict[str, Any]:
    return {
        "name": name,
        "clustergeo": __version__,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "solver": result.solver,
        "status": result.status,
        "objective": result.objective,
        "bound": result.bound,
        "gap": result.gap,
        "seconds": round(result.seconds, 3),
        "rounds": result.rounds,
        "cuts": result.cuts,
        "formulation": result.formulation,
        "units": unit_graph.number_of_nodes(),
        "unit_edges": [[str(a), str(b)] for a, b in sorted(unit_graph.edges, key=lambda e: (str(e[0]), str(e[1])))],
        "fixed_pairs": {k: int(v) for k, v in result.fixing.items()},
        "heuristic_objective": result.heuristic_objective,
        "unit_clusters": {str(k): str(v) for k, v in result.assignment.items()},
        "travel_times": times.label,
        "travel_method": times.method,
        "rules": rules.to_dict(),
        "input_hash": _hash(s),
        **settings_used,
    }


def build_plan(
    s: gpd.GeoDataFrame,
    status: pd.Series,
    cluster: pd.Series,
    *,
    result: Any,
    rules: Rules,
    unit_graph: Any,
    membership: pd.Series,
    cells: gpd.GeoSeries,
    times: Any,
    name: str,
    settings_used: dict,
    check: bool = True,
    **context: Any,
) -> Plan:
    """Assemble, check and return the :class:`Plan` (raises if the independent check fails).

    ``check=False`` skips the check, for plans a planner edited by hand that may break the
    rules (:mod:`clustergeo.edit` lists what they break).

    ``context`` carries what the plan records but does not compute from: ``links_added`` (pairs
    joined to connect stray parts), ``layers`` (context layers for the maps) and
    ``school_graph`` (accepted for the record; the polygons come from ``cells``).
    """
    out = _school_table(s, status, cluster, result=result, unit_graph=unit_graph, membership=membership, times=times)
    clusters = _cluster_table(out, cells)
    metrics = _metrics(out, clusters, context.get("links_added") or [])
    run = _run_record(
        s, result=result, rules=rules, unit_graph=unit_graph, times=times, name=name, settings_used=settings_used
    )
    plan = Plan(name, out, clusters, metrics, run, rules, context.get("layers") or {})
    if not check:
        return plan
    problems = check_plan(plan.assignment, s)
    problems += check_partition(
        unit_graph,
        result.assignment,
        bounds=rules.bounds(),
        k=rules.clusters,
        district="district" if rules.districts == "within" else None,
        district_mode=rules.districts,
    )
    problems += plan.check()
    if problems:
        raise SolverError("the plan failed the independent check: " + "; ".join(problems[:10]))
    return plan
