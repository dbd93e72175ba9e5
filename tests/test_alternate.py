"""Location-allocation never makes a start worse, and its plans are contiguous and within bounds."""

import networkx as nx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clustergeo.solve.alternate import alternate
from clustergeo.solve.heuristics.greedy import plan_cost
from clustergeo.solve.problem import build_problem
from conftest import planar_instances
from test_bounds import instance_and_start

OPTS = dict(solver="highs", gap=None, threads=1, seed=0)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(planar_instances(), st.floats(0.0, 1.0), st.booleans(), st.randoms(use_true_random=False), st.booleans())
def test_alternation_keeps_plans_whole_and_never_costs_more(inst, where, other_hubs, rnd, contiguous):
    g, k, lo, hi = inst
    p, allowed, plans, upper, start = instance_and_start(inst, where)
    if not plans:
        return
    ok = [set(a) for a in allowed]
    if any(j not in ok[i] for i, j in enumerate(start)):
        return
    # from the start's hubs, or from any others (as the Lagrangian relaxation's)
    hubs = rnd.sample(range(p.n), k) if other_hubs else None
    moved = alternate(p, allowed, start, OPTS, seconds=20, hubs=hubs, contiguous=contiguous)
    if moved is None:  # nothing better for these hubs
        return
    cost = plan_cost(p, moved)
    assert cost < upper
    clusters: dict[int, list] = {}
    for i, j in enumerate(moved):
        clusters.setdefault(j, []).append(p.nodes[i])
    assert len(clusters) == k
    for members in clusters.values():
        assert lo <= sum(g.nodes[v]["pupils"] for v in members) <= hi
        assert nx.is_connected(g.subgraph(members)) or not contiguous
    if contiguous:  # (the enumeration holds contiguous plans only)
        assert plans[0][0] - 1e-6 * max(1.0, upper) <= cost


def test_alternation_finds_the_path_optimum():
    """Two clusters of three on a path: from hubs at the ends to the middle of each half."""
    g = nx.path_graph(6)
    for v in g:
        g.nodes[v].update(pupils=1, x=float(v), y=0.0)
    p = build_problem(g, k=2, weight="pupils", min_weight=3, max_weight=3)
    assert alternate(p, [list(range(6))] * 6, [0, 0, 0, 5, 5, 5], OPTS, seconds=10) == [1, 1, 1, 4, 4, 4]
