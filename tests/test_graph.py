"""Neighbours from polygons and Voronoi cells, islands, manual links, units round trip."""

import geopandas as gpd
import networkx as nx
import pandas as pd
import pytest
import shapely

import clustergeo as cg
from clustergeo import graph, units
from clustergeo.errors import GraphError


def squares(coords, size=100.0):
    return gpd.GeoSeries([shapely.box(x, y, x + size, y + size) for x, y in coords], crs="EPSG:27700")


def test_polygon_adjacency_grid():
    # 2 x 2 grid: 0 1 / 2 3 (queen contiguity: corners count)
    areas = squares([(0, 100), (100, 100), (0, 0), (100, 0)])
    assert graph.neighbours(areas, snap_tolerance_m=0) == [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]


def test_sliver_gap_is_snapped():
    areas = squares([(0, 0), (112, 0)])  # 12 m of water between them
    assert graph.neighbours(areas, snap_tolerance_m=5) == []
    assert graph.neighbours(areas, snap_tolerance_m=50) == [(0, 1)]


def test_overlapping_layers_are_neighbours():
    areas = gpd.GeoSeries(
        [shapely.box(0, 0, 100, 100), shapely.box(50, 50, 300, 300), shapely.box(1000, 0, 1100, 100)], crs="EPSG:27700"
    )
    assert graph.neighbours(areas, snap_tolerance_m=0) == [(0, 1)]


def schools_at(xy, pupils=None):
    n = len(xy)
    return cg.read_schools(
        pd.DataFrame(
            {
                "school_id": [f"s{i}" for i in range(n)],
                "name": [f"School {i}" for i in range(n)],
                "phase": ["primary"] * n,
                "pupils": pupils or [100] * n,
                "x": [p[0] for p in xy],
                "y": [p[1] for p in xy],
            }
        ),
        crs="EPSG:27700",
    )


def test_voronoi_row_is_a_path_and_shared_sites_work():
    s = schools_at([(100, 50), (300, 50), (500, 50), (500, 50)])
    box = shapely.box(0, 0, 600, 100)
    cells = graph.voronoi_cells(s, box, close_gaps_m=0)
    assert cells.iloc[2].equals(cells.iloc[3])  # same site, same cell
    assert abs(cells.iloc[:3].area.sum() - box.area) < 1e-6
    g = graph.school_graph(s, cells, snap_tolerance_m=0)
    assert set(g.edges) == {("s0", "s1"), ("s1", "s2"), ("s1", "s3"), ("s2", "s3")}


def test_islands_reported_by_name_then_linked():
    s = schools_at([(50, 50), (150, 50), (5050, 50)])
    areas = squares([(0, 0), (100, 0), (5000, 0)])
    areas.index = s.index
    g = graph.school_graph(s, areas)
    with pytest.raises(GraphError) as e:
        graph.check_connected(g)
    assert "School 2 (s2)" in str(e.value) and "add_links" in str(e.value)
    h = g.copy()
    graph.add_links(h, [("s2", "s1")], reason="ferry")
    graph.check_connected(h)
    assert h.edges["s1", "s2"]["link"] == "ferry"
    added = graph.connect_nearest(g)
    assert added == [("s2", "s1")]
    with pytest.raises(GraphError, match="not in the graph"):
        graph.add_links(g, [("s0", "nope")])


def test_norfolk_graph_is_connected_across_rivers():
    n = cg.datasets.load("norfolk")
    s = n.schools[n.schools["sector"] == "state-funded"]
    g = graph.school_graph(s, boundary=n.layers["authority"])
    graph.check_connected(g)
    assert g.number_of_nodes() == 422


def test_contraction_round_trip_loses_nothing():
    n = cg.datasets.load("norfolk")
    s = n.schools[n.schools["sector"] == "state-funded"]
    g = graph.school_graph(s, boundary=n.layers["authority"])
    membership = units.make_units(s, keep_whole="cluster", split=["Roman Catholic"])
    u = units.contract(g, membership)
    assert u.number_of_nodes() == 51 + 6
    assert sum(d["pupils"] for _, d in u.nodes(data=True)) == s["pupils"].sum()
    assert sum(d["schools"] for _, d in u.nodes(data=True)) == len(s)
    assert nx.is_connected(u)
    back = units.expand({k: k for k in u.nodes}, membership)
    assert sorted(back.index) == sorted(s["school_id"])
    # every school's unit holds it
    for sid, unit in back.items():
        assert sid in u.nodes[unit]["members"]


def test_must_link_merges_units():
    s = schools_at([(0, 0), (100, 0), (200, 0)])
    m = units.make_units(s, keep_whole=None, must_link=[["s0", "s2"]])
    assert m["s0"] == m["s2"] != m["s1"]
