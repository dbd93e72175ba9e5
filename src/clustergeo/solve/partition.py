"""``partition()``: exact contiguous partitioning of a plain graph.

The low-level entry point. Researchers, benchmarks and the rest of the library call it; the
planner-level rules (:mod:`clustergeo.rules`) compile to it.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import sys
import time
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from ..check import check_partition
from ..errors import InfeasibleError, NoPlanInTimeError, RulesError, SolverError
from ..settings import settings
from ..validate import validate_partition_input
from . import heuristic, labeling, recom, solvers, tabu
from .explain import _parts, count_range, precheck
from .model import HessModel
from .progress import RoundLog, StatusLine, interactive, stage
from .problem import Problem, allowed_hubs, build_problem
from .roots import root_order

log = logging.getLogger("clustergeo.solve")

NEARER_MIN_UNITS = 40  # from this many units the closer-neighbour model seeds the exact solve
NEARER_MAX_PAIRS = 100_000  # ... while it stays this small (unit-hub pairs): it is a MIP too
CONTIGUITY = ("auto", "cuts", "flow", "columns", "labeling")
COLUMNS_MAX_PER_CLUSTER = 12  # units per cluster above which "auto" does not try listing clusters
ROOTS_SECONDS = 10.0  # the most the root search (max-B MIP) may take


@dataclass
class PartitionResult:
    """The answer of :func:`partition`.

    Attributes
    ----------
    assignment : dict
        Node -> cluster label. A cluster is labelled by its hub node.
    hubs : dict
        Cluster label -> hub node (for ``objective="cut_edges"`` the hub is a representative).
    status : str
        ``"optimal"`` (proved), ``"feasible"`` (solver's best at the limit, gap reported) or
        ``"heuristic"`` (the greedy plan, when the solver found none in time).
    objective, bound, gap : float or None
        The plan's objective, the best proven lower bound, and the relative gap.
    seconds : float
        Wall time.
    solver : str
        Solver name and version.
    rounds, cuts : int
        Solve rounds and separator cuts added (the contiguity loop).
    """

    assignment: dict
    hubs: dict
    status: str
    objective: float | None
    bound: float | None
    gap: float | None
    seconds: float
    solver: str
    rounds: int = 0
    cuts: int = 0
    formulation: str = "hess+cuts"
    fixing: dict = field(default_factory=dict)
    log: list = field(default_factory=list)
    heuristic_objective: float | None = None
    parts: int = 1

    @property
    def k(self) -> int:
        return len(self.hubs)

    @property
    def clusters(self) -> dict:
        out: dict = {}
        for v, c in self.assignment.items():
            out.setdefault(c, []).append(v)
        return {c: sorted(m, key=str) for c, m in sorted(out.items(), key=lambda kv: str(kv[0]))}

    def summary(self) -> str:
        g = "-" if self.gap is None else f"{100 * self.gap:.2f}%"
        return (f"{self.k} clusters, {self.status}, objective {self.objective:,.1f}, gap {g}, "
                f"{self.rounds} rounds, {self.cuts} cuts, {self.seconds:.1f} s, {self.solver}")


def _status_line(fn: Callable) -> Callable:
    """Without a ``progress`` callback, show a status line on stderr while solving (when
    ``settings.progress`` is on and stderr is a terminal or a notebook; it appears only after
    2 s). ``progress=False``: nothing."""

    @functools.wraps(fn)
    def with_status(graph: nx.Graph, *, progress: Callable[[RoundLog], Any] | bool | None = None, **kwargs):
        if progress is False:
            return fn(graph, progress=lambda r: None, **kwargs)
        if progress is not None or not settings.progress or not interactive(sys.stderr):
            return fn(graph, progress=progress, **kwargs)
        with StatusLine("clustergeo") as line:
            return fn(graph, progress=line, **kwargs)

    return with_status


@_status_line
def partition(graph: nx.Graph, *, weight: str = "pupils", min_weight: float | None = None,
              max_weight: float | None = None, bounds: Mapping[str, tuple] | None = None,
              k: int | tuple[int, int] | str | None = None, fewest: bool = False,
              cost: Mapping[tuple[Hashable, Hashable], float] | None = None, objective: str = "hess",
              contiguous: bool = True, contiguity: str = "auto",
              district: str | None = None, district_mode: str | None = None, district_penalty: float = 0.0,
              division: str | None = None, division_mode: str | None = None, division_penalty: float = 0.0,
              edge_weights: Mapping[tuple[Hashable, Hashable], float] | None = None,
              max_cost: float | None = None, solver: str | None = None, time_limit: float | None = None,
              gap: float | None = None, threads: int | None = None, seed: int | None = None,
              msg: bool = False, progress: Callable[[RoundLog], Any] | None = None,
              explain: bool = True, decompose: bool = True,
              exclude: list[Mapping[Hashable, Hashable]] | None = None,
              forbid: set[tuple[Hashable, Hashable]] | None = None) -> PartitionResult:
    """Partition a graph into contiguous clusters within size bounds, optimally.

    Parameters
    ----------
    graph : networkx.Graph
        Nodes are units with numeric attributes (``weight``, and any measure in ``bounds``;
        ``schools`` defaults to 1 per node); edges join neighbours.
    weight, min_weight, max_weight : str, float
        The main measure and its bounds per cluster (e.g. pupils, 2,500 to 5,000).
    bounds : dict, optional
        More measures: ``{"schools": (8, 13)}``. All bounds apply at once.
    k : int, (min, max) or "fewest", optional
        Number of clusters: exact, a range, or ``"fewest"``: the smallest feasible count first
        (then the objective with that count).
    fewest : bool
        With a range ``k``: the smallest feasible count in the range first.
    cost : dict, optional
        ``cost[i, j]``: cost of unit ``i`` in the cluster hubbed at unit ``j`` (objective
        ``"hess"``), e.g. pupils x minutes. Default: weight x squared distance (km^2) from x/y.
    objective : {"hess", "cut_edges"}
        Compactness (Hess / p-median) or the number of neighbour pairs split between clusters.
        For cut edges the hub is only a representative: the Hess model takes it from the few
        "root" units every cluster must hold (:mod:`clustergeo.solve.roots`; reported in
        ``fixing["roots"]``), which removes the hub symmetry and most unit-hub pairs.
    contiguous : bool
        Every cluster connected in the graph (default). ``contiguity`` chooses how:
        ``"cuts"`` (separator cuts, solve-separate-resolve), ``"flow"`` (compact flow model), or
        ``"columns"`` (list every connected set that fits the bounds, then choose the best
        covering set: Garfinkel & Nemhauser's method, exact and fast when the size window is
        narrow; falls back to the Hess model when there are too many sets), or ``"auto"``
        (default: columns on up to 60 units, or up to 150 when a size window is within 5%
        (max/min <= 1.05), if the list stays within budget; else cuts for three rounds, then the
        flow model on top of the cuts found when it stays under ``FLOW_SWITCH_ARCS`` flow arcs,
        cuts to the end otherwise), or ``"labeling"`` (objective ``"cut_edges"`` with an exact
        count only: numbered clusters in the order of their first root units, one flow;
        :mod:`clustergeo.solve.labeling`; what ``"auto"`` uses there when the clusters cannot
        be listed). On more than ``NEARER_MIN_UNITS`` units the Hess model is
        seeded with the best plan under the "closer neighbour" rule (contiguous by
        construction, near-optimal, never taken as the answer without the exact proof) and the
        pairs that no better plan can use are fixed out by their reduced costs, first in the
        Lagrangian relaxation (:mod:`clustergeo.solve.bounds`, whose bound also stands when
        the solver has none at the limit; ``fixing["fixed_by_lagrangian"]``), then in the LP
        (up to ``LP_FIXING_MAX_PAIRS`` pairs).
    district, district_mode, district_penalty : str, {"within", "penalty", None}, float
        A node attribute; ``"within"`` keeps each cluster inside one value (the problem then
        decomposes), ``"penalty"`` charges ``district_penalty`` (objective units) for each extra
        district a cluster touches. ``division*``: the same for a second level.
    edge_weights : dict, optional
        Extra cost when the two ends of an edge go to different clusters (e.g. to keep current
        clusters intact).
    max_cost : float, optional
        Fix out ``cost[i, j]`` above this (a travel cap in cost units).
    solver : {"highs", "cbc", "gurobi"}
        Default ``settings.default_solver``. ``time_limit`` (s), ``gap`` (relative),
        ``threads`` and ``seed`` go to the solver.
    progress : callable, False or None
        Called with a :class:`~clustergeo.solve.progress.RoundLog` at the end of every round
        and, during a HiGHS solve, every ``settings.progress_interval`` seconds (status
        ``"running"``: best plan so far, bound, nodes). None (default): a status line on stderr
        once the solve has run 2 s (``settings.progress``); False: nothing. Ctrl-C (a
        notebook's interrupt) stops a HiGHS or Gurobi solve within a moment and raises
        ``KeyboardInterrupt``.

    forbid : set of (i, j), optional
        Pairs fixed out before solving: unit ``i`` may not join the cluster hubbed at ``j``
        (e.g. beyond a travel-time cap).
    exclude : list of dict, optional
        Earlier answers (node -> cluster) to rule out: the result is a different partition
        (used to list the best few distinct plans).

    Returns
    -------
    PartitionResult

    Raises
    ------
    InfeasibleError
        When no partition exists, with the reasons in planner language.
    """
    t0 = time.perf_counter()
    validate_partition_input(graph, weight=weight, bounds=bounds, cost=cost, district=district,
                             district_mode=district_mode)
    if contiguity not in CONTIGUITY:
        raise RulesError(f"contiguity must be one of {', '.join(repr(c) for c in CONTIGUITY)}, not {contiguity!r}")
    if k == "fewest":
        k, fewest = None, True
    solver = (solver or settings.default_solver).lower()
    threads = settings.threads if threads is None else threads
    seed = settings.seed if seed is None else seed
    p = build_problem(graph, weight=weight, min_weight=min_weight, max_weight=max_weight, bounds=bounds,
                      k=k, cost=cost, objective=objective, district=district, district_mode=district_mode,
                      district_penalty=district_penalty, division=division, division_mode=division_mode,
                      division_penalty=division_penalty, edge_weights=edge_weights, max_cost=max_cost,
                      forbid=forbid)
    reasons = precheck(p)
    if reasons:
        raise InfeasibleError(reasons)
    contiguity = contiguity if contiguous else "none"
    opts = dict(solver=solver, time_limit=time_limit, gap=gap, threads=threads, seed=seed, msg=msg,
                progress=progress)

    pos = {v: i for i, v in enumerate(p.nodes)}
    excl = [[pos[old[v]] if old[v] in pos else -1 for v in p.nodes] for old in (exclude or [])]
    parts = _parts(p)
    if decompose and len(parts) > 1 and (k is None or fewest) and not p.edge_weights and not excl:
        # independent pieces (districts under 'within', or islands): solve each on its own
        results, failures = [], []
        for number, (where, comp) in enumerate(parts, start=1):
            if isinstance(progress, StatusLine):
                short = where if len(where) <= 40 else where[:39] + "..."
                progress.part = f"part {number} of {len(parts)} ({short})"
            sub = graph.subgraph([p.nodes[i] for i in comp]).copy()
            sub_cost = None
            if cost is not None:
                keep = set(sub.nodes)
                sub_cost = {(a, b): v for (a, b), v in cost.items() if a in keep and b in keep}
            try:
                results.append(partition(sub, weight=weight, min_weight=min_weight, max_weight=max_weight,
                                     bounds=bounds, k=None, fewest=fewest, cost=sub_cost, objective=objective,
                                     contiguous=contiguous, contiguity=contiguity if contiguous else "cuts",
                                     district=district, district_mode=district_mode,
                                     district_penalty=district_penalty, division=division,
                                     division_mode=division_mode, division_penalty=division_penalty,
                                     max_cost=max_cost, explain=explain, decompose=False, forbid=forbid,
                                     **{**opts, "time_limit": None if time_limit is None else
                                        max(time_limit - (time.perf_counter() - t0), 1.0)}))
            except InfeasibleError as e:
                failures.append((where, e))
        if failures:
            raise InfeasibleError([f"in {where}: {r}" for where, e in failures for r in e.reasons],
                                  relaxations=sorted({x for _, e in failures for x in e.relaxations}))
        total = sum(r.k for r in results)
        lo_k, hi_k = p.k_range()
        if total > hi_k:
            raise InfeasibleError([f"the districts need at least {total} clusters together "
                                   f"({', '.join(f'{w}: {r.k}' for (w, _), r in zip(parts, results))}), "
                                   f"more than the maximum of {hi_k}"], relaxations=["the number of clusters"])
        if total >= lo_k:
            return _combine(results, p, time.perf_counter() - t0, solver, contiguity)
        log.info("fewest per part gives %s clusters, below the minimum %s: solving as one model", total, lo_k)

    allowed, stats = allowed_hubs(p, contiguous=contiguity != "none")
    self_ok = [j in set(allowed[j]) for j in range(p.n)]
    hubs_possible = sorted({j for i in range(p.n) for j in allowed[i] if self_ok[j]})
    if not hubs_possible:
        raise InfeasibleError(["no unit can head a cluster that meets the minimums with the units it may take"])
    tight = tight_balance(p)
    # a cluster of many units has too many possible shapes to list: every run that listed
    # them all had at most 8 units per cluster; the county graphs (19 to 31) spent 7 s
    # finding out
    per_cluster = p.n / max(p.k_range()[0], precheck_count(p), 1)
    if contiguity == "columns" or (contiguity == "auto" and per_cluster <= COLUMNS_MAX_PER_CLUSTER
                                   and (p.n <= 60 or (tight and p.n <= 150))):
        # listing clusters pays off when few fit (a narrow window) or the graph is small; the
        # list is abandoned at a budget, so a failed try costs a second or a few
        stage(progress, "listing every cluster that could be formed")
        result = _solve_by_columns(graph, p, allowed, stats, fewest, excl, opts, t0, explain,
                                   forced=contiguity == "columns", max_sets=3_000_000 if tight else 500_000)
        if result is not None:
            return result
        contiguity = "auto" if contiguity == "columns" else contiguity
    if p.objective == "cut_edges" and contiguity != "none":
        # the hub is only a representative: take it from the few units every cluster must
        # hold (roots.py), which removes nearly all hub symmetry and most pairs
        # fewer roots, fewer pairs: the max-B MIP stops once it proves its answer. Longer
        # searches rarely pay: Oklahoma has 14 roots at 10 s (proof 45 s) and 13 at 60 s
        # (proof 41 s); Arkansas and Iowa have the same roots at 10 s and at 60 s
        roots_s = min(ROOTS_SECONDS, 0.1 * time_limit if time_limit is not None else ROOTS_SECONDS)
        stage(progress, "finding the units every cluster must hold (root units)")
        found = root_order(p, seconds=roots_s, threads=threads, seed=seed)
        if found is not None:
            p.hub_rank, p.hub_roots = found
            allowed, stats = allowed_hubs(p, contiguous=True)
            stats["roots"] = p.hub_roots
    # the spanning-tree search is the cut-edge objective's best source of plans (the MIP's
    # bound is weak there), so it gets three times longer for that objective
    per_unit = 0.06 if p.objective == "cut_edges" else 0.02
    heur_s = min(10.0, max(0.5, per_unit * p.n), 0.1 * time_limit if time_limit is not None else 10.0)
    late_s = 0.0
    if p.objective == "cut_edges" and contiguity != "none" and time_limit is not None and not excl:
        # for cut edges the MIP's incumbent rarely beats the search (Arkansas, Oklahoma and
        # Iowa: never in 180 s), while more restarts of the search do; they run at the end,
        # only when the proof did not come in time (up to 15% of the limit in all)
        late_s = max(min(30.0, 0.15 * time_limit) - heur_s, 0.0)
    near_s = min(60.0, 0.15 * time_limit if time_limit is not None else 60.0)

    def best_start(count: int | None) -> list[int] | None:
        """The best of greedy amalgamation, the spanning-tree search and (on larger graphs) the
        closer-neighbour model, at ``count`` clusters."""
        stage(progress, "finding a good starting plan" + ("" if count is None else f" with {count} clusters"))
        found = [c for c in (heuristic.greedy(p, fewest=fewest, target=count),) if c is not None
                 and (count is None or len(set(c)) == count)]
        if count is not None and contiguity != "none":
            # bounded by work (the same plan on any machine), with twice the time as a cap
            tree = recom.search(p, count, seconds=2 * heur_s, seed_value=seed,
                                work=recom.WORK_PER_SECOND * heur_s)
            if tree is not None and tabu.applies(p):
                # small moves near the plan: Iowa's 35 cut edges become 33 (the optimum) within a
                # quarter of a second, and the proof from there takes about two thirds as long
                tree = tabu.polish(p, tree, seed_value=seed, work=tabu.WORK_PER_SECOND * heur_s / 3,
                                   seconds=2 * heur_s / 3)
            if tree is not None:
                found.append(tree)
            if contiguity in ("cuts", "auto") and p.objective == "hess" and p.n > NEARER_MIN_UNITS \
                    and sum(len(a) for a in allowed) <= NEARER_MAX_PAIRS:
                # the exact model on the plans where every unit has a nearer neighbour in its
                # cluster: contiguous by construction, near-optimal, a tight upper bound for
                # reduced-cost fixing
                best = min(found, key=lambda c: heuristic.plan_cost(p, c)) if found else None
                near = nearer_plan(p, allowed, count, best, opts, seconds=near_s)
                if near is not None:
                    found.append(near)
        found = [c for c in found if within_caps(p, c)]  # the heuristics know no travel cap
        return min(found, key=lambda c: heuristic.plan_cost(p, c)) if found else None

    lo_k0, hi_k0 = p.k_range()
    start = None if fewest else best_start(lo_k0 if lo_k0 == hi_k0 else None)
    if start is None and not fewest and lo_k0 != hi_k0:
        start = best_start(hi_k0)
    heur_obj = heuristic.plan_cost(p, start) if start is not None else None
    if start is not None:  # the proof's length hangs on it (Iowa: about half as long from 33 cut edges as from 35)
        log.info("warm start: %d clusters, objective %s (%.1f s so far)", len(set(start)), f"{heur_obj:,.1f}",
                 time.perf_counter() - t0)
    rounds: list[RoundLog] = []
    cuts = 0
    k_best = None
    formulation = f"hess+{contiguity}"
    if fewest:
        # Count up from a lower bound (each part's total over the maximum): the first count
        # with a plan is the fewest, and that plan is solved for compactness at the same time.
        # This proves the count minimal without ever minimising it (a model with very many
        # equally good answers, on which the cut loop crawls).
        lo_k, hi_k = p.k_range()
        lower = max(precheck_count(p), lo_k)
        run = None
        for kk in range(lower, min(hi_k, p.n) + 1):
            stage(progress, f"fewest clusters: trying {kk} clusters for these {p.n} units")
            seed_plan = best_start(kk) if not excl else None
            if seed_plan is not None and (start is None or len(set(start)) != kk or
                                          heuristic.plan_cost(p, seed_plan) < heuristic.plan_cost(p, start)):
                start, heur_obj = seed_plan, heuristic.plan_cost(p, seed_plan)
            model = HessModel(p, allowed, stage="objective", k_fixed=kk, contiguity=contiguity, exclude=excl)
            left = None if time_limit is None else max(time_limit - (time.perf_counter() - t0) - late_s, 1.0)
            run = model.solve(start=seed_plan, **{**opts, "time_limit": left})
            rounds += run.rounds
            cuts += run.cuts
            k_best = kk
            if run.status != "infeasible":
                break
        if run is None:
            raise InfeasibleError(["the count range leaves no number of clusters to try"])
    else:
        k_exact = lo_k0 if lo_k0 == hi_k0 else None
        if contiguity == "labeling" and not labeling.applies(p, k_exact, exclude=bool(excl)):
            raise RulesError("contiguity='labeling' needs objective='cut_edges', an exact number of clusters, "
                             "a minimum size, no district rule and no excluded plans; use 'auto'")
        if contiguity in ("auto", "labeling") and labeling.applies(p, k_exact, exclude=bool(excl)) \
                and p.hub_roots >= k_exact:
            # cut edges: numbered clusters in the orbitope order with one flow proved the county
            # graphs about twice as fast as the rooted Hess model (labeling.py); Gurobi gets the
            # compact layout (its pip licence stops at 2,000 columns and rows)
            build = labeling.CompactLabelingModel if opts["solver"] == "gurobi" else labeling.LabelingModel
            model = build(p, k_exact, allowed)
            formulation = "labeling+flow"
        else:
            model = HessModel(p, allowed, stage="objective", contiguity=contiguity, exclude=excl)
        left = None if time_limit is None else max(time_limit - (time.perf_counter() - t0) - late_s, 1.0)
        run = model.solve(start=start if not excl else None, **{**opts, "time_limit": left})
        cuts += run.cuts
        rounds += run.rounds
    if run.status == "infeasible":
        stage(progress, "no plan meets the rules: finding which rule to relax")
        _raise_infeasible(p, allowed, "auto" if contiguity == "labeling" else contiguity, opts, explain)
    assignment, status, objective = run.assignment, run.status, run.objective
    late = None
    if run.status != "optimal" and late_s > 0:
        count = k_best if fewest else (lo_k0 if lo_k0 == hi_k0 else
                                       len(set(assignment if assignment is not None else start or [])) or None)
        if count is not None:
            stage(progress, "the proof did not finish in time: searching for a better plan")
            left = max(time_limit - (time.perf_counter() - t0), 0.5)
            # two thirds for the spanning-tree search, a third to polish the better of its
            # plan and the solver's incumbent by tabu search (as the warm start is)
            polish = tabu.applies(p)
            search_s = left * 2 / 3 if polish else left
            late = recom.search(p, count, seconds=search_s, seed_value=seed + 1,
                                work=recom.WORK_PER_SECOND * search_s)
            if late is not None and not within_caps(p, late):
                late = None
            if polish:
                base = [c for c in (late, assignment) if c is not None and len(set(c)) == count]
                if base:
                    best = min(base, key=lambda c: heuristic.plan_cost(p, c))
                    left = max(time_limit - (time.perf_counter() - t0), 0.1)
                    polished = tabu.polish(p, best, seed_value=seed + 1, work=tabu.WORK_PER_SECOND * left,
                                           seconds=left)
                    if within_caps(p, polished) and \
                            (late is None or heuristic.plan_cost(p, polished) < heuristic.plan_cost(p, late)):
                        late = polished
    if assignment is None:
        candidates = [c for c in (run.incumbent, start, late) if c is not None and (not fewest or len(set(c)) == k_best)]
        fallback = min(candidates, key=lambda c: heuristic.plan_cost(p, c)) if candidates else None
        if fallback is None:
            raise NoPlanInTimeError(
                "the time limit ran out before any contiguous plan was found (the greedy heuristic and the "
                "spanning-tree search found none either) and before the solver could prove that none exists; "
                "raise time_limit, or relax the size bounds or the count")
        assignment, status, objective = fallback, "heuristic", heuristic.plan_cost(p, fallback)
    else:
        objective = heuristic.plan_cost(p, assignment) if p.objective == "hess" or p.edge_weights or \
            p.district_mode == "penalty" or p.division_mode == "penalty" else objective
        if status != "optimal" and not excl:
            # stopped at the limit: the best plan in hand may be a heuristic's, not the solver's
            for other in (run.incumbent, start, late):
                if other is not None and (not fewest or len(set(other)) == k_best):
                    other_cost = heuristic.plan_cost(p, other)
                    if other_cost < objective - 1e-9:
                        assignment, objective = other, other_cost
    bound = run.bound
    if status == "optimal":
        bound = objective if bound is None else min(bound, objective)
    gap_v = None if bound is None or objective is None else max(objective - bound, 0.0) / max(abs(objective), 1e-9)
    if status == "optimal":
        gap_v = gap_v if gap is not None else 0.0
    result = PartitionResult(
        assignment={p.nodes[i]: p.nodes[j] for i, j in enumerate(assignment)},
        hubs={p.nodes[j]: p.nodes[j] for j in sorted(set(assignment))},
        status=status, objective=objective, bound=bound, gap=gap_v, seconds=time.perf_counter() - t0,
        solver=solvers.version(solver), rounds=len(rounds), cuts=cuts,
        formulation=formulation, fixing={**stats, "fixed_by_lagrangian": model.fixed_by_lagrangian,
                "fixed_by_reduced_cost": model.fixed_by_cost},
        log=rounds, heuristic_objective=heur_obj)
    _verify(graph, result, p, contiguous)
    return result


def nearer_plan(p: Problem, allowed, count: int, start: list[int] | None, opts: dict,
                seconds: float) -> list[int] | None:
    """The best plan under the "closer neighbour" rule (:meth:`HessModel._add_nearer`), within
    ``seconds``: a contiguous plan, usually within a fraction of a percent of the optimum."""
    model = HessModel(p, allowed, stage="objective", k_fixed=count, contiguity="nearer")
    run = model.solve(start=start, **{**opts, "time_limit": max(seconds, 1.0), "progress": None,
                                      "gap": 1e-4}, reduced_cost_fixing=False)
    if run.assignment is None or -1 in run.assignment:
        return None
    log.info("closer-neighbour plan: %s (%s)", f"{heuristic.plan_cost(p, run.assignment):,.1f}", run.status)
    return run.assignment


def tight_balance(p: Problem, ratio: float = 1.05) -> bool:
    """Whether some size window is narrow (max / min at most ``ratio``): few connected sets
    then fit it, and enumerating them beats cutting off disconnected plans round by round."""
    return any(lo is not None and hi is not None and lo > 0 and hi / lo <= ratio for lo, hi in p.bounds.values())


def _solve_by_columns(graph: nx.Graph, p: Problem, allowed, stats: dict, fewest: bool, excl, opts: dict,
                      t0: float, explain: bool, forced: bool, max_sets: int = 3_000_000) -> PartitionResult | None:
    """Enumerate every possible cluster and pick the best set (exact); None when there are
    too many clusters to list (the Hess model takes over)."""
    from . import columns

    limit = opts["time_limit"]
    budget = (limit / 4 if limit is not None else 60.0) if not forced else limit
    deadline = None if budget is None else time.perf_counter() + budget
    cols = columns.enumerate_clusters(p, allowed, max_sets=(max_sets if not forced else 50_000_000),
                                      deadline=deadline)
    if cols is None:
        log.info("too many possible clusters to list them all: using the Hess model")
        return None
    log.info("listed %d possible clusters in %.1f s; choosing among them", len(cols), time.perf_counter() - t0)
    left = None if limit is None else max(limit - (time.perf_counter() - t0), 1.0)
    k = None if p.k in (None, "fewest") else p.k
    run = columns.solve(p, cols, k=k, fewest=fewest, solver=opts["solver"], time_limit=left, gap=opts["gap"],
                        threads=opts["threads"], seed=opts["seed"], msg=opts["msg"], exclude=excl)
    if run.status == "infeasible":
        stage(opts["progress"], "no plan meets the rules: finding which rule to relax")
        _raise_infeasible(p, allowed, "cuts", opts, explain)
    if run.assignment is None:
        return None
    objective = heuristic.plan_cost(p, run.assignment)
    bound = run.bound if run.status != "optimal" else objective
    gap_v = 0.0 if run.status == "optimal" else (None if bound is None else
                                                  max(objective - bound, 0.0) / max(abs(objective), 1e-9))
    rl = RoundLog(1, run.status, objective, bound, 0, time.perf_counter() - t0)
    result = PartitionResult(
        assignment={p.nodes[i]: p.nodes[j] for i, j in enumerate(run.assignment)},
        hubs={p.nodes[j]: p.nodes[j] for j in sorted(set(run.assignment))},
        status="optimal" if run.status == "optimal" else "feasible", objective=objective, bound=bound, gap=gap_v,
        seconds=time.perf_counter() - t0, solver=solvers.version(opts["solver"]), rounds=1, cuts=0,
        formulation="columns", fixing={**stats, "columns": len(cols)}, log=[rl])
    _verify(graph, result, p, True)
    return result


def precheck_count(p: Problem) -> int:
    """A lower bound on the number of clusters: each part needs its total over the maximum."""
    return sum(count_range(p, comp)[0] for _where, comp in _parts(p))


def within_caps(p: Problem, plan: list[int]) -> bool:
    """Whether no unit of ``plan`` (hub per unit) is with a hub that the travel cap
    (``max_cost``) or ``forbid`` rules out."""
    capped = p.max_cost is not None and p.cost is not None
    if not p.forbid and not capped:
        return True
    for i, h in enumerate(plan):
        if i != h and ((i, h) in p.forbid or (capped and p.cost.get((i, h), float("inf")) > p.max_cost)):
            return False
    return True


def _verify(graph: nx.Graph, result: PartitionResult, p: Problem, contiguous: bool) -> None:
    problems = check_partition(
        graph, result.assignment, bounds=p.bounds, k=p.k if p.k != "fewest" else None,
        contiguous=contiguous)
    pos = {v: i for i, v in enumerate(p.nodes)}
    if not within_caps(p, [pos[result.assignment[v]] for v in p.nodes]):
        problems.append("a unit is with a hub that the travel cap or forbid rules out")
    for lab, mode, what in ((p.district, p.district_mode, "district"), (p.division, p.division_mode, "division")):
        if lab is not None and mode == "within":
            seen: dict = {}
            for v, c in result.assignment.items():
                seen.setdefault(c, set()).add(lab[pos[v]])
            problems += [f"cluster {c!r} crosses {what} lines" for c, s in seen.items() if len(s) > 1]
    if problems:
        raise SolverError("internal error: the plan failed the independent check: " + "; ".join(problems))


def _combine(results: list[PartitionResult], p: Problem, seconds: float, solver: str,
             contiguity: str) -> PartitionResult:
    assignment: dict = {}
    hubs: dict = {}
    for r in results:
        assignment.update(r.assignment)
        hubs.update(r.hubs)
    order = {"optimal": 0, "feasible": 1, "heuristic": 2}
    status = max((r.status for r in results), key=lambda s: order.get(s, 3))
    # cut edges: the edges between parts are cut in every plan, and no part counts them
    part_of = {v: n for n, r in enumerate(results) for v in r.assignment}
    between = sum(1 for a, b in p.edges() if part_of[p.nodes[a]] != part_of[p.nodes[b]]) \
        if p.objective == "cut_edges" else 0
    objective = sum(r.objective for r in results) + between
    bound = sum(r.bound for r in results) + between if all(r.bound is not None for r in results) else None
    gap = None if bound is None else max(objective - bound, 0.0) / max(abs(objective), 1e-9)
    fixing: dict = {}
    for r in results:
        for key, v in r.fixing.items():
            fixing[key] = fixing.get(key, 0) + v
    fixing["pairs"] = p.n * p.n
    fixing["fixed_by_decomposition"] = p.n * p.n - sum(len(r.assignment) ** 2 for r in results)
    heur = [r.heuristic_objective for r in results]
    res = PartitionResult(assignment, hubs, status, objective, bound, gap if status != "optimal" else 0.0,
                          seconds, solvers.version(solver), sum(r.rounds for r in results),
                          sum(r.cuts for r in results), f"hess+{contiguity}, decomposed", fixing,
                          [x for r in results for x in r.log],
                          sum(heur) if all(h is not None for h in heur) else None, parts=len(results))
    _verify(p.graph, res, p, contiguity != "none")
    return res


def _raise_infeasible(p: Problem, allowed, contiguity: str, opts: dict, explain: bool) -> None:
    reasons = ["the solver proved that no plan meets all the rules together"]
    relax: list[str] = []
    if explain:
        relax = diagnose(p, contiguity, opts)
        if relax:
            sizes = "; ".join(f"{m} {'-' if lo is None else f'{lo:,.0f}'} to {'-' if hi is None else f'{hi:,.0f}'}"
                              for m, (lo, hi) in p.bounds.items())
            reasons = [f"the units here ({p.n}, holding {', '.join(f'{p.measures[m].sum():,.0f} {m}' for m in p.bounds)}) "
                       f"cannot be grouped into connected clusters of {sizes} under these rules; a plan exists "
                       f"once you relax {' or '.join(relax)}"]
    raise InfeasibleError(reasons, relaxations=relax)


GROUPS = {"contiguity": "contiguity (clusters in one piece)", "count": "the number of clusters",
          "min": "the minimum sizes", "max": "the maximum sizes", "district": "the district rule"}


def diagnose(p: Problem, contiguity: str, opts: dict, seconds: float = 20.0) -> list[str]:
    """Relax one group of rules at a time; name those whose relaxation makes a plan possible."""
    found = []
    for group, words in GROUPS.items():
        q = p
        relax: frozenset[str] = frozenset({group})
        if group == "district":
            if p.district_mode != "within" and p.division_mode != "within":
                continue
            q = dataclasses.replace(p, district_mode=None, district=None, division=None, division_mode=None)
            relax = frozenset()
        elif group == "count" and p.k in (None, "fewest"):
            continue
        q_bounds = q
        if group in ("min", "max"):
            q_bounds = dataclasses.replace(q, bounds={m: ((None, hi) if group == "min" else (lo, None))
                                                      for m, (lo, hi) in q.bounds.items()})
        allowed, _ = allowed_hubs(q_bounds, contiguous=group != "contiguity")
        model = HessModel(q_bounds, allowed, stage="feasibility", relax=relax,
                          contiguity="none" if group == "contiguity" else contiguity)
        run = model.solve(**{**opts, "time_limit": seconds, "progress": None})
        if run.assignment is not None:
            found.append(words)
    return found
