"""The neighbour graph: which schools (or units) are geographic neighbours.

Two ways to get areas, then one way to get neighbours:

* :func:`voronoi_cells` gives every school an area from points alone (Voronoi cells clipped
  to the authority outline, with narrow water gaps closed first);
* the user's own polygons (catchments, wards...) work as they are;
* :func:`neighbours` joins two areas when they share a boundary, overlap, or lie within
  ``snap_tolerance_m`` of each other (real boundaries have slivers and gaps).

:func:`school_graph` builds a :class:`networkx.Graph` whose nodes are school ids carrying
``pupils``, ``schools``, ``x``, ``y``, ``name`` and ``district``; :func:`components` and
:func:`check_connected` report stray parts by the schools' names; :func:`add_links` and
:func:`connect_nearest` join them (a bridge, a ferry, or the nearest neighbour by travel time).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely

from .errors import GraphError, Problem
from .settings import settings


def voronoi_cells(
    points: gpd.GeoSeries | gpd.GeoDataFrame, boundary: Any, *, close_gaps_m: float | None = None
) -> gpd.GeoSeries:
    """Voronoi cell of every point, clipped to ``boundary``.

    Points that share a site (the same postcode centroid) get the same cell, so both
    schools have an area and are each other's neighbours.

    Parameters
    ----------
    points : GeoSeries or GeoDataFrame of Points, projected CRS in metres
    boundary : (multi)polygon, GeoSeries or GeoDataFrame
        The authority outline. Water gaps narrower than ``2 * close_gaps_m`` are closed
        (a morphological closing) before clipping, so a river crossed by bridges does not
        cut the cells apart.
    close_gaps_m : float, optional
        Defaults to ``settings.close_gaps_m`` (metres). ``0`` clips to the outline as it is.

    Returns
    -------
    GeoSeries indexed like ``points``.
    """
    geoms = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
    crs = geoms.crs
    if isinstance(boundary, (gpd.GeoDataFrame, gpd.GeoSeries)):
        boundary = shapely.union_all(boundary.to_crs(crs).geometry.values)
    gap = settings.close_gaps_m if close_gaps_m is None else close_gaps_m
    if gap > 0:
        boundary = boundary.buffer(gap).buffer(-gap)
    xy = np.column_stack([geoms.x.to_numpy(), geoms.y.to_numpy()])
    sites, inverse = np.unique(np.round(xy, 3), axis=0, return_inverse=True)
    inverse = np.asarray(inverse).ravel()
    if len(sites) == 1:
        cells = [boundary]
    else:
        extent = shapely.box(*boundary.bounds).buffer(10_000)
        regions = shapely.voronoi_polygons(shapely.multipoints(sites), extend_to=extent)
        parts = list(shapely.get_parts(regions))
        tree = shapely.STRtree(parts)
        pts = shapely.points(sites)
        cells = [None] * len(sites)
        for k, p in enumerate(pts):
            hit = [i for i in tree.query(p) if parts[i].covers(p)]
            cells[k] = parts[hit[0]]
        shapely.prepare(boundary)
        cells = list(shapely.intersection(np.array(cells, dtype=object), boundary))
    out = [cells[k] for k in inverse]
    return gpd.GeoSeries(out, index=geoms.index, crs=crs)


def neighbours(areas: gpd.GeoSeries | Sequence[Any], *, snap_tolerance_m: float | None = None) -> list[tuple[int, int]]:
    """Pairs ``(i, j)``, ``i < j`` (positions), of areas that touch, overlap or nearly touch.

    Two areas are neighbours when they come within ``snap_tolerance_m`` metres of each other
    (default ``settings.snap_tolerance_m``, 50 m), which closes slivers and gaps between
    polygons digitised separately, and when they overlap (overlapping layers, such as North
    Lanarkshire's non-denominational and Roman Catholic catchments).
    """
    geoms = np.asarray(areas.values if isinstance(areas, gpd.GeoSeries) else list(areas), dtype=object)
    tol = settings.snap_tolerance_m if snap_tolerance_m is None else snap_tolerance_m
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="dwithin", distance=tol)
    pairs = {(int(a), int(b)) for a, b in zip(left, right) if a < b}
    return sorted(pairs)


def school_graph(
    schools: gpd.GeoDataFrame,
    areas: gpd.GeoSeries | None = None,
    *,
    boundary: Any = None,
    snap_tolerance_m: float | None = None,
    id_column: str = "school_id",
) -> nx.Graph:
    """The neighbour graph of the schools.

    Parameters
    ----------
    schools : GeoDataFrame
        Schools table (see :mod:`clustergeo.schools`); use ``schools.active(...)`` to leave
        excluded schools out.
    areas : GeoSeries, optional
        One area per school (indexed like ``schools``). Without it, Voronoi cells clipped to
        ``boundary`` are used.
    boundary : optional
        The authority outline, needed when ``areas`` is not given.

    Returns
    -------
    networkx.Graph
        Nodes are ``school_id`` strings with attributes ``pupils``, ``schools`` (=1), ``x``,
        ``y``, ``name``, ``district``, ``division`` where known, and ``area`` (the polygon).
        The graph attribute ``crs`` holds the CRS.
    """
    if areas is None:
        if boundary is None:
            raise GraphError(
                Problem(
                    "need either areas or an authority boundary to find neighbours",
                    fix="pass boundary=dataset.layers['authority'] or areas=...",
                )
            )
        areas = voronoi_cells(schools, boundary)
    g = nx.Graph(crs=schools.crs)
    ids = schools[id_column].tolist()
    for pos, (idx, row) in enumerate(schools.iterrows()):
        attrs = {
            "pupils": int(row["pupils"]),
            "schools": 1,
            "x": float(row.geometry.x),
            "y": float(row.geometry.y),
            "name": row.get("name", str(ids[pos])),
            "area": areas.loc[idx],
        }
        for col in ("district", "division", "phase", "group", "cluster"):
            if col in schools.columns:
                attrs[col] = row[col]
        g.add_node(ids[pos], **attrs)
    for i, j in neighbours(areas.loc[schools.index], snap_tolerance_m=snap_tolerance_m):
        g.add_edge(ids[i], ids[j])
    return g


def components(graph: nx.Graph) -> list[list[Hashable]]:
    """Connected components, largest first, each sorted."""
    comps = [sorted(c, key=str) for c in nx.connected_components(graph)]
    return sorted(comps, key=lambda c: (-len(c), str(c[0])))


def _names(graph: nx.Graph, nodes: Iterable[Hashable], limit: int = 6) -> str:
    nodes = list(nodes)
    text = ", ".join(f"{graph.nodes[n].get('name', n)} ({n})" for n in nodes[:limit])
    return text + (f" and {len(nodes) - limit} more" if len(nodes) > limit else "")


def check_connected(graph: nx.Graph) -> None:
    """Raise :class:`GraphError` naming the schools of every part cut off from the main one."""
    comps = components(graph)
    if len(comps) <= 1:
        return
    problems = [
        Problem(
            f"these schools are cut off from the rest ({len(c)} nodes): {_names(graph, c)}",
            fix="add a link by hand (add_links(graph, [(a, b)]) for a bridge or ferry) "
            "or join each stray part to its nearest neighbour (connect_nearest)",
        )
        for c in comps[1:]
    ]
    raise GraphError(problems)


def add_links(graph: nx.Graph, links: Iterable[tuple[Hashable, Hashable]], *, reason: str = "manual link") -> nx.Graph:
    """Add neighbour links by hand (a bridge, a ferry). Unknown nodes raise :class:`GraphError`."""
    problems = []
    for a, b in links:
        for n in (a, b):
            if n not in graph:
                problems.append(
                    Problem(
                        f"link names {n!r}, which is not in the graph",
                        school=str(n),
                        fix="use ids that are in the graph",
                    )
                )
        if not problems:
            graph.add_edge(a, b, link=reason)
    if problems:
        raise GraphError(problems)
    return graph


def connect_nearest(
    graph: nx.Graph, cost: Callable[[Hashable, Hashable], float] | None = None
) -> list[tuple[Hashable, Hashable]]:
    """Join every stray part to its nearest node in the rest, until the graph is connected.

    ``cost(a, b)`` is the travel time (or any cost) between two nodes; by default the
    straight-line distance between their ``x``/``y``. Returns the links added (each edge is
    marked ``link="nearest"``), so they can be reported.
    """

    def dist(a: Hashable, b: Hashable) -> float:
        na, nb = graph.nodes[a], graph.nodes[b]
        return float(np.hypot(na["x"] - nb["x"], na["y"] - nb["y"]))

    cost = cost or dist
    added = []
    comps = components(graph)
    while len(comps) > 1:
        main = set(comps[0])
        stray = comps[-1]
        best = min((cost(a, b), str(a), str(b), a, b) for a in stray for b in main)
        graph.add_edge(best[3], best[4], link="nearest")
        added.append((best[3], best[4]))
        comps = components(graph)
    return added
