"""The schools table: every bad-input case gives a clear error naming school, column and fix."""

import geopandas as gpd
import pandas as pd
import pytest
import shapely

import clustergeo as cg
from clustergeo.errors import DataError


def table(**over):
    base = {
        "school_id": ["1", "2", "3"],
        "name": ["Alpha Primary", "Beta High", "Gamma Special"],
        "phase": ["primary", "secondary", "special"],
        "pupils": ["200", "900", "50"],
        "x": ["600000", "601000", "602000"],
        "y": ["300000", "300500", "301000"],
    }
    base.update(over)
    return pd.DataFrame(base)


def read(df, **kw):
    kw.setdefault("crs", "EPSG:27700")
    return cg.read_schools(df, **kw)


def test_reads_valid_table():
    s = read(table())
    assert list(s["school_id"]) == ["1", "2", "3"]
    assert s["pupils"].dtype == "int64"
    assert s.crs.to_epsg() == 27700
    assert (s["excluded"] == "").all()


def error_of(df, **kw):
    with pytest.raises(DataError) as e:
        read(df, **kw)
    return e.value


def test_missing_required_column():
    e = error_of(table().drop(columns="pupils"))
    assert e.problems[0].column == "pupils"
    assert "rename" in e.problems[0].fix


def test_duplicate_id_names_both_schools():
    e = error_of(table(school_id=["1", "1", "3"]))
    msg = str(e)
    assert "Alpha Primary" in msg and "Beta High" in msg and "school_id" in msg


@pytest.mark.parametrize(
    "value,word", [("abc", "not a number"), ("-5", "negative"), ("", "missing"), ("12.5", "whole")]
)
def test_bad_pupils(value, word):
    e = error_of(table(pupils=["200", value, "50"]))
    (p,) = e.problems
    assert p.column == "pupils" and "Beta High" in p.school and word in p.message


def test_missing_and_nonfinite_coordinates():
    e = error_of(table(x=["600000", "", "inf"]))
    schools = " ".join(p.school for p in e.problems)
    assert "Beta High" in schools and "Gamma Special" in schools
    assert all(p.fix for p in e.problems)


def test_outside_boundary():
    boundary = shapely.box(599000, 299000, 601500, 301500)
    e = error_of(table(), boundary=boundary)
    (p,) = e.problems
    assert "Gamma Special" in p.school and "outside" in p.message


def test_no_crs():
    e = error_of(table(), crs=None)
    assert "CRS" in str(e)
    g = gpd.GeoDataFrame(table().drop(columns=["x", "y"]), geometry=gpd.points_from_xy([1, 2, 3], [1, 2, 3]))
    with pytest.raises(DataError, match="no CRS"):
        cg.read_schools(g)


def test_empty_table():
    with pytest.raises(DataError, match="empty"):
        read(table().iloc[0:0])


def test_unknown_phase_and_phase_map():
    e = error_of(table(phase=["primary", "college", "special"]))
    assert e.problems[0].column == "phase" and "college" in str(e)
    s = read(table(phase=["primary", "college", "special"]), phase_map={"college": "other"})
    assert s["phase"].iloc[1] == "other"


def test_all_problems_reported_at_once():
    e = error_of(table(pupils=["x", "-1", "3"], phase=["primary", "?", "special"]))
    assert len(e.problems) == 3


def test_lonlat_is_reprojected_to_bng():
    df = table().drop(columns=["x", "y"]).assign(lon=[1.29, 1.30, 1.31], lat=[52.63, 52.64, 52.65])
    s = cg.read_schools(df)
    assert s.crs.to_epsg() == 27700
    assert 620000 < s.geometry.x.iloc[0] < 630000


def test_exclusions_are_kept_with_a_reason():
    df = table(sector=["state-funded", "independent", "state-funded"])
    s = read(df, exclude={"sector": "independent"})
    assert len(s) == 3
    assert s["excluded"].tolist() == ["", "sector=independent", ""]
    summ = cg.schools_summary(s)
    with pytest.deprecated_call():
        assert cg.summary(s)[("schools", "excluded")].sum() == 1  # the old table, as it was
    assert summ.loc["all", "excluded_schools"] == 1 and summ.loc["all", "schools"] == 2


def test_gias_mapping():
    df = pd.DataFrame(
        {
            "URN": ["100"],
            "EstablishmentName": ["A"],
            "PhaseOfEducation (name)": ["Primary"],
            "NumberOfPupils": ["10"],
            "Easting": ["600000"],
            "Northing": ["300000"],
        }
    )
    s = cg.read_schools(df, columns="gias", crs="EPSG:27700")
    assert s.loc[0, "school_id"] == "100" and s.loc[0, "phase"] == "primary"


@pytest.mark.parametrize("suffix", [".gpkg", ".geojson", ".csv"])
def test_file_formats_round_trip(tmp_path, suffix):
    s = read(table())
    path = tmp_path / f"schools{suffix}"
    if suffix == ".csv":
        out = s.drop(columns="geometry").assign(x=s.geometry.x, y=s.geometry.y)
        out.to_csv(path, index=False)
        back = cg.read_schools(path, crs="EPSG:27700")
    else:
        s.to_file(path)
        back = cg.read_schools(path)
    assert back["school_id"].tolist() == s["school_id"].tolist()
    assert back["pupils"].tolist() == s["pupils"].tolist()
    assert back.geometry.distance(s.to_crs(back.crs).geometry).max() < 1e-6
