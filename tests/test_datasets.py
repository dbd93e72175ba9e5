"""The shipped real data loads with the expected counts and derived clusters."""

import os

import clustergeo as cg


def test_norfolk_counts(tmp_path):
    cwd = os.getcwd()
    os.chdir(tmp_path)  # loads from any directory
    try:
        n = cg.datasets.load("norfolk")
    finally:
        os.chdir(cwd)
    s = n.schools
    assert len(s) == 454
    assert (s["sector"] == "state-funded").sum() == 422
    assert s.loc[s["sector"] == "state-funded", "pupils"].sum() == 119_236
    assert s["district"].nunique() == 7
    assert len(n.layers["districts"]) == 7
    state = s[s["sector"] == "state-funded"]
    assert state["cluster"].notna().all()
    assert s.loc[s["sector"] == "independent", "cluster"].isna().all()
    assert (state["cluster"] == "Roman Catholic").sum() == 6
    assert state["cluster"].nunique() == 52


def test_north_lanarkshire_counts():
    nl = cg.datasets.load("north-lanarkshire")
    s = nl.schools
    assert len(s) == 155
    assert s["phase"].value_counts().to_dict() == {"primary": 118, "secondary": 23, "special": 14}
    assert s["cluster"].nunique() == 23
    assert s["district"].notna().all() and s["district"].nunique() == 6
    assert (s["group"] == "asn").sum() == 14
    for kept in cg.datasets.NL_KEPT:
        assert kept in set(s["cluster"])
    moved = s[s["cluster_source"].str.contains("out of authority") & (s["phase"] == "primary")]
    assert set(moved["name"].str.split().str[0]) == {"Auchinloch", "Aitkenhead", "Tannochside"}
    # every secondary heads its own cluster
    sec = s[s["phase"] == "secondary"]
    assert (sec["cluster"] == sec["name"]).all()


def test_current_cluster_table():
    t = cg.datasets.load("nl").current_clusters()
    assert t["schools"].sum() == 155
    assert t["pupils"].sum() == cg.datasets.load("nl").schools["pupils"].sum()
