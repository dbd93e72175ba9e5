"""Peer groups: optimal against brute-force enumeration, the unsplittable options, the checker."""

import itertools
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from clustergeo.check import check_groups
from clustergeo.errors import InfeasibleError, RulesError
from clustergeo.groups import other_size, peer_groups, read_section, splits
from clustergeo.travel import TravelTimes


def _plan(counts: dict[str, int], seed: int = 0):
    """A plan-like object: clusters of primaries at random points, a secondary in each."""
    rng = np.random.default_rng(seed)
    rows = []
    for k, (c, n) in enumerate(counts.items()):
        centre = np.array([10_000.0 * k, 0.0])
        for i in range(n + 1):
            x, y = centre + rng.uniform(0, 6000, 2)
            rows.append(
                {
                    "school_id": f"{c}{i}",
                    "name": f"{c} school {i}",
                    "cluster": c,
                    "status": "placed",
                    "phase": "secondary" if i == n else "primary",
                    "pupils": 100,
                    "geometry": shapely.Point(x, y),
                }
            )
    schools = gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:27700")
    clusters = pd.DataFrame({"cluster": list(counts), "kind": "geographic"})
    return SimpleNamespace(schools=schools, clusters=clusters, run={}, groups=None)


def _times(plan, seed: int = 0) -> TravelTimes:
    """Random, asymmetric travel minutes (not even a metric: the optimum must not rely on one)."""
    ids = plan.schools["school_id"].tolist()
    m = np.random.default_rng(seed).uniform(1, 30, (len(ids), len(ids)))
    np.fill_diagonal(m, 0)
    return TravelTimes(ids, m, "road", "test minutes")


def _partitions(items: tuple, sizes: tuple):
    """Every partition of ``items`` into blocks of the allowed sizes (the first item's block first)."""
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for s in sizes:
        for others in itertools.combinations(rest, s - 1):
            left = tuple(x for x in rest if x not in others)
            for tail in _partitions(left, sizes):
                yield [(first, *others), *tail]


def _pairs_cost(times: TravelTimes, group) -> float:
    return sum((times(a, b) + times(b, a)) / 2 for a, b in itertools.combinations(group, 2))


def _hub_cost(times: TravelTimes, group) -> float:
    return min(sum(times(i, h) for i in group) for h in group)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("cost", ["pairs", "hub"])
def test_optimal_against_brute_force(seed, cost):
    counts = {"A": 6, "B": 7, "C": 8, "D": 10}
    plan = _plan(counts, seed)
    times = _times(plan, seed)
    g = peer_groups(plan, sizes=(3, 4), cost=cost, times=times)
    fn = _pairs_cost if cost == "pairs" else _hub_cost
    for c in counts:
        ids = tuple(
            sorted(plan.schools.loc[(plan.schools.cluster == c) & (plan.schools.phase == "primary"), "school_id"])
        )
        best = min(sum(fn(times, grp) for grp in part) for part in _partitions(ids, (3, 4)))
        got = g.clusters.set_index("cluster").at[c, "minutes"]
        assert got == pytest.approx(best, abs=0.06)  # minutes are rounded to 0.1 in the table
        mine = g.table[g.table.cluster == c]
        assert sum(fn(times, tuple(grp.school)) for _, grp in mine.groupby("group")) == pytest.approx(best)
    assert check_groups(g.table, plan.schools, sizes=(3, 4)) == []


def test_share_is_optimal_with_one_shared_group():
    plan = _plan({"A": 5, "B": 4}, seed=3)
    times = _times(plan, 3)
    g = peer_groups(plan, times=times, unsplittable="share")
    shared = g.table[g.table.exception == "shared"]
    assert shared["group"].nunique() == 1 and set(shared["cluster"]) == {"A", "B"}
    prim = plan.schools[plan.schools.phase == "primary"]
    home = dict(zip(prim.school_id, prim.cluster))
    ids = tuple(sorted(prim.school_id))
    best = min(
        sum(_pairs_cost(times, grp) for grp in part)
        for part in _partitions(ids, (3, 4))
        if sum(len({home[x] for x in grp}) > 1 for grp in part) == 1
    )
    assert g.record["total_minutes"] == pytest.approx(best, abs=0.06)
    assert "shared with B" in g.clusters.set_index("cluster").at["A", "exception"]
    assert check_groups(g.table, plan.schools, sizes=(3, 4), unsplittable="share") == []
    # the checker refuses the same groups under another option
    assert check_groups(g.table, plan.schools, sizes=(3, 4), unsplittable="other-size")


@pytest.mark.parametrize("n,odd", [(1, 1), (2, 2), (5, 5)])
def test_other_size_names_the_exception(n, odd):
    plan = _plan({"A": n, "B": 7}, seed=n)
    g = peer_groups(plan, unsplittable="other-size")
    a = g.table[g.table.cluster == "A"]
    assert (a.exception == "other-size").sum() == odd and a.group.nunique() == 1
    assert f"one group of {odd}" in g.clusters.set_index("cluster").at["A", "exception"]
    assert check_groups(g.table, plan.schools, sizes=(3, 4), unsplittable="other-size") == []
    assert any(f"A: {n} primary" in line and "one group of" in line for line in g.summary_lines())


def test_error_option_names_every_cluster():
    plan = _plan({"A": 5, "B": 2, "C": 6})
    with pytest.raises(InfeasibleError, match="A has 5 primary schools") as e:
        peer_groups(plan, unsplittable="error")
    assert any("B has 2" in r for r in e.value.reasons)


def test_splits_and_other_size():
    assert [n for n in range(1, 12) if not splits(n, (3, 4))] == [1, 2, 5]
    assert [other_size(n, (3, 4)) for n in (1, 2, 5)] == [1, 2, 5]
    assert other_size(6, (4,)) == 6 and other_size(9, (4,)) == 5


def test_checker_catches_broken_groups():
    plan = _plan({"A": 6, "B": 6})
    g = peer_groups(plan).table
    dup = pd.concat([g, g.iloc[[0]]])
    assert any("more than one" in p for p in check_groups(dup, plan.schools))
    missing = g.iloc[1:]
    assert any("in no peer group" in p for p in check_groups(missing, plan.schools))
    mixed = g.copy()
    a, b = mixed.index[mixed.cluster == "A"][0], mixed.index[mixed.cluster == "B"][0]
    mixed.loc[a, "group"], mixed.loc[b, "group"] = mixed.loc[b, "group"], mixed.loc[a, "group"]
    assert any("mixes clusters" in p for p in check_groups(mixed, plan.schools))
    big = g.assign(group="one")
    assert any("allowed sizes" in p for p in check_groups(big, plan.schools))


def test_bad_options_name_the_key():
    plan = _plan({"A": 6})
    with pytest.raises(RulesError, match="sizes"):
        peer_groups(plan, sizes=(1, 3))
    with pytest.raises(RulesError, match="cost"):
        peer_groups(plan, cost="far")
    with pytest.raises(RulesError, match="unsplittable"):
        peer_groups(plan, unsplittable="merge")
    with pytest.raises(RulesError, match="unknown key 'size'"):
        read_section({"size": [3]}, "s.toml")
    with pytest.raises(RulesError, match="phase"):
        read_section({"phase": "primaries"}, "s.toml")


@pytest.mark.parametrize("option", ["share", "other-size"])
def test_the_derived_north_lanarkshire_clusters_with_1_2_and_5_primaries(option):
    import clustergeo as cg

    s = cg.datasets.load("north-lanarkshire").schools.assign(status="placed")
    plan = SimpleNamespace(
        schools=s,
        clusters=pd.DataFrame({"cluster": sorted(s.cluster.unique()), "kind": "geographic"}),
        run={},
        groups=None,
    )
    g = peer_groups(plan, unsplittable=option)
    counts = s[s.phase == "primary"].groupby("cluster").size()
    odd = sorted(counts.index[counts.isin([1, 2, 5])])
    assert odd and sorted(g.clusters.loc[g.clusters.exception.str.contains("do not split"), "cluster"]) == odd
    assert check_groups(g.table, s, unsplittable=option) == []
    if option == "share":  # Braidhurst's 2 cannot share with Our Lady's 3 (nearest): the next one it can
        assert "Our Lady's High School" not in g.clusters.set_index("cluster").at["Braidhurst High School", "exception"]
