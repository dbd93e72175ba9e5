"""The lead plan's rules: crossing caps and fewest crossings against enumeration, the fewest-count
proof, the district report, versions' difference, and the shipped scenarios' principles."""

from __future__ import annotations

import itertools

import networkx as nx
import pandas as pd
import pytest

import clustergeo as cg
from clustergeo import crossings, versions
from clustergeo.errors import InfeasibleError, RulesError
from clustergeo.solve.problem import CROSSING_CAP_KEY
from conftest import set_partitions


def _brute(g, lo, hi, k):
    """Every contiguous plan of k clusters within lo..hi pupils: (crossings, cost) each."""
    out = []
    for assignment, cost in _brute_plans(g, lo, hi, k):
        clusters: dict = {}
        for v, c in assignment.items():
            clusters.setdefault(c, set()).add(g.nodes[v]["district"])
        out.append((sum(len(d) > 1 for d in clusters.values()), cost))
    return out


def _grid(rows, cols, districts, pupils):
    g = nx.grid_2d_graph(rows, cols)
    g = nx.convert_node_labels_to_integers(g, ordering="sorted", label_attribute="rc")
    for v, d in g.nodes(data=True):
        r, c = d["rc"]
        d.update(x=1000.0 * c, y=1000.0 * r, pupils=pupils[v], district=districts[v])
    return g


CASES = [
    # 2 x 4 grid, two districts that no 2-cluster plan of these sizes can follow
    (2, 4, ["A", "A", "B", "B", "A", "B", "B", "B"], [3, 1, 2, 2, 2, 2, 1, 3], 7, 10, 2),
    # 3 x 3 grid, three districts, three clusters
    (3, 3, ["A", "A", "B", "A", "C", "B", "C", "C", "B"], [2, 1, 3, 2, 2, 1, 1, 3, 2], 4, 7, 3),
    # 2 x 4 grid, a unit in several districts (its 'districts' list)
    (2, 4, ["A", "A", "A", "B", "A", "B", "B", "B"], [1, 2, 2, 1, 2, 1, 2, 1], 4, 8, 2),
]


@pytest.mark.parametrize("rows, cols, districts, pupils, lo, hi, k", CASES)
def test_fewest_crossings_matches_enumeration(rows, cols, districts, pupils, lo, hi, k):
    g = _grid(rows, cols, districts, pupils)
    plans = _brute(g, lo, hi, k)
    best_cross = min(c for c, _ in plans)
    best_cost = min(cost for c, cost in plans if c == best_cross)
    result, proof = crossings.fewest_crossings(g, min_weight=lo, max_weight=hi, k=k, progress=False)
    assert proof["fewest"] == best_cross and proof["proved"]
    assert crossings.count_crossings(g, result.assignment) == best_cross
    assert result.objective == pytest.approx(best_cost, rel=1e-6)
    assert proof["infeasible_caps"] == list(range(best_cross))


@pytest.mark.parametrize("rows, cols, districts, pupils, lo, hi, k", CASES)
def test_crossing_cap_matches_enumeration(rows, cols, districts, pupils, lo, hi, k):
    g = _grid(rows, cols, districts, pupils)
    plans = _brute(g, lo, hi, k)
    for cap in range(k + 1):
        ok = [cost for c, cost in plans if c <= cap]
        h = g.copy()
        h.graph[CROSSING_CAP_KEY] = cap
        if not ok:
            with pytest.raises(InfeasibleError):
                cg.partition(h, min_weight=lo, max_weight=hi, k=k, contiguity="cuts", explain=False, progress=False)
            continue
        r = cg.partition(h, min_weight=lo, max_weight=hi, k=k, contiguity="cuts", explain=False, progress=False)
        assert crossings.count_crossings(g, r.assignment) <= cap
        assert r.objective == pytest.approx(min(ok), rel=1e-6)


def _path(n):
    g = nx.path_graph(n)
    nx.set_node_attributes(g, {v: 1000.0 * v for v in g}, "x")
    nx.set_node_attributes(g, 0.0, "y")
    return g


def test_unit_in_two_districts_always_crosses():
    g = _path(3)
    nx.set_node_attributes(g, {0: "A", 1: "A", 2: "B"}, "district")
    g.nodes[0]["districts"] = ["A", "B"]  # a unit whose schools straddle the line
    assert crossings.count_crossings(g, {0: 0, 1: 1, 2: 2}) == 1
    nx.set_node_attributes(g, 1, "pupils")
    with pytest.raises(InfeasibleError, match="at most 0"):
        crossings.fewest_crossings(g, max_crossings=0, k=3, progress=False)


def test_fixed_crossings_are_counted():
    g = _path(4)
    nx.set_node_attributes(g, {0: "A", 1: "A", 2: "B", 3: "B"}, "district")
    nx.set_node_attributes(g, 1, "pupils")
    _, proof = crossings.fewest_crossings(g, k=2, min_weight=2, max_weight=2, fixed_crossings=2, progress=False)
    assert proof["fewest"] == 2 and proof["geographic"] == 0


def test_count_proof_by_totals_and_by_solver():
    g = _path(4)
    nx.set_node_attributes(g, {0: 3, 1: 3, 2: 3, 3: 3}, "pupils")
    nx.set_node_attributes(g, "D", "district")
    r = cg.partition(g, min_weight=3, max_weight=7, fewest=True, progress=False)
    proof = crossings.count_proof(g, r, bounds={"pupils": (3, 7)}, k=None, district="district")
    assert proof["fewest"] == 2 and proof["proof"].startswith("no plan with 1 clusters exists")
    # 5 + 1 + 5 pupils in a path, at most 6: the totals say 2, but no 2-cluster plan fits
    h = _path(3)
    nx.set_node_attributes(h, {0: 5, 1: 1, 2: 5}, "pupils")
    nx.set_node_attributes(h, "D", "district")
    r = cg.partition(h, min_weight=1, max_weight=6, fewest=True, progress=False)
    proof = crossings.count_proof(h, r, bounds={"pupils": (1, 6)}, k=None, district="district")
    assert proof["fewest"] == 2
    h.nodes[1]["pupils"] = 2  # now 5 + 2 + 5: 12 pupils need 2, but 2 cannot be cut: 3
    r = cg.partition(h, min_weight=1, max_weight=6, fewest=True, progress=False)
    proof = crossings.count_proof(h, r, bounds={"pupils": (1, 6)}, k=None, district="district")
    assert proof["fewest"] == 3 and "solver proved" in proof["proof"]


def test_district_report_names_schools_and_reasons():
    s = pd.DataFrame(
        {
            "school_id": list("abcd"),
            "name": ["A", "B", "C", "D"],
            "cluster": ["X", "X", "X", "Y"],
            "status": ["placed"] * 3 + ["pinned"],
            "pupils": [300, 100, 50, 10],
            "district": ["D1", "D2", "D2", "D1"],
            "unit": ["U", "U", "c", "d"],
            "current_cluster": ["U", "U", "V", "Y"],
        }
    )
    rep = crossings.district_report(s)
    assert list(rep["cluster"]) == ["X"] and rep["outside"].iloc[0] == 2
    assert "kept whole and straddles" in rep["schools_outside"].iloc[0]
    assert "redrawn school by school" in rep["schools_outside"].iloc[0]
    words = crossings.gave_way(rep, clusters=2)
    assert "1 of 2 clusters" in words and "X (2 of its schools in D2)" in words


def test_difference_is_the_least_share_moved():
    a = {i: i // 3 for i in range(9)}
    assert versions.difference(a, {i: f"c{i // 3}" for i in range(9)}) == 0.0
    b = dict(a)
    b[0] = 1
    assert versions.difference(a, b) == pytest.approx(1 / 9)
    # against brute force over every one-to-one matching of the labels
    c = {0: 0, 1: 1, 2: 1, 3: 2, 4: 0, 5: 2, 6: 2, 7: 0, 8: 1}
    best = max(sum(c[i] == perm[a[i]] for i in a) for perm in itertools.permutations(range(3)))
    assert versions.difference(a, c) == pytest.approx(1 - best / 9)


def test_rules_for_crossings_are_checked():
    with pytest.raises(RulesError, match="districts"):
        cg.Rules(max_crossings=2, districts="penalty")
    with pytest.raises(RulesError, match="max_crossings"):
        cg.Rules(max_crossings=-1)
    assert cg.Rules(keep_whole="none").keep_whole is None


def test_shipped_scenarios_name_their_principles():
    sc = cg.read_scenario("norfolk-option-4")
    assert len(sc.principles) >= 4 and sc.rules.districts == "within" and sc.rules.fewest
    assert "King's Lynn Academy" in sc.rules.redraw and "Norwich" in sc.rules.redraw
    assert sc.rules.min_phase == {"secondary": 1} and any("secondary" in p for p in sc.principles)
    nl = cg.read_scenario("north-lanarkshire")
    assert nl.rules.fewest_crossings and nl.principles
    with pytest.raises(RulesError, match="principles"):
        from clustergeo.scenario import _principles

        _principles("not a list", sc.folder)


def test_north_lanarkshire_fewest_locality_crossings():
    nl = cg.read_scenario("north-lanarkshire")
    schools, boundary, layers = nl.load()
    plan = cg.propose(schools, nl.rules, boundary=boundary, layers=layers, progress=False, time_limit=60)
    proof = plan.run["crossings_proof"]
    assert proof["proved"] and proof["fewest"] <= 7 and proof["of"] == 14
    assert plan.metrics["clusters_crossing_districts"] == proof["fewest"]
    zoned = " ".join(plan.run["zoned_outside"])
    for name in ("Auchinloch", "Aitkenhead", "Tannochside"):
        assert name in zoned
    assert "fewest clusters crossing district lines" in plan.summary()
    assert not plan.check()


def _brute_plans(g, lo, hi, k):
    """Every contiguous plan of k clusters within lo..hi pupils, as (node -> cluster, cost)."""
    out = []
    for plan in set_partitions(sorted(g.nodes)):
        if len(plan) != k or not all(nx.is_connected(g.subgraph(c)) for c in plan):
            continue
        if not all(lo <= sum(g.nodes[v]["pupils"] for v in c) <= hi for c in plan):
            continue
        cost = sum(
            min(
                sum(
                    g.nodes[v]["pupils"]
                    * ((g.nodes[v]["x"] - g.nodes[h]["x"]) ** 2 + (g.nodes[v]["y"] - g.nodes[h]["y"]) ** 2)
                    / 1e6
                    for v in c
                )
                for h in c
            )
            for c in plan
        )
        out.append(({v: n for n, c in enumerate(plan) for v in c}, cost))
    return out


@pytest.mark.parametrize("d", [0.1, 0.25, 0.4])
def test_minimum_difference_matches_enumeration(d):
    g = _grid(3, 3, ["A"] * 9, [2, 1, 3, 2, 2, 1, 1, 3, 2])
    plans = _brute_plans(g, 4, 7, 3)
    first, _ = min(plans, key=lambda pc: pc[1])
    ok = [cost for a, cost in plans if versions.difference(first, a) >= d - 1e-9]
    if not ok:
        with pytest.raises(InfeasibleError):
            versions.differing_partition(g, [first], min_difference=d, min_weight=4, max_weight=7, k=3, progress=False)
        return
    r = versions.differing_partition(g, [first], min_difference=d, min_weight=4, max_weight=7, k=3, progress=False)
    assert versions.difference(first, r.assignment) >= d - 1e-9
    assert r.objective == pytest.approx(min(ok), rel=1e-6)


def test_minimum_difference_from_two_earlier_plans():
    g = _grid(2, 4, ["A"] * 8, [1, 2, 2, 1, 2, 1, 2, 1])
    plans = sorted(_brute_plans(g, 3, 6, 3), key=lambda pc: pc[1])
    a, b = plans[0][0], plans[1][0]
    ok = [cost for p, cost in plans if versions.difference(a, p) >= 0.25 and versions.difference(b, p) >= 0.25]
    r = versions.differing_partition(g, [a, b], min_difference=0.25, min_weight=3, max_weight=6, k=3, progress=False)
    assert min(versions.difference(a, r.assignment), versions.difference(b, r.assignment)) >= 0.25
    assert r.objective == pytest.approx(min(ok), rel=1e-6)


def test_alternatives_differ_by_the_share_asked():
    nl = cg.read_scenario("north-lanarkshire")
    schools, boundary, _ = nl.load()
    rules = nl.rules.replace(fewest_crossings=False, districts="penalty", district_penalty=20000)
    plans = cg.alternatives(schools, rules, n=2, min_difference=0.1, boundary=boundary, progress=False, time_limit=60)
    assert len(plans) == 2

    def ids(p):
        return dict(zip(p.schools["school_id"], p.schools["cluster"]))

    placed = plans[0].schools.loc[plans[0].schools["status"] == "placed", "school_id"]
    a, b = ids(plans[0]), ids(plans[1])
    assert versions.difference({s: a[s] for s in placed}, {s: b[s] for s in placed}) >= 0.1 - 1e-9
    assert not plans[1].check()
    table = versions.versions_table({p.name: p for p in plans}, failed={"schools apart": "no plan (infeasible)"})
    assert table["differs_from_first"].iloc[1] > 0
    assert len(table) == 3 and table.loc["schools apart", "status"] == "no plan (infeasible)"


def test_explanations_offer_only_what_the_scenario_allows():
    from clustergeo.principles import explain
    from clustergeo.scenario import Variant

    e = InfeasibleError(
        [
            (
                "in district X: no grouping; a plan exists once you relax contiguity (clusters in one "
                "piece) or the minimum sizes"
            ),
            "",
        ],
        relaxations=["contiguity (clusters in one piece)", "the minimum sizes"],
    )
    variants = [Variant("urban areas redrawn", {"redraw": ["Norwich"]}), Variant("smaller", {"min_pupils": 2000})]
    out = explain(e, cg.Rules(clusters=28, max_minutes=20, min_pupils=2500), variants)
    text = str(out)
    assert "contiguity" not in text and "the minimum sizes" in text
    assert "exactly 28 clusters" in text and "travel cap of 20 minutes" in text
    assert "'urban areas redrawn' (redraw adds Norwich)" in text
    assert all(r.strip() for r in out.reasons)
    bare = explain(InfeasibleError([""], relaxations=["contiguity (clusters in one piece)"]), cg.Rules(), [])
    assert bare.reasons and all(r.strip() for r in bare.reasons) and not bare.relaxations


def test_each_cluster_holds_a_secondary():
    import geopandas as gpd
    import shapely

    phases = ["secondary", "secondary", "primary", "primary", "primary", "primary"]
    s = gpd.GeoDataFrame(
        {
            "school_id": [f"s{i}" for i in range(6)],
            "name": [f"School {i}" for i in range(6)],
            "phase": phases,
            "pupils": [100] * 6,
        },
        geometry=[shapely.Point(1000 * i, 0) for i in range(6)],
        crs="EPSG:27700",
    )
    boundary = gpd.GeoSeries([shapely.box(-500, -500, 5500, 500)], crs="EPSG:27700")
    base = {"min_pupils": 100, "max_pupils": 500, "clusters": 2, "keep_whole": None}
    free = cg.propose(s, cg.Rules(**base), boundary=boundary, progress=False)
    assert (free.table()["secondary"] == 0).any()  # the most compact plan leaves one without
    plan = cg.propose(s, cg.Rules(**base, min_phase={"secondary": 1}), boundary=boundary, progress=False)
    assert (plan.table()["secondary"] >= 1).all()
    with pytest.raises(RulesError, match="min_phase"):
        cg.Rules(min_phase={"secondary": -1})


def test_explanations_ranked_by_schools_moved():
    import geopandas as gpd
    import shapely

    from clustergeo.principles import explain, try_relaxations
    from clustergeo.scenario import Variant

    # two current clusters of three schools in a row; three clusters asked for, so the whole
    # clusters cannot be met; redrawing one cluster moves fewer schools than redrawing both
    s = gpd.GeoDataFrame(
        {"school_id": [f"s{i}" for i in range(6)], "name": [f"School {i}" for i in range(6)],
         "phase": "primary", "pupils": [100, 100, 100, 150, 100, 50], "cluster": list("AAABBB")},
        geometry=[shapely.Point(1000 * i, 0) for i in range(6)],
        crs="EPSG:27700",
    )  # fmt: skip
    boundary = gpd.GeoSeries([shapely.box(-500, -500, 5500, 500)], crs="EPSG:27700")
    rules = cg.Rules(min_pupils=100, max_pupils=300, clusters=3, keep_whole="cluster")
    with pytest.raises(InfeasibleError) as info:
        cg.propose(s, rules, boundary=boundary, progress=False)
    variants = [
        Variant("school by school", {"keep_whole": "none"}),
        Variant("A redrawn", {"redraw": ["A"]}),
        Variant("fewer clusters", {"clusters": 4, "max_pupils": 120}),
    ]

    def solve(v):
        return cg.propose(s, rules.replace(**v.changes), boundary=boundary, progress=False, time_limit=10)

    trials = try_relaxations(variants, solve)
    assert trials["fewer clusters"] == {"failed": "no plan either"}
    assert trials["A redrawn"]["moved"] <= trials["school by school"]["moved"]
    text = str(explain(info.value, rules, variants, trials=trials))
    assert "least change to the plan first" in text and "moves " in text and "no plan either" in text
    ranked = text[text.index("least change") :]
    assert ranked.index("'fewer clusters'") > max(ranked.index("'A redrawn'"), ranked.index("'school by school'"))


def test_no_plan_under_fewest_crossings_says_which_rule_to_relax():
    nl = cg.read_scenario("north-lanarkshire")
    schools, boundary, _ = nl.load()
    with pytest.raises(InfeasibleError) as e:
        cg.propose(schools, nl.rules.replace(min_schools=8, max_schools=12), boundary=boundary, progress=False)
    assert "the maximum sizes" in e.value.relaxations
