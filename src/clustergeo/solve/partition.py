"""``partition()``: exact contiguous partitioning of a plain graph.

The low-level entry point. Researchers, benchmarks and the rest of the library call it; the
planner-level rules (:mod:`clustergeo.rules`) compile to it.

What ``contiguity="auto"`` picks: the column method on up to 60 units, or up to 150 when a size
window is within 5% (max/min <= 1.05), if the list of connected sets stays within budget (judged
first by :func:`~clustergeo.solve.models.columns.estimate_visits`); else separator cuts for
``models.hess.AUTO_ROUNDS`` rounds, then the flow model on top of the cuts found while it stays
under ``models.hess.FLOW_SWITCH_ARCS`` arcs (cuts to the end otherwise); for cut edges with an
exact count, when the clusters cannot be listed, the labelling model
(:mod:`clustergeo.solve.models.labeling`). For cut edges the hub is only a representative, taken
from the few "root" units every cluster must hold (:mod:`clustergeo.solve.roots`;
``fixing["roots"]``).

How the exact solve starts: on more than ``NEARER_MIN_UNITS`` units the Hess model is seeded
with the best plan under the "closer neighbour" rule (contiguous by construction, near-optimal,
never taken as the answer without the exact proof), and the unit-hub pairs that no better plan
can use are fixed out by their reduced costs, first in the Lagrangian relaxation
(:mod:`clustergeo.solve.bounds`, whose bound also stands when the solver has none at the limit;
``fixing["fixed_by_lagrangian"]``), then in the LP (up to ``models.hess.LP_FIXING_MAX_PAIRS``
pairs). Under ``contiguity="auto"`` or ``"none"``, a count that leaves one cluster to each part
(``k=1``, or districts under ``"within"`` that fit one cluster each) is solved by choosing each
part's best hub (:mod:`clustergeo.solve.onehub`, formulation ``"one-hub"``). Without contiguity
the starts are the contiguous solve's (spanning-tree search, tabu polish, closer-neighbour
plan): they are valid plans there.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import sys
import time
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import networkx as nx

from ..check import check_partition
from ..errors import InfeasibleError, NoPlanInTimeError, RulesError, SolverError
from ..settings import settings
from ..validate import validate_partition_input
from . import onehub
from .alternate import alternate, least_cost_hubs
from .backends import solvers
from .cuts import SeparatorCut, separate
from .explain import count_range, independent_parts, precheck
from .heuristics import greedy, recom, tabu
from .models import labeling
from .models.hess import LP_FIXING_MAX_PAIRS, HessModel, Pruning, prune
from .options import BUDGET, CONTIGUITY, Costs, Districts, Request, Sizes, SolverOptions, request
from .problem import PartitionProblem, allowed_hubs, build_problem
from .progress import RoundLog, StatusLine, interactive, stage
from .roots import root_order

log = logging.getLogger("clustergeo.solve")

#: from this many units the closer-neighbour model seeds the exact solve: on the county graphs
#: (75-99 units) it took 7-10 s of CPU and left the proof as long (Iowa 15.7 s and 15.1 s)
NEARER_MIN_UNITS = 150
NEARER_MAX_PAIRS = 100_000  # ... while it stays this small (unit-hub pairs): it is a MIP too
#: from this many units the model without contiguity is solved before the cut loop: on the
#: county graphs (75-99 units) it cost 0.3-8 s and shortened nothing; on North Lanarkshire's
#: 105 schools its cuts save about 5 s, on the 295-358-unit tracts it ends the solve
RELAXED_MIN_UNITS = 100
#: location-allocation polishes the start (solve/alternate.py) from this many units for a
#: given count (Iowa's 99 counties: 7 s instead of 19 s, Arkansas's 75: 2.8 s instead of 4.5 s) ...
ALTERNATE_MIN_UNITS = 75
#: ... and from this many in the fewest-count search, where it runs for every count tried
#: (Norfolk school by school, 78 schools in its largest district: 63-65 s instead of 54 s from 50)
ALTERNATE_MIN_UNITS_FEWEST = 100
#: the spanning-tree search's share of its budget when location-allocation polishes a plan of
#: two clusters: from a quarter of the search it reached the same plans on the 295-358-unit
#: tracts (their solves took half as long); with three clusters it did not (New Mexico's tracts:
#: 31,639.6 against 31,603.2 from the whole search)
ALTERNATE_TREE_SHARE = 0.25
#: a start more than this share above the Lagrangian bound is polished again from the hubs the
#: relaxation opens (see ``_from_relaxed_hubs``)
FAR_START_GAP = 0.05
#: ... for at most this many times as long as the first polish took (Oklahoma's counties: 3.8 s
#: after 4.9 s, and 7.8% cheaper; North Lanarkshire school by school with a pupils window spent
#: all of its 45 s on plans dearer than the start after a first polish of 4.7 s)
FAR_START_TIME_FACTOR = 3.0
#: units per cluster above which "auto" does not try listing clusters (too many shapes: every
#: run that listed them all had at most 8; the county graphs, 19 to 31, spent 7 s finding out)
COLUMNS_MAX_PER_CLUSTER = 12
#: a narrow window with no first plan: from this many units the spanning-tree splits retry (on
#: fewer the listing or the MIP settles it in seconds, and a problem with no plan pays the retry)
FIRST_PLAN_MIN_UNITS = 40
COLUMNS_MAX_UNITS = 60  # "auto" lists clusters on graphs up to this size ...
COLUMNS_MAX_UNITS_TIGHT = 150  # ... or this size when a size window is narrow (tight_balance)
COLUMNS_MAX_SETS = 500_000  # the most clusters listed before the Hess model takes over
COLUMNS_MAX_SETS_TIGHT = 3_000_000  # ... with a narrow window (few sets fit, listing pays)
COLUMNS_MAX_SETS_FORCED = 50_000_000  # ... with contiguity="columns"
#: ... when a plan to start from is given (``start=``, a repair of a few clusters): the Hess model
#: then proves the answer in seconds, while listing 500,000 clusters on a 34-unit repair took 4 s
#: only to be abandoned
COLUMNS_MAX_SETS_STARTED = 50_000

__all__ = ["BUDGET", "CONTIGUITY", "Costs", "Districts", "PartitionResult", "Sizes", "SolverOptions", "partition"]


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
    #: how the count was found when a caller searched it (see :func:`clustergeo.penalty.penalty_plan`)
    count_search: dict = field(default_factory=dict)
    #: the separator cuts found, as (hub, piece, separator) nodes: valid for every contiguous plan
    #: of the same graph, so a later solve of it (another count, a cap) starts with them
    separators: list = field(default_factory=list, repr=False)

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
        return (
            f"{self.k} clusters, {self.status}, objective {self.objective:,.1f}, gap {g}, "
            f"{self.rounds} rounds, {self.cuts} cuts, {self.seconds:.1f} s, {self.solver}"
        )


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
def partition(
    graph: nx.Graph,
    *,
    weight: str = "pupils",
    min_weight: float | None = None,
    max_weight: float | None = None,
    k: int | tuple[int, int] | None = None,
    fewest: bool = False,
    objective: str = "hess",
    cost: Mapping[tuple[Hashable, Hashable], float] | None = None,
    contiguity: str = "auto",
    time_limit: float | None = None,
    progress: Callable[[RoundLog], Any] | None = None,
    **options: Any,
) -> PartitionResult:
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
    k : int or (min, max), optional
        Number of clusters: exact or a range (None: any).
    fewest : bool
        The smallest feasible count (in the range ``k``, or at all) first, then the objective
        with that count. (``k="fewest"`` is the old spelling: it still works, with a
        ``DeprecationWarning``.)
    cost : dict, optional
        ``cost[i, j]``: cost of unit ``i`` in the cluster hubbed at unit ``j`` (objective
        ``"hess"``), e.g. pupils x minutes. Default: weight x squared distance (km^2) from x/y.
    objective : {"hess", "cut_edges"}
        Compactness (Hess / p-median) or the number of neighbour pairs split between clusters.
    contiguity : {"auto", "cuts", "flow", "columns", "labeling", "none"}
        Every cluster connected in the graph, and how (``"none"``: clusters may be in pieces;
        ``contiguous=False`` is the old spelling, with a ``DeprecationWarning``): separator
        ``"cuts"`` between re-solves, a compact ``"flow"`` model, ``"columns"`` (every
        connected set that fits the bounds listed, then the best cover: Garfinkel & Nemhauser),
        ``"labeling"`` (cut edges with an exact count) or ``"auto"`` (default; the module's
        docstring says which it picks and how the exact solve is seeded).
    district, district_mode, district_penalty : str, {"within", "penalty", None}, float
        A node attribute; ``"within"`` keeps each cluster inside one value (the problem then
        decomposes), ``"penalty"`` charges ``district_penalty`` (objective units) for each extra
        district a cluster touches. ``division*``: the same for a second level.
    edge_weights : dict, optional
        Extra cost when the two ends of an edge go to different clusters (e.g. to keep current
        clusters intact).
    max_cost : float, optional
        Fix out ``cost[i, j]`` above this (a travel cap in cost units).
    time_limit : float, optional
        Seconds for the whole solve, shared between its stages by :data:`BUDGET`.
    solver : {"highs", "cbc", "gurobi", "scip"}
        Default ``settings.default_solver``. With ``"scip"`` (the ``scip`` extra) the separator
        cuts are added inside one branch-and-bound tree by a constraint handler, not between
        re-solves. ``gap`` (relative), ``threads``, ``seed`` and
        ``msg`` (the solver's log) go to the solver; or pass them whole as
        ``solver_options=SolverOptions(...)`` (likewise ``districts=Districts(...)``,
        ``sizes=Sizes(...)``, ``costs=Costs(...)``: see :mod:`clustergeo.solve.options`).
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
    hubs : frozenset, optional
        The nodes that may head a cluster (objective ``"hess"``), e.g. those holding a
        secondary; a part of the graph without one is named before solving.
    exclude : list of dict, optional
        Earlier answers (node -> cluster) to rule out: the result is a different partition
        (used to list the best few distinct plans).
    explain : bool
        On an infeasible problem, relax one group of rules at a time to name what to relax.
    decompose : bool
        Solve independent pieces (districts under ``"within"``, islands) one by one.
    start : dict, optional
        A plan to start from (node -> any cluster label), e.g. the plan being repaired. When it
        meets every rule (after moving border units into the bounds and joining stray pieces
        to a neighbouring cluster), it is polished by single-unit moves and is the warm start
        (no spanning-tree or closer-neighbour search); a start that breaks a rule is not used.
        The answer is the same; only the time to the proof changes.
    separators : list, optional
        Separator cuts from an earlier solve of the same graph (``PartitionResult.separators``),
        added to the Hess model up front: the answer is the same, found in fewer rounds.

    Returns
    -------
    PartitionResult

    Raises
    ------
    InfeasibleError
        When no partition exists, with the reasons in planner language.
    TypeError
        For an unknown keyword (the message lists the known ones).

    Examples
    --------
    >>> import networkx as nx
    >>> g = nx.path_graph(6)
    >>> nx.set_node_attributes(g, 1, "pupils")
    >>> r = partition(g, min_weight=2, max_weight=3, k=2, objective="cut_edges", progress=False)
    >>> r.k, r.status, r.objective
    (2, 'optimal', 1.0)
    """
    named: dict[str, Any] = dict(weight=weight, min_weight=min_weight, max_weight=max_weight, k=k, fewest=fewest)
    named |= dict(objective=objective, cost=cost, contiguity=contiguity, time_limit=time_limit, progress=progress)
    return _solve(graph, request({**named, **options}))


@dataclass
class _Solve:
    """The state of one solve as it passes from stage to stage."""

    graph: nx.Graph
    req: Request
    p: PartitionProblem
    t0: float
    contiguity: str
    excl: list
    allowed: list = field(default_factory=list)
    stats: dict = field(default_factory=dict)
    start: list[int] | None = None
    heur_obj: float | None = None
    rounds: list = field(default_factory=list)
    cuts: int = 0
    k_best: int | None = None
    formulation: str = ""
    model: Any = None
    run: Any = None
    start_s: float = 0.0
    late_s: float = 0.0
    near_s: float = 0.0
    given: list[int] | None = None  # the caller's plan (``start=``), when it meets the rules
    known_cuts: list = field(default_factory=list)  # separator cuts found so far, or handed in
    pruning: tuple | None = None  # (allowed, count range, upper, Pruning): the last one computed
    relaxed_bound: float | None = None  # the bound of the solve without contiguity (_relaxed_first)

    @property
    def solver_name(self) -> str:
        return cast(str, self.req.solver.solver)  # resolved by request()

    @property
    def seed(self) -> int:
        return cast(int, self.req.solver.seed)

    @property
    def opts(self) -> dict:
        return self.req.solver_kwargs()

    @property
    def time_limit(self) -> float | None:
        return self.req.solver.time_limit

    @property
    def fewest(self) -> bool:
        return self.req.sizes.fewest

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def left(self, reserve: float = 0.0) -> float | None:
        """The time limit left (minus ``reserve`` seconds), at least a solver call's minimum."""
        if self.time_limit is None:
            return None
        return max(self.time_limit - self.elapsed() - reserve, BUDGET.min_seconds)

    def cost_of(self, plan: list[int]) -> float:
        return greedy.plan_cost(self.p, plan)


def _solve(graph: nx.Graph, req: Request) -> PartitionResult:
    """The stages of :func:`partition`, in order."""
    s = _begin(graph, req)
    decomposed = _solve_parts(s)
    if decomposed is not None:
        return decomposed
    _hubs(s)
    one = _one_cluster(s)
    if one is not None:
        return one
    _given_start(s)
    listed = _try_columns(s)
    if listed is not None:
        return listed
    s.formulation = f"hess+{s.contiguity}"
    _find_roots(s)
    _share_time(s)
    _warm_start(s)
    if s.fewest:
        _fewest_count(s)
    else:
        _exact_solve(s)
    if s.run.status == "infeasible":
        stage(req.progress, "no plan meets the rules: finding which rule to relax")
        _raise_infeasible(s.p, s.allowed, "auto" if s.contiguity == "labeling" else s.contiguity, s.opts, req.explain)
    late = _late_search(s)
    return _finish(s, late)


def _begin(graph: nx.Graph, req: Request) -> _Solve:
    """Choose the method's inputs: the problem in index form, checked for plain impossibilities."""
    t0 = time.perf_counter()
    validate_partition_input(
        graph,
        weight=req.sizes.weight,
        bounds=req.sizes.bounds,
        cost=req.costs.cost,
        district=req.districts.district,
        district_mode=req.districts.district_mode,
    )
    p = build_problem(graph, sizes=req.sizes, districts=req.districts, costs=req.costs)
    reasons = precheck(p)
    if reasons:
        raise InfeasibleError(reasons)
    pos = {v: i for i, v in enumerate(p.nodes)}
    excl = [[pos[old[v]] if old[v] in pos else -1 for v in p.nodes] for old in req.exclude]
    return _Solve(graph, req, p, t0, req.contiguity, excl, known_cuts=_known_cuts(p, req.separators))


def _given_start(s: _Solve) -> None:
    """The caller's plan (``start=``) in index form, made contiguous and polished, when it meets
    the bounds, the count, the district rule and the travel cap (else it is left out)."""
    p, given = s.p, s.req.start
    if not given or any(v not in given for v in p.nodes):
        return
    groups: dict = {}
    for i, v in enumerate(p.nodes):
        groups.setdefault(given[v], set()).add(i)
    plan = [0] * p.n
    for members, hub in zip(groups.values(), greedy.choose_hubs(p, list(groups.values()))):
        for i in members:
            plan[i] = hub
    allowed = [set(a) for a in s.allowed]
    # as given, or brought within the bounds by moving border units (a planner's move often
    # takes a cluster past one); stray pieces join a neighbouring cluster
    for candidate in (plan, greedy.rebalance(p, plan)):
        joined = greedy.repair(p, candidate) if candidate is not None else None
        if (
            joined is not None
            and within_caps(p, joined)
            and all(j in allowed[i] for i, j in enumerate(joined))
            and not check_partition(p.graph, {p.nodes[i]: p.nodes[j] for i, j in enumerate(joined)}, bounds=p.bounds)
        ):
            s.given = greedy.local_search(p, joined)
            return
    log.info("the given start breaks a rule and no border moves mend it: searching for a starting plan instead")


def _solve_parts(s: _Solve) -> PartitionResult | None:
    """Independent pieces (districts under 'within', or islands): each solved on its own; None
    when the problem is one piece, or its pieces' fewest counts fall below the minimum."""
    p, req = s.p, s.req
    parts = independent_parts(p)
    if not (
        req.decompose and len(parts) > 1 and (req.sizes.k is None or s.fewest) and not p.edge_weights and not s.excl
    ):
        return None
    results, failures = [], []
    for number, (where, comp) in enumerate(parts, start=1):
        if isinstance(req.progress, StatusLine):
            short = where if len(where) <= 40 else where[:39] + "..."
            req.progress.part = f"part {number} of {len(parts)} ({short})"
        sub = s.graph.subgraph([p.nodes[i] for i in comp]).copy()
        sub_cost = None
        if req.costs.cost is not None:
            keep = set(sub.nodes)
            sub_cost = {(a, b): v for (a, b), v in req.costs.cost.items() if a in keep and b in keep}
        sub_req = dataclasses.replace(
            req,
            sizes=dataclasses.replace(req.sizes, k=None),
            costs=dataclasses.replace(req.costs, cost=sub_cost, edge_weights=None),
            solver=dataclasses.replace(req.solver, time_limit=s.left()),
            exclude=(),
            decompose=False,
            start=None if req.start is None else {v: c for v, c in req.start.items() if v in sub},
        )
        try:
            results.append(_solve(sub, sub_req))
        except InfeasibleError as e:
            failures.append((where, e))
    if failures:
        raise InfeasibleError(
            [f"in {where}: {r}" for where, e in failures for r in e.reasons],
            relaxations=sorted({x for _, e in failures for x in e.relaxations}),
        )
    total = sum(r.k for r in results)
    lo_k, hi_k = p.k_range()
    if total > hi_k:
        raise InfeasibleError(
            [
                f"the districts need at least {total} clusters together "
                f"({', '.join(f'{w}: {r.k}' for (w, _), r in zip(parts, results))}), "
                f"more than the maximum of {hi_k}"
            ],
            relaxations=["the number of clusters"],
        )
    if total >= lo_k:
        return _combine(results, p, s.elapsed(), s.solver_name, s.contiguity)
    log.info("fewest per part gives %s clusters, below the minimum %s: solving as one model", total, lo_k)
    return None


def _hubs(s: _Solve) -> None:
    """The unit-hub pairs that can be in a plan at all."""
    p = s.p
    s.allowed, s.stats = allowed_hubs(p, contiguous=s.contiguity != "none")
    self_ok = [j in set(s.allowed[j]) for j in range(p.n)]
    if not any(self_ok[j] for i in range(p.n) for j in s.allowed[i]):
        raise InfeasibleError(["no unit can head a cluster that meets the minimums with the units it may take"])


def _one_cluster(s: _Solve) -> PartitionResult | None:
    """When the count leaves one cluster to each part (k = 1, or districts that fit one cluster
    each), the optimum is a choice of hub per part (:mod:`clustergeo.solve.onehub`): no model,
    no solver. None when the count allows more, or that plan breaks a rule."""
    p = s.p
    if s.excl or s.contiguity not in ("auto", "none"):  # a formulation asked for by name is used
        return None
    parts = onehub.forced_parts(p, contiguous=s.contiguity != "none", fewest=s.fewest)
    plan = None if parts is None else onehub.best_hubs(p, s.allowed, parts)
    if plan is None:
        return None
    stage(s.req.progress, "one cluster per part: choosing the best hub")
    objective = s.cost_of(plan)
    rl = RoundLog(1, "optimal", objective, objective, 0, s.elapsed())
    if s.req.progress is not None:
        s.req.progress(rl)
    result = PartitionResult(
        assignment={p.nodes[i]: p.nodes[j] for i, j in enumerate(plan)},
        hubs={p.nodes[j]: p.nodes[j] for j in sorted(set(plan))},
        status="optimal",
        objective=objective,
        bound=objective,
        gap=0.0,
        seconds=s.elapsed(),
        solver=onehub.SOLVER_NAME,
        rounds=0,
        formulation="one-hub",
        fixing=dict(s.stats),
        log=[rl],
    )
    _verify(s.graph, result, p, s.contiguity != "none")
    return result


def _try_columns(s: _Solve) -> PartitionResult | None:
    """The column method when it applies (forced, or small graphs and narrow windows under
    ``"auto"``); None when it does not apply or there were too many clusters to list."""
    p = s.p
    tight = tight_balance(p)
    per_cluster = p.n / max(p.k_range()[0], precheck_count(p), 1)
    wanted = s.contiguity == "columns" or (
        s.contiguity == "auto"
        and per_cluster <= COLUMNS_MAX_PER_CLUSTER
        and (p.n <= COLUMNS_MAX_UNITS or (tight and p.n <= COLUMNS_MAX_UNITS_TIGHT))
    )
    if not wanted:
        return None
    # listing clusters pays off when few fit (a narrow window) or the graph is small; the list
    # is abandoned at a budget, so a failed try costs a second or a few
    stage(s.req.progress, "listing every cluster that could be formed")
    most = COLUMNS_MAX_SETS_TIGHT if tight else COLUMNS_MAX_SETS
    result = _solve_by_columns(
        s, forced=s.contiguity == "columns", max_sets=most if s.req.start is None else COLUMNS_MAX_SETS_STARTED
    )
    if result is None and s.contiguity == "columns":
        s.contiguity = "auto"
    return result


def _find_roots(s: _Solve) -> None:
    """Cut edges: take each hub from the few units every cluster must hold (roots.py), which
    removes nearly all hub symmetry and most unit-hub pairs."""
    p = s.p
    if p.objective != "cut_edges" or s.contiguity == "none":
        return
    limit = s.time_limit
    roots_s = min(BUDGET.roots_seconds, BUDGET.roots_share * limit if limit is not None else BUDGET.roots_seconds)
    stage(s.req.progress, "finding the units every cluster must hold (root units)")
    found = root_order(p, seconds=roots_s, threads=cast(int, s.req.solver.threads), seed=s.seed)
    if found is not None:
        p.hub_rank, p.hub_roots = found
        s.allowed, s.stats = allowed_hubs(p, contiguous=True)
        s.stats["roots"] = p.hub_roots


def _share_time(s: _Solve) -> None:
    """The seconds of the starting-plan search, the late search and the closer-neighbour model."""
    p, limit = s.p, s.time_limit
    per_unit = BUDGET.start_seconds_per_unit_cut_edges if p.objective == "cut_edges" else BUDGET.start_seconds_per_unit
    s.start_s = min(
        BUDGET.start_seconds,
        max(BUDGET.start_min_seconds, per_unit * p.n),
        BUDGET.start_share * limit if limit is not None else BUDGET.start_seconds,
    )
    if p.objective == "cut_edges" and limit is not None and not s.excl:  # (contiguous plans fit "none" too)
        s.late_s = max(min(BUDGET.late_seconds, BUDGET.late_share * limit) - s.start_s, 0.0)
    s.near_s = min(BUDGET.nearer_seconds, BUDGET.nearer_share * limit if limit is not None else BUDGET.nearer_seconds)


def _best_start(s: _Solve, count: int | None) -> list[int] | None:
    """The best of greedy amalgamation, the spanning-tree search and (on larger graphs) the
    closer-neighbour model, at ``count`` clusters."""
    p, seed = s.p, s.seed
    if s.given is not None and (count is None or len(set(s.given)) == count):
        return s.given  # the caller's plan, polished: a search would only find a plan like it
    stage(s.req.progress, "finding a good starting plan" + ("" if count is None else f" with {count} clusters"))
    found = [
        c
        for c in (greedy.greedy(p, fewest=s.fewest, target=count),)
        if c is not None and (count is None or len(set(c)) == count)
    ]
    if count is not None:
        polish = (
            p.objective == "hess"
            and p.n >= (ALTERNATE_MIN_UNITS_FEWEST if s.fewest else ALTERNATE_MIN_UNITS)
            and not s.excl
        )
        tree_s = s.start_s * (ALTERNATE_TREE_SHARE if polish and count == 2 else 1.0)
        # bounded by work (the same plan on any machine), with a time cap; its plans are
        # contiguous, so they are valid starts without contiguity too (a tight upper bound there
        # lets the reduced costs fix out most of the n^2 pairs)
        tree = recom.search(
            p, count, seconds=BUDGET.tree_cap * tree_s, seed_value=seed, work=recom.WORK_PER_SECOND * tree_s
        )
        if tree is not None and tabu.applies(p):
            # small moves near the plan: the proof from a better start is shorter (Iowa: 35 cut
            # edges become the optimal 33, and the proof takes two thirds as long)
            tree = tabu.polish(
                p,
                tree,
                seed_value=seed,
                work=tabu.WORK_PER_SECOND * s.start_s / BUDGET.polish_part,
                seconds=BUDGET.tree_cap * s.start_s / BUDGET.polish_part,
            )
        if tree is None and not found and not s.fewest and tight_balance(p) and p.n >= FIRST_PLAN_MIN_UNITS:
            tree = _first_plan(s, count)  # (the fewest count tries counts that have no plan)
        if tree is not None:
            found.append(tree)
        if found and polish:
            # the best allocation to the start's hubs, rehubbed, until the hubs settle
            t = time.perf_counter()
            moved = alternate(
                p, s.allowed, min(found, key=s.cost_of), s.opts, seconds=s.near_s, contiguous=s.contiguity != "none"
            )
            if moved is not None:
                found.append(moved)
            if not s.fewest:
                seconds = min(s.near_s, max(FAR_START_TIME_FACTOR * (time.perf_counter() - t), BUDGET.min_seconds))
                found.extend(_from_relaxed_hubs(s, min(found, key=s.cost_of), count, seconds=seconds))
        if s.contiguity in ("cuts", "auto", "none") and p.objective == "hess" and p.n > NEARER_MIN_UNITS:
            # contiguous by construction, near-optimal: a tight upper bound for reduced-cost fixing
            best = min(found, key=s.cost_of) if found else None
            contiguous_allowed = s.allowed if s.contiguity != "none" else allowed_hubs(p, contiguous=True)[0]
            pruning = _prune(s, contiguous_allowed, best, k=(count, count)) if not s.fewest else None
            if pruning is not None:
                contiguous_allowed = pruning.allowed
            near = (
                nearer_plan(p, contiguous_allowed, count, best, s.opts, seconds=s.near_s)
                if sum(map(len, contiguous_allowed)) <= NEARER_MAX_PAIRS
                else None
            )
            if near is not None:
                found.append(near)
    if p.hub_ok is not None:  # the heuristics pick hubs freely: the best candidate instead
        found = [r for c in found if (r := rehub(p, s.allowed, c)) is not None]
    found = [c for c in found if within_caps(p, c)]  # the heuristics know no travel cap
    return min(found, key=s.cost_of) if found else None


def _from_relaxed_hubs(s: _Solve, best: list[int], count: int, *, seconds: float) -> list[list[int]]:
    """Location-allocation again, for ``seconds``, from the hubs the Lagrangian relaxation
    opens, when the best start is far above its bound (Oklahoma's counties: 13% above, where the
    other county graphs' starts were 1-3.4% above): a start that far out leaves most pairs unfixed."""
    pruning = _prune(s, s.allowed, best, k=(count, count))
    if pruning is None or len(set(pruning.hubs)) != count:
        return []
    upper = s.cost_of(best)
    if upper - pruning.bound <= FAR_START_GAP * abs(upper):
        return []
    moved = alternate(
        s.p, s.allowed, best, s.opts, seconds=seconds, hubs=pruning.hubs, contiguous=s.contiguity != "none"
    )
    return [moved] if moved is not None else []


def given_start(p: PartitionProblem, allowed, plan: Mapping | None) -> list[int] | None:
    """A plan given as node -> cluster in index form (hub per unit), each cluster hubbed at the
    member that costs least; None when no plan is given or it does not fit the model (a unit
    missing, a pair fixed out, or outside the count range)."""
    if plan is None or any(v not in plan for v in p.nodes):
        return None
    lo_k, hi_k = p.k_range()
    if not lo_k <= len(set(plan[v] for v in p.nodes)) <= hi_k:
        return None
    return rehub(p, allowed, [plan[v] for v in p.nodes])


def rehub(p: PartitionProblem, allowed, labels: list) -> list[int] | None:
    """A plan (a cluster label per unit, in index order) as hub per unit, each cluster hubbed
    at the allowed member that costs least; None when a cluster has no such member."""
    out = least_cost_hubs(p, [set(a) for a in allowed], labels)
    return out if out is not None and within_caps(p, out) else None


def _first_plan(s: _Solve, count: int) -> list[int] | None:
    """No plan yet from greedy or the budgeted search: the spanning-tree splits retry, with a new
    seed, until a first plan or for ``BUDGET.first_plan_share`` of the limit (the search's
    first plan is sought until its time cap, whatever its work budget)."""
    limit = s.time_limit
    seconds = min(
        BUDGET.first_plan_seconds, BUDGET.first_plan_share * limit if limit is not None else BUDGET.first_plan_seconds
    )
    left = seconds - BUDGET.tree_cap * s.start_s
    if left <= 0:
        return None
    stage(s.req.progress, f"no plan with {count} clusters yet: searching {left:.0f} s more for a first one")
    return recom.search(
        s.p, count, seconds=left, seed_value=s.seed + 2, work=recom.WORK_PER_SECOND * s.start_s / BUDGET.polish_part
    )


def _warm_start(s: _Solve) -> None:
    """The starting plan of the exact solve (the fewest-count search finds one per count); a
    plan given as ``start`` competes with the heuristics' at its count."""
    lo_k, hi_k = s.p.k_range()
    # the caller's plan as mended by _given_start, else as given (each cluster rehubbed)
    given = s.given = s.given if s.given is not None else given_start(s.p, s.allowed, s.req.start)
    if given is not None and not lo_k <= len(set(given)) <= hi_k:
        given = None
    if not s.fewest:
        s.start = _best_start(s, lo_k if lo_k == hi_k else None)
        if s.start is None and lo_k != hi_k:
            s.start = _best_start(s, hi_k)
        if given is not None and (s.start is None or s.cost_of(given) < s.cost_of(s.start)):
            s.start = given
    if s.start is not None:  # the proof's length hangs on it
        s.heur_obj = s.cost_of(s.start)
        log.info(
            "warm start: %d clusters, objective %s (%.1f s so far)",
            len(set(s.start)),
            f"{s.heur_obj:,.1f}",
            s.elapsed(),
        )


def _fewest_count(s: _Solve) -> None:
    """Count up from a lower bound (each part's total over the maximum): the first count with a
    plan is the fewest, and that plan is solved for compactness at the same time. This proves
    the count minimal without ever minimising it (a model with very many equally good answers,
    on which the cut loop crawls)."""
    p = s.p
    lo_k, hi_k = p.k_range()
    for kk in range(max(precheck_count(p), lo_k), min(hi_k, p.n) + 1):
        stage(s.req.progress, f"fewest clusters: trying {kk} clusters for these {p.n} units")
        seed_plan = _best_start(s, kk) if not s.excl else None
        if s.given is not None and len(set(s.given)) == kk:
            if seed_plan is None or s.cost_of(s.given) < s.cost_of(seed_plan):
                seed_plan = s.given
        if seed_plan is not None and (
            s.start is None or len(set(s.start)) != kk or s.cost_of(seed_plan) < s.cost_of(s.start)
        ):
            s.start, s.heur_obj = seed_plan, s.cost_of(seed_plan)
        s.model = HessModel(
            p,
            s.allowed,
            stage="objective",
            k_fixed=kk,
            contiguity=s.contiguity,
            exclude=s.excl,
            pruning=_prune(s, s.allowed, seed_plan, k=(kk, kk)),
        )
        _reuse_cuts(s)
        s.run = s.model.solve(start=seed_plan, **{**s.opts, "time_limit": s.left(s.late_s)})
        _keep_cuts(s)
        s.rounds += s.run.rounds
        s.cuts += s.run.cuts
        s.k_best = kk
        if s.run.status != "infeasible":
            return
    if s.run is None:
        raise InfeasibleError(["the count range leaves no number of clusters to try"])


def _exact_solve(s: _Solve) -> None:
    """The exact model for a given count or range: the labelling model for cut edges with an
    exact count and enough roots, the Hess model otherwise, within the time left."""
    p = s.p
    lo_k, hi_k = p.k_range()
    k_exact = lo_k if lo_k == hi_k else None
    applies = labeling.applies(p, k_exact, exclude=bool(s.excl))
    if s.contiguity == "labeling" and not applies:
        raise RulesError(
            "contiguity='labeling' needs objective='cut_edges', an exact number of clusters, "
            "a minimum size, no district rule and no excluded plans; use 'auto'"
        )
    if s.contiguity in ("auto", "labeling") and applies and k_exact is not None and p.hub_roots >= k_exact:
        # numbered clusters in the orbitope order with one flow proved the county graphs about
        # twice as fast as the rooted Hess model; Gurobi's pip licence stops at 2,000 columns
        build = labeling.CompactLabelingModel if s.req.solver.solver == "gurobi" else labeling.LabelingModel
        s.model = build(p, k_exact, s.allowed)
        s.formulation = "labeling+flow"
    else:
        if _relaxed_first(s):
            return
        pruning = _prune(s, s.allowed, s.start, k=p.k_range())
        s.model = HessModel(p, s.allowed, stage="objective", contiguity=s.contiguity, exclude=s.excl, pruning=pruning)
        _reuse_cuts(s)
    s.run = s.model.solve(start=s.start if not s.excl else None, **{**s.opts, "time_limit": s.left(s.late_s)})
    if s.relaxed_bound is not None and (s.run.bound is None or s.run.bound < s.relaxed_bound):
        s.run.bound = s.relaxed_bound
    if isinstance(s.model, HessModel):
        _keep_cuts(s)
    s.cuts += s.run.cuts
    s.rounds += s.run.rounds


def _relaxed_first(s: _Solve) -> bool:
    """Solve the Hess model without contiguity first, on the pruned pairs. Its optimum bounds
    every contiguous plan, so when it is contiguous it is the answer and the cut loop never runs
    (the tracts of Idaho, Maine and New Hampshire). Otherwise its pieces give the loop's first
    separator cuts, its bound stands if the loop stops unproved, and the plan mended to be
    contiguous is the start when cheaper. HiGHS found New Hampshire's optimum in 12 s this way,
    and after 94 s at the root of the loop's first round from the spanning-tree plan (whose
    single-unit separator rows keep its rounding heuristics from finding plans). Returns True
    when the answer is in ``s.run``."""
    p = s.p
    if p.objective != "hess" or s.contiguity not in ("cuts", "auto") or s.start is None or s.excl:
        return False
    if p.n < RELAXED_MIN_UNITS:
        return False
    stage(s.req.progress, "solving without contiguity first: a contiguous optimum there is the answer")
    limit = s.left(s.late_s)
    seconds = (
        BUDGET.relaxed_seconds
        if limit is None
        else min(BUDGET.relaxed_seconds, max(BUDGET.relaxed_share * limit, BUDGET.min_seconds))
    )
    pruning = _prune(s, s.allowed, s.start, k=p.k_range())
    model = HessModel(p, s.allowed, stage="objective", contiguity="none", pruning=pruning)
    run = model.solve(start=s.start, **{**s.opts, "time_limit": seconds, "progress": None}, reduced_cost_fixing=False)
    if run.assignment is None:
        return False
    pieces = separate(run.assignment, p.adjacency)
    if not pieces and run.status == "optimal":
        log.info("the optimum without contiguity is contiguous: %s", f"{run.objective:,.1f}")
        s.model, s.run = model, run
        s.cuts += run.cuts
        s.rounds += run.rounds
        return True
    s.relaxed_bound = run.bound  # a relaxation's bound bounds the contiguous plans too
    s.known_cuts = list(dict.fromkeys([*s.known_cuts, *pieces]))
    mended = greedy.repair(p, run.assignment) if pieces else run.assignment
    if mended is not None and within_caps(p, mended) and s.cost_of(mended) < s.cost_of(s.start):
        s.start, s.heur_obj = mended, s.cost_of(mended)
        log.info("start from the plan without contiguity, mended: %s", f"{s.heur_obj:,.1f}")
    return False


def _prune(s: _Solve, allowed: list, start: list[int] | None, *, k: tuple[int, int]) -> Pruning | None:
    """The pairs a model is built on, less those no plan cheaper than ``start`` can use
    (:func:`~clustergeo.solve.models.hess.prune`; the last result is reused for the same plan)."""
    if start is None or s.excl:
        return None
    upper = s.cost_of(start)
    # (equal lists too: without contiguity the seed model's pairs and the model's often match)
    if s.pruning is not None and s.pruning[1:3] == (k, upper) and (s.pruning[0] is allowed or s.pruning[0] == allowed):
        return cast(Pruning, s.pruning[3])
    stage(s.req.progress, "bounding the objective: ruling out unit-hub pairs that no better plan can use")
    # without the LP fixing (too many pairs) the Lagrangian bound is the only one at the limit,
    # so it takes the LP's share of the time too
    pairs = sum(map(len, allowed))
    share = BUDGET.lagrangian_share if pairs <= LP_FIXING_MAX_PAIRS else BUDGET.lp_fixing_share
    limit = s.left(s.late_s)
    seconds = (
        BUDGET.lagrangian_seconds
        if limit is None
        else min(BUDGET.lagrangian_seconds, max(share * limit, BUDGET.min_seconds))
    )
    pruning = prune(s.p, allowed, start, upper, k=k, seconds=seconds)
    s.pruning = (allowed, k, upper, pruning)
    return pruning


def _reuse_cuts(s: _Solve) -> None:
    """Start the new Hess model with the separator cuts found before (an earlier count, or the
    caller's earlier solve of the same graph): each holds for every contiguous plan."""
    if s.known_cuts and s.contiguity in ("cuts", "auto"):
        s.model.add_cuts(s.known_cuts)


def _keep_cuts(s: _Solve) -> None:
    s.known_cuts = list(dict.fromkeys([*s.known_cuts, *s.model.cuts]))


def _known_cuts(p: PartitionProblem, separators: tuple) -> list[SeparatorCut]:
    """Cuts handed in as nodes, in the problem's unit numbers (those naming an unknown node are
    dropped: they came from another graph)."""
    index = {v: i for i, v in enumerate(p.nodes)}
    out = []
    for hub, piece, separator in separators:
        nodes = [hub, *piece, *separator]
        if all(v in index for v in nodes):
            out.append(SeparatorCut(index[hub], tuple(index[v] for v in piece), tuple(index[v] for v in separator)))
    return out


def _late_search(s: _Solve) -> list[int] | None:
    """When the proof did not finish in time: more spanning-tree search, then a tabu polish of
    the better of its plan and the solver's, in the time kept for it."""
    p, run, limit = s.p, s.run, s.time_limit
    if run.status == "optimal" or s.late_s <= 0 or limit is None:
        return None
    lo_k, hi_k = p.k_range()
    plan = run.assignment if run.assignment is not None else s.start or []
    count = s.k_best if s.fewest else (lo_k if lo_k == hi_k else len(set(plan)) or None)
    if count is None:
        return None
    seed = s.seed
    stage(s.req.progress, "the proof did not finish in time: searching for a better plan")
    left = max(limit - s.elapsed(), 0.5)
    polish = tabu.applies(p)
    search_s = left * BUDGET.late_tree_share if polish else left
    late = recom.search(p, count, seconds=search_s, seed_value=seed + 1, work=recom.WORK_PER_SECOND * search_s)
    if late is not None and not within_caps(p, late):
        late = None
    if polish:
        base = [c for c in (late, run.assignment) if c is not None and len(set(c)) == count]
        if base:
            best = min(base, key=s.cost_of)
            left = max(limit - s.elapsed(), 0.1)
            polished = tabu.polish(p, best, seed_value=seed + 1, work=tabu.WORK_PER_SECOND * left, seconds=left)
            if within_caps(p, polished) and (late is None or s.cost_of(polished) < s.cost_of(late)):
                late = polished
    return late


def _finish(s: _Solve, late: list[int] | None) -> PartitionResult:
    """The best plan in hand (the solver's, or a heuristic's at the limit), its bound and gap,
    checked independently."""
    p, run = s.p, s.run
    fits = [
        c
        for c in (run.incumbent, s.start, late)
        if c is not None and (not s.fewest or len(set(c)) == s.k_best) and within_caps(p, c)
    ]
    assignment, status, objective = run.assignment, run.status, run.objective
    if assignment is None:
        if not fits:
            raise NoPlanInTimeError(
                "the time limit ran out before any contiguous plan was found (the greedy heuristic and the "
                "spanning-tree search found none either) and before the solver could prove that none exists; "
                "raise time_limit, or relax the size bounds or the count"
            )
        assignment = min(fits, key=s.cost_of)
        status, objective = "heuristic", s.cost_of(assignment)
    else:
        if p.objective == "hess" or p.edge_weights or p.district_mode == "penalty" or p.division_mode == "penalty":
            objective = s.cost_of(assignment)
        if status != "optimal" and not s.excl:
            # stopped at the limit: the best plan in hand may be a heuristic's, not the solver's
            for other in fits:
                other_cost = s.cost_of(other)
                if other_cost < objective - 1e-9:
                    assignment, objective = other, other_cost
    bound = run.bound
    if status == "optimal":
        bound = objective if bound is None else min(bound, objective)
    gap_v = None if bound is None or objective is None else max(objective - bound, 0.0) / max(abs(objective), 1e-9)
    if status == "optimal" and s.req.solver.gap is None:
        gap_v = 0.0
    result = PartitionResult(
        assignment={p.nodes[i]: p.nodes[j] for i, j in enumerate(assignment)},
        hubs={p.nodes[j]: p.nodes[j] for j in sorted(set(assignment))},
        status=status,
        objective=objective,
        bound=bound,
        gap=gap_v,
        seconds=s.elapsed(),
        solver=solvers.version(s.solver_name),
        rounds=len(s.rounds),
        cuts=s.cuts,
        formulation=s.formulation,
        fixing={
            **s.stats,
            "fixed_by_lagrangian": s.model.fixed_by_lagrangian,
            "fixed_by_reduced_cost": s.model.fixed_by_cost,
        },
        log=s.rounds,
        heuristic_objective=s.heur_obj,
        separators=[
            (p.nodes[c.hub], tuple(p.nodes[i] for i in c.piece), tuple(p.nodes[i] for i in c.separator))
            for c in s.known_cuts
        ],
    )
    _verify(s.graph, result, p, s.contiguity != "none")
    return result


def nearer_plan(
    p: PartitionProblem, allowed, count: int, start: list[int] | None, opts: dict, seconds: float
) -> list[int] | None:
    """The best plan under the "closer neighbour" rule (:meth:`HessModel._add_nearer`), within
    ``seconds``: a contiguous plan, usually within a fraction of a percent of the optimum."""
    model = HessModel(p, allowed, stage="objective", k_fixed=count, contiguity="nearer")
    # no cuts to separate in this model, and SCIP found no plan in 60 s where HiGHS had one in
    # 10 s (Nebraska, Arkansas): SCIP's branch-and-cut is for the exact model only
    solver = "highs" if opts["solver"] == "scip" else opts["solver"]
    run = model.solve(
        start=start,
        **{
            **opts,
            "solver": solver,
            "time_limit": max(seconds, BUDGET.min_seconds),
            "progress": None,
            "gap": BUDGET.nearer_gap,
        },
        reduced_cost_fixing=False,
    )
    if run.assignment is None or -1 in run.assignment:
        return None
    log.info("closer-neighbour plan: %s (%s)", f"{greedy.plan_cost(p, run.assignment):,.1f}", run.status)
    return run.assignment


def tight_balance(p: PartitionProblem, ratio: float = 1.05) -> bool:
    """Whether some size window is narrow (max / min at most ``ratio``): few connected sets
    then fit it, and enumerating them beats cutting off disconnected plans round by round."""
    return any(lo is not None and hi is not None and lo > 0 and hi / lo <= ratio for lo, hi in p.bounds.values())


def _solve_by_columns(s: _Solve, *, forced: bool, max_sets: int) -> PartitionResult | None:
    """Enumerate every possible cluster and pick the best set (exact); None when there are
    too many clusters to list (the Hess model takes over)."""
    from .models import columns

    p, opts, limit = s.p, s.opts, s.time_limit
    budget = (limit * BUDGET.columns_share if limit is not None else BUDGET.columns_seconds) if not forced else limit
    deadline = None if budget is None else time.perf_counter() + budget
    if not forced:
        # a few hundred random walks tell a listing that would be abandoned at its budget (New
        # Mexico's 33 counties: over 20 million sets, 5 s lost) from one that pays
        visits = columns.estimate_visits(p)
        if visits > max_sets:
            log.info("about %.3g sets to visit, over the %d listed at most: using the Hess model", visits, max_sets)
            return None
    cols = columns.enumerate_clusters(
        p, s.allowed, max_sets=(max_sets if not forced else COLUMNS_MAX_SETS_FORCED), deadline=deadline
    )
    if cols is None:
        log.info("too many possible clusters to list them all: using the Hess model")
        return None
    log.info("listed %d possible clusters in %.1f s; choosing among them", len(cols), s.elapsed())
    k = None if isinstance(p.k, str) else p.k
    run = columns.solve(
        p,
        cols,
        k=k,
        fewest=s.fewest,
        solver=opts["solver"],
        time_limit=s.left(),
        gap=opts["gap"],
        threads=opts["threads"],
        seed=opts["seed"],
        msg=opts["msg"],
        exclude=s.excl,
    )
    if run.status == "infeasible":
        stage(opts["progress"], "no plan meets the rules: finding which rule to relax")
        _raise_infeasible(p, s.allowed, "cuts", opts, s.req.explain)
    if run.assignment is None:
        return None
    objective = greedy.plan_cost(p, run.assignment)
    bound = run.bound if run.status != "optimal" else objective
    gap_v = (
        0.0
        if run.status == "optimal"
        else (None if bound is None else max(objective - bound, 0.0) / max(abs(objective), 1e-9))
    )
    rl = RoundLog(1, run.status, objective, bound, 0, s.elapsed())
    result = PartitionResult(
        assignment={p.nodes[i]: p.nodes[j] for i, j in enumerate(run.assignment)},
        hubs={p.nodes[j]: p.nodes[j] for j in sorted(set(run.assignment))},
        status="optimal" if run.status == "optimal" else "feasible",
        objective=objective,
        bound=bound,
        gap=gap_v,
        seconds=s.elapsed(),
        solver=solvers.version(opts["solver"]),
        rounds=1,
        cuts=0,
        formulation="columns",
        fixing={**s.stats, "columns": len(cols)},
        log=[rl],
    )
    _verify(s.graph, result, p, True)
    return result


def precheck_count(p: PartitionProblem) -> int:
    """A lower bound on the number of clusters: each part needs its total over the maximum."""
    return sum(count_range(p, comp)[0] for _where, comp in independent_parts(p))


def within_caps(p: PartitionProblem, plan: list[int]) -> bool:
    """Whether every hub of ``plan`` (hub per unit) may head a cluster, no unit is with a hub
    that the travel cap (``max_cost``) or ``forbid`` rules out, and the plan keeps the crossing
    cap and the rows over unit-hub pairs (the heuristics know none of these)."""
    cap = p.max_cost if p.cost is not None else None
    cost = p.cost or {}
    if p.hub_ok is not None and not all(p.hub_ok[h] for h in set(plan)):
        return False
    if p.crossing_cap is not None and p.touches is not None:
        labels: dict[int, set] = {}
        for i, h in enumerate(plan):
            labels.setdefault(h, set()).update(p.touches[i])
        if sum(1 for touched in labels.values() if len(touched) > 1) > p.crossing_cap:
            return False
    for terms, rhs in p.pair_rows:
        if sum(w for i, h, w in terms if plan[i] == h) > rhs + 1e-9:
            return False
    if not p.forbid and cap is None:
        return True
    for i, h in enumerate(plan):
        if i != h and ((i, h) in p.forbid or (cap is not None and cost.get((i, h), float("inf")) > cap)):
            return False
    return True


def _verify(graph: nx.Graph, result: PartitionResult, p: PartitionProblem, contiguous: bool) -> None:
    problems = check_partition(
        graph, result.assignment, bounds=p.bounds, k=p.k if p.k != "fewest" else None, contiguous=contiguous
    )
    pos = {v: i for i, v in enumerate(p.nodes)}
    if not within_caps(p, [pos[result.assignment[v]] for v in p.nodes]):
        problems.append("a unit is with a hub that the travel cap, forbid, the crossing cap or a pair row rules out")
    for lab, mode, what in ((p.district, p.district_mode, "district"), (p.division, p.division_mode, "division")):
        if lab is not None and mode == "within":
            seen: dict = {}
            for v, c in result.assignment.items():
                seen.setdefault(c, set()).add(lab[pos[v]])
            problems += [f"cluster {c!r} crosses {what} lines" for c, s in seen.items() if len(s) > 1]
    if problems:
        raise SolverError("internal error: the plan failed the independent check: " + "; ".join(problems))


def _combine(
    results: list[PartitionResult], p: PartitionProblem, seconds: float, solver: str, contiguity: str
) -> PartitionResult:
    assignment: dict = {}
    hubs: dict = {}
    for r in results:
        assignment.update(r.assignment)
        hubs.update(r.hubs)
    order = {"optimal": 0, "feasible": 1, "heuristic": 2}
    status = max((r.status for r in results), key=lambda s: order.get(s, 3))
    # cut edges: the edges between parts are cut in every plan, and no part counts them
    part_of = {v: n for n, r in enumerate(results) for v in r.assignment}
    between = (
        sum(1 for a, b in p.edges() if part_of[p.nodes[a]] != part_of[p.nodes[b]]) if p.objective == "cut_edges" else 0
    )
    objective = sum(float(r.objective or 0.0) for r in results) + between
    bounds = [r.bound for r in results if r.bound is not None]
    bound = sum(bounds) + between if len(bounds) == len(results) else None
    gap = None if bound is None else max(objective - bound, 0.0) / max(abs(objective), 1e-9)
    fixing: dict = {}
    for r in results:
        for key, v in r.fixing.items():
            fixing[key] = fixing.get(key, 0) + v
    fixing["pairs"] = p.n * p.n
    fixing["fixed_by_decomposition"] = p.n * p.n - sum(len(r.assignment) ** 2 for r in results)
    heur = [r.heuristic_objective for r in results if r.heuristic_objective is not None]
    res = PartitionResult(
        assignment,
        hubs,
        status,
        objective,
        bound,
        gap if status != "optimal" else 0.0,
        seconds,
        solvers.version(solver),
        sum(r.rounds for r in results),
        sum(r.cuts for r in results),
        f"hess+{contiguity}, decomposed",
        fixing,
        [x for r in results for x in r.log],
        sum(heur) if len(heur) == len(results) else None,
        parts=len(results),
    )
    _verify(p.graph, res, p, contiguity != "none")
    return res


def _bound_words(m: str, lo: float | None, hi: float | None) -> str:
    """A size window in words: "pupils 2,500 to 5,000", "at least 1 secondary schools"."""
    name = m.replace("_", " ")
    if hi is None:
        return f"at least {lo or 0:,.0f} {name}"
    if lo is None:
        return f"at most {hi:,.0f} {name}"
    return f"{name} {lo:,.0f} to {hi:,.0f}"


def _raise_infeasible(p: PartitionProblem, allowed, contiguity: str, opts: dict, explain: bool) -> None:
    reasons = ["the solver proved that no plan meets all the rules together"]
    relax: list[str] = []
    if explain:
        relax = diagnose(p, contiguity, opts)
        if relax:
            sizes = "; ".join(_bound_words(m, lo, hi) for m, (lo, hi) in p.bounds.items())
            held = ", ".join(f"{p.measures[m].sum():,.0f} {m.replace('_', ' ')}" for m in p.bounds)
            reasons = [
                f"the units here ({p.n}, holding {held}) "
                f"cannot be grouped into connected clusters of {sizes} under these rules; a plan exists "
                f"once you relax {' or '.join(relax)}"
            ]
    raise InfeasibleError(reasons, relaxations=relax)


GROUPS = {
    "contiguity": "contiguity (clusters in one piece)",
    "count": "the number of clusters",
    "min": "the minimum sizes",
    "max": "the maximum sizes",
    "district": "the district rule",
}


def diagnose(p: PartitionProblem, contiguity: str, opts: dict, seconds: float = BUDGET.diagnose_seconds) -> list[str]:
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
        if _implied(p, group):
            continue  # relaxed, the problem is the same one, already proved to have no plan
        q_bounds = q
        if group in ("min", "max"):
            q_bounds = dataclasses.replace(
                q, bounds={m: ((None, hi) if group == "min" else (lo, None)) for m, (lo, hi) in q.bounds.items()}
            )
        allowed, _ = allowed_hubs(q_bounds, contiguous=group != "contiguity")
        model = HessModel(
            q_bounds,
            allowed,
            stage="feasibility",
            relax=relax,
            contiguity="none" if group == "contiguity" else contiguity,
        )
        run = model.solve(**{**opts, "time_limit": seconds, "progress": None})
        if run.assignment is not None:
            found.append(words)
    return found


def _implied(p: PartitionProblem, group: str) -> bool:
    """Whether the other rules imply ``group`` ("min", "max" or "count"), so that relaxing it
    leaves the same problem: with k clusters and the maxima, each cluster holds at least the
    total less k - 1 maxima (a window of +-0.5% with an exact count implies its minimum, its
    maximum and the count alike)."""
    lo_k, hi_k = p.k_range()
    totals = {m: float(p.measures[m].sum()) for m in p.bounds}
    slack = 1e-9
    if group in ("min", "max"):
        if lo_k != hi_k:
            return False
        for m, (lo, hi) in p.bounds.items():
            if group == "min" and lo is not None and (hi is None or totals[m] - (lo_k - 1) * hi < lo - slack):
                return False
            if group == "max" and hi is not None and (lo is None or totals[m] - (lo_k - 1) * lo > hi + slack):
                return False
        return True
    if group == "count":
        fewest, most = 1, p.n
        for m, (lo, hi) in p.bounds.items():
            if hi is not None and hi > 0:
                fewest = max(fewest, math.ceil(totals[m] / hi - slack))
            if lo is not None and lo > 0:
                most = min(most, math.floor(totals[m] / lo + slack))
        return lo_k <= fewest and most <= hi_k
    return False
