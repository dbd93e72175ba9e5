"""The planner-level flow on the real shipped cases: CLI, files, checker, compare."""

import json
import shutil
import subprocess

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest

import clustergeo as cg
from clustergeo.cli import main
from clustergeo.errors import RulesError
from clustergeo.read import check_saved, read_plan
from clustergeo.scenario import read_scenario


def test_norfolk_lead_plan_at_the_top(norfolk_out):
    plan = read_plan(norfolk_out)
    geo = plan.clusters[plan.clusters["kind"] == "geographic"]
    assert 22 <= len(geo) <= 28
    assert geo["pupils"].between(2500, 5000).all()
    assert plan.metrics["clusters_crossing_districts"] <= 9
    assert (geo["secondary"] >= 1).all()  # a high school or academy in every cluster
    proof = plan.run["fewest_proof"]
    assert proof["fewest"] == len(geo) and proof["proof"].startswith(f"no plan with {len(geo) - 1} clusters exists")
    assert plan.run["size_measure"] == "pupils_school_age" and plan.run["principles"]
    assert "ESTIMATE" in plan.run["travel_times"]
    summary = (norfolk_out / "summary.txt").read_text()
    assert "fewest clusters: " in summary and "gave way" in summary
    assert check_saved(norfolk_out) == []


def test_every_school_exactly_once_in_every_output(norfolk_out):
    plan_dir = norfolk_out
    raw = cg.datasets.load("norfolk").schools
    a = pd.read_csv(plan_dir / "assignment.csv", dtype=str)
    assert list(a.columns) == ["school_id", "cluster", "status"]
    assert sorted(a["school_id"]) == sorted(raw["school_id"]) and a["school_id"].is_unique
    assert (a.loc[a["status"] == "excluded"].shape[0]) == 32
    assert a.loc[a["status"] != "excluded", "cluster"].notna().all()
    layers = dict(pyogrio.list_layers(plan_dir / "plan.gpkg"))
    # the administration allocation (£2 per pupil of school age) has its own layer
    assert (
        {"schools", "clusters", "run", "allocations"}
        <= set(layers)
        <= {"schools", "clusters", "run", "districts", "allocations"}
    )
    s = gpd.read_file(plan_dir / "plan.gpkg", layer="schools")
    assert {"school_id", "name", "pupils", "cluster"} <= set(s.columns) and len(s) == 454
    c = gpd.read_file(plan_dir / "plan.gpkg", layer="clusters")
    assert c.crs.to_epsg() == 27700 and c.geometry.is_valid.all()
    gj = gpd.read_file(plan_dir / "clusters.geojson")
    assert gj.crs.to_epsg() == 4326
    for f in ("map.png", "sizes.png", "map.html", "summary.txt", "clusters.csv"):
        assert (plan_dir / f).stat().st_size > 0


def test_boundaries_are_clean(norfolk_out):
    plan = read_plan(norfolk_out)
    geo = plan.clusters[plan.clusters["kind"] == "geographic"]
    # polygons do not overlap and hold their own schools
    union_area = geo.geometry.union_all().area
    assert union_area == pytest.approx(geo.area.sum(), rel=1e-3)
    placed = plan.schools[plan.schools["status"] == "placed"]
    joined = gpd.sjoin(placed[["cluster", "geometry"]], geo[["cluster", "geometry"]], predicate="within")
    assert (joined["cluster_left"] == joined["cluster_right"]).mean() > 0.98


def test_north_lanarkshire_fifteen_clusters(nl_out):
    plan = read_plan(nl_out)
    kinds = plan.clusters["kind"].value_counts().to_dict()
    assert kinds == {"geographic": 10, "pinned": 4, "apart": 1}
    asn = plan.schools[plan.schools["status"] == "apart"]
    assert len(asn) == 14 and asn["cluster"].nunique() == 1
    for kept in cg.datasets.NL_KEPT:
        members = plan.schools[plan.schools["cluster"] == kept]
        assert (members["current_cluster"] == kept).all()
    geo = plan.clusters[plan.clusters["kind"] == "geographic"]
    assert geo["schools"].between(8, 13).all()
    assert check_saved(nl_out) == []


def test_check_catches_a_tampered_plan(nl_out, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(nl_out, bad)
    s = gpd.read_file(bad / "plan.gpkg", layer="schools")
    geo = s[s["status"] == "placed"]
    victim = geo.index[0]
    s.loc[victim, "cluster"] = geo.loc[geo["cluster"] != geo.loc[victim, "cluster"], "cluster"].iloc[0]
    s.to_file(bad / "plan.gpkg", layer="schools", driver="GPKG")
    problems = check_saved(bad)
    assert problems and main(["check", str(bad)]) == 1


def test_compare(nl_out, tmp_path, capsys):
    # a variant proved in seconds (school by school runs for minutes: benchmarks, not tests)
    other = tmp_path / "feeds"
    variant = "secondaries with their feeder primaries"
    assert main(["solve", "north-lanarkshire", "--variant", variant, "--out", str(other)]) == 0
    assert main(["compare", str(nl_out), str(other), "--out", str(tmp_path / "cmp")]) == 0
    assert (tmp_path / "cmp" / "diff.png").exists()
    m = pd.read_csv(tmp_path / "cmp" / "metrics.csv", index_col=0)
    assert m.shape[1] == 2
    # a variant's summary says what it changed, not the main rules' principles
    summary = (other / "summary.txt").read_text()
    assert "principles, in order" not in summary and "a variant of the main rules" in summary
    assert "keep_whole = 'feeds'" in summary


def test_bad_scenarios_name_the_key(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text('dataset = "norfolk"\n[rules]\nmin_pupil = 5\n')
    with pytest.raises(RulesError, match="did you mean 'min_pupils'"):
        read_scenario(p)
    p.write_text('dataset = "norfolk"\n[rules]\nmin_pupils = 5000\nmax_pupils = 100\n')
    with pytest.raises(RulesError, match="swap"):
        read_scenario(p)
    p.write_text('dataset = "nowhere"\n')
    with pytest.raises(RulesError, match="dataset"):
        read_scenario(p)
    p.write_text('dataset = "norfolk"\n[solver]\ntimelimit = 5\n')
    with pytest.raises(RulesError, match="time_limit"):
        read_scenario(p)
    assert main(["solve", str(p), "--out", str(tmp_path / "o")]) == 2


def test_pinned_label_typo_is_named():
    nl = cg.datasets.load("nl")
    with pytest.raises(cg.DataError, match="did you mean"):
        cg.propose(
            nl.schools,
            cg.Rules(min_schools=8, max_schools=13, pinned=["Airdrie Acadmy"]),
            boundary=nl.layers["authority"],
        )


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.mark.skipif(_chromium() is None, reason="headless Chromium is not installed (apt-get install chromium)")
def test_html_map_renders_in_chromium(nl_out, tmp_path):
    shot = tmp_path / "shot.png"
    cmd = [
        _chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--window-size=1000,800",
        "--virtual-time-budget=8000",
        f"--screenshot={shot}",
        (nl_out / "map.html").as_uri(),
    ]
    subprocess.run(cmd, check=True, timeout=120, capture_output=True)
    import numpy as np
    from PIL import Image

    img = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    # cluster polygons are drawn: many coloured (non-grey) pixels
    colourful = (np.abs(img[..., 0] - img[..., 1]) + np.abs(img[..., 1] - img[..., 2])) > 60
    assert colourful.mean() > 0.05


def test_alternatives_are_distinct_and_ordered(tmp_path):
    assert main(["solve", "north-lanarkshire", "--out", str(tmp_path), "--alternatives", "3"]) == 0
    table = pd.read_csv(tmp_path / "alternatives.csv", index_col=0)
    assert table.shape[1] == 3
    objectives = table.loc["objective"].astype(float).tolist()
    assert objectives == sorted(objectives)
    plans = [read_plan(tmp_path)] + [read_plan(tmp_path / "alternatives" / f"plan-{i}") for i in (2, 3)]
    signatures = {frozenset(frozenset(g["school_id"]) for _, g in p.schools.groupby("cluster")) for p in plans}
    assert len(signatures) == 3
    for i in (2, 3):
        assert check_saved(tmp_path / "alternatives" / f"plan-{i}") == []
    # the alternatives are saved before the lead plan, so its one report already compares them
    assert "Versions side by side" in (tmp_path / "report.html").read_text()


def test_travel_cap_is_a_hard_rule():
    nl = cg.datasets.load("nl")
    rules = cg.Rules(
        min_schools=8,
        max_schools=13,
        clusters=10,
        keep_whole="cluster",
        districts="penalty",
        pinned=list(cg.datasets.NL_KEPT),
        apart={"ASN": {"group": "asn"}},
    )
    free = cg.propose(nl.schools, rules, boundary=nl.layers["authority"])
    capped = cg.propose(nl.schools, rules.replace(max_minutes=20.0), boundary=nl.layers["authority"])
    assert capped.run["fixed_pairs"].get("fixed_by_travel", 0) > 0
    assert capped.run["objective"] >= free.run["objective"] - 1e-6
    placed = capped.schools[capped.schools["status"] == "placed"]
    for _unit, grp in placed.groupby("unit"):
        mean = (grp["minutes_to_hub"] * grp["pupils"]).sum() / max(grp["pupils"].sum(), 1)
        assert mean <= 20.0 + 1e-6
    with pytest.raises(cg.InfeasibleError):
        cg.propose(nl.schools, rules.replace(max_minutes=16.0), boundary=nl.layers["authority"])


def test_keep_current_weight_keeps_more_schools_with_their_cluster():
    nl = cg.datasets.load("nl")
    rules = cg.Rules(
        min_schools=8,
        max_schools=13,
        clusters=10,
        keep_whole="feeds",
        districts="off",
        pinned=list(cg.datasets.NL_KEPT),
        apart={"ASN": {"group": "asn"}},
    )
    free = cg.propose(nl.schools, rules, boundary=nl.layers["authority"])
    kept = cg.propose(nl.schools, rules.replace(keep_current_weight=1e6), boundary=nl.layers["authority"])
    assert kept.metrics["schools_moved"] <= free.metrics["schools_moved"]


def test_threads_flag_reaches_the_solver_and_finds_the_same_optimum(tmp_path, nl_out):
    assert main(["solve", "north-lanarkshire", "--threads", "2", "--out", str(tmp_path)]) == 0
    two, one = read_plan(tmp_path), read_plan(nl_out)
    assert two.run["threads"] == 2 and one.run["threads"] == 1
    assert two.run["status"] == "optimal"
    assert two.run["objective"] == pytest.approx(one.run["objective"], rel=1e-6)


def test_a_scenario_proposes_in_python_as_the_command_line_does(nl_out):
    sc = read_scenario("north-lanarkshire")
    plan = sc.propose(progress=False)
    saved = json.loads((nl_out / "plan.json").read_text())
    assert plan.run["objective"] == pytest.approx(saved["run"]["objective"], rel=1e-9)
    assert plan.run["district_word"] == "locality" and plan.run["principles"] == sc.principles
    assert plan.groups is not None and plan.allocations is not None and not plan.check()
    changed = sc.propose(min_schools=7, time_limit=60, progress=False)
    assert changed.metrics["schools_min"] == 7 and "principles" not in changed.run
