"""Cluster polygons drawn per catchment layer, where the layers overlap by design.

North Lanarkshire has two catchment layers over the same ground: non-denominational and Roman
Catholic schools each cover the whole authority. A single set of cells (one per school) cuts the
ground between the layers and draws each cluster as a patchwork of its schools' cells, which
says nothing true about where its pupils live. :func:`layer_polygons` draws each layer on its
own instead: the cells of that layer's schools alone, so each layer is a clean partition of the
authority, and a cluster's polygon in one layer may overlap clusters of the other layer (as the
catchments do), never a cluster of its own layer. Schools sharing a site are drawn once
(:func:`clustergeo.plan.cluster_polygons`).
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd
import pandas as pd

from .errors import DataError, Problem
from .graph import voronoi_cells
from .plan import cluster_polygons

#: the plan.gpkg layer (and ``Plan.layers`` key) holding the polygons per catchment layer
LAYER_NAME = "clusters_by_layer"


def layer_polygons(schools: gpd.GeoDataFrame, boundary: Any, column: str) -> gpd.GeoDataFrame:
    """One polygon per cluster and catchment layer; each layer a partition of ``boundary``.

    Parameters
    ----------
    schools : GeoDataFrame
        A plan's schools (``cluster``, ``status``, ``pupils``, ``column``); placed and pinned
        schools are drawn.
    boundary : geometry, GeoSeries or GeoDataFrame
        The authority outline.
    column : str
        The schools column naming each school's catchment layer (``"denomination"``).

    Returns
    -------
    GeoDataFrame
        ``cluster, layer, schools, pupils, pieces, geometry``.

    Examples
    --------
    >>> polys = layer_polygons(plan.schools, ds.layers["authority"], "denomination")  # doctest: +SKIP
    """
    if column not in schools.columns:
        raise DataError(
            Problem("the catchment layer column is not in the schools table", column=column, fix="name a column")
        )
    drawn = schools[schools["status"].isin(["placed", "pinned"]) & schools["cluster"].notna()]
    rows = []
    for layer, grp in drawn.groupby(drawn[column].fillna("unknown").astype(str), sort=True):
        cells = voronoi_cells(grp, boundary)
        polygons, notes = cluster_polygons(grp, cells)
        for lab, sub in grp.groupby("cluster", sort=True):
            rows.append(
                {
                    "cluster": lab,
                    "layer": layer,
                    "schools": len(sub),
                    "pupils": int(sub["pupils"].sum()),
                    "pieces": notes.get(lab, {}).get("pieces", 0),
                    "geometry": polygons.get(lab),
                }
            )
    out = gpd.GeoDataFrame(
        pd.DataFrame(rows, columns=["cluster", "layer", "schools", "pupils", "pieces", "geometry"]),
        geometry="geometry",
        crs=schools.crs,
    )
    return out


def draw_by_layer(plan: Any, column: str, boundary: Any = None) -> Any:
    """Add the polygons per catchment layer to ``plan`` (``plan.layers["clusters_by_layer"]``,
    saved in plan.gpkg) and say so in its run record; returns the plan."""
    outline = boundary if boundary is not None else plan.layers.get("authority")
    if outline is None:
        raise DataError(Problem("drawing per catchment layer needs the authority outline", fix="pass boundary=..."))
    polys = layer_polygons(plan.schools, outline, column)
    plan.layers[LAYER_NAME] = polys
    plan.run["drawn_by_layer_column"] = column
    plan.run["drawn_by_layer"] = (
        f"the catchment layers ({column}: {', '.join(sorted(set(polys['layer'])))}) overlap by design: "
        f"plan.gpkg layer {LAYER_NAME} draws each cluster per layer (each layer a partition of the "
        "authority; map-by-layer.png shows them side by side); the clusters layer draws each school's own cell"
    )
    return plan
