"""One cluster per part: the best hub by enumeration, against exhaustive enumeration of plans."""

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import clustergeo as cg
from clustergeo.solve import partition
from conftest import assert_optimum, brute_force, cost_of, planar_instances, run_or_none


def _total(g):
    return sum(d["pupils"] for _, d in g.nodes(data=True))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(planar_instances(), st.sampled_from(["hess", "cut_edges"]), st.booleans())
def test_one_cluster_is_the_best_hub(inst, objective, fewest):
    g, _k, _lo, _hi = inst
    total = _total(g)
    cost = cost_of(g) if objective == "hess" else None
    expect = brute_force(g, lo=1, hi=total, k=1, objective=objective, cost=cost)
    kw = {"fewest": True} if fewest else {"k": 1}
    r = run_or_none(g, min_weight=1, max_weight=total, cost=cost, objective=objective, progress=False, **kw)
    assert_optimum(g, r, expect, 1, total, 1)
    assert r.formulation == "one-hub" and r.bound == r.objective and r.gap == 0.0
    if objective == "cut_edges":
        assert r.objective == 0.0


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(planar_instances(), st.sampled_from(["hess", "cut_edges"]))
def test_one_cluster_per_district_matches_enumeration(inst, objective):
    g, _k, _lo, _hi = inst
    sides = {}
    for v, d in g.nodes(data=True):
        sides.setdefault(d["district"], []).append(v)
    if any(not nx.is_connected(g.subgraph(vs)) for vs in sides.values()):
        return  # a district in pieces is several parts: not this case
    sizes = [sum(g.nodes[v]["pupils"] for v in vs) for vs in sides.values()]
    # each district can hold only one cluster when no two clusters fit in its total
    lo, hi = max(sizes) // 2 + 1, max(sizes)
    if lo > min(sizes):
        return
    cost = cost_of(g) if objective == "hess" else None
    expect = brute_force(g, lo=lo, hi=hi, objective=objective, cost=cost, district="district")
    r = run_or_none(
        g,
        min_weight=lo,
        max_weight=hi,
        cost=cost,
        objective=objective,
        district="district",
        district_mode="within",
        progress=False,
    )
    assert_optimum(g, r, expect, lo, hi)
    assert r.k == len(sides)


def test_one_cluster_agrees_with_the_hess_model():
    g = nx.grid_2d_graph(3, 4)
    g = nx.convert_node_labels_to_integers(g, label_attribute="pos")
    for v, d in g.nodes(data=True):
        d["pupils"] = 10 + (7 * v) % 13
        d["x"], d["y"] = d["pos"][0] * 1000.0 + 37 * v, d["pos"][1] * 1000.0
    cost = cost_of(g)
    total = _total(g)
    seen = []
    r = partition(g, min_weight=1, max_weight=total, k=1, cost=cost, progress=seen.append)
    best = min(sum(cost[i, j] for i in g) for j in g)
    assert r.status == "optimal" and r.objective == pytest.approx(best)
    assert [x.status for x in seen] == ["optimal"]
    # the hub is the column minimum; a range of counts still takes the general solve
    r2 = partition(g, min_weight=1, max_weight=total, k=(1, 2), cost=cost, progress=False)
    assert r2.formulation != "one-hub" and r2.objective <= r.objective + 1e-9


def test_one_cluster_without_contiguity_is_the_best_hub_too():
    g = nx.path_graph(5)
    for v in g:
        g.nodes[v].update(pupils=5 + v, x=float(v * v) * 1000.0, y=0.0)
    cost = cost_of(g)
    r = partition(g, min_weight=1, max_weight=100, k=1, cost=cost, contiguity="none", progress=False)
    assert r.status == "optimal" and r.k == 1 and r.formulation == "one-hub"
    assert r.objective == pytest.approx(min(sum(cost[i, j] for i in g) for j in g))


def test_excluded_plans_are_left_to_the_model():
    g = nx.path_graph(4)
    nx.set_node_attributes(g, 5, "pupils")
    first = partition(g, min_weight=1, max_weight=20, k=1, objective="cut_edges", progress=False)
    with pytest.raises(cg.InfeasibleError):
        partition(
            g, min_weight=1, max_weight=20, k=1, objective="cut_edges", exclude=[first.assignment], progress=False
        )
