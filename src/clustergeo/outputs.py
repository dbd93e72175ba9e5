"""Write a plan to files a planner opens in QGIS (:mod:`clustergeo.read` reads them back).

One folder per plan:

==================  ===========================================================================
``plan.gpkg``       GeoPackage: layers ``schools`` (points), ``clusters`` (polygons and their
                    table), ``run`` (the run record, one key/value row each) and the plan's
                    context layers (``districts``) for the maps
``schools.geojson`` schools in WGS84 (RFC 7946)
``clusters.geojson`` cluster polygons in WGS84 (apart clusters have no polygon)
``assignment.csv``  ``school_id,cluster,status`` keyed by URN or seed code
``clusters.csv``    the cluster table
``plan.json``       metrics, the run record and the rules
``peer_groups.csv`` peer groups inside the clusters (``school, name, cluster, group, ...``),
                    also the GeoPackage layer ``peer_groups`` (points); when formed
``allocations.csv`` staff and money per cluster, also the GeoPackage layer ``allocations``
                    (a table); when made
``summary.txt``     the plain-text summary
``map.png``         A4 landscape map with insets; ``sizes.png``: cluster sizes against the bounds;
                    ``map-by-layer.png``: one panel per catchment layer, where the layers overlap
``map.html``        interactive map, fully offline (one self-contained page)
``report.html``     the report (self-contained, offline); ``report.pdf``: the same on A4 pages
==================  ===========================================================================
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from .datasets import MEASURES
from .errors import OutputError
from .travel import SETTING_COLUMNS

if TYPE_CHECKING:  # Plan's methods call these functions: plan is imported only to build one
    from .plan import Plan

log = logging.getLogger(__name__)

#: Layers of ``plan.layers`` saved with the plan, so a saved plan's maps and report can be rebuilt.
CONTEXT_LAYERS = ("districts", "clusters_by_layer")  # the second: catchment_layers.py

SCHOOL_COLUMNS = [
    "school_id",
    "name",
    "phase",
    "pupils",
    "district",
    "division",
    "group",
    "current_cluster",
    "cluster",
    "status",
    "unit",
    "hub_school",
    "minutes_to_hub",
    "excluded",
]
# the per-school measures allocations share by travel with the plan, and the urban or rural
# setting travel times are estimated from (an edit of the saved plan re-estimates them)
SCHOOL_COLUMNS += [*MEASURES, "suppressed", *SETTING_COLUMNS]


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


#: A hidden file in every folder a run writes: a later run may replace such a folder.
RUN_MARKER = ".clustergeo-run"
#: Files that mark a folder as one clustergeo wrote (a plan, or the reasons there is none).
MARKERS = (RUN_MARKER, "plan.json", "plan.gpkg", "infeasible.txt")


def _is_ours(folder: Path) -> bool:
    return folder.is_dir() and (not any(folder.iterdir()) or any((folder / m).exists() for m in MARKERS))


def check_writable(folder: str | Path) -> Path:
    """Raise :class:`OutputError` unless ``folder`` can take a run's files: a new or empty
    folder, or one clustergeo wrote before, in a place that can be written. Call it before
    solving, so a long solve is not lost at the end.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> check_writable(pathlib.Path(tempfile.mkdtemp()) / "plan").name
    'plan'
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"--out {folder} is a file, not a folder; choose a folder name for the plan files")
    if folder.exists() and not _is_ours(folder):
        some = ", ".join(sorted(p.name for p in folder.iterdir())[:5])
        raise OutputError(
            f"--out {folder} holds files clustergeo did not write ({some}, ...); they would be "
            "replaced: choose a new or empty folder"
        )
    parent = folder.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        probe = Path(tempfile.mkdtemp(dir=parent, prefix=f".{folder.name}.probe-"))
        probe.rmdir()
    except OSError as e:
        raise OutputError(
            f"--out {folder} cannot be written ({e.strerror or e}); choose a folder you can write to"
        ) from e
    if folder.exists() and not os.access(folder, os.W_OK):
        raise OutputError(f"--out {folder} is read-only; choose a folder you can write to")
    return folder


def staging(folder: str | Path) -> Path:
    """A new empty folder beside ``folder`` (hidden, same file system) to write a run into.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> stage = staging(pathlib.Path(tempfile.mkdtemp()) / "plan")
    >>> stage.name.startswith(".plan.partial-")
    True
    """
    folder = check_writable(folder)
    stage = Path(tempfile.mkdtemp(dir=folder.resolve().parent, prefix=f".{folder.name}.partial-"))
    umask = os.umask(0)
    os.umask(umask)
    stage.chmod(0o777 & ~umask)  # an ordinary folder once in place (mkdtemp makes it private)
    (stage / RUN_MARKER).write_text("written by clustergeo: a later run may replace this folder\n")
    return stage


#: Files a run writes at the top of its folder (a plan's, or ``infeasible.txt``).
RUN_FILES = (
    "plan.gpkg",
    "schools.geojson",
    "clusters.geojson",
    "assignment.csv",
    "clusters.csv",
    "plan.json",
    "summary.txt",
    "map.png",
    "map-by-layer.png",
    "sizes.png",
    "map.html",
    "report.html",
    "report.pdf",
    "peer_groups.csv",
    "allocations.csv",
    "infeasible.txt",
    "no-plan-in-time.txt",
)


def install(stage: str | Path, folder: str | Path, *, whole: bool = True) -> Path:
    """Move a complete run from ``stage`` into ``folder``, replacing what a previous run left
    there, so the folder holds exactly one run's files. ``whole``: the folder is swapped as
    a whole (sub-folders too); otherwise only its top-level run files are replaced and
    sub-folders stay. If the move fails, the run stays in ``stage`` and the
    :class:`OutputError` says where.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "plan"
    >>> stage = staging(out)
    >>> _ = (stage / "infeasible.txt").write_text("no plan")
    >>> sorted(p.name for p in install(stage, out).iterdir())
    ['.clustergeo-run', 'infeasible.txt']
    """
    stage, folder = Path(stage), Path(folder)
    if not whole and folder.is_dir():
        try:
            for name in (*RUN_FILES, RUN_MARKER):
                if (folder / name).exists() and not (stage / name).exists():
                    (folder / name).unlink()
            for p in sorted(stage.iterdir()):
                os.replace(p, folder / p.name)
            stage.rmdir()
        except OSError as e:
            raise OutputError(
                f"could not move the finished files into {folder} ({e.strerror or e}); "
                f"what was not moved is kept in {stage}"
            ) from e
        return folder
    old = None
    try:
        if folder.exists():
            if not _is_ours(folder):
                raise OutputError(
                    f"{folder} holds files clustergeo did not write; not replaced. The run is complete in {stage}"
                )
            old = Path(tempfile.mkdtemp(dir=folder.resolve().parent, prefix=f".{folder.name}.old-"))
            os.replace(folder, old / folder.name)
        os.replace(stage, folder)
    except OSError as e:
        if old is not None and not folder.exists() and (old / folder.name).exists():
            os.replace(old / folder.name, folder)  # put the previous run back
        raise OutputError(
            f"could not move the finished run into {folder} ({e.strerror or e}); it is kept in {stage}"
        ) from e
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return folder


def write_infeasible(text: str, folder: str | Path, *, replace: bool = True) -> Path:
    """Write ``infeasible.txt`` (why no plan meets the rules) as the folder's only run output:
    a plan a previous run left there is removed.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> write_infeasible("No plan can meet the rules", pathlib.Path(tempfile.mkdtemp()) / "plan").name
    'infeasible.txt'
    """
    target = staging(folder) if replace else Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    (target / "infeasible.txt").write_text(text if text.endswith("\n") else text + "\n")
    if replace:
        install(target, folder, whole=False)
    return Path(folder) / "infeasible.txt"


def write_plan(
    plan: Plan, folder: str | Path, *, maps: bool = True, replace: bool = True, report: bool = True
) -> dict[str, Path]:
    """Write every output of ``plan`` into ``folder``. Returns the paths.

    With ``maps``, the map, size chart and offline interactive map; with ``report`` too,
    ``report.html`` and ``report.pdf``.

    With ``replace`` (the default) the files are written into a temporary folder beside
    ``folder`` and moved into place once complete: ``folder`` then holds this plan's files
    and nothing a previous run left (no stale ``infeasible.txt``, no stale plan). If the
    final move fails the plan is kept in the temporary folder and the error says where.
    ``replace=False`` writes straight into ``folder`` (already a fresh folder).

    Examples
    --------
    >>> paths = write_plan(plan, "out/norfolk")          # doctest: +SKIP
    >>> sorted(p.name for p in paths.values())[:2]       # doctest: +SKIP
    ['assignment.csv', 'clusters.csv']
    """
    final = Path(folder)
    folder = staging(final) if replace else final
    folder.mkdir(parents=True, exist_ok=True)
    try:
        paths = _write_files(plan, folder, maps=maps, report=report, beside=final)
    except OSError as e:
        raise OutputError(
            f"writing the plan failed ({e.strerror or e}: {e.filename or folder}); "
            f"what was written is in {folder}" + (f" ({final} is as it was)" if replace else "")
        ) from e
    if not replace:
        return paths
    install(folder, final, whole=False)
    return {k: final / p.relative_to(folder) for k, p in paths.items()}


def _write_files(
    plan: Plan, folder: Path, *, maps: bool, report: bool = True, beside: Path | None = None
) -> dict[str, Path]:
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
    for name in CONTEXT_LAYERS:
        if isinstance(plan.layers.get(name), gpd.GeoDataFrame) and len(plan.layers[name]):
            plan.layers[name].to_file(gpkg, layer=name, driver="GPKG")
    paths["gpkg"] = gpkg
    paths.update(_write_inside(plan, folder, gpkg))
    for name, gdf in (("schools", schools), ("clusters", clusters[clusters.geometry.notna()])):
        p = folder / f"{name}.geojson"
        gdf.to_crs("EPSG:4326").to_file(p, driver="GeoJSON", RFC7946="YES") if len(gdf) else None
        paths[f"{name}_geojson"] = p
    assignment = plan.schools[["school_id", "cluster", "status"]]
    assignment.to_csv(folder / "assignment.csv", index=False)
    paths["assignment"] = folder / "assignment.csv"
    plan.table().to_csv(folder / "clusters.csv", index=False)
    paths["clusters_csv"] = folder / "clusters.csv"
    # the school-by-school record: what `clustergeo check` compares the editable files with
    record = {
        str(sid): {
            "cluster": _jsonable(c) if c is not None and not pd.isna(c) else None,
            "status": str(st),
            "name": str(name),
        }
        for sid, c, st, name in zip(
            assignment["school_id"], assignment["cluster"], assignment["status"], plan.schools["name"]
        )
    }
    (folder / "plan.json").write_text(
        json.dumps(
            _jsonable(
                {
                    "name": plan.name,
                    "metrics": plan.metrics,
                    "run": plan.run,
                    "rules": plan.rules.to_dict(),
                    "assignment": record,
                }
            ),
            indent=2,
        )
    )
    paths["json"] = folder / "plan.json"
    (folder / "summary.txt").write_text(plan.summary() + "\n")
    paths["summary"] = folder / "summary.txt"
    if maps:
        paths.update(write_maps(plan, folder, report=report, beside=beside))
    return paths


def write_maps(
    plan: Plan, folder: str | Path, *, report: bool = True, pdf: bool = True, beside: str | Path | None = None
) -> dict[str, Path]:
    """Write ``map.png``, ``sizes.png``, ``map.html`` (and ``report.html``/``report.pdf``) into ``folder``.

    ``beside``: where the plan's variants and alternatives are saved, if not in ``folder``.

    Examples
    --------
    >>> write_maps(cg.read_plan("out/norfolk"), "out/norfolk")  # doctest: +SKIP
    """
    import matplotlib.pyplot as plt

    from . import maps as m
    from .report import write_report

    folder = Path(folder)
    paths: dict[str, Path] = {}
    fig, _ = m.map_figure(plan)
    fig.savefig(folder / "map.png", dpi=m.MAP_DPI)
    paths["map"] = folder / "map.png"
    paths["sizes"] = m.save_size_chart(plan, folder / "sizes.png")
    by_layer = plan.layers.get("clusters_by_layer")
    if by_layer is not None and len(by_layer):  # overlapping catchment layers (catchment_layers.py)
        column = str(plan.run.get("drawn_by_layer_column", "layer"))
        layer_fig = m.layer_figure(plan, by_layer, column)
        layer_fig.savefig(folder / "map-by-layer.png", dpi=m.MAP_DPI)
        plt.close(layer_fig)
        paths["map_by_layer"] = folder / "map-by-layer.png"
    paths["html"] = m.save_interactive_map(plan, folder / "map.html")
    if report:
        paths.update(write_report(plan, folder, map_figure=fig, pdf=pdf, beside=beside))
    plt.close(fig)
    return paths


def _write_inside(plan: Plan, folder: Path, gpkg: Path) -> dict[str, Path]:
    """Peer groups and allocations, when the plan has them: CSV files and GeoPackage layers."""
    paths: dict[str, Path] = {}
    for name, table in (
        ("peer_groups", getattr(plan, "groups", None)),
        ("allocations", getattr(plan, "allocations", None)),
    ):
        p = folder / f"{name}.csv"
        if table is None:
            p.unlink(missing_ok=True)  # a stale file would describe another plan
            continue
        table.to_csv(p, index=False)
        paths[name] = p
        if name == "peer_groups":
            xy = plan.schools.set_index("school_id").geometry
            layer = gpd.GeoDataFrame(table, geometry=table["school"].astype(str).map(xy).values, crs=plan.schools.crs)
            layer.to_file(gpkg, layer=name, driver="GPKG")
        else:
            pyogrio.write_dataframe(table, gpkg, layer=name, append=False)
    return paths
