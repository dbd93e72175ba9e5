"""The labelling model (numbered clusters in the orbitope order, one flow) for the cut-edges
objective, against exhaustive enumeration on small planar graphs."""

import math

import networkx as nx
import pulp
import pytest
from hypothesis import HealthCheck, given, settings

import clustergeo as cg
from clustergeo.solve import partition
from clustergeo.solve.models.labeling import LabelingModel
from clustergeo.solve.problem import build_problem
from clustergeo.solve.roots import root_order
from conftest import assert_optimum, brute_force, planar_instances, run_or_none


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(planar_instances())
def test_labelling_model_matches_enumeration(inst):
    g, k, lo, hi = inst
    expect = brute_force(g, lo=lo, hi=hi, k=k, objective="cut_edges")
    r = run_or_none(g, min_weight=lo, max_weight=hi, k=k, objective="cut_edges", contiguity="labeling")
    assert_optimum(g, r, expect, lo, hi, k)
    if r is not None:
        # the hub reported is each cluster's first unit in the root order: a member
        assert all(r.assignment[h] == h for h in r.hubs)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(planar_instances())
def test_compact_labelling_model_matches_enumeration(inst):
    # the layout Gurobi gets (no fixed variables, orbitope rows over the roots only), solved
    # here by HiGHS so that CI checks it without Gurobi
    from clustergeo.solve.models import labeling

    g, k, lo, hi = inst
    expect = brute_force(g, lo=lo, hi=hi, k=k, objective="cut_edges")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(labeling, "LabelingModel", labeling.CompactLabelingModel)
        r = run_or_none(g, min_weight=lo, max_weight=hi, k=k, objective="cut_edges", contiguity="labeling")
    assert_optimum(g, r, expect, lo, hi, k)


def test_compact_layout_is_smaller_with_the_same_lp_bound():
    from clustergeo.solve.models.labeling import CompactLabelingModel
    from clustergeo.solve.problem import allowed_hubs

    g = nx.convert_node_labels_to_integers(nx.grid_2d_graph(6, 6))
    nx.set_node_attributes(g, 1, "pupils")
    p = build_problem(g, min_weight=11, max_weight=13, k=3, objective="cut_edges")
    p.hub_rank, p.hub_roots = root_order(p, seconds=2)
    allowed, _ = allowed_hubs(p, contiguous=True)
    full, compact = LabelingModel(p, 3, allowed), CompactLabelingModel(p, 3, allowed)
    assert len(compact.prob.variables()) < 0.75 * len(full.prob.variables())
    assert len(compact.prob.constraints) < len(full.prob.constraints)
    bounds = []
    for m in (full, compact):
        relaxed = m.prob.copy()
        for v in relaxed.variables():
            v.cat = "Continuous"
        relaxed.solve(pulp.HiGHS(msg=False))
        bounds.append(pulp.value(relaxed.objective))
    assert bounds[0] == pytest.approx(bounds[1], abs=1e-6)


def test_auto_picks_the_labelling_model_for_cut_edges_on_a_larger_graph():
    g = nx.grid_2d_graph(8, 8)
    g = nx.convert_node_labels_to_integers(g)
    nx.set_node_attributes(g, 10, "pupils")
    total = 640
    # a wide window: too many clusters to list, so the MIP runs
    r = partition(
        g,
        min_weight=math.ceil(total / 3 * 0.7),
        max_weight=math.floor(total / 3 * 1.3),
        k=3,
        objective="cut_edges",
        time_limit=120,
    )
    assert r.formulation == "labeling+flow"
    assert r.status in ("optimal", "feasible") and r.k == 3
    assert cg.check_partition(g, r.assignment, bounds={"pupils": (150, 277)}, k=3) == []


def test_start_plan_round_trips_through_the_labels():
    g = nx.convert_node_labels_to_integers(nx.grid_2d_graph(4, 4))
    nx.set_node_attributes(g, 1, "pupils")
    p = build_problem(g, min_weight=4, max_weight=6, k=3, objective="cut_edges")
    p.hub_rank, p.hub_roots = root_order(p, seconds=2)
    m = LabelingModel(p, 3)
    plan = [0] * 16
    for i in range(16):
        plan[i] = 0 if i < 5 else (5 if i < 10 else 10)
    lab = m.labels_of(plan)
    assert len(set(lab)) == 3
    assert all((lab[a] == lab[b]) == (plan[a] == plan[b]) for a in range(16) for b in range(16))


def test_labelling_needs_cut_edges_and_an_exact_count():
    g = nx.convert_node_labels_to_integers(nx.grid_2d_graph(3, 3), label_attribute="pos")
    for _v, d in g.nodes(data=True):
        d["pupils"], d["x"], d["y"] = 1, float(d["pos"][0]), float(d["pos"][1])
        del d["pos"]
    with pytest.raises(cg.RulesError, match="labeling"):
        partition(g, min_weight=2, max_weight=5, k=3, objective="hess", contiguity="labeling")
    with pytest.raises(cg.RulesError, match="labeling"):
        partition(g, min_weight=2, max_weight=5, k=(2, 3), objective="cut_edges", contiguity="labeling")


def test_unknown_contiguity_is_named():
    g = nx.path_graph(4)
    nx.set_node_attributes(g, 1, "pupils")
    with pytest.raises(cg.RulesError, match="'labelling'"):
        partition(g, min_weight=1, max_weight=3, k=2, objective="cut_edges", contiguity="labelling")


def test_a_stopped_cut_edge_solve_returns_a_checked_plan_no_worse_than_its_start():
    # far too little time to prove a 14 x 14 grid: the late spanning-tree search and the tabu
    # polish of the better of its plan and the solver's incumbent run, and what comes back
    # must still meet every rule
    g = nx.convert_node_labels_to_integers(nx.grid_2d_graph(14, 14))
    nx.set_node_attributes(g, 10, "pupils")
    lo, hi = 480, 500
    r = partition(g, min_weight=lo, max_weight=hi, k=4, objective="cut_edges", time_limit=4)
    assert r.status in ("feasible", "heuristic", "optimal") and r.k == 4
    assert r.objective <= r.heuristic_objective
    assert cg.check_partition(g, r.assignment, bounds={"pupils": (lo, hi)}, k=4) == []
