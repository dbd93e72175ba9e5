"""The Hess rooted-assignment model in PuLP, with contiguity by cuts or by flows.

``x[i, j] = 1`` when unit ``i`` joins the cluster hubbed at unit ``j``; ``x[j, j] = 1`` when
``j`` is a hub. There is no label symmetry. Variables exist only for the pairs
:func:`~clustergeo.solve.problem.allowed_hubs` keeps. Variables are named by integer index
(``x_12_7``), and everything is built in sorted order, so the same input gives the same model.

Contiguity: ``"cuts"`` (separator cuts in a solve-separate-resolve loop), ``"flow"`` (a compact
single-commodity flow per hub, big-M = the most units a cluster can hold), ``"auto"`` (cuts, then
flow on top of them after ``AUTO_ROUNDS`` (four) rounds while the flow model stays moderate) or ``"nearer"`` (the
closer-neighbour rule: exact about contiguity but restrictive, so only a warm start). With a warm
start in hand, :meth:`HessModel.fix_by_reduced_cost` fixes out the pairs no better plan can use.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pulp

from ..backends import solvers
from ..cuts import SeparatorCut, separate, separate_fractional, support
from ..cuts import rows as cut_rows
from ..options import BUDGET
from ..problem import PartitionProblem, cost_matrix
from ..progress import RoundLog, describe, stage, ticker

log = logging.getLogger("clustergeo.solve")

FLOW_SWITCH_ARCS = 60_000  # auto: add the flow model after a few cut rounds up to this many flow arcs
#: auto: rounds of cuts before the flow model is added (the county graphs mostly become
#: contiguous within four rounds, faster than with the flow model added earlier)
AUTO_ROUNDS = 4
# LP reduced-cost fixing only up to this many unit-hub pairs: above it the LP does not finish
# within its share of the limit on the benchmark graphs, and the Lagrangian bound fixes enough
LP_FIXING_MAX_PAIRS = 100_000
# HiGHS's presolve time on the Hess model per unit-hub pair (it ignores the time limit, so a
# model whose presolve would not finish in the time left is solved without it)
PRESOLVE_SECONDS_PER_PAIR = 150e-6
#: a cut-loop round stops at an improving plan in pieces this close to its bound (relative)
EARLY_STOP_GAP = 0.01
#: rounds of separator cuts at LP points before the cut loop (each an LP solve: well under a
#: second on the real cases once the Lagrangian has fixed out most pairs)
LP_SEPARATION_ROUNDS = 20
#: Lagrangian pruning repeats on the pairs left while a pass rules out this share of them
#: (New Mexico's tracts: the bound rises 0.3% and a further 16% of the pairs go in 5 passes)
PRUNE_MIN_GAIN = 0.01
PRUNE_PASSES = 8


def _steps_from(j: int, adj: list[list[int]]) -> dict[int, int]:
    """Breadth-first steps from ``j`` to every unit."""
    steps = {j: 0}
    frontier = [j]
    while frontier:
        nxt = []
        for u in frontier:
            for v in adj[u]:
                if v not in steps:
                    steps[v] = steps[u] + 1
                    nxt.append(v)
        frontier = nxt
    return steps


@dataclass
class ModelRun:
    """What one cut loop produced."""

    assignment: list[int] | None
    status: str  # optimal / feasible / infeasible / no solution
    objective: float | None
    bound: float | None
    rounds: list[RoundLog] = field(default_factory=list)
    cuts: int = 0
    seconds: float = 0.0
    variables: int = 0
    constraints: int = 0
    incumbent: list[int] | None = None  # best contiguous plan seen (repaired), for time limits


def add_row(prob: pulp.LpProblem, terms, sense: int, rhs: float, name: str, *, merge: bool = False) -> None:
    """Add ``sum(coef * var for var, coef in terms) <sense> rhs`` to ``prob``, built straight
    from the pairs (PuLP's operators copy the expression at every step: a minute for the rows
    of a million unit-hub pairs). With ``merge`` a repeated variable's coefficients add up, as
    with the operators; without it the variables must be distinct."""
    if merge:
        expr = pulp.LpAffineExpression()
        for v, a in terms:
            expr[v] = expr.get(v, 0) + a
    else:
        expr = pulp.LpAffineExpression(terms)
    prob.addConstraint(pulp.LpConstraint(expr, sense, name, rhs))


EQ, LE, GE = pulp.LpConstraintEQ, pulp.LpConstraintLE, pulp.LpConstraintGE


def most_units(p: PartitionProblem, members: list[int]) -> int:
    """The most of these units one cluster can hold under every maximum (lightest first):
    the flow models' big-M, far tighter than the number of units."""
    most = len(members)
    for m, (_lo, hi) in p.bounds.items():
        if hi is None:
            continue
        total, count = 0.0, 0
        for v in sorted(float(p.measures[m][i]) for i in members):
            if total + v > hi + 1e-9:
                break
            total += v
            count += 1
        most = min(most, count)
    return max(most, 1)


class _StopInPieces:
    """Stop a cut-loop round at an improving plan within ``EARLY_STOP_GAP`` of the bound that
    has a cluster in pieces: its cuts are what the round would end with (on Norfolk's King's
    Lynn district the round's optimum is found within 0.5% of the bound, and proving it took
    most of the round), so the next round starts at once. A plan far from the bound is left
    to the solver: cutting it off first restarted the tree again and again for nothing."""

    def __init__(self, model: HessModel):
        self.model = model
        self.stopped = False
        self._columns: list[tuple[int, int, int]] | None = None

    def __call__(self, values, gap: float) -> bool:
        if gap > EARLY_STOP_GAP:
            return False
        if self._columns is None:  # the columns are numbered when the model is handed to HiGHS
            self._columns = [(i, j, var.index) for (i, j), var in self.model.x.items()]
        plan = [-1] * self.model.p.n
        for i, j, col in self._columns:
            if values[col] > 0.5:
                plan[i] = j
        in_pieces = -1 not in plan and bool(separate(plan, self.model.p.adjacency))
        self.stopped = self.stopped or in_pieces  # the stop holds once asked for
        return in_pieces


@dataclass
class Pruning:
    """The unit-hub pairs a model is built on after the Lagrangian bound ruled some out
    (:func:`prune`).

    Attributes
    ----------
    allowed : list of list of int
        ``allowed[i]``: the hubs unit ``i`` may still join.
    bound : float
        The Lagrangian lower bound on the optimum (on every plan no dearer than the start).
    fixed : int
        Pairs ruled out.
    hubs : list of int
        The hubs the Lagrangian relaxation opens at its best bound.
    """

    allowed: list[list[int]]
    bound: float
    fixed: int
    hubs: list[int] = field(default_factory=list)


def prune(
    p: PartitionProblem, allowed: list[list[int]], start: list[int], upper: float, *, k: tuple[int, int], seconds: float
) -> Pruning | None:
    """Rule out the pairs no plan cheaper than ``upper`` (the plan ``start``) can use, by the
    Lagrangian bound (:mod:`~clustergeo.solve.bounds`), before a model is built on them: a model
    of the pairs left builds and solves in a fraction of the time of one with every pair fixed
    to zero (New Hampshire's tracts: 13,000 pairs of 87,000 are left). None where the bound
    does not apply (other objectives, negative penalties, a crossing cap or extra rows) or the
    plan does not fit ``allowed``.

    Examples
    --------
    >>> import networkx as nx
    >>> from clustergeo.solve.heuristics.greedy import plan_cost
    >>> from clustergeo.solve.problem import build_problem
    >>> g = nx.path_graph(6)
    >>> for v in g:
    ...     g.nodes[v].update(pupils=1, x=float(v), y=0.0)
    >>> p = build_problem(g, k=2, weight="pupils", min_weight=3, max_weight=3)
    >>> start = [1, 1, 1, 4, 4, 4]  # the hub of each unit's cluster
    >>> pr = prune(p, [list(range(6))] * 6, start, plan_cost(p, start), k=(2, 2), seconds=1)
    >>> pr.fixed, pr.allowed[0], pr.allowed[3]
    (24, [1], [2, 3, 4])
    """
    from ..bounds import lagrangian_bound

    if (
        p.objective != "hess"
        or p.cost is None
        or min(p.edge_weights.values(), default=0.0) < 0
        or p.district_penalty < 0
        or p.division_penalty < 0
        or p.crossing_cap is not None
        or p.pair_rows
    ):
        return None  # the relaxation drops these terms: valid only when they are >= 0
    ok = [set(a) for a in allowed]
    if any(j not in ok[i] or j not in ok[j] for i, j in enumerate(start)):
        return None
    t0 = time.perf_counter()
    matrix = cost_matrix(p, missing=0.0)  # built once for every pass
    left, bound, hubs = allowed, -np.inf, []
    for _ in range(PRUNE_PASSES):
        # each pass bounds the plans cheaper than ``upper``, which use only the pairs left: on
        # fewer pairs the relaxation is tighter, so the bound rises and fixes more pairs
        res = lagrangian_bound(p, left, k=k, upper=upper, seconds=seconds - (time.perf_counter() - t0), matrix=matrix)
        keep = res.keep
        if not np.isfinite(res.bound) or keep is None:
            break
        if not all(keep[i, j] for i, j in enumerate(start)):
            log.warning("Lagrangian fixing would drop the warm start's pairs: skipped")
            break
        before = sum(map(len, left))
        if res.bound > bound:
            hubs = res.hubs
        left, bound = [[j for j in a if keep[i, j]] for i, a in enumerate(left)], max(bound, float(res.bound))
        gain = before - sum(map(len, left))
        if gain < PRUNE_MIN_GAIN * before or time.perf_counter() - t0 >= seconds:
            break
    if not np.isfinite(bound):
        return None
    fixed = sum(map(len, allowed)) - sum(map(len, left))
    log.info("Lagrangian bound %s, warm start %s: %d pairs fixed out", f"{bound:,.1f}", f"{upper:,.1f}", fixed)
    return Pruning(left, bound, fixed, hubs)


class HessModel:
    """The MIP for one :class:`PartitionProblem` and one objective stage."""

    def __init__(
        self,
        p: PartitionProblem,
        allowed: list[list[int]],
        *,
        stage: str = "objective",
        k_fixed: int | None = None,
        contiguity: str = "auto",
        relax: frozenset[str] = frozenset(),
        exclude: list[list[int]] | None = None,
        pruning: Pruning | None = None,
    ):
        if pruning is not None:
            allowed = pruning.allowed
        self.p, self.allowed, self.stage, self.contiguity = p, allowed, stage, contiguity
        self.relax = relax
        n = p.n
        self_ok = [j in set(allowed[j]) for j in range(n)]
        self.hubs = sorted({j for i in range(n) for j in allowed[i] if self_ok[j]})
        hubset = set(self.hubs)
        self.pairs = [(i, j) for i in range(n) for j in allowed[i] if j in hubset]
        prob = pulp.LpProblem("clustergeo", pulp.LpMinimize)
        self.prob = prob
        x = {(i, j): pulp.LpVariable(f"x_{i}_{j}", cat=pulp.LpBinary) for i, j in self.pairs}
        self.x = x
        by_unit: dict[int, list[int]] = {i: [] for i in range(n)}
        by_hub: dict[int, list[int]] = {j: [] for j in self.hubs}
        for i, j in self.pairs:
            by_unit[i].append(j)
            by_hub[j].append(i)
        self.by_hub, self.by_unit = by_hub, by_unit
        for i in range(n):
            add_row(prob, [(x[i, j], 1) for j in by_unit[i]], EQ, 1, f"assign_{i}")
        for i, j in self.pairs:
            if i != j:
                add_row(prob, ((x[i, j], 1), (x[j, j], -1)), LE, 0, f"link_{i}_{j}")
        for m, (lo, hi) in sorted(p.bounds.items()):
            w = p.measures[m]
            for j in self.hubs:
                terms = [(x[i, j], float(w[i])) for i in by_hub[j]]
                if lo is not None and "min" not in relax:
                    add_row(prob, terms + [(x[j, j], -float(lo))], GE, 0, f"min_{m}_{j}", merge=True)
                if hi is not None and "max" not in relax:
                    add_row(prob, terms + [(x[j, j], -float(hi))], LE, 0, f"max_{m}_{j}", merge=True)
        count = pulp.lpSum(x[j, j] for j in self.hubs)
        if k_fixed is not None:
            prob += count == k_fixed, "count"
        elif "count" not in relax and p.k not in (None, "fewest"):
            lo_k, hi_k = p.k_range()
            if lo_k == hi_k:
                prob += count == lo_k, "count"
            else:
                prob += count >= lo_k, "count_min"
                prob += count <= hi_k, "count_max"
        if p.crossing_cap is not None:
            self._add_crossing_cap(prob)
        for r_idx, (pair_terms, rhs) in enumerate(p.pair_rows):
            add_row(prob, [(x[i, j], w) for i, j, w in pair_terms if (i, j) in x], LE, rhs, f"pairrow_{r_idx}")
        if stage == "count":
            prob += count
        elif stage == "feasibility":
            prob += pulp.lpSum([])
        else:
            prob += self._objective(count)
        if contiguity == "flow" and "contiguity" not in relax:
            self._add_flow(prob)
        # the flow model grows as (arcs inside each hub's reach) x hubs: switch to it when that
        # stays moderate, after AUTO_ROUNDS rounds of cuts solved to the end
        self.auto_rounds = (
            AUTO_ROUNDS if contiguity == "auto" and (p.n <= 40 or self._flow_size() <= FLOW_SWITCH_ARCS) else 10**9
        )
        if contiguity == "nearer" and "contiguity" not in relax:
            self._add_nearer(prob)
        if contiguity in ("cuts", "auto") and "contiguity" not in relax:
            # the separator cuts for single units, added up front: a unit away from its hub
            # needs a neighbour in the same cluster
            adj = p.adjacency
            for i, j in self.pairs:
                if i != j and j not in adj[i]:
                    add_row(prob, [(x[i, j], 1)] + [(x[k, j], -1) for k in adj[i] if (k, j) in x], LE, 0, f"nb_{i}_{j}")
        self.excluding = bool(exclude)
        self.fixed_by_cost = 0
        self.fixed_by_lagrangian = 0 if pruning is None else pruning.fixed
        self.lp_bound: float | None = None
        self.lp_cut_rows = 0  # separator rows added at LP points (lp_relaxation)
        self.lagrangian_bound = None if pruning is None else pruning.bound
        self.cuts: list[SeparatorCut] = []
        self._cut_keys: set = set()
        # no-goods: each earlier plan (hub per unit) is forbidden. A plan is the same partition
        # exactly when every unit sits with a hub from its old cluster (at the same count)
        for e_idx, old in enumerate(exclude or []):
            groups: dict[int, set[int]] = {}
            for i, h in enumerate(old):
                groups.setdefault(h, set()).add(i)
            same = pulp.lpSum(x[i, j] for g in groups.values() for i in g for j in g if (i, j) in x)
            prob += same <= n - 1, f"nogood_{e_idx}"

    def _objective(self, count: pulp.LpAffineExpression) -> pulp.LpAffineExpression:
        p, x = self.p, self.x
        terms = []
        if p.objective == "hess" and p.cost is not None:
            cost = p.cost.get  # zero costs left out, as PuLP's operators do
            terms.append(
                pulp.LpAffineExpression([(x[i, j], c) for i, j in self.pairs if (c := cost((i, j), 0.0)) != 0])
            )
        edge_w = dict(p.edge_weights)
        if p.objective == "cut_edges":
            for e in p.edges():
                edge_w[e] = edge_w.get(e, 0.0) + 1.0
        if edge_w:
            # y_ab = sum_j (x_aj - x_bj)^+ (the published extended form; both sides sum to
            # one, so it is 1 - sum_j min(x_aj, x_bj)): stronger in the LP than one
            # y_ab >= x_aj - x_bj per j, and one row per (edge, hub) where the min form needs two
            y = {}
            for a, b in sorted(edge_w):
                common = set(self.by_unit[b])
                parts = []
                for j in self.by_unit[a]:
                    if j in common:
                        z = pulp.LpVariable(f"w_{a}_{b}_{j}", lowBound=0, upBound=1)
                        add_row(self.prob, ((z, 1), (x[a, j], -1), (x[b, j], 1)), GE, 0, f"wa_{a}_{b}_{j}")
                        parts.append(z)
                    else:
                        parts.append(x[a, j])
                y[a, b] = pulp.lpSum(parts)
            terms.append(pulp.lpSum(w * y[e] for e, w in sorted(edge_w.items())))
        for lab, mode, pen, tag in (
            (p.district, p.district_mode, p.district_penalty, "d"),
            (p.division, p.division_mode, p.division_penalty, "v"),
        ):
            if lab is None or mode != "penalty" or pen <= 0:
                continue
            for j in self.hubs:
                labels = sorted({lab[i] for i in self.by_hub[j]})
                if len(labels) <= 1:
                    continue
                z = {d: pulp.LpVariable(f"z{tag}_{j}_{k}", lowBound=0, upBound=1) for k, d in enumerate(labels)}
                for i in self.by_hub[j]:
                    add_row(self.prob, ((z[lab[i]], 1), (x[i, j], -1)), GE, 0, f"touch{tag}_{i}_{j}")
                terms.append(pen * (pulp.lpSum(z.values()) - x[j, j]))
        return pulp.lpSum(terms)

    def _add_crossing_cap(self, prob: pulp.LpProblem) -> None:
        """At most ``p.crossing_cap`` clusters whose schools lie in more than one district.

        ``c_j`` (binary) is 1 when hub ``j``'s cluster touches two or more of the labels
        ``p.touches`` gives its units: ``y_jd >= x_ij`` for each label ``d`` of unit ``i``, and
        ``(L_j - 1) c_j >= sum_d y_jd - x_jj`` with ``L_j`` the labels hub ``j`` could touch.
        """
        p, x = self.p, self.x
        touches = p.touches
        assert touches is not None  # build() sets the district labels whenever it sets the cap
        crossing = []
        for j in self.hubs:
            labels = sorted({d for i in self.by_hub[j] for d in touches[i]})
            if len(labels) <= 1:
                continue
            y = {d: pulp.LpVariable(f"yc_{j}_{k}", lowBound=0, upBound=1) for k, d in enumerate(labels)}
            c = pulp.LpVariable(f"cross_{j}", cat=pulp.LpBinary)
            for i in self.by_hub[j]:
                for d in sorted(touches[i]):
                    add_row(prob, ((y[d], 1), (x[i, j], -1)), GE, 0, f"cy_{i}_{j}_{labels.index(d)}")
            add_row(prob, [(c, len(labels) - 1), (x[j, j], 1)] + [(v, -1) for v in y.values()], GE, 0, f"cc_{j}")
            crossing.append(c)
        prob += pulp.lpSum(crossing) <= p.crossing_cap, "crossing_cap"

    def _add_nearer(self, prob: pulp.LpProblem) -> None:
        """The "closer neighbour" rule: a unit may join hub ``j`` only with a neighbour that is
        nearer to ``j`` in the same cluster (nearer by cost per unit of weight, then by steps).
        Every plan it admits is contiguous (each unit has a path of ever nearer units to its
        hub) and no cut loop is needed, but it also rules out some contiguous plans: it gives
        a warm start and an upper bound, never the proven answer."""
        p, x = self.p, self.x
        adj = p.adjacency
        w = p.measures[sorted(p.bounds)[0]] if p.bounds else None
        for j in self.hubs:
            steps = _steps_from(j, adj)
            key = {}
            for i in self.by_hub[j]:
                c = p.cost.get((i, j), 0.0) if p.cost is not None else 0.0
                key[i] = (c / w[i] if w is not None and w[i] > 0 else c, steps.get(i, len(adj)), i)
            for i in self.by_hub[j]:
                if i != j:
                    nearer = [k for k in adj[i] if k in key and key[k] < key[i]]
                    add_row(prob, [(x[i, j], 1)] + [(x[k, j], -1) for k in nearer], LE, 0, f"near_{i}_{j}")

    def _flow_size(self) -> int:
        """Flow variables the compact model would add (arcs inside each hub's reach)."""
        adj = self.p.adjacency
        total = 0
        for j in self.hubs:
            members = set(self.by_hub[j])
            total += sum(1 for u in members for v in adj[u] if v in members and v != j)
        return total

    def _add_flow(self, prob: pulp.LpProblem) -> None:
        """Single-commodity flow per hub (Shirabe's idea on the Hess model): compact, weaker."""
        adj = self.p.adjacency
        for j in self.hubs:
            members = set(self.by_hub[j])
            big = float(most_units(self.p, sorted(members)) - 1)
            f = {}
            for u in sorted(members):
                for v in adj[u]:
                    if v in members and v != j:
                        f[u, v] = pulp.LpVariable(f"f_{j}_{u}_{v}", lowBound=0)
                        add_row(prob, ((f[u, v], 1), (self.x[v, j], -big)), LE, 0, f"fcap_{j}_{u}_{v}")
                        add_row(prob, ((f[u, v], 1), (self.x[u, j], -big)), LE, 0, f"fcapo_{j}_{u}_{v}")
            for i in sorted(members - {j}):
                add_row(
                    prob,
                    [(f[u, i], 1) for u in adj[i] if (u, i) in f]
                    + [(f[i, v], -1) for v in adj[i] if (i, v) in f]
                    + [(self.x[i, j], -1)],
                    EQ,
                    0,
                    f"fbal_{j}_{i}",
                )

    def add_cuts(self, cuts: list[SeparatorCut], *, all_hubs: bool | None = None) -> int:
        """Add separator cuts (:func:`~clustergeo.solve.cuts.rows`: with ``all_hubs``, the
        default, a stray piece is cut off from every hub beyond its boundary)."""
        all_hubs = True if all_hubs is None else all_hubs
        added = 0
        for key in cut_rows(cuts, self.p.adjacency, self.by_unit, all_hubs=all_hubs):
            j, sep, piece = key
            if key in self._cut_keys:
                continue
            self._cut_keys.add(key)
            lhs = pulp.lpSum(self.x[s, j] for s in sep if (s, j) in self.x)
            for a in piece:
                if (a, j) in self.x:
                    self.prob += lhs >= self.x[a, j], f"sep_{len(self._cut_keys)}_{a}"
                    added += 1
        self.cuts.extend(cuts)
        return added

    def fix_by_reduced_cost(self, upper: float, *, threads: int, seed: int, time_limit: float | None = None) -> int:
        """Fix out every pair that no plan better than ``upper`` can use (reduced-cost fixing).

        Solve the LP relaxation (:meth:`lp_relaxation`: with contiguity by cuts, strengthened
        by the separator cuts its points violate); a pair ``(i, j)`` at zero with reduced cost
        ``d`` can only be in a plan costing at least ``LP + d``, so when that exceeds the cost
        of a plan in hand (the warm start) the pair is fixed to zero. Exact: the plan in hand
        keeps all its pairs (each costs at most ``upper``), so the solver still finds it or
        something better. Returns the number of pairs fixed."""
        info = self.lp_relaxation(threads=threads, seed=seed, time_limit=time_limit)
        if info.status != "optimal" or info.objective is None:
            return 0  # reduced costs prove something only at an optimal LP
        margin = 1e-6 * max(1.0, abs(upper)) + 1e-6
        fixed = 0
        for var in self.x.values():
            dj = var.dj
            if (
                var.upBound != 0
                and dj is not None
                and (var.varValue or 0.0) < 1e-6
                and info.objective + dj > upper + margin
            ):
                var.upBound = 0
                fixed += 1
        return fixed

    def lp_relaxation(self, *, threads: int, seed: int, time_limit: float | None = None) -> solvers.SolveInfo:
        """Solve the LP relaxation (by HiGHS whatever the MIP solver), leaving its values and
        reduced costs on the variables and its bound in ``lp_bound``.

        With contiguity by cuts, the separator cuts the LP point violates
        (:func:`~clustergeo.solve.cuts.separate_fractional`) are added and the LP solved again,
        for up to ``LP_SEPARATION_ROUNDS`` rounds: the cut loop then starts from a tighter model
        (Norfolk's King's Lynn district: proved in 51 s instead of 77 s). Where the LP point
        violates none (the county graphs) this is the one LP solve it was."""
        variables = solvers.problem_variables(self.prob)
        cats = [v.cat for v in variables]
        separating = self.contiguity in ("cuts", "auto") and "contiguity" not in self.relax
        t0 = time.perf_counter()
        info = solvers.SolveInfo("no solution", False, None, None, None, 0.0)
        for v in variables:
            v.cat = pulp.LpContinuous
        try:
            for r in range(LP_SEPARATION_ROUNDS + 1):
                left = None if time_limit is None else time_limit - (time.perf_counter() - t0)
                if left is not None and left <= 0:
                    break
                s = solvers.make("highs", time_limit=left, gap=None, threads=threads, seed=seed, warm_start=False)
                info = solvers.run(self.prob, s)
                if info.status != "optimal" or info.objective is None:
                    break
                self.lp_bound = info.objective if self.lp_bound is None else max(self.lp_bound, info.objective)
                if not separating or r == LP_SEPARATION_ROUNDS:
                    break
                point = support((ij, var.varValue or 0.0) for ij, var in self.x.items())
                added = self.add_cuts(separate_fractional(point, self.p.adjacency), all_hubs=False)
                self.lp_cut_rows += added
                if not added:
                    break
                log.debug("LP round %d: bound %s, %d separator rows added", r + 1, f"{info.objective:,.1f}", added)
        finally:
            for v, cat in zip(variables, cats):
                v.cat = cat
        return info

    def set_start(self, assignment: list[int] | None) -> bool:
        """Warm start from a plan (hub per unit). Returns False if the plan does not fit the model."""
        for v in solvers.problem_variables(self.prob):
            v.varValue = None
        if assignment is None or any((i, j) not in self.x for i, j in enumerate(assignment)):
            return False
        chosen = set(enumerate(assignment))
        hubs = set(assignment)
        for (i, j), var in self.x.items():
            var.setInitialValue(1 if (i, j) in chosen or (i == j and j in hubs) else 0)
        # continuous helpers: leave the solver to complete them (HiGHS needs a full vector)
        for v in solvers.problem_variables(self.prob):
            if v.varValue is None:
                v.setInitialValue(0)
        return True

    def _highs_options(self, time_left: float | None = None) -> dict | None:
        """HiGHS options for this model. Cut edges: a weak LP and many branching candidates
        that look alike; HiGHS strong-branches each until its pseudocost has 8 samples (over
        a third of the LP iterations on Arkansas). Trusting pseudocosts at once closed
        Oklahoma's tree in 83 s instead of 218 s (the same model, dumped).

        No presolve when it could not finish in ``time_left`` seconds (about
        ``PRESOLVE_SECONDS_PER_PAIR`` a unit-hub pair): HiGHS's presolve does not stop at its
        time limit, so the solve would overrun the limit and give nothing more."""
        options: dict[str, Any] = {}
        if self.p.objective == "cut_edges" and self.stage == "objective":
            options["mip_pscost_minreliable"] = 0
        if time_left is not None and len(self.x) * PRESOLVE_SECONDS_PER_PAIR > time_left:
            options["presolve"] = "off"
        return options or None

    def branch_and_cut(self, solver: str) -> Any:
        """What SCIP's contiguity handler needs (None for other solvers, or when this model's
        contiguity is not by cuts): then the separator cuts are added inside one tree."""
        if solver != "scip" or self.contiguity not in ("cuts", "auto") or "contiguity" in self.relax:
            return None
        from ..backends.scip import Contiguity

        return Contiguity(self.x, self.p.adjacency, self.by_unit, all_hubs=True)

    def _early_stop(self) -> _StopInPieces | None:
        """With contiguity by cuts, the test that ends a round at its first near-optimal plan
        with a cluster in pieces (:class:`_StopInPieces`)."""
        if self.contiguity not in ("cuts", "auto") or "contiguity" in self.relax:
            return None
        return _StopInPieces(self)

    def read(self) -> list[int]:
        out = [-1] * self.p.n
        for (i, j), var in self.x.items():
            if var.varValue is not None and var.varValue > 0.5:
                out[i] = j
        return out

    def _fix_by_cost(self, start, run, *, time_limit, threads, seed, progress) -> None:
        """Rule out more unit-hub pairs by the LP's reduced costs (the Lagrangian bound already pruned
        the pairs the model was built on: :func:`prune`)."""
        # (a crossing cap or extra rows make a heuristic start's cost no valid upper bound: no fixing then)
        if self.stage == "objective" and not self.excluding and self.p.crossing_cap is None and not self.p.pair_rows:
            from ..heuristics.greedy import plan_cost

            if all((i, j) in self.x for i, j in enumerate(start)):
                upper = plan_cost(self.p, start)
                if self.lagrangian_bound is not None:  # (from the pruning the model was built with)
                    run.bound = self.lagrangian_bound
                if len(self.x) <= LP_FIXING_MAX_PAIRS:
                    stage(progress, "solving the LP relaxation: ruling out more pairs by their reduced costs")
                    self.fixed_by_cost = self.fix_by_reduced_cost(
                        upper,
                        threads=threads,
                        seed=seed,
                        time_limit=None
                        if time_limit is None
                        else max(BUDGET.lp_fixing_share * time_limit, BUDGET.min_seconds),
                    )
                if self.lp_bound is not None:  # the LP relaxation bounds the problem too
                    run.bound = self.lp_bound if run.bound is None else max(run.bound, self.lp_bound)
                run.cuts += self.lp_cut_rows
                log.info(
                    "reduced-cost fixing: LP %s (%d separator rows), warm start %s: %d of %d pairs fixed out",
                    f"{self.lp_bound:,.1f}" if self.lp_bound is not None else "-",
                    self.lp_cut_rows,
                    f"{upper:,.1f}",
                    self.fixed_by_cost,
                    len(self.x),
                )

    def solve(
        self,
        *,
        solver: str,
        time_limit: float | None,
        gap: float | None,
        threads: int,
        seed: int,
        msg: bool = False,
        start: list[int] | None = None,
        max_rounds: int = 200,
        progress=None,
        reduced_cost_fixing: bool = True,
    ) -> ModelRun:
        """Solve, separate, re-solve until every cluster is connected (or time runs out)."""
        t0 = time.perf_counter()
        run = ModelRun(None, "no solution", None, None, variables=len(solvers.problem_variables(self.prob)))
        incumbent = start
        if start is not None and reduced_cost_fixing:
            self._fix_by_cost(start, run, time_limit=time_limit, threads=threads, seed=seed, progress=progress)
        full_rounds = 0  # rounds solved to the end (not stopped at a plan in pieces)
        for r in range(1, max_rounds + 1):
            left = None if time_limit is None else max(time_limit - (time.perf_counter() - t0), 1.0)
            warm = self.set_start(incumbent)
            handler = self.branch_and_cut(solver)
            early = self._early_stop() if solver == "highs" else None
            s = solvers.make(
                solver,
                time_limit=left,
                gap=gap,
                threads=threads,
                seed=seed,
                msg=msg,
                warm_start=warm,
                highs_options=self._highs_options(left),
                report=ticker(progress, r, t0),
                contiguity=handler,
                stop_at=early,
            )
            info = solvers.run(self.prob, s)
            full_rounds += not (early is not None and early.stopped)
            if handler is not None:  # the rows SCIP's constraint handler added inside its tree
                run.cuts += handler.integer_rows + handler.fractional_rows
                self.cuts.extend(handler.found)
            if info.status == "infeasible":
                run.status = "infeasible"
                run.rounds.append(RoundLog(r, "infeasible", None, None, 0, info.seconds))
                break
            if not info.has_solution:
                run.status = "no solution"
                run.rounds.append(RoundLog(r, "no solution", None, info.bound, 0, info.seconds))
                break
            assignment = self.read()
            cuts = (
                []
                if self.contiguity in ("flow", "none", "flow+cuts", "nearer")
                else separate(assignment, self.p.adjacency)
            )
            added = self.add_cuts(cuts) if cuts else 0
            # a lower bound of a relaxation (fewer cuts) bounds the full problem too
            if info.bound is not None:
                run.bound = info.bound if run.bound is None else max(run.bound, info.bound)
            status = "stopped early" if cuts and early is not None and early.stopped else info.status
            rl = RoundLog(r, status, info.objective, info.bound, added, time.perf_counter() - t0, info.nodes)
            run.rounds.append(rl)
            run.cuts += added
            log.info(describe(rl))
            if progress is not None:
                progress(rl)
            out_of_time = time_limit is not None and time.perf_counter() - t0 >= time_limit
            if not cuts and early is not None and early.stopped and info.status != "optimal" and not out_of_time:
                # stopped for a plan in pieces, then ended on a whole one before the stop took
                # hold: not proved, so the next round starts from it
                from ..heuristics.greedy import plan_cost

                if incumbent is None or plan_cost(self.p, assignment) < plan_cost(self.p, incumbent):
                    incumbent = assignment
                continue
            if not cuts:
                run.assignment, run.objective = assignment, info.objective
                run.status = info.status
                break
            if self.contiguity == "auto" and full_rounds >= self.auto_rounds:
                # the loop is crawling: add the compact flow model (the cuts found so far stay
                # and tighten it); the next solve is then exact without further rounds
                self._add_flow(self.prob)
                self.contiguity = "flow+cuts"
                log.info("switching to the flow formulation after %d rounds", r)
            # the next round starts from the plan mended (not with excluded plans: it may be one)
            if self.stage == "objective" and not self.excluding:
                from ..heuristics.greedy import plan_cost, repair

                fixed = repair(self.p, assignment)
                if fixed is not None and (incumbent is None or plan_cost(self.p, fixed) < plan_cost(self.p, incumbent)):
                    incumbent = fixed
            if time_limit is not None and time.perf_counter() - t0 >= time_limit:
                run.status = "time limit"
                break
        run.seconds = time.perf_counter() - t0
        run.constraints = len(self.prob.constraints)
        run.incumbent = incumbent
        return run
