"""partition()'s options: one spelling per idea (old ones warn), groups, unknown names."""

import networkx as nx
import pytest

import clustergeo as cg
from clustergeo.solve.options import BUDGET, Budget, Districts, SolverOptions, known_options


def path6() -> nx.Graph:
    g = nx.path_graph(6)
    nx.set_node_attributes(g, 1, "pupils")
    for i in g:
        g.nodes[i]["ward"] = "a" if i < 3 else "b"
        g.nodes[i]["x"], g.nodes[i]["y"] = float(i), 0.0
    return g


def test_fewest_spellings_agree_and_the_old_one_warns():
    g = path6()
    new = cg.partition(g, min_weight=2, max_weight=3, fewest=True, progress=False)
    with pytest.warns(DeprecationWarning, match="fewest=True"):
        old = cg.partition(g, min_weight=2, max_weight=3, k="fewest", progress=False)
    assert new.k == old.k == 2 and new.assignment == old.assignment


def test_contiguous_false_is_contiguity_none():
    g = path6()
    new = cg.partition(g, min_weight=2, max_weight=3, k=2, contiguity="none", progress=False)
    with pytest.warns(DeprecationWarning, match='contiguity="none"'):
        old = cg.partition(g, min_weight=2, max_weight=3, k=2, contiguous=False, progress=False)
    assert new.objective == pytest.approx(old.objective)


def test_groups_and_plain_keywords_agree():
    g = path6()
    plain = cg.partition(g, min_weight=3, max_weight=3, district="ward", district_mode="within", seed=1, progress=False)
    grouped = cg.partition(
        g,
        min_weight=3,
        max_weight=3,
        districts=Districts(district="ward", district_mode="within"),
        solver_options=SolverOptions(seed=1),
        progress=False,
    )
    assert plain.assignment == grouped.assignment and plain.k == 2


def test_unknown_keyword_is_a_type_error_naming_the_known_ones():
    with pytest.raises(TypeError, match="'min_pupils'.*max_weight"):
        cg.partition(path6(), min_pupils=2, progress=False)
    with pytest.raises(TypeError, match="Districts"):
        cg.partition(path6(), min_weight=2, districts={"district": "ward"}, progress=False)
    assert "time_limit" in known_options() and "contiguous" in known_options()


def test_budget_is_frozen_and_shared():
    assert isinstance(BUDGET, Budget) and 0 < BUDGET.late_share < 1
    with pytest.raises(AttributeError):
        BUDGET.late_share = 0.5  # type: ignore[misc]
