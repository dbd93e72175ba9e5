"""Write a plan to files a planner opens in QGIS, and read it back.

One folder per plan:

==================  ===========================================================================
``plan.gpkg``       GeoPackage: layers ``schools`` (points), ``clusters`` (polygons and their
                    table) and ``run`` (the run record, one key/value row each)
``schools.geojson`` schools in WGS84 (RFC 7946)
``clusters.geojson`` cluster polygons in WGS84 (apart clusters have no polygon)
``assignment.csv``  ``school_id,cluster,status`` keyed by URN or seed code
``clusters.csv``    the cluster table
``plan.json``       metrics, the run record and the rules
``summary.txt``     the plain-text summary
``map.png``         static map; ``sizes.png``: cluster sizes against the bounds
``map.html``        interactive map (with the ``maps`` extra)
==================  ===========================================================================
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from .errors import DataError, Problem
from .plan import Plan
from .rules import Rules

log = logging.getLogger(__name__)

SCHOOL_COLUMNS = ["school_id", "name", "phase", "pupils", "district", "division", "group", "current_cluster",
                  "cluster", "status", "unit", "hub_school", "minutes_to_hub", "excluded"]


def _jsonable(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return None if np.isnan(v) else float(v)
    if isinstance(v, float) and np.isnan(v):
        return None
    return v


def write_plan(plan: Plan, folder: str | Path, *, maps: bool = True) -> dict[str, Path]:
    """Write every output of ``plan`` into ``folder`` (created if needed). Returns the paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    cols = [c for c in SCHOOL_COLUMNS if c in plan.schools.columns]
    schools = plan.schools[cols + ["geometry"]].copy()
    for c in ("current_cluster", "cluster", "district", "division", "group", "unit", "hub_school"):
        if c in schools:
            schools[c] = schools[c].astype(object).where(schools[c].notna(), None)
    clusters = plan.clusters.copy()
    gpkg = folder / "plan.gpkg"
    if gpkg.exists():
        gpkg.unlink()
    schools.to_file(gpkg, layer="schools", driver="GPKG")
    clusters.to_file(gpkg, layer="clusters", driver="GPKG")
    run = pd.DataFrame({"key": list(plan.run), "value": [json.dumps(_jsonable(v)) for v in plan.run.values()]})
    pyogrio.write_dataframe(run, gpkg, layer="run", append=False)
    paths["gpkg"] = gpkg
    for name, gdf in (("schools", schools), ("clusters", clusters[clusters.geometry.notna()])):
        p = folder / f"{name}.geojson"
        gdf.to_crs("EPSG:4326").to_file(p, driver="GeoJSON", RFC7946="YES") if len(gdf) else None
        paths[f"{name}_geojson"] = p
    assignment = plan.schools[["school_id", "cluster", "status"]]
    assignment.to_csv(folder / "assignment.csv", index=False)
    paths["assignment"] = folder / "assignment.csv"
    plan.table().to_csv(folder / "clusters.csv", index=False)
    paths["clusters_csv"] = folder / "clusters.csv"
    (folder / "plan.json").write_text(json.dumps(_jsonable(
        {"name": plan.name, "metrics": plan.metrics, "run": plan.run, "rules": plan.rules.to_dict()}), indent=2))
    paths["json"] = folder / "plan.json"
    (folder / "summary.txt").write_text(plan.summary() + "\n")
    paths["summary"] = folder / "summary.txt"
    if maps:
        from . import maps as m

        paths["map"] = m.save_static_map(plan, folder / "map.png")
        paths["sizes"] = m.save_size_chart(plan, folder / "sizes.png")
        try:
            paths["html"] = m.save_interactive_map(plan, folder / "map.html")
        except ImportError:
            log.warning("folium is not installed: no map.html (pip install 'clustergeo[maps]')")
    return paths


def read_plan(folder: str | Path) -> Plan:
    """Read a plan written by :func:`write_plan`."""
    folder = Path(folder)
    gpkg = folder / "plan.gpkg"
    if not gpkg.exists():
        raise DataError(Problem(f"no plan.gpkg in {folder}", fix="point at a folder written by 'clustergeo solve'"))
    schools = gpd.read_file(gpkg, layer="schools")
    clusters = gpd.read_file(gpkg, layer="clusters")
    for c in ("school_id", "cluster", "unit", "current_cluster", "hub_school"):
        if c in schools:
            schools[c] = schools[c].astype(object).where(schools[c].notna(), None)
    meta = json.loads((folder / "plan.json").read_text())
    return Plan(meta["name"], schools, clusters, meta["metrics"], meta["run"], Rules.from_dict(meta["rules"]))


def check_saved(folder: str | Path) -> list[str]:
    """Re-verify a saved plan against its rules with the independent checker."""
    from .check import verify_plan

    plan = read_plan(folder)
    return verify_plan(plan.schools, plan.clusters, plan.rules.to_dict(), plan.run.get("unit_edges"))
