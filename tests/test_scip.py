"""SCIP's branch-and-cut (solver="scip"): the same optima as HiGHS's cut loop and the brute
force, never a cluster in pieces, and the same statuses and errors as the other solvers."""

import importlib.util
import math
import os
import random
import signal
import sys
import threading
from pathlib import Path

import networkx as nx
import pytest

import clustergeo as cg
from clustergeo.check import check_partition
from clustergeo.solve.backends import solvers
from clustergeo.solve.cuts import separate
from clustergeo.solve.models.hess import HessModel
from clustergeo.solve.problem import allowed_hubs, build_problem
from conftest import brute_force, cost_of
from test_progress import market_split

pytestmark = pytest.mark.skipif(importlib.util.find_spec("pyscipopt") is None, reason="needs the scip extra")

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def scattered_grid(w: int, h: int, seed: int) -> nx.Graph:
    """A grid whose units sit at random points: the cheapest clusters by distance are rarely
    in one piece, so HiGHS's loop needs several rounds of cuts."""
    rnd = random.Random(seed)
    g = nx.grid_2d_graph(w, h)
    for v in g:
        g.nodes[v].update(pupils=rnd.randint(1, 9), x=rnd.uniform(0, 5000), y=rnd.uniform(0, 5000))
    return g


def window(g: nx.Graph, k: int, slack: float = 0.3) -> tuple[int, int]:
    total = sum(d["pupils"] for _, d in g.nodes(data=True))
    return int(total / k * (1 - slack)), int(total / k * (1 + slack)) + 1


def model_run(g, k, lo, hi, solver, **kw):
    p = build_problem(g, weight="pupils", min_weight=lo, max_weight=hi, k=k, cost=cost_of(g))
    allowed, _ = allowed_hubs(p, contiguous=True)
    model = HessModel(p, allowed, stage="objective", contiguity="cuts")
    run = model.solve(solver=solver, gap=None, threads=1, seed=0, **{"time_limit": 60, **kw})
    return p, run


@pytest.mark.parametrize(("w", "h", "k", "seed"), [(3, 3, 2, 1), (3, 3, 2, 5)])
def test_scip_matches_the_brute_force_and_the_cut_loop(w, h, k, seed):
    g = scattered_grid(w, h, seed)
    lo, hi = window(g, k)
    best, _ = brute_force(g, lo=lo, hi=hi, k=k, cost=cost_of(g))
    _, loop = model_run(g, k, lo, hi, "highs")
    p, bc = model_run(g, k, lo, hi, "scip")
    assert len(loop.rounds) >= 2  # the loop needed cuts: the handler had work to do
    assert loop.objective == pytest.approx(best, rel=1e-9)
    assert bc.status == "optimal" and bc.objective == pytest.approx(best, rel=1e-9)
    assert len(bc.rounds) == 1 and bc.cuts > 0  # one tree, cuts added inside it
    assert separate(bc.assignment, p.adjacency) == []


@pytest.mark.parametrize(("w", "h", "k", "seed"), [(3, 4, 3, 0), (4, 4, 3, 0)])
def test_scip_matches_the_cut_loop_where_it_needs_many_rounds(w, h, k, seed):
    g = scattered_grid(w, h, seed)
    lo, hi = window(g, k)
    _, loop = model_run(g, k, lo, hi, "highs")
    p, bc = model_run(g, k, lo, hi, "scip")
    assert loop.status == "optimal" and len(loop.rounds) >= 4
    assert bc.status == "optimal" and bc.objective == pytest.approx(loop.objective, rel=1e-9)
    assert bc.bound == pytest.approx(bc.objective, rel=1e-6)
    assert separate(bc.assignment, p.adjacency) == []


def test_a_county_graph_through_partition():
    """Maine's 16 counties at +-1%: HiGHS's loop takes several rounds; SCIP the same optimum."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        import run as bench
    finally:
        sys.path.remove(str(BENCHMARKS))
    g, dist = bench.county_graph("ME")
    total = sum(d["pupils"] for _, d in g.nodes(data=True))
    cost = {(i, j): g.nodes[i]["pupils"] * dist[i, j] ** 2 / 1e6 for i in g for j in g}
    lo, hi = math.ceil(total / 2 * 0.99), math.floor(total / 2 * 1.01)
    kw = dict(min_weight=lo, max_weight=hi, k=2, cost=cost, contiguity="cuts", time_limit=120, progress=False)
    loop = cg.partition(g, solver="highs", **kw)
    bc = cg.partition(g, solver="scip", **kw)
    assert loop.rounds >= 2
    assert bc.status == "optimal" and bc.objective == pytest.approx(loop.objective, rel=1e-9)
    assert bc.solver.startswith("SCIP")
    assert check_partition(g, bc.assignment, bounds={"pupils": (lo, hi)}, k=2) == []


def test_a_disconnected_warm_start_is_never_returned():
    """Start SCIP from the best plan without contiguity (a cluster in pieces, cheaper than any
    contiguous plan): the handler rejects it and the answer is the contiguous optimum."""
    g = scattered_grid(4, 4, 0)
    lo, hi = window(g, 3)
    p = build_problem(g, weight="pupils", min_weight=lo, max_weight=hi, k=3, cost=cost_of(g))
    allowed, _ = allowed_hubs(p, contiguous=False)
    loose = HessModel(p, allowed, stage="objective", contiguity="none", relax=frozenset({"contiguity"}))
    free = loose.solve(solver="highs", time_limit=60, gap=None, threads=1, seed=0)
    assert separate(free.assignment, p.adjacency), "the instance should need contiguity"
    model = HessModel(p, allowed, stage="objective", contiguity="cuts")
    bc = model.solve(
        solver="scip", time_limit=60, gap=None, threads=1, seed=0, start=free.assignment, reduced_cost_fixing=False
    )
    _, loop = model_run(g, 3, lo, hi, "highs")
    assert bc.status == "optimal" and separate(bc.assignment, p.adjacency) == []
    assert bc.objective == pytest.approx(loop.objective, rel=1e-9) and bc.objective > free.objective


def test_no_plan_is_the_same_error_as_with_highs():
    g = nx.path_graph(6)
    nx.set_node_attributes(g, 1, "pupils")
    for solver in ("highs", "scip"):
        with pytest.raises(cg.InfeasibleError):
            cg.partition(g, min_weight=4, max_weight=4, k=2, objective="cut_edges", solver=solver, progress=False)
    nx.set_node_attributes(g, {v: float(v) for v in g}, "x")
    nx.set_node_attributes(g, 0.0, "y")
    p = build_problem(g, weight="pupils", min_weight=4, max_weight=4, k=2)
    allowed, _ = allowed_hubs(p, contiguous=False)
    for solver in ("highs", "scip"):
        run = HessModel(p, allowed, contiguity="cuts").solve(solver=solver, time_limit=10, gap=None, threads=1, seed=0)
        assert run.status == "infeasible", solver


def test_a_time_limit_ends_with_a_plan_in_one_piece_or_none():
    g = scattered_grid(6, 6, 4)
    lo, hi = window(g, 5, slack=0.1)
    p, run = model_run(g, 5, lo, hi, "scip", time_limit=1.0)
    assert run.status in ("feasible", "no solution")
    if run.assignment is not None:
        assert separate(run.assignment, p.adjacency) == []
    info = solvers.run(market_split(), solvers.make("scip", time_limit=1.0, gap=None, threads=1, seed=0))
    assert info.status in ("feasible", "no solution") and (info.gap is None or info.gap > 0)


def test_scip_reports_how_the_solve_stands(monkeypatch):
    monkeypatch.setattr(cg.settings, "progress_interval", 0.0)
    ticks = []
    s = solvers.make("scip", time_limit=2.0, gap=None, threads=1, seed=0, warm_start=False, report=ticks.append)
    info = solvers.run(market_split(), s)
    assert ticks and max(t.nodes for t in ticks) > 0
    assert all(t.incumbent >= t.bound - 1e-6 for t in ticks if t.incumbent is not None and t.bound is not None)
    assert info.nodes is not None and info.nodes >= max(t.nodes for t in ticks)


def test_ctrl_c_stops_a_scip_solve():
    s = solvers.make("scip", time_limit=120.0, gap=None, threads=1, seed=0, warm_start=False)
    timer = threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt, match="SCIP stopped cleanly"):
            solvers.run(market_split(), s)
    finally:
        timer.cancel()


def test_other_models_run_on_scip_without_the_handler():
    """The labelling model (cut edges) and the flow model go through SCIP as plain MIPs."""
    g = nx.grid_2d_graph(4, 4)
    nx.set_node_attributes(g, 1, "pupils")
    r = cg.partition(g, min_weight=8, max_weight=8, k=2, objective="cut_edges", solver="scip", progress=False)
    assert r.status == "optimal" and r.objective == 4
    g = scattered_grid(3, 3, 5)
    lo, hi = window(g, 2)
    best, _ = brute_force(g, lo=lo, hi=hi, k=2, cost=cost_of(g))
    r = cg.partition(
        g, min_weight=lo, max_weight=hi, k=2, cost=cost_of(g), contiguity="flow", solver="scip", progress=False
    )
    assert r.status == "optimal" and r.objective == pytest.approx(best, rel=1e-9)
