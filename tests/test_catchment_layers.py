"""Cluster polygons per catchment layer: each layer a clean partition, nothing overlapping by
accident (North Lanarkshire's denominational layers overlap by design)."""

import pytest

import clustergeo as cg
from clustergeo.catchment_layers import LAYER_NAME, draw_by_layer, layer_polygons
from clustergeo.errors import DataError, RulesError


@pytest.fixture(scope="module")
def nl():
    return cg.datasets.load("north-lanarkshire")


def test_each_layer_partitions_the_authority(nl):
    s = nl.schools.assign(status="placed")
    s = s[s["group"].fillna("") != "asn"]  # the ASN cluster is not a place
    polys = layer_polygons(s, nl.layers["authority"], "denomination")
    authority = nl.layers["authority"].to_crs(s.crs).geometry.union_all()
    assert set(polys["layer"]) == {"Non-denominational", "Roman Catholic"}
    for layer, grp in polys.groupby("layer"):
        geo = grp[grp.geometry.notna()]
        # no two clusters of one layer overlap, and together they cover the authority
        assert geo.geometry.union_all().area == pytest.approx(geo.area.sum(), rel=1e-6)
        assert geo.area.sum() == pytest.approx(authority.area, rel=5e-3)  # gaps in the outline closed
        assert grp["schools"].sum() == (s["denomination"] == layer).sum()
        # every school lies in its own cluster's polygon of its layer
        mine = s[s["denomination"] == layer]
        where = dict(zip(geo["cluster"], geo.geometry))
        inside = [where[c].buffer(1).covers(pt) for c, pt in zip(mine["cluster"], mine.geometry) if c in where]
        assert sum(inside) / len(inside) > 0.97
    # the layers overlap by design: a non-denominational cluster overlaps Catholic clusters
    nd = polys[polys["layer"] == "Non-denominational"].geometry.union_all()
    rc = polys[polys["layer"] == "Roman Catholic"].geometry.union_all()
    assert nd.intersection(rc).area > 0.9 * authority.area


def test_draw_by_layer_records_and_checks(nl, tmp_path):
    with pytest.raises(DataError, match="catchment layer column"):
        layer_polygons(nl.schools.assign(status="placed"), nl.layers["authority"], "faith")
    toml = tmp_path / "bad.toml"
    toml.write_text('dataset = "north-lanarkshire"\ncatchment_layers = "denominaton"\n[rules]\nmin_schools = 8\n')
    with pytest.raises(RulesError, match="did you mean 'denomination'"):
        cg.read_scenario(toml).load()

    class Shell:  # draw_by_layer needs only the plan's schools, layers and run record
        schools = nl.schools.assign(status="placed")
        layers = {"authority": nl.layers["authority"]}
        run: dict = {}

    plan = draw_by_layer(Shell(), "denomination")
    assert LAYER_NAME in plan.layers and "overlap by design" in plan.run["drawn_by_layer"]


def test_layer_map_page(nl, tmp_path):
    import matplotlib.pyplot as plt

    from clustergeo import maps

    class Shell:
        name = "North Lanarkshire (current clusters)"
        schools = nl.schools.assign(status="placed")
        clusters = schools.dissolve("cluster").reset_index()[["cluster", "geometry"]]
        layers = {"authority": nl.layers["authority"]}
        run: dict = {}

    fig = maps.layer_figure(
        Shell(), layer_polygons(Shell.schools, nl.layers["authority"], "denomination"), "denomination"
    )
    assert [ax.get_title().split(":")[0] for ax in fig.axes] == ["Non-denominational", "Roman Catholic"]
    fig.savefig(tmp_path / "map-by-layer.png", dpi=50)
    plt.close(fig)
    assert (tmp_path / "map-by-layer.png").stat().st_size > 0
