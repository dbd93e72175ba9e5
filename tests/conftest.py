"""Helpers shared by the tests: exhaustive enumeration, random planar instances, the checks of
an answer against the enumeration, and the shipped cases solved once per test run (the test
modules that need them only read them)."""

import fcntl
import itertools
import math
import os

import networkx as nx
import numpy as np
import pytest
from hypothesis import strategies as st

import clustergeo as cg
from clustergeo.check import check_partition
from clustergeo.solve import partition


def set_partitions(items):
    if not items:
        yield []
        return
    first, rest = items[0], items[1:]
    for smaller in set_partitions(rest):
        for i in range(len(smaller)):
            yield smaller[:i] + [[first] + smaller[i]] + smaller[i + 1 :]
        yield [[first]] + smaller


def brute_force(g, *, lo, hi, k=None, objective="hess", cost=None, district=None, fewest=False):
    """Best objective over every contiguous partition meeting the rules (None if none)."""
    best = {}
    for part in set_partitions(sorted(g.nodes)):
        if k is not None and len(part) != k:
            continue
        ok = True
        for block in part:
            w = sum(g.nodes[v]["pupils"] for v in block)
            if w < lo or w > hi or not nx.is_connected(g.subgraph(block)):
                ok = False
                break
            if district and len({g.nodes[v][district] for v in block}) > 1:
                ok = False
                break
        if not ok:
            continue
        if objective == "hess":
            val = sum(min(sum(cost[i, j] for i in block) for j in block) for block in part)
        else:
            where = {v: n for n, block in enumerate(part) for v in block}
            val = sum(1 for a, b in g.edges if where[a] != where[b])
        key = len(part) if fewest else 0
        best[key] = min(best.get(key, math.inf), val)
    if not best:
        return None
    return best[min(best)] if fewest else best[0], (min(best) if fewest else None)


@st.composite
def planar_instances(draw):
    n = draw(st.integers(5, 8))
    pts = draw(st.lists(st.tuples(st.integers(0, 100), st.integers(0, 100)), min_size=n, max_size=n, unique=True))
    from scipy.spatial import Delaunay

    g = nx.Graph()
    for i, (x, y) in enumerate(pts):
        g.add_node(
            i, x=float(x) * 100, y=float(y) * 100, pupils=draw(st.integers(1, 9)), district="A" if x < 50 else "B"
        )
    try:
        tri = Delaunay(np.array(pts, dtype=float))
        for s in tri.simplices:
            for a, b in itertools.combinations(s, 2):
                g.add_edge(int(a), int(b))
    except Exception:  # collinear points: a path
        order = sorted(range(n), key=lambda i: pts[i])
        nx.add_path(g, order)
    total = sum(d["pupils"] for _, d in g.nodes(data=True))
    k = draw(st.integers(2, 3))
    slack = draw(st.sampled_from([0.2, 0.5, 1.0]))
    lo = max(1, math.floor(total / k * (1 - slack)))
    hi = math.ceil(total / k * (1 + slack))
    return g, k, lo, hi


def cost_of(g):
    return {
        (i, j): g.nodes[i]["pupils"]
        * math.hypot(g.nodes[i]["x"] - g.nodes[j]["x"], g.nodes[i]["y"] - g.nodes[j]["y"])
        / 100
        for i in g
        for j in g
    }


def assert_optimum(g, r, expect, lo, hi, k=None):
    """``r`` (None when infeasible) agrees with the enumeration's ``expect`` (None or (best, k));
    ``k``: the count the plan must have (default: the plan's own)."""
    if expect is None:
        assert r is None
        return
    assert r is not None and r.status == "optimal"
    assert r.objective == pytest.approx(expect[0], rel=1e-6, abs=1e-6)
    assert check_partition(g, r.assignment, bounds={"pupils": (lo, hi)}, k=r.k if k is None else k) == []


def run_or_none(g, **kw):
    try:
        r = partition(g, **kw)
    except cg.InfeasibleError:
        return None
    return r


# --------------------------------------------------------------------------- shipped cases, solved once


def _solved_once(tmp_path_factory, name: str, scenario: str):
    """``clustergeo solve <scenario>`` into a folder every test worker shares: under pytest-xdist
    the first worker to ask solves it while the others wait on a lock, then all read it."""
    from clustergeo.cli import main

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the workers' own folders sit side by side in one run folder
    out = root / name
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not (out / "plan.json").exists():  # (the command moves its folder into place when complete)
            assert main(["solve", scenario, "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="package")  # solved once for all the tests in this folder
def norfolk_out(tmp_path_factory):
    """``clustergeo solve norfolk-option-4``: the lead plan's folder (tests copy it before changing it)."""
    return _solved_once(tmp_path_factory, "norfolk", "norfolk-option-4")


@pytest.fixture(scope="package")  # solved once for all the tests in this folder
def nl_out(tmp_path_factory):
    """``clustergeo solve north-lanarkshire``: the plan's folder with its peer groups and allocations
    (tests copy it before changing it)."""
    return _solved_once(tmp_path_factory, "nl", "north-lanarkshire")


@pytest.fixture(scope="package")  # solved once for all the tests in this folder
def nl_proposal():
    """North Lanarkshire's scenario rules proposed in memory: ``(schools, boundary, layers, plan)``.
    Edits make new plans, so the tests share it; a test that changes it restores it."""
    sc = cg.read_scenario("north-lanarkshire")
    schools, boundary, layers = sc.load()
    plan = cg.propose(schools, sc.rules, boundary=boundary, layers=layers, progress=False, name=sc.name)
    return schools, boundary, layers, plan
