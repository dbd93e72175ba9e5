"""The Lagrangian bound never exceeds the optimum, and its fixing never drops a better plan."""

import itertools
import math

import networkx as nx
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clustergeo.solve import partition
from clustergeo.solve.bounds import lagrangian_bound
from clustergeo.solve.problem import allowed_hubs, build_problem
from conftest import cost_of, planar_instances, set_partitions


def hubbed_plans(g, p, lo, hi, k):
    """Every contiguous plan of ``k`` (a (min, max) range) clusters within the bounds, with
    every choice of hubs: (cost, [(unit index, hub index)])."""
    pos = {v: i for i, v in enumerate(p.nodes)}
    for part in set_partitions(sorted(g.nodes)):
        if not k[0] <= len(part) <= k[1]:
            continue
        if any(
            not lo <= sum(g.nodes[v]["pupils"] for v in b) <= hi or not nx.is_connected(g.subgraph(b)) for b in part
        ):
            continue
        for hubs in itertools.product(*part):
            pairs = [(pos[v], pos[h]) for b, h in zip(part, hubs) for v in b]
            yield sum(p.cost[i, j] for i, j in pairs), pairs


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(planar_instances(), st.floats(0.0, 1.0), st.booleans())
def test_bound_and_fixing_keep_every_better_plan(inst, where, ranged):
    g, k, lo, hi = inst
    krange = (k - 1, k + 1) if ranged else (k, k)
    cost = cost_of(g)
    p = build_problem(g, weight="pupils", min_weight=lo, max_weight=hi, k=krange if ranged else k, cost=cost)
    allowed, _ = allowed_hubs(p)
    plans = sorted(hubbed_plans(g, p, lo, hi, krange))
    if not plans:
        return
    best = plans[0][0]
    assert lagrangian_bound(p, allowed, seconds=2).bound <= best + 1e-6 * max(1.0, best)
    # fix against a plan somewhere in the list: every strictly cheaper plan keeps its pairs
    upper = plans[int(where * (len(plans) - 1))][0]
    res = lagrangian_bound(p, allowed, upper=upper, seconds=2)
    assert res.bound <= best + 1e-6 * max(1.0, best)
    for c, pairs in plans:
        if c > upper:
            break
        assert all(res.keep[i, j] for i, j in pairs), (c, upper, res.bound)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(planar_instances(), st.booleans())
def test_cheapest_hubs_only_give_the_bound_of_every_hub(inst, ranged):
    # computing only the hubs that may be among the cheapest changes nothing: the same steps
    # and the same bound as computing every hub's knapsack at every step
    from clustergeo.solve import bounds

    g, k, lo, hi = inst
    p = build_problem(
        g, weight="pupils", min_weight=lo, max_weight=hi, k=(k - 1, k + 1) if ranged else k, cost=cost_of(g)
    )
    allowed, _ = allowed_hubs(p)
    fast = lagrangian_bound(p, allowed, seconds=60, max_iterations=300)

    class Every(bounds._Cheapest):
        def step(self, lam):
            everyone = np.arange(len(self.ks.hubs))
            values, order, shares, _ = self.ks.values(lam, everyone)
            return everyone, values, order, shares

    original = bounds._Cheapest
    bounds._Cheapest = Every
    try:
        slow = lagrangian_bound(p, allowed, seconds=60, max_iterations=300)
    finally:
        bounds._Cheapest = original
    assert fast.iterations == slow.iterations
    assert math.isclose(fast.bound, slow.bound, rel_tol=1e-9, abs_tol=1e-9) or fast.bound == slow.bound


def instance_and_start(inst, where):
    """(problem, allowed hubs, every hubbed plan by cost, and the cost and hub-per-unit form of
    the plan at ``where`` along that list); no plans gives ``[]`` and Nones."""
    g, k, lo, hi = inst
    p = build_problem(g, weight="pupils", min_weight=lo, max_weight=hi, k=k, cost=cost_of(g))
    allowed, _ = allowed_hubs(p)
    plans = sorted(hubbed_plans(g, p, lo, hi, (k, k)))
    if not plans:
        return p, allowed, plans, None, None
    upper, pairs = plans[int(where * (len(plans) - 1))]
    return p, allowed, plans, upper, [j for _i, j in sorted(pairs)]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(planar_instances(), st.floats(0.0, 1.0))
def test_pruned_pairs_hold_every_plan_up_to_the_start(inst, where):
    """A model built on the pruned pairs still holds the start and every plan cheaper than it."""
    from clustergeo.solve.models.hess import prune

    g, k, lo, hi = inst
    p, allowed, plans, upper, start = instance_and_start(inst, where)
    if not plans:
        return
    pruned = prune(p, allowed, start, upper, k=(k, k), seconds=2)
    if pruned is None:  # the start uses a pair ``allowed`` rules out already
        return
    assert pruned.bound <= plans[0][0] + 1e-6 * max(1.0, plans[0][0])
    assert pruned.fixed == sum(map(len, allowed)) - sum(map(len, pruned.allowed))
    kept = [set(a) for a in pruned.allowed]
    for c, plan in plans:
        if c > upper:
            break
        assert all(j in kept[i] for i, j in plan), (c, upper, pruned.bound)


def test_bound_is_tight_enough_to_matter():
    """On a 6x6 grid, 4 clusters within 10%: the bound is within 10% of the optimum."""
    g = nx.grid_2d_graph(6, 6)
    g = nx.convert_node_labels_to_integers(g, label_attribute="xy")
    rng = np.random.default_rng(3)
    for _v, d in g.nodes(data=True):
        d["x"], d["y"] = d["xy"][0] * 1000.0, d["xy"][1] * 1000.0
        d["pupils"] = int(rng.integers(50, 150))
    total = sum(d["pupils"] for _, d in g.nodes(data=True))
    lo, hi = math.ceil(total / 4 * 0.9), math.floor(total / 4 * 1.1)
    cost = {
        (i, j): g.nodes[i]["pupils"]
        * ((g.nodes[i]["x"] - g.nodes[j]["x"]) ** 2 + (g.nodes[i]["y"] - g.nodes[j]["y"]) ** 2)
        / 1e6
        for i in g
        for j in g
    }
    r = partition(g, min_weight=lo, max_weight=hi, k=4, cost=cost, contiguity="cuts")
    p = build_problem(g, weight="pupils", min_weight=lo, max_weight=hi, k=4, cost=cost)
    allowed, _ = allowed_hubs(p)
    res = lagrangian_bound(p, allowed, upper=r.objective, seconds=5)
    assert res.bound <= r.objective * (1 + 1e-9)
    assert res.bound >= 0.9 * r.objective
    assert res.fixed > 0
    assert r.fixing["fixed_by_lagrangian"] >= 0


def test_no_cost_no_bound():
    g = nx.path_graph(4)
    for v in g:
        g.nodes[v]["pupils"] = 1
    p = build_problem(g, weight="pupils", min_weight=1, max_weight=2, k=2, objective="cut_edges")
    allowed, _ = allowed_hubs(p)
    assert lagrangian_bound(p, allowed).bound == -np.inf


def _lp_bound(p, allowed, **kw):
    from clustergeo.solve.models.hess import HessModel

    m = HessModel(p, allowed, **kw)
    m.lp_relaxation(threads=1, seed=0)
    return m


def test_separator_rows_at_lp_points_lift_the_bound():
    """A ring whose costs pair every third unit: the plain LP takes the scattered clusters
    (30); the separator rows its points violate lift it to the contiguous optimum (60)."""
    g = nx.cycle_graph(12)
    nx.set_node_attributes(g, 1, "pupils")
    cost = {(i, j): 0.0 if i % 3 == j % 3 else 10.0 for i in g for j in g}
    p = build_problem(g, weight="pupils", min_weight=4, max_weight=4, k=3, cost=cost)
    allowed, _ = allowed_hubs(p)
    plain = _lp_bound(p, allowed, contiguity="cuts", relax=frozenset({"contiguity"}))
    cut = _lp_bound(p, allowed, contiguity="cuts")
    assert plain.lp_cut_rows == 0 and plain.lp_bound == 30.0
    assert cut.lp_cut_rows > 0 and cut.lp_bound == 60.0
    r = partition(g, min_weight=4, max_weight=4, k=3, cost=cost, contiguity="cuts", progress=False)
    assert r.objective == 60.0 and r.status == "optimal"


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(planar_instances())
def test_lp_with_separator_rows_never_passes_the_optimum(inst):
    g, k, lo, hi = inst
    cost = cost_of(g)
    p = build_problem(g, weight="pupils", min_weight=lo, max_weight=hi, k=k, cost=cost)
    allowed, _ = allowed_hubs(p)
    plans = sorted(hubbed_plans(g, p, lo, hi, (k, k)))
    if not plans:
        return
    m = _lp_bound(p, allowed, contiguity="cuts")
    if m.lp_bound is not None:
        assert m.lp_bound <= plans[0][0] + 1e-6 * max(1.0, plans[0][0])
