"""Travel times between schools, in minutes.

* :func:`road_travel_times`: on a real road network (OpenStreetMap through osmnx). The
  network comes from a saved graph (``.graphml``), a local OSM file (``.osm`` XML, or
  ``.osm.pbf`` converted with pyosmium), or a graph already in memory; it is downloaded by
  place or polygon only when you ask for it (:func:`download_network`), never in tests.
  Speeds and travel times are osmnx's; schools are snapped to the nearest network node; all
  pairs come from one multi-source Dijkstra run on a sparse matrix (SciPy), not a Python
  loop of single-pair searches.
* :func:`estimate_travel_times`: the fallback, straight-line distance times a detour factor
  divided by a speed, **labelled as an estimate** wherever it shows. Its defaults are
  calibrated against published figures by :func:`clustergeo.calibration.calibrate`; the
  speed beyond a short trip is the DfT's published local 'A' road average.

Results are cached on disk keyed by a hash of every input (``settings.cache_folder``).
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd

from .errors import DataError, Problem
from .settings import settings

log = logging.getLogger(__name__)

#: OSM highway values no car uses: dropped when a PBF file is converted for driving.
NOT_DRIVABLE = frozenset(
    {
        "footway",
        "path",
        "steps",
        "pedestrian",
        "cycleway",
        "bridleway",
        "corridor",
        "elevator",
        "escalator",
        "proposed",
        "construction",
        "platform",
        "raceway",
        "bus_guideway",
        "busway",
        "abandoned",
        "planned",
        "via_ferrata",
        "track",
    }
)


@dataclass
class TravelTimes:
    """A square matrix of travel times between named points.

    Attributes
    ----------
    ids : list
        Row/column labels (school ids).
    minutes : numpy.ndarray
        ``minutes[i, j]``: travel time from ``ids[i]`` to ``ids[j]``.
    method : {"road", "estimate"}
    label : str
        What a planner should read next to every figure (for example
        ``"ESTIMATE: straight line x 1.32 at 31 km/h"``).
    details : dict
        Parameters and diagnostics (snap distances, unreachable pairs...).
    """

    ids: list
    minutes: np.ndarray
    method: str
    label: str
    details: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._pos = {k: i for i, k in enumerate(self.ids)}

    @property
    def is_estimate(self) -> bool:
        return self.method != "road"

    def __call__(self, a: Hashable, b: Hashable) -> float:
        return float(self.minutes[self._pos[a], self._pos[b]])

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.minutes, index=self.ids, columns=self.ids)

    def unit_costs(self, unit_graph: nx.Graph) -> dict[tuple[Hashable, Hashable], float]:
        """Cost of unit ``i`` joining the cluster hubbed at unit ``j``, in pupil-minutes.

        The hub school of a unit is its ``hub_school`` attribute when set (a hub candidate),
        else its largest member (usually the secondary). The cost is
        ``sum over the schools s of i of pupils(s) * minutes(s, hub school of j)``.
        """
        nodes = list(unit_graph.nodes)
        hubs = [
            self._pos[d["hub_school"] if "hub_school" in d else _largest(d.get("members", [u]), self)]
            for u, d in ((u, unit_graph.nodes[u]) for u in nodes)
        ]
        pupils = self.details.get("pupils", {})
        # one matrix product: pupils of each unit's schools (rows) x minutes to each hub school
        cols, rows, weights = [], [], []
        for r, u in enumerate(nodes):
            for m in unit_graph.nodes[u].get("members", [u]):
                cols.append(self._pos[m])
                rows.append(r)
                weights.append(float(pupils.get(m, 1)))
        w = np.zeros((len(nodes), len(self.ids)))
        np.add.at(w, (np.array(rows, dtype=int), np.array(cols, dtype=int)), weights)
        table = w @ self.minutes[:, hubs]
        cost = {}
        for r, i in enumerate(nodes):
            row = table[r].tolist()
            for c, j in enumerate(nodes):
                cost[i, j] = row[c]
        return cost


def _largest(members: Sequence[Hashable], tt: TravelTimes) -> Hashable:
    pupils = tt.details.get("pupils", {})
    return max(members, key=lambda m: (pupils.get(m, 0), str(m)))


def _points(points: gpd.GeoDataFrame | gpd.GeoSeries, ids: Sequence[Hashable] | None) -> tuple[list, np.ndarray]:
    geoms = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
    if geoms.crs is None or geoms.crs.is_geographic:
        raise DataError(
            Problem(
                "points must be in a projected CRS in metres",
                column="geometry",
                fix="use clustergeo.read_schools, or .to_crs('EPSG:27700')",
            )
        )
    if ids is None:
        ids = (
            points["school_id"].tolist()
            if isinstance(points, gpd.GeoDataFrame) and "school_id" in points
            else list(geoms.index)
        )
    return list(ids), np.column_stack([geoms.x.to_numpy(), geoms.y.to_numpy()])


def _cache_path(kind: str, *parts: Any) -> Path:
    h = hashlib.sha256()
    for p in parts:
        h.update(p if isinstance(p, bytes) else repr(p).encode())
    return Path(settings.cache_folder) / f"{kind}-{h.hexdigest()[:24]}.npz"


def _pupils(points: Any, ids: list) -> dict:
    if isinstance(points, gpd.GeoDataFrame) and "pupils" in points:
        return dict(zip(ids, points["pupils"].astype(int).tolist()))
    return {}


#: Published average road speed for the long part of a trip out of town: the Department for
#: Transport's average speed on local 'A' roads in England, weekday morning peak, year to June
#: 2014 ("Congestion on local 'A' roads, England: April to June 2014"): 24.4 mph.
LONG_TRIP_SPEED_KMH = 24.4 * 1.609344
#: Road kilometres up to which the short-trip speed (calibrated on SIMD 2020 drive times to the
#: nearest school) holds: the 95th percentile road length of those calibration trips
#: (:func:`clustergeo.calibration.calibrate`, ``short_trip_km``).
SHORT_TRIP_KM = 3.9


def is_rural(labels: Sequence[Any]) -> np.ndarray:
    """Rural (True) or urban from a school's own classification (Norfolk's ``UrbanRural``, North
    Lanarkshire's ``urban_rural_6fold``): urban when the label says urban and not rural; small
    towns and unknown settings count as rural only when the label says rural or small town."""
    out = []
    for lab in labels:
        t = str(lab).lower() if lab is not None and not (isinstance(lab, float) and np.isnan(lab)) else ""
        out.append(("rural" in t or "small town" in t) and not ("urban" in t and "rural" not in t))
    return np.asarray(out, dtype=bool)


#: the columns a school's urban or rural setting is read from (the first found); a saved plan
#: keeps them, so its travel times can be estimated again the same way
SETTING_COLUMNS = ("UrbanRural", "urban_rural_6fold", "urban_rural")


def _settings(points: Any, n: int) -> np.ndarray:
    if isinstance(points, gpd.GeoDataFrame):
        for col in SETTING_COLUMNS:
            if col in points.columns:
                return is_rural(points[col].tolist())
    return np.zeros(n, dtype=bool)


def estimate_travel_times(
    points: gpd.GeoDataFrame | gpd.GeoSeries,
    ids: Sequence[Hashable] | None = None,
    *,
    detour_factor: float | None = None,
    speed_kmh: float | None = None,
    long_speed_kmh: float | None = LONG_TRIP_SPEED_KMH,
    short_trip_km: float = SHORT_TRIP_KM,
) -> TravelTimes:
    """Straight-line estimate whose speed depends on the trip, in minutes.

    Road distance is the straight line times ``detour_factor``. The first ``short_trip_km`` of
    road go at ``speed_kmh`` (calibrated on short trips to the nearest school); the rest goes at
    ``long_speed_kmh`` (the DfT's published average on local 'A' roads) when either school is
    rural by its own classification, and at ``speed_kmh`` between two urban schools (town
    traffic all the way). ``long_speed_kmh=None``: one speed for every trip. Defaults from
    ``settings.detour_factor`` and ``settings.speed_kmh``. The result is labelled as an
    estimate, with the assumption in words.

    Examples
    --------
    >>> import clustergeo as cg
    >>> tt = estimate_travel_times(cg.datasets.load("nl").schools)
    >>> tt.is_estimate
    True
    """
    ids, xy = _points(points, ids)
    f = settings.detour_factor if detour_factor is None else detour_factor
    v = settings.speed_kmh if speed_kmh is None else speed_kmh
    road_km = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1]) / 1000.0 * f
    if long_speed_kmh is None:
        minutes = road_km / v * 60.0
        label = f"ESTIMATE: straight line x {f:g} at {v:g} km/h (no road network)"
    else:
        rural = _settings(points, len(ids))
        v_rest = np.where(rural[:, None] | rural[None, :], long_speed_kmh, v)
        minutes = 60.0 * (np.minimum(road_km, short_trip_km) / v + np.maximum(road_km - short_trip_km, 0.0) / v_rest)
        label = (
            f"ESTIMATE: straight line x {f:g}; {v:g} km/h for the first {short_trip_km:g} km, then "
            f"{long_speed_kmh:.1f} km/h (DfT local 'A' road average) where either school is rural "
            "(no road network)"
        )
    return TravelTimes(
        ids,
        minutes,
        "estimate",
        label,
        {
            "detour_factor": f,
            "speed_kmh": v,
            "long_speed_kmh": long_speed_kmh,
            "short_trip_km": short_trip_km,
            "pupils": _pupils(points, ids),
        },
    )


# --------------------------------------------------------------------------- road networks


def pbf_to_osm_xml(pbf: str | Path, out: str | Path | None = None, *, drive_only: bool = True) -> Path:
    """Convert an OSM PBF extract to the OSM XML that osmnx reads (needs ``pyosmium``).

    Extracts are clipped, so ways can name nodes that are not in the file; each way is cut to
    its longest run of present nodes (osmnx rejects ways with missing nodes). With
    ``drive_only`` only ways with a drivable ``highway`` tag are kept.
    """
    try:
        import osmium
    except ImportError as e:  # pragma: no cover - optional extra
        raise DataError(
            Problem(
                "reading .pbf files needs pyosmium", fix="pip install 'clustergeo[osm]' or convert the file to .osm XML"
            )
        ) from e
    pbf = Path(pbf)
    out = Path(out) if out else Path(tempfile.mkdtemp(prefix="clustergeo-")) / (pbf.stem.split(".")[0] + ".osm")
    present = {n.id for n in osmium.FileProcessor(str(pbf), osmium.osm.NODE)}
    ways, used = [], set()
    for w in osmium.FileProcessor(str(pbf), osmium.osm.WAY):
        hw = w.tags.get("highway")
        # the filter yields ways only; the isinstance tells the type checker so
        if not isinstance(w, osmium.osm.Way) or hw is None or (drive_only and hw in NOT_DRIVABLE):
            continue
        best: list[int] = []
        run: list[int] = []
        for ref in (n.ref for n in w.nodes):
            if ref in present:
                run.append(ref)
            else:
                best, run = (run if len(run) > len(best) else best), []
        best = run if len(run) > len(best) else best
        if len(best) >= 2:
            ways.append((w.id, best, dict(w.tags)))
            used.update(best)
    if out.exists():
        out.unlink()
    with osmium.SimpleWriter(str(out)) as writer:
        for n in osmium.FileProcessor(str(pbf), osmium.osm.NODE):
            if isinstance(n, osmium.osm.Node) and n.id in used:
                writer.add_node(
                    osmium.osm.mutable.Node(id=n.id, location=(n.location.lon, n.location.lat), tags={}, version=1)
                )
        for wid, refs, tags in ways:
            writer.add_way(osmium.osm.mutable.Way(id=wid, nodes=refs, tags=tags, version=1))
    return out


def load_network(source: str | Path | nx.MultiDiGraph) -> nx.MultiDiGraph:
    """A drivable road network with ``travel_time`` (seconds) on every edge.

    ``source`` is an osmnx graph, a ``.graphml`` file saved by osmnx, an OSM XML file
    (``.osm``/``.xml``) or an OSM PBF extract (``.pbf``). Nothing is downloaded.
    """
    import osmnx as ox

    if isinstance(source, nx.MultiDiGraph):
        g = source
    else:
        path = Path(source)
        if not path.exists():
            raise DataError(Problem(f"road network file not found: {path}", fix="check the path"))
        name = path.name.lower()
        if name.endswith(".graphml"):
            g = ox.load_graphml(path)
        elif name.endswith(".pbf"):
            g = ox.graph_from_xml(pbf_to_osm_xml(path), simplify=True, retain_all=True)
        elif name.endswith((".osm", ".xml", ".osm.bz2")):
            g = ox.graph_from_xml(path, simplify=True, retain_all=True)
        else:
            raise DataError(
                Problem(f"unknown road network format: {path.name}", fix="use .graphml, .osm, .xml or .osm.pbf")
            )
    if not all("travel_time" in d for _, _, d in g.edges(data=True)):
        g = ox.routing.add_edge_speeds(g)
        g = ox.routing.add_edge_travel_times(g)
    return g


def download_network(
    place: str | None = None, polygon: Any = None, *, network_type: str = "drive"
) -> nx.MultiDiGraph:  # pragma: no cover - needs the internet
    """Download a road network from OpenStreetMap (needs the internet; never used in tests)."""
    import osmnx as ox

    if place is not None:
        g = ox.graph_from_place(place, network_type=network_type)
    elif polygon is not None:
        g = ox.graph_from_polygon(polygon, network_type=network_type)
    else:
        raise DataError(Problem("give a place name or a polygon to download a road network"))
    return load_network(g)


def _network_signature(g: nx.MultiDiGraph) -> bytes:
    h = hashlib.sha256()
    h.update(repr((g.number_of_nodes(), g.number_of_edges(), str(g.graph.get("crs")))).encode())
    for u, v, d in sorted(g.edges(data=True), key=lambda e: (e[0], e[1]))[:: max(1, g.number_of_edges() // 5000)]:
        h.update(f"{u},{v},{d.get('travel_time', 0):.3f};".encode())
    return h.digest()


def _node_xy(g: nx.MultiDiGraph, nodes: list, crs: Any) -> tuple[np.ndarray, np.ndarray]:
    """Node coordinates of an osmnx graph in ``crs`` (only the nodes are projected)."""
    x = np.array([g.nodes[n]["x"] for n in nodes], dtype=float)
    y = np.array([g.nodes[n]["y"] for n in nodes], dtype=float)
    src = g.graph.get("crs", "EPSG:4326")
    from pyproj import CRS, Transformer

    if crs is not None and CRS.from_user_input(src) != CRS.from_user_input(crs):
        x, y = Transformer.from_crs(src, crs, always_xy=True).transform(x, y)
    return np.asarray(x), np.asarray(y)


def road_travel_times(
    points: gpd.GeoDataFrame | gpd.GeoSeries,
    network: str | Path | nx.MultiDiGraph,
    ids: Sequence[Hashable] | None = None,
    *,
    access_speed_kmh: float = 15.0,
    cache: bool | None = None,
) -> TravelTimes:
    """Travel times on a real road network, in minutes.

    Each point is snapped to its nearest node of the network's largest strongly connected
    part (so that every pair has a route both ways); the time from the point to that node
    (straight line at ``access_speed_kmh``) is added at both ends. All pairs come from one
    multi-source Dijkstra over the network's sparse adjacency matrix (SciPy), using the
    fastest of parallel edges. Pairs with no route (one-way dead ends at the edge of an
    extract) fall back to the straight-line estimate and are counted in
    ``details["unreachable_pairs"]``.
    """
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    ids, xy = _points(points, ids)
    g = load_network(network)
    crs = (points.geometry if isinstance(points, gpd.GeoDataFrame) else points).crs
    use_cache = settings.use_cache if cache is None else cache
    key = _cache_path("road", xy.tobytes(), _network_signature(g), access_speed_kmh, str(crs))
    if use_cache and key.exists():
        z = np.load(key)
        return TravelTimes(
            ids,
            z["minutes"],
            "road",
            "road network (OpenStreetMap, osmnx speeds)",
            {
                "snap_m": z["snap_m"],
                "unreachable_pairs": int(z["unreachable"]),
                "pupils": _pupils(points, ids),
                "cached": True,
                "network_nodes": g.number_of_nodes(),
            },
        )
    nodes = list(g.nodes)
    index = {n: i for i, n in enumerate(nodes)}
    nx_, ny_ = _node_xy(g, nodes, crs)
    # the fastest of parallel edges, as one sparse matrix (seconds)
    uu, vv, tt = [], [], []
    for u, v, t in g.edges(data="travel_time"):
        uu.append(index[u])
        vv.append(index[v])
        tt.append(t)
    uu_a, vv_a, tt_a = np.asarray(uu), np.asarray(vv), np.asarray(tt, dtype=float)
    order = np.lexsort((tt_a, vv_a, uu_a))
    uu_a, vv_a, tt_a = uu_a[order], vv_a[order], tt_a[order]
    first = np.ones(len(uu_a), dtype=bool)
    first[1:] = (uu_a[1:] != uu_a[:-1]) | (vv_a[1:] != vv_a[:-1])
    # csgraph treats an explicit 0 as no edge
    mat = csr_matrix((tt_a[first] + 1e-9, (uu_a[first], vv_a[first])), shape=(len(nodes), len(nodes)))
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    # snap only to nodes of the largest strongly connected part, so every pair has a route
    # (clipped extracts leave one-way stubs and islands at their edges)
    _n, labels = connected_components(mat, directed=True, connection="strong")
    core = np.flatnonzero(labels == np.bincount(labels).argmax())
    snap_m, k = cKDTree(np.column_stack([nx_[core], ny_[core]])).query(xy)
    snap_idx = core[k]
    sources, inverse = np.unique(snap_idx, return_inverse=True)
    # one multi-source Dijkstra, in blocks of sources so that memory stays at
    # block x nodes, keeping only the columns of the snapped points
    dist = np.empty((len(sources), len(sources)))
    for b in range(0, len(sources), 128):
        dist[b : b + 128] = dijkstra(mat, directed=True, indices=sources[b : b + 128])[:, sources]
    sec = dist[inverse][:, inverse]
    access = snap_m / 1000.0 / access_speed_kmh * 3600.0
    minutes = (sec + access[:, None] + access[None, :]) / 60.0
    np.fill_diagonal(minutes, 0.0)
    unreachable = ~np.isfinite(minutes)
    if unreachable.any():
        est = estimate_travel_times(gpd.GeoSeries(gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=crs), ids).minutes
        minutes[unreachable] = est[unreachable]
    if use_cache:
        key.parent.mkdir(parents=True, exist_ok=True)
        np.savez(key, minutes=minutes, snap_m=snap_m, unreachable=int(unreachable.sum()))
    return TravelTimes(
        ids,
        minutes,
        "road",
        "road network (OpenStreetMap, osmnx speeds)",
        {
            "snap_m": snap_m,
            "unreachable_pairs": int(unreachable.sum()),
            "pupils": _pupils(points, ids),
            "cached": False,
            "network_nodes": g.number_of_nodes(),
            "access_speed_kmh": access_speed_kmh,
        },
    )


def travel_times(
    points: gpd.GeoDataFrame, network: str | Path | nx.MultiDiGraph | None = None, **kwargs: Any
) -> TravelTimes:
    """Road travel times when a network is given, else the labelled straight-line estimate."""
    if network is None:
        log.warning("no road network given: travel times are a straight-line ESTIMATE")
        return estimate_travel_times(points, **kwargs)
    return road_travel_times(points, network, **kwargs)


def calibrate(data: Path | None = None, *, max_area_km2: float = 2.0) -> dict[str, float]:
    """Moved to :func:`clustergeo.calibration.calibrate` (beside the datasets it reads)."""
    from .calibration import calibrate as run

    return run(data, max_area_km2=max_area_km2)
