"""The cut loop's shortcuts keep it exact: a round stopped at a near-optimal plan in pieces,
and separator rows added at LP points, give the same optimum as the loop without them."""

import random

import networkx as nx
import pytest

from clustergeo.solve.cuts import separate
from clustergeo.solve.models import hess
from clustergeo.solve.models.hess import HessModel
from clustergeo.solve.problem import allowed_hubs, build_problem
from conftest import brute_force, cost_of


def scattered_grid(w: int, h: int, seed: int) -> nx.Graph:
    """A grid whose units sit at random points: the cheapest clusters by distance are rarely
    in one piece, so the loop needs several rounds of cuts."""
    rnd = random.Random(seed)
    g = nx.grid_2d_graph(w, h)
    for v in g:
        g.nodes[v].update(pupils=rnd.randint(1, 9), x=rnd.uniform(0, 5000), y=rnd.uniform(0, 5000))
    return g


def loop(g: nx.Graph, k: int, **solve):
    total = sum(d["pupils"] for _, d in g.nodes(data=True))
    lo, hi = int(total / k * 0.7), int(total / k * 1.3) + 1
    p = build_problem(g, weight="pupils", min_weight=lo, max_weight=hi, k=k, cost=cost_of(g))
    allowed, _ = allowed_hubs(p, contiguous=True)
    model = HessModel(p, allowed, stage="objective", contiguity="cuts")
    return p, model, model.solve(solver="highs", gap=None, threads=1, seed=0, time_limit=60, **solve), (lo, hi)


def stopped_early(run) -> int:
    return sum(1 for r in run.rounds if r.status == "stopped early" and r.cuts_added)


@pytest.mark.parametrize(("w", "h", "k", "seed"), [(4, 4, 3, 0), (3, 4, 3, 3)])
def test_rounds_stopped_at_a_plan_in_pieces_give_the_same_optimum(w, h, k, seed, monkeypatch):
    g = scattered_grid(w, h, seed)
    p, _, fast, _ = loop(g, k)
    assert stopped_early(fast) > 0  # the shortcut was taken
    monkeypatch.setattr(hess, "EARLY_STOP_GAP", -1.0)  # never stop a round early
    _, _, full, _ = loop(g, k)
    assert stopped_early(full) == 0
    assert fast.status == full.status == "optimal"
    assert fast.objective == pytest.approx(full.objective, rel=1e-9)
    assert separate(fast.assignment, p.adjacency) == []


def test_a_round_stops_only_near_its_bound_and_only_for_a_plan_in_pieces():
    g = nx.path_graph(4)
    nx.set_node_attributes(g, 1, "pupils")
    nx.set_node_attributes(g, {v: 1000.0 * v for v in g}, "x")
    nx.set_node_attributes(g, 0.0, "y")
    p = build_problem(g, weight="pupils", min_weight=2, max_weight=2, k=2, cost=cost_of(g))
    model = HessModel(p, [list(range(4))] * 4, contiguity="cuts")  # every unit-hub pair
    for n, var in enumerate(model.x.values()):
        var.index = n  # as HiGHS numbers the columns

    def values(plan):
        return [1.0 if plan[i] == j else 0.0 for i, j in model.x]

    in_pieces, whole = [0, 1, 0, 1], [0, 0, 3, 3]
    stop = model._early_stop()
    assert stop is not None
    assert not stop(values(in_pieces), hess.EARLY_STOP_GAP * 2)  # far from the bound: solve on
    assert not stop(values(whole), 0.0)  # one piece each: nothing to cut
    assert stop(values(in_pieces), 0.0) and stop.stopped
    assert not stop(values(whole), 0.0) and stop.stopped  # once asked for, the stop holds


def test_the_loop_with_a_start_matches_the_brute_force():
    """With a plan in hand the LP rounds add separator rows first; the optimum is unchanged."""
    g = scattered_grid(3, 3, 5)
    p, model, run, (lo, hi) = loop(g, 2)
    best, _ = brute_force(g, lo=lo, hi=hi, k=2, cost=cost_of(g))
    _, model2, with_start, _ = loop(g, 2, start=run.assignment)
    assert run.objective == pytest.approx(best, rel=1e-9)
    assert with_start.status == "optimal" and with_start.objective == pytest.approx(best, rel=1e-9)
    assert model2.lp_bound is not None and model2.lp_bound <= best + 1e-6 * best
