"""clustergeo solver benchmarks: instances x formulations x solvers, plus peers.

A small runner of our own rather than asv or pytest-benchmark: the cases are whole solves
(seconds to minutes), each needs its own set-up (graphs, costs, rules), we want the solver's
status, bound, gap, rounds and cuts next to the time, and every run in a fresh process so its
peak memory is its own. Seeds are fixed (``seed = 0``) and so are threads: one
(``settings.threads = 1``, bit-for-bit repeatable) unless ``--threads 2`` asks for HiGHS's
parallel tree search; the ``threads`` column says which.

    python benchmarks/run.py --quick      # a few minutes; CI runs this
    python benchmarks/run.py --full       # everything (about an hour)
    python benchmarks/run.py --only grid  # cases whose name contains "grid" (to results/partial/)
    python benchmarks/run.py --full --only grid --update  # re-run them and update results/full.*
    python benchmarks/run.py --full --only county- --threads 2 --update  # two-thread rows beside them
    python benchmarks/run.py --full --only county- --solver gurobi --update  # Gurobi rows (gurobi extra)

Writes ``benchmarks/results/<mode>.json`` and ``.csv``, a markdown table ``<mode>.md`` and a
scaling plot ``<mode>-scaling.png`` (time against units, log scale). In quick mode it compares
each objective with the recorded optimum in ``benchmarks/optima.json`` and exits non-zero on a
worse answer or an invalid plan (never on time).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import resource
import sys
import time
import traceback
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
INSTANCES = HERE / "instances"
SEATS_2010 = {
    "ME": 2,
    "NE": 3,
    "IA": 4,
    "AR": 4,
    "OK": 5,
    "SC": 7,
    "MT": 1,
    "ND": 1,
    "SD": 1,
    "NM": 3,
    "NH": 2,
    "ID": 2,
    "AL": 7,
    "CO": 7,
    "KS": 4,
    "LA": 6,
    "MS": 4,
    "OR": 5,
    "WV": 3,
}
#: every state of more than one seat whose counties each fit a +-0.5% district (the 2010
#: county graphs that may have a plan at that balance; the others would have to split a county)
BALANCE_STATES = ("AL", "AR", "CO", "IA", "ID", "KS", "LA", "ME", "MS", "NE", "NH", "NM", "OK", "OR", "SC", "WV")
#: Gurobi rows join the full run when gurobipy is installed (``pip install -e ".[gurobi]"``)
HAS_GUROBI = importlib.util.find_spec("gurobipy") is not None


@dataclass
class Case:
    name: str
    kind: str  # grid | planar | county | tract | norfolk-units | norfolk-schools | nl
    params: dict = field(default_factory=dict)
    objective: str = "hess"
    formulation: str = "auto"
    solver: str = "highs"
    time_limit: float = 300.0
    peers: bool = False
    quick: bool = False
    threads: int = 1  # settings.threads for the solve (2: HiGHS's parallel tree search)


# ----------------------------------------------------------------------------- instances


def grid_graph(n: int, seed: int = 1):
    import networkx as nx
    import numpy as np

    g = nx.convert_node_labels_to_integers(nx.grid_2d_graph(n, n), label_attribute="pos")
    rng = np.random.default_rng(seed)
    for _v, d in g.nodes(data=True):
        d["pupils"] = int(rng.integers(50, 150))
        d["x"], d["y"] = d["pos"][0] * 1000.0, d["pos"][1] * 1000.0
        del d["pos"]
    return g


def planar_graph(n: int, seed: int = 1):
    import itertools

    import networkx as nx
    import numpy as np
    from scipy.spatial import Delaunay

    rng = np.random.default_rng(seed)
    pts = rng.uniform(0, 100_000, size=(n, 2))
    g = nx.Graph()
    for i, (x, y) in enumerate(pts):
        g.add_node(i, x=float(x), y=float(y), pupils=int(rng.integers(50, 500)))
    for s in Delaunay(pts).simplices:
        for a, b in itertools.combinations(s, 2):
            # drop the long hull edges Delaunay adds, as real adjacency would
            if math.dist(pts[a], pts[b]) < 25_000:
                g.add_edge(int(a), int(b))
    comps = sorted(nx.connected_components(g), key=len)
    for c in comps[:-1]:  # keep it connected
        a = min(c)
        b = min(comps[-1], key=lambda v: math.dist(pts[a], pts[v]))
        g.add_edge(a, b)
    return g


def county_graph(state: str):
    import networkx as nx

    d = json.loads((INSTANCES / f"{state}_county_2010.json").read_text())
    km = json.loads((INSTANCES / f"{state}_county_2010_dkm.json").read_text())
    g = nx.Graph()
    for node in d["nodes"]:
        g.add_node(node["id"], pupils=node["population"], name=node["name"])
    g.add_edges_from((u, v) for u, v, *_ in d["edges"])
    ids = km["node_ids"]
    m = km["matrix_km"]
    dist = {(ids[i], ids[j]): m[i][j] for i in range(len(ids)) for j in range(len(ids))}
    return g, dist


def tract_graph(state: str):
    """A 2010 census-tract graph and its integer-km distances (rounded, as zhelih/districting)."""
    import networkx as nx

    d = json.loads((INSTANCES / f"{state}_tract_2010.json").read_text())
    xy = json.loads((INSTANCES / f"{state}_tract_2010_xy.json").read_text())
    g = nx.Graph()
    for node in d["nodes"]:
        g.add_node(node["id"], pupils=node["population"])
    g.add_edges_from((u, v) for u, v, *_ in d["edges"])
    pts = {i: (x, y) for i, x, y in zip(xy["node_ids"], xy["x_m"], xy["y_m"])}
    dist = {(i, j): round(math.dist(pts[i], pts[j]) / 1000) for i in pts for j in pts}
    return g, dist


def build(case: Case):
    """(graph, partition kwargs) for a case."""
    p = case.params
    if case.kind in ("grid", "planar"):
        g = grid_graph(p["n"]) if case.kind == "grid" else planar_graph(p["n"], p.get("seed", 1))
        tot = sum(d["pupils"] for _, d in g.nodes(data=True))
        k, tol = p["k"], p["tol"]
        cost = {
            (i, j): g.nodes[i]["pupils"]
            * ((g.nodes[i]["x"] - g.nodes[j]["x"]) ** 2 + (g.nodes[i]["y"] - g.nodes[j]["y"]) ** 2)
            / 1e6
            for i in g
            for j in g
        }
        kw = dict(
            min_weight=math.ceil(tot / k * (1 - tol)),
            max_weight=math.floor(tot / k * (1 + tol)),
            k=k,
            cost=cost if case.objective == "hess" else None,
        )
        return g, kw
    if case.kind in ("county", "tract"):
        g, dist = county_graph(p["state"]) if case.kind == "county" else tract_graph(p["state"])
        tot = sum(d["pupils"] for _, d in g.nodes(data=True))
        k = SEATS_2010[p["state"]]
        tol = p.get("tol", 0.005)
        cost = {(i, j): g.nodes[i]["pupils"] * dist[i, j] ** 2 / 1e6 for i in g for j in g}
        return g, dict(
            min_weight=math.ceil(tot / k * (1 - tol)),
            max_weight=math.floor(tot / k * (1 + tol)),
            k=k,
            cost=cost if case.objective == "hess" else None,
        )
    if case.kind in ("norfolk-units", "norfolk-schools", "nl"):
        import clustergeo as cg
        from clustergeo import graph, travel, units

        name = "norfolk" if case.kind.startswith("norfolk") else "north-lanarkshire"
        ds = cg.datasets.load(name)
        s = ds.schools
        if name == "norfolk":
            s = s[s["sector"] == "state-funded"]
        else:
            s = s[s["group"] != "asn"]
        gs = graph.school_graph(s, boundary=ds.layers["authority"])
        keep = "cluster" if case.kind != "norfolk-schools" else None
        m = units.make_units(s, keep_whole=keep, split=["Roman Catholic"])
        u = units.contract(gs, m)
        tt = travel.estimate_travel_times(s)
        kw = dict(cost=tt.unit_costs(u) if case.objective == "hess" else None, **p.get("rules", {}))
        return u, kw
    raise ValueError(case.kind)


# ----------------------------------------------------------------------------- runs


def run_case(case: Case) -> dict:
    """Solve one case in this (fresh) process and return its record."""
    import clustergeo as cg
    from clustergeo.check import check_partition

    cg.settings.threads, cg.settings.seed = case.threads, 0
    t_build = time.perf_counter()
    g, kw = build(case)
    build_s = time.perf_counter() - t_build
    rec = {
        "case": case.name,
        "kind": case.kind,
        "units": g.number_of_nodes(),
        "edges": g.number_of_edges(),
        "objective_kind": case.objective,
        "formulation": case.formulation,
        "solver": case.solver,
        "threads": case.threads,
        "method": "clustergeo",
        "build_s": round(build_s, 3),
        "time_limit": case.time_limit,
    }
    t0 = time.perf_counter()
    try:
        r = cg.partition(
            g,
            objective="cut_edges" if case.objective == "cut_edges" else "hess",
            contiguity=case.formulation,
            solver=case.solver,
            time_limit=case.time_limit,
            **kw,
        )
        bounds = {"pupils": (kw.get("min_weight"), kw.get("max_weight"))}
        bounds.update(kw.get("bounds") or {})
        problems = check_partition(
            g,
            r.assignment,
            bounds=bounds,
            k=kw.get("k") if kw.get("k") != "fewest" else None,
            contiguous=case.formulation != "none",  # without contiguity a cluster may be in pieces
        )
        nodes = [x.nodes for x in r.log if x.nodes is not None]
        rec.update(
            status=r.status,
            objective=r.objective,
            bound=r.bound,
            gap=r.gap,
            k=r.k,
            rounds=r.rounds,
            cuts=r.cuts,
            nodes=sum(nodes) if nodes else None,
            seconds=round(time.perf_counter() - t0, 3),
            valid=not problems,
            violations="; ".join(problems[:3]),
            fixed=r.fixing.get("kept"),
            pairs=r.fixing.get("pairs"),
            solver_version=r.solver,
            used=r.formulation,
        )
    except cg.InfeasibleError as e:
        rec.update(
            status="infeasible", seconds=round(time.perf_counter() - t0, 3), valid=True, violations=str(e.reasons[:1])
        )
    except cg.NoPlanInTimeError as e:  # an answer too: nothing found, nothing proved
        rec.update(
            status="no plan in time", seconds=round(time.perf_counter() - t0, 3), valid=True, violations=str(e)[:300]
        )
    except Exception as e:  # a crash is a result too
        rec.update(
            status="error",
            seconds=round(time.perf_counter() - t0, 3),
            valid=False,
            violations=f"{type(e).__name__}: {e}"[:300],
            trace=traceback.format_exc()[-1500:],
        )
    rec["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return rec


def run_peers(case: Case) -> list[dict]:
    """spopt's MaxPHeuristic, Skater and AZP and our greedy baseline on the same instance."""
    import warnings

    import geopandas as gpd
    import numpy as np

    from clustergeo.check import check_partition
    from clustergeo.solve.heuristics import greedy as heuristic
    from clustergeo.solve.problem import build_problem

    warnings.filterwarnings("ignore")
    g, kw = build(case)
    lo, hi, k = kw["min_weight"], kw["max_weight"], kw["k"]
    nodes = sorted(g.nodes)
    out = []

    def score(assign: dict) -> float | None:
        if kw.get("cost") is None:
            return float(sum(1 for a, b in g.edges if assign[a] != assign[b]))
        total = 0.0
        groups: dict = {}
        for v, c in assign.items():
            groups.setdefault(c, []).append(v)
        for members in groups.values():
            total += min(sum(kw["cost"][i, j] for i in members) for j in members)
        return total

    def record(method: str, assign: dict | None, seconds: float, note: str = "") -> None:
        rec = {
            "case": case.name,
            "kind": case.kind,
            "units": len(nodes),
            "edges": g.number_of_edges(),
            "objective_kind": case.objective,
            "method": method,
            "formulation": "-",
            "solver": "-",
            "seconds": round(seconds, 3),
        }
        if assign is None:
            rec.update(status="no plan", valid=False, violations=note)
        else:
            problems = check_partition(g, assign, bounds={"pupils": (lo, hi)}, k=k)
            rec.update(
                status="heuristic",
                objective=score(assign),
                k=len(set(assign.values())),
                valid=not problems,
                violations="; ".join(problems[:3]),
            )
        out.append(rec)

    p = build_problem(
        g,
        min_weight=lo,
        max_weight=hi,
        k=k,
        cost=kw.get("cost"),
        objective="cut_edges" if case.objective == "cut_edges" else "hess",
    )
    t0 = time.perf_counter()
    a = heuristic.greedy(p)
    record(
        "greedy (clustergeo)",
        None if a is None else {p.nodes[i]: p.nodes[j] for i, j in enumerate(a)},
        time.perf_counter() - t0,
        "greedy got stuck",
    )
    from clustergeo.solve.heuristics import recom

    t0 = time.perf_counter()
    a = recom.search(p, k, seconds=min(10.0, max(0.5, 0.02 * p.n)))
    record(
        "spanning trees (clustergeo)",
        None if a is None else {p.nodes[i]: p.nodes[j] for i, j in enumerate(a)},
        time.perf_counter() - t0,
        "no tree split fits the window",
    )
    try:
        from libpysal.weights import W
        from spopt.region import AZP, MaxPHeuristic, Skater
    except ImportError:
        return out
    adj = {v: sorted(g.neighbors(v)) for v in nodes}
    w = W(adj, silence_warnings=True)
    df = gpd.GeoDataFrame(
        {
            "id": nodes,
            "pupils": [g.nodes[v]["pupils"] for v in nodes],
            "x": [g.nodes[v].get("x", 0.0) for v in nodes],
            "y": [g.nodes[v].get("y", 0.0) for v in nodes],
        },
        geometry=gpd.points_from_xy(np.zeros(len(nodes)), np.zeros(len(nodes))),
    )
    attrs = ["x", "y"] if "x" in g.nodes[nodes[0]] else ["pupils"]
    np.random.seed(0)
    for method, make in (
        ("spopt MaxPHeuristic", lambda: MaxPHeuristic(df, w, attrs, "pupils", lo, top_n=2)),
        ("spopt Skater", lambda: Skater(df, w, attrs, n_clusters=k, floor=1)),
        ("spopt AZP", lambda: AZP(df, w, attrs, n_clusters=k, random_state=0)),
    ):
        t0 = time.perf_counter()
        try:
            model = make()
            model.solve()
            labels = list(model.labels_)
            record(method, {v: int(lab) for v, lab in zip(nodes, labels)}, time.perf_counter() - t0)
        except Exception as e:  # noqa: BLE001
            record(method, None, time.perf_counter() - t0, f"{type(e).__name__}: {e}"[:200])
    return out


def _child(case: Case) -> list[dict]:
    recs = [run_case(case)]
    if case.peers:
        recs += run_peers(case)
    return recs


def _run_in_child(case: Case) -> list[dict]:
    """Run a case in a fresh process; a child that overruns its limit badly is stopped and
    recorded as such (model building and the fallbacks are outside the solver's time limit)."""
    from concurrent.futures import TimeoutError as FutureTimeout

    ex = ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn"))
    fut = ex.submit(_child, case)
    try:
        return fut.result(timeout=3 * case.time_limit + 300)
    except FutureTimeout:
        for proc in list(getattr(ex, "_processes", {}).values()):
            proc.terminate()
        return [
            {
                "case": case.name,
                "kind": case.kind,
                "units": None,
                "objective_kind": case.objective,
                "formulation": case.formulation,
                "solver": case.solver,
                "threads": case.threads,
                "method": "clustergeo",
                "status": "stopped",
                "valid": False,
                "time_limit": case.time_limit,
                "seconds": 3 * case.time_limit + 300,
                "violations": "stopped by the runner: overran three times its time limit",
            }
        ]
    finally:
        ex.shutdown(wait=False, cancel_futures=True)


# ----------------------------------------------------------------------------- the plan


def cases(mode: str) -> list[Case]:
    out = []
    # synthetic grids and random planar graphs at growing sizes (pupils 50-150 per unit)
    # time limits: the full run is sized to finish in about an hour on 2 cores (one case at
    # a time); a case that hits its limit is reported with its gap
    for n, k, tl, quick in (
        (5, 3, 120, True),
        (7, 4, 180, False),
        (10, 5, 180, False),
        (15, 6, 180, False),
        (20, 8, 180, False),
        (32, 10, 180, False),
    ):
        out.append(
            Case(f"grid-{n}x{n}-k{k}", "grid", {"n": n, "k": k, "tol": 0.10}, time_limit=tl, quick=quick, peers=n <= 7)
        )
    for n, k, tl, quick in (
        (25, 3, 120, True),
        (50, 4, 180, True),
        (100, 5, 180, False),
        (250, 8, 180, False),
        (500, 12, 180, False),
        (1000, 20, 180, False),
    ):
        out.append(
            Case(f"planar-{n}-k{k}", "planar", {"n": n, "k": k, "tol": 0.10}, time_limit=tl, quick=quick, peers=n <= 50)
        )
    # the formulations and solvers side by side on a small grid and a planar graph
    for inst in ("grid-5x5-k3", "planar-25-k3"):
        base = next(c for c in out if c.name == inst)
        out.append(Case(base.name, base.kind, base.params, formulation="flow", time_limit=120, quick=True))
        out.append(Case(base.name, base.kind, base.params, formulation="cuts", time_limit=120, quick=True))
        out.append(Case(base.name, base.kind, base.params, solver="cbc", time_limit=120, quick=True))
    out.append(
        Case("grid-4x4-k2", "grid", {"n": 4, "k": 2, "tol": 0.10}, objective="cut_edges", time_limit=120, quick=True)
    )
    out.append(Case("grid-5x5-k3", "grid", {"n": 5, "k": 3, "tol": 0.10}, objective="cut_edges", time_limit=180))
    # 64 units: too many clusters to list, so cut edges go to the labelling model (auto)
    out.append(
        Case("grid-8x8-k3", "grid", {"n": 8, "k": 3, "tol": 0.10}, objective="cut_edges", time_limit=120, quick=True)
    )
    # real county graphs, +-0.5% population balance (published districting benchmarks)
    for st, quick in (("ME", True), ("SC", False), ("AR", False), ("OK", False), ("NE", False), ("IA", False)):
        out.append(
            Case(
                f"county-{st}",
                "county",
                {"state": st},
                time_limit=180 if not quick else 300,
                quick=quick,
                peers=st == "SC",
            )
        )
        if st in ("ME", "SC"):
            out.append(Case(f"county-{st}", "county", {"state": st}, formulation="flow", time_limit=180))
        # cut edges: 900 s, to record the time to the proof (HiGHS needs minutes there; with
        # the rooted Hess model Iowa's tree closed after 608 s of MIP alone)
        out.append(Case(f"county-{st}", "county", {"state": st}, objective="cut_edges", time_limit=900))
        if HAS_GUROBI:  # the same labelling model under Gurobi (the gurobi extra), where installed
            out.append(
                Case(f"county-{st}", "county", {"state": st}, objective="cut_edges", solver="gurobi", time_limit=900)
            )
        if st == "AR":  # the rooted Hess model on the same case, for comparison with the labelling model
            out.append(
                Case(f"county-{st}", "county", {"state": st}, objective="cut_edges", formulation="cuts", time_limit=900)
            )
    # one-seat states: the optimum is a choice of hub (solve/onehub.py), no solver needed
    for st, quick in (("MT", True), ("ND", False), ("SD", True)):
        out.append(Case(f"county-{st}", "county", {"state": st}, time_limit=60, quick=quick))
        out.append(Case(f"county-{st}", "county", {"state": st}, objective="cut_edges", time_limit=60, quick=quick))
    # a 33-unit, 3-seat state: listing clusters is judged too long by its estimate (solve/models/columns.py)
    out.append(Case("county-NM", "county", {"state": "NM"}, time_limit=120, quick=True))
    out.append(Case("county-NM", "county", {"state": "NM"}, objective="cut_edges", time_limit=120))
    # every county graph that may have a plan at +-0.5%: a plan (or the proof there is none)
    # within the limit, for both objectives
    for st in BALANCE_STATES:
        for objective in ("hess", "cut_edges"):
            out.append(Case(f"balance-{st}", "county", {"state": st}, objective=objective, time_limit=300))
    # tract graphs (295-358 units, 2 seats): without contiguity against with it, same instance
    for st in ("NH", "ID", "ME"):
        for objective in ("hess", "cut_edges"):
            for formulation in ("auto", "none"):
                out.append(
                    Case(
                        f"tract-{st}",
                        "tract",
                        {"state": st},
                        objective=objective,
                        formulation=formulation,
                        time_limit=180,
                    )
                )
    # tract graphs of about 500 units with 3 seats (published cut-edge proofs 24-444 s)
    for st in ("NM", "WV", "NE"):
        for objective in ("hess", "cut_edges"):
            out.append(Case(f"tract3-{st}", "tract", {"state": st}, objective=objective, time_limit=300))
    # the real cases
    nf_rules = {"min_weight": 2500, "max_weight": 5000, "fewest": True}
    out.append(
        Case(
            "norfolk-units-penalty",
            "norfolk-units",
            {"rules": {**nf_rules, "district": "district", "district_mode": "penalty", "district_penalty": 50000}},
            time_limit=300,
            quick=True,
        )
    )
    out.append(
        Case(
            "norfolk-units-penalty",
            "norfolk-units",
            {"rules": {**nf_rules, "district": "district", "district_mode": "penalty", "district_penalty": 50000}},
            solver="cbc",
            time_limit=180,
        )
    )
    out.append(
        Case(
            "norfolk-schools-within",
            "norfolk-schools",
            {"rules": {**nf_rules, "district": "district", "district_mode": "within"}},
            time_limit=600,
        )
    )
    out.append(
        Case(
            "nl-mainstream-units",
            "nl",
            {
                "rules": {
                    "bounds": {"schools": (8, 13)},
                    "k": 14,
                    "district": "district",
                    "district_mode": "penalty",
                    "district_penalty": 20000,
                }
            },
            time_limit=300,
            quick=True,
        )
    )
    if mode == "quick":
        out = [c for c in out if c.quick]
    return out


def published(records: list[dict]) -> None:
    """Add the published time (``published_s``, ``source``) and our ratio to it, where one exists."""
    table = json.loads((HERE / "published.json").read_text())
    for r in records:
        ref = table.get(f"{r['case']}|{r['objective_kind']}") if r.get("method") == "clustergeo" else None
        if ref and r.get("status") == "optimal" and r.get("seconds"):
            r.update(
                published_s=ref["seconds"], source=ref["source"], ratio=float(f"{r['seconds'] / ref['seconds']:.2g}")
            )


def write(records: list[dict], mode: str, where: Path = RESULTS, *, ran: str | None = None) -> None:
    import pandas as pd

    published(records)

    RESULTS = where  # noqa: N806 - partial runs (--only) go to results/partial/
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{mode}.json").write_text(json.dumps(records, indent=1, default=str))
    df = pd.DataFrame(records)
    if "threads" in df:  # rows from before the column ran on one thread; peers' rows have none
        df["threads"] = [
            t if isinstance(t, (int, float)) and t == t else (1 if m == "clustergeo" else None)
            for t, m in zip(df["threads"], df["method"])
        ]
    df.drop(columns=[c for c in ("trace",) if c in df], errors="ignore").to_csv(RESULTS / f"{mode}.csv", index=False)
    cols = [
        "case",
        "units",
        "objective_kind",
        "method",
        "formulation",
        "used",
        "solver",
        "threads",
        "status",
        "objective",
        "bound",
        "gap",
        "k",
        "rounds",
        "cuts",
        "nodes",
        "seconds",
        "published_s",
        "source",
        "ratio",
        "peak_rss_mb",
        "valid",
    ]
    t = df[[c for c in cols if c in df]].copy()
    shown = {
        "objective": lambda v: f"{v:,.1f}",
        "bound": lambda v: f"{v:,.1f}",
        "threads": lambda v: str(int(v)),
        "gap": lambda v: f"{100 * v:.2f}%",
        "nodes": lambda v: f"{int(v):,}",
    }
    for c, fmt in shown.items():
        if c in t:
            t[c] = t[c].map(lambda v, fmt=fmt: "" if v is None or (isinstance(v, float) and math.isnan(v)) else fmt(v))
    lines = ["| " + " | ".join(t.columns) + " |", "|" + "---|" * len(t.columns)]
    for _, r in t.iterrows():
        lines.append("| " + " | ".join("" if (isinstance(v, float) and math.isnan(v)) else str(v) for v in r) + " |")
    head = (
        f"# clustergeo benchmarks ({mode})\n\nMachine: {os.cpu_count()} cores; seed = 0; solver threads as in "
        "the `threads` column (1 unless `--threads` said otherwise). "
        f"Written by `python benchmarks/run.py --{mode}` on "
        f"{ran or time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.\n"
        "`valid` is the independent checker's verdict (contiguity, both size bounds, count). `published_s`: the "
        "published time to the proof (Gurobi, larger machines; `source` in `published.json`), "
        "`ratio`: ours over it.\n\n"
    )
    (RESULTS / f"{mode}.md").write_text(head + "\n".join(lines) + "\n")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        ours = df[(df["method"] == "clustergeo") & df["seconds"].notna()]
        fig, ax = plt.subplots(figsize=(7, 5))
        for (form, solver, obj), grp in ours.groupby(["formulation", "solver", "objective_kind"]):
            ax.scatter(grp["units"], grp["seconds"], label=f"{obj}, {form}, {solver}")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("units")
        ax.set_ylabel("wall time (s)")
        ax.set_title("clustergeo: time against units")
        ax.legend(fontsize=7)
        fig.savefig(RESULTS / f"{mode}-scaling.png", dpi=100)
        plt.close(fig)
    except Exception as e:  # noqa: BLE001
        print("no plot:", e)


def compare_with_optima(records: list[dict]) -> list[str]:
    optima = json.loads((HERE / "optima.json").read_text()) if (HERE / "optima.json").exists() else {}
    failures = []
    for r in records:
        if r["method"] != "clustergeo":
            continue
        key = f"{r['case']}|{r['objective_kind']}"
        if not r.get("valid", False):
            failures.append(f"{key} ({r['formulation']}, {r['solver']}): invalid plan or error: {r.get('violations')}")
            continue
        if key in optima and r.get("objective") is not None:
            best = optima[key]
            if r["objective"] > best + 1e-6 * max(1.0, abs(best)):
                failures.append(
                    f"{key} ({r['formulation']}, {r['solver']}): objective {r['objective']:.6g} "
                    f"worse than the recorded optimum {best:.6g}"
                )
        elif key in optima and r.get("status") == "infeasible":
            failures.append(f"{key}: reported infeasible, but an optimum is recorded")
        elif key in optima and r.get("objective") is None:
            failures.append(f"{key} ({r['formulation']}, {r['solver']}): {r.get('status')}, but an optimum is recorded")
    return failures


def render(mode: str) -> int:
    """Re-write a mode's tables from its JSON, keeping the date of the run in the header."""
    md = (RESULTS / f"{mode}.md").read_text() if (RESULTS / f"{mode}.md").exists() else ""
    ran = md.split(" on ", 1)[1].split(".\n", 1)[0] if "` on " in md else None
    write(json.loads((RESULTS / f"{mode}.json").read_text()), mode, ran=ran)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true")
    mode.add_argument("--full", action="store_true")
    ap.add_argument("--only", help="run only cases whose name contains this")
    ap.add_argument("--objective", choices=("hess", "cut_edges"), help="run only cases with this objective")
    ap.add_argument("--solver", choices=("highs", "cbc", "gurobi"), help="run only cases on this solver")
    ap.add_argument(
        "--threads",
        type=int,
        default=1,
        help="solver threads (settings.threads); 2 or more runs HiGHS's parallel tree search",
    )
    ap.add_argument("--record-optima", action="store_true", help="store proven optima in optima.json")
    ap.add_argument(
        "--render",
        action="store_true",
        help="re-write results/<mode>.md, .csv and the plot from results/<mode>.json (no solving)",
    )
    ap.add_argument(
        "--update",
        action="store_true",
        help="with --only: replace those cases' rows in results/<mode>.* instead of writing results/partial/",
    )
    args = ap.parse_args(argv)
    mode_name = "full" if args.full else "quick"
    if args.render:
        return render(mode_name)
    todo = cases(mode_name)
    if args.only:
        todo = [c for c in todo if args.only in c.name]
    if args.objective:
        todo = [c for c in todo if c.objective == args.objective]
    if args.solver:
        todo = [c for c in todo if c.solver == args.solver]
    if args.threads != 1:
        todo = [replace(c, threads=args.threads) for c in todo]
    records: list[dict] = []
    for c in todo:
        print(f"[{len(records)}] {c.name} {c.objective} {c.formulation} {c.solver} ...", flush=True)
        recs = _run_in_child(c)
        for r in recs:
            print(
                f"    {r['method']:22s} {r.get('status')!s:11s} obj={r.get('objective')} gap={r.get('gap')} "
                f"t={r.get('seconds')}s valid={r.get('valid')}",
                flush=True,
            )
        records += recs
    if args.only and args.update and (RESULTS / f"{mode_name}.json").exists():

        def key(r: dict) -> tuple:
            return (
                r["case"],
                r["objective_kind"],
                r["method"],
                r["formulation"],
                r["solver"],
                r.get("threads", 1) if r["method"] == "clustergeo" else None,
            )

        fresh = {key(r): r for r in records}
        old = json.loads((RESULTS / f"{mode_name}.json").read_text())
        merged = [fresh.pop(key(r), r) for r in old] + list(fresh.values())
        write(merged, mode_name)
    elif args.only:
        write(records, f"{mode_name}-{args.only}", RESULTS / "partial")
    else:
        write(records, mode_name)
    if args.record_optima:
        path = HERE / "optima.json"
        optima = json.loads(path.read_text()) if path.exists() else {}
        for r in records:
            if r["method"] == "clustergeo" and r.get("status") == "optimal" and r.get("valid"):
                key = f"{r['case']}|{r['objective_kind']}"
                optima[key] = min(optima.get(key, math.inf), r["objective"])
        path.write_text(json.dumps(dict(sorted(optima.items())), indent=1))
    if mode_name == "quick":
        failures = compare_with_optima(records)
        for f in failures:
            print("FAIL", f)
        print(f"{len(records) - len(failures)} passed, {len(failures)} failed")
        return 1 if failures else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
