"""A plan's tables from a solve: the school table, the cluster polygons and table, the
plan-wide metrics and the run record.

:func:`plan_tables` builds them; :func:`clustergeo.plan.build_plan` wraps them in a
:class:`~clustergeo.Plan` and checks it, and :mod:`clustergeo.edit` builds edited plans from them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .rules import Rules
from .version import __version__


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


def _secondaries_by_cluster(s: pd.DataFrame, cluster: pd.Series, status: pd.Series) -> dict[Any, list[str]]:
    """The secondary (or all-through) schools of each geographic cluster, largest first."""
    if "phase" not in s.columns:
        return {}
    placed = s.assign(_c=cluster.values, _st=status.values)
    placed = placed[(placed["_st"] == "placed") & placed["phase"].isin(["secondary", "all-through"])]
    placed = placed.sort_values(["pupils", "school_id"], ascending=[False, True])
    return {c: list(g["school_id"]) for c, g in placed.groupby("_c", sort=False)}


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
    secondaries = _secondaries_by_cluster(s, cluster, status)
    for hub_unit in sorted(result.hubs, key=str):
        members = unit_graph.nodes[hub_unit]["members"]
        hub_school = unit_graph.nodes[hub_unit].get("hub_school") or max(members, key=lambda m: (pupils_of[m], str(m)))
        # named after a secondary a planner knows it by, even when a primary is the travel hub
        named = hub_school if hub_school in secondaries.get(hub_unit, [hub_school]) else secondaries[hub_unit][0]
        hub_unit_to_label[hub_unit] = (f"{name_of[named]} cluster", hub_school)
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


def _by_pupils(grp: pd.DataFrame, column: str) -> list[str]:
    """The values of ``column`` in a cluster, the one holding most of its pupils first."""
    if column not in grp:
        return []
    have = grp[grp[column].notna()]
    pupils = have.groupby(have[column].astype(str))["pupils"].sum()
    return sorted(pupils.index, key=lambda v: (-pupils[v], v))


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
        current = _by_pupils(grp, "current_cluster")
        dists = _by_pupils(grp, "district")
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


def plan_tables(
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
    links_added: list | None = None,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, dict[str, Any], dict[str, Any]]:
    """The school table, cluster table, metrics and run record of a plan (see
    :func:`clustergeo.plan.build_plan` for the arguments)."""
    out = _school_table(s, status, cluster, result=result, unit_graph=unit_graph, membership=membership, times=times)
    clusters = _cluster_table(out, cells)
    metrics = _metrics(out, clusters, links_added or [])
    run = _run_record(
        s, result=result, rules=rules, unit_graph=unit_graph, times=times, name=name, settings_used=settings_used
    )
    return out, clusters, metrics, run
