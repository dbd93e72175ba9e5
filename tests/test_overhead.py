"""The shortcuts that keep small and relaxed solves cheap keep every optimum."""

import math

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clustergeo.solve import partition
from clustergeo.solve.models import columns
from clustergeo.solve.options import request
from clustergeo.solve.problem import build_problem
from conftest import cost_of, planar_instances, run_or_none


def _problem(g, lo, hi, k):
    req = request({"min_weight": lo, "max_weight": hi, "k": k, "objective": "cut_edges"})
    return build_problem(g, sizes=req.sizes, districts=req.districts, costs=req.costs)


def _visits(p, hi):
    """The sets the listing visits, counted by listing them all (no lower bound: every set)."""
    found = columns._connected_sets(p.adjacency, list(p.measures["pupils"]), -1.0, hi + 1e-9, None, 10**9, None)
    return len(found)


@pytest.mark.parametrize("n", [3, 4])
def test_the_listing_estimate_is_near_the_count(n):
    g = nx.convert_node_labels_to_integers(nx.grid_2d_graph(n, n))
    nx.set_node_attributes(g, 10, "pupils")
    p = _problem(g, 10, 60, None)
    exact = _visits(p, 60)
    est = columns.estimate_visits(p, probes=2000, seed=0)
    assert exact / 3 <= est <= exact * 3
    assert columns.estimate_visits(p, probes=2000, seed=0) == est  # reproducible


def test_a_listing_over_budget_is_skipped_with_the_same_optimum(monkeypatch):
    import importlib

    part_mod = importlib.import_module("clustergeo.solve.partition")
    g = nx.convert_node_labels_to_integers(nx.grid_2d_graph(5, 5), label_attribute="pos")
    for v, d in g.nodes(data=True):
        d["pupils"] = 50 + (v * 37) % 100
        d["x"], d["y"] = d["pos"][0] * 1000.0, d["pos"][1] * 1000.0
        del d["pos"]
    total = sum(d["pupils"] for _, d in g.nodes(data=True))
    kw = dict(min_weight=math.ceil(total / 3 * 0.9), max_weight=math.floor(total / 3 * 1.1), k=3, progress=False)
    listed = partition(g, **kw)
    assert listed.formulation == "columns"
    # the estimate (hundreds of sets here) over a budget of ten: straight to the Hess model
    monkeypatch.setattr(part_mod, "COLUMNS_MAX_SETS", 10)
    skipped = partition(g, **kw)
    assert skipped.formulation != "columns" and skipped.status == "optimal"
    assert skipped.objective == pytest.approx(listed.objective)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(planar_instances(), st.sampled_from(["hess", "cut_edges"]))
def test_without_contiguity_never_worse_than_with_it(inst, objective):
    g, k, lo, hi = inst
    cost = cost_of(g) if objective == "hess" else None
    kw = dict(min_weight=lo, max_weight=hi, k=k, cost=cost, objective=objective, progress=False)
    joined = run_or_none(g, **kw)
    loose = run_or_none(g, contiguity="none", **kw)
    if joined is None:
        return
    assert loose is not None and loose.status == "optimal"
    assert loose.objective <= joined.objective + 1e-6


def test_no_first_plan_makes_the_spanning_tree_search_retry(monkeypatch):
    import importlib

    part_mod = importlib.import_module("clustergeo.solve.partition")
    g = nx.convert_node_labels_to_integers(nx.grid_2d_graph(8, 6))
    nx.set_node_attributes(g, 10, "pupils")
    calls = []
    real = part_mod.recom.search

    def search(p, k, **kw):
        calls.append(kw["seed_value"])
        return None if len(calls) == 1 else real(p, k, **kw)  # the budgeted search finds nothing

    monkeypatch.setattr(part_mod.recom, "search", search)
    monkeypatch.setattr(part_mod.greedy, "greedy", lambda p, **kw: None)
    # a narrow window (max / min <= 1.05) on 48 units: three clusters of 16
    r = partition(g, min_weight=158, max_weight=165, k=3, objective="cut_edges", time_limit=60, progress=False)
    assert calls[:2] == [0, 2] and r.heuristic_objective is not None
    assert r.status in ("optimal", "feasible") and r.k == 3
