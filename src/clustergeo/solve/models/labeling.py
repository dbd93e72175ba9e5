"""The labelling model for the cut-edges objective: ``k`` numbered clusters, no hubs.

``x[i, c] = 1`` when unit ``i`` is in cluster ``c`` (``c = 0 .. k-1``). The numbering is fixed
by the units' order (:func:`~clustergeo.solve.roots.root_order`: the roots every cluster must
hold first, heaviest first): the clusters are numbered in the order of their first units, the
"orbitope" rule, written as an extended formulation (Faenza & Kaibel), so that each partition
has exactly one labelling. ``r[i, c] = 1`` when ``i`` is the first unit of cluster ``c``.
Contiguity is one flow over the whole graph (each unit but a cluster's first consumes one
unit of flow; only first units send it; no flow across a cut edge). The cut edges are
``sum_c z[a, b, c]`` with ``z[a, b, c] >= x[a, c] - x[b, c]``.

This is Validi & Buchanan's default for the cut-edges objective (Political districting to
minimize cut edges, Math. Prog. Comp. 2022), written afresh for PuLP and HiGHS. On the US
county graphs at +-0.5% (HiGHS 1.16, one thread, the same roots and warm start, MIP alone,
cut separation at every node for both; :data:`HIGHS_OPTIONS` now turns it off below the root
here, with the figures that gives) it proves Arkansas in 180 s instead of 321 s with the
rooted Hess model, Oklahoma in 101 s instead of 114 s and Iowa in 156 s instead of 791 s (the
reach rows below included). It also has a fixed size (``k`` labels, not one per root), so it
is what ``contiguity="auto"`` uses for cut edges with an exact count.

Fixing (exact): the unit in position ``t`` of the order can only be in clusters ``0 .. t``;
a unit that is not a root never starts a cluster; the last ``t`` roots cannot start the first
``k - t`` clusters; and a unit can only be in a cluster started by a root that reaches it
through later units within the maximum (the Hess model's rooted pairs, as rows
``x[i, c] <= sum of r[j, c]`` over those roots ``j``).
"""

from __future__ import annotations

import logging
import time

import pulp

from ..backends import solvers
from ..problem import PartitionProblem
from ..progress import RoundLog, ticker
from .hess import EQ, GE, LE, ModelRun, add_row, most_units

log = logging.getLogger("clustergeo.solve")

#: HiGHS options for this model: branching on pseudo-costs at once, and no cut separation
#: below the root (a larger tree of much cheaper nodes: the county proofs are faster).
HIGHS_OPTIONS = {"mip_pscost_minreliable": 0, "mip_allow_cut_separation_at_nodes": False}


def applies(p: PartitionProblem, k: int | None, *, exclude: bool = False) -> bool:
    """Whether the labelling model can take this problem: the cut-edges objective (with
    non-negative edge weights), an exact count, hub roots known, no district rule or penalty,
    nothing to exclude. (With fewer roots than clusters there is no plan at all: every cluster
    holds its own root; the caller lets the Hess model prove it.)"""
    return (
        p.objective == "cut_edges"
        and k is not None
        and k >= 2
        and p.hub_rank is not None
        and not exclude
        and p.district_mode is None
        and p.division_mode is None
        and min(p.edge_weights.values(), default=0.0) >= 0
    )


def _assign_and_bounds(prob: pulp.LpProblem, p: PartitionProblem, x: dict, k: int) -> None:
    """Each unit in one cluster; each cluster within every size bound (the pairs in ``x``)."""
    labels = range(k)
    for i in range(p.n):
        add_row(prob, [(x[i, c], 1) for c in labels if (i, c) in x], EQ, 1, f"assign_{i}")
    for m, (lo, hi) in sorted(p.bounds.items()):
        w = p.measures[m]
        for c in labels:
            terms = [(x[i, c], float(w[i])) for i in range(p.n) if w[i] != 0 and (i, c) in x]
            if lo is not None:
                add_row(prob, terms, GE, float(lo), f"min_{m}_{c}")
            if hi is not None:
                add_row(prob, terms, LE, float(hi), f"max_{m}_{c}")


def _edge_weights(p: PartitionProblem) -> dict[tuple[int, int], float]:
    """Every edge counts 1 (a cut edge) plus its weight."""
    edge_w: dict[tuple[int, int], float] = dict(p.edge_weights)
    for e in p.edges():
        edge_w[e] = edge_w.get(e, 0.0) + 1.0
    return edge_w


def _binaries(name: str, n: int, k: int, keep: set | None = None) -> dict:
    """``name[i, c]`` binaries for units ``i`` and clusters ``c`` (only the pairs in ``keep``)."""
    return {
        (i, c): pulp.LpVariable(f"{name}_{i}_{c}", cat=pulp.LpBinary)
        for i in range(n)
        for c in range(k)
        if keep is None or (i, c) in keep
    }


def _cut_edges(prob: pulp.LpProblem, p: PartitionProblem, x: dict, k: int) -> dict:
    """The objective: every edge counts 1 (a cut edge) plus its weight, through ``z[a, b, c] >=
    x[a, c] - x[b, c]``, written only where ``a`` may be in ``c`` (elsewhere the right side is
    never positive; a missing ``x[b, c]`` is 0). Returns ``z``."""
    edge_w = _edge_weights(p)
    z = {}
    for a, b in sorted(edge_w):
        for c in range(k):
            if (a, c) not in x:
                continue
            z[a, b, c] = pulp.LpVariable(f"z_{a}_{b}_{c}", cat=pulp.LpBinary)
            terms = [(z[a, b, c], 1), (x[a, c], -1)] + ([(x[b, c], 1)] if (b, c) in x else [])
            add_row(prob, terms, GE, 0, f"cut_{a}_{b}_{c}")
    prob += pulp.LpAffineExpression(
        [(z[a, b, c], w_e) for (a, b), w_e in sorted(edge_w.items()) for c in range(k) if w_e != 0 and (a, b, c) in z]
    )
    return z


def _flow(prob: pulp.LpProblem, p: PartitionProblem, r: dict, z: dict, k: int) -> None:
    """One flow: a unit that starts no cluster consumes one unit; flow stays inside clusters."""
    labels = range(k)
    big = float(most_units(p, list(range(p.n))))
    adj = p.adjacency
    f = {}
    for a, b in p.edges():
        f[a, b] = pulp.LpVariable(f"f_{a}_{b}", lowBound=0)
        f[b, a] = pulp.LpVariable(f"f_{b}_{a}", lowBound=0)
    for v in range(p.n):
        add_row(
            prob,
            [(f[u_, v], 1) for u_ in adj[v]]
            + [(f[v, u_], -1) for u_ in adj[v]]
            + [(r[v, c], big) for c in labels if (v, c) in r],
            GE,
            1,
            f"flow_{v}",
        )
    for a, b in p.edges():  # every edge has its cut variables (each counts at least 1)
        add_row(
            prob,
            [(f[a, b], 1), (f[b, a], 1)] + [(z[a, b, c], big - 1) for c in labels if (a, b, c) in z],
            LE,
            big - 1,
            f"fcap_{a}_{b}",
        )


class LabelingModel:
    """The labelling MIP for one :class:`PartitionProblem` with ``k`` clusters (cut-edges objective)."""

    def __init__(self, p: PartitionProblem, k: int, allowed: list[list[int]] | None = None):
        prob, order, q = self._begin(p, k)
        n = p.n
        labels = range(k)
        x, r = _binaries("x", n, k), _binaries("r", n, k)
        self.x, self.r = x, r
        _assign_and_bounds(prob, p, x, k)
        self.z = z = _cut_edges(prob, p, x, k)
        # orbitope extended formulation: s[i, c] = "i is in a cluster numbered c or later",
        # w[i, c] = "cluster c has started by i's position", u carries the staircase
        s = {(i, c): pulp.LpVariable(f"s_{i}_{c}", lowBound=0) for i in range(n) for c in labels}
        w_ = {(i, c): pulp.LpVariable(f"w_{i}_{c}", lowBound=0) for i in range(n) for c in labels}
        u = {(i, c): pulp.LpVariable(f"u_{i}_{c}", lowBound=0) for i in range(n) for c in labels}
        for i in range(n):
            for c in range(k - 1):
                add_row(prob, ((x[i, c], 1), (s[i, c], -1), (s[i, c + 1], 1)), EQ, 0, f"os_{i}_{c}")
            add_row(prob, ((x[i, k - 1], 1), (s[i, k - 1], -1)), EQ, 0, f"os_{i}_{k - 1}")
            for c in labels:
                add_row(prob, ((r[i, c], 1), (x[i, c], -1)), LE, 0, f"rx_{i}_{c}")
                add_row(prob, ((s[i, c], 1), (w_[i, c], -1)), LE, 0, f"sw_{i}_{c}")
        for c in labels:
            add_row(prob, ((r[order[0], c], 1), (w_[order[0], c], -1)), EQ, 0, f"ow_0_{c}")
            for t in range(1, n):
                add_row(
                    prob, ((r[order[t], c], 1), (w_[order[t], c], -1), (w_[order[t - 1], c], 1)), EQ, 0, f"ow_{t}_{c}"
                )
        for t in range(n - 1):
            a, b = order[t], order[t + 1]
            for c in range(k - 1):
                add_row(prob, ((u[a, c], 1), (r[a, c], 1), (u[b, c], -1), (r[b, c + 1], -1)), EQ, 0, f"ou_{t}_{c}")
            add_row(prob, ((u[a, k - 1], 1), (r[a, k - 1], 1), (u[b, k - 1], -1)), EQ, 0, f"ou_{t}_{k - 1}")
        last = order[-1]
        for c in range(k - 1):
            add_row(prob, ((u[last, c], 1), (r[last, c], 1)), EQ, 0, f"oend_{c}")
        add_row(prob, ((u[last, k - 1], 1), (r[last, k - 1], 1)), EQ, 1, "oend_last")
        r[order[0], 0].lowBound = 1
        _flow(prob, p, r, z, k)
        # fixing
        fixed = 0
        for t, i in enumerate(order):
            for c in range(t + 1, k):
                x[i, c].upBound = 0
                fixed += 1
        for i in order[q:]:
            for c in labels:
                r[i, c].upBound = 0
                fixed += 1
        for t in range(1, k):
            i = order[q - t]
            for c in range(k - t):
                if r[i, c].upBound != 0:
                    r[i, c].upBound = 0
                    fixed += 1
        # reach: a cluster's first unit is a root that takes every member through later units
        # within the maximum (roots.rooted_reach, in ``allowed``), so x[i, c] needs such a root
        # to start cluster c (these rows shorten the county proofs by about a third)
        if allowed is not None:
            root_pos = {v: t for t, v in enumerate(order[:q])}
            for i in range(n):
                hubs = [j for j in allowed[i] if j in root_pos]
                for c in labels:
                    if x[i, c].upBound == 0:
                        continue
                    can = [j for j in hubs if root_pos[j] >= c and r[j, c].upBound != 0]
                    if not can:
                        x[i, c].upBound = 0
                        fixed += 1
                    else:
                        add_row(prob, [(x[i, c], 1)] + [(r[j, c], -1) for j in can], LE, 0, f"reach_{i}_{c}")
        self._end(fixed)

    def _begin(self, p: PartitionProblem, k: int) -> tuple[pulp.LpProblem, list[int], int]:
        """The problem, the units in root order (roots first) and the number of roots."""
        self.p, self.k = p, k
        rank = p.hub_rank
        assert rank is not None, "the labelling model needs the root order (roots.root_order)"
        self.order = sorted(range(p.n), key=lambda v: int(rank[v]))
        self.position = {v: t for t, v in enumerate(self.order)}
        self.prob = pulp.LpProblem("clustergeo_labels", pulp.LpMinimize)
        return self.prob, self.order, int(p.hub_roots)

    def _end(self, fixed: int) -> None:
        self.fixed = fixed
        self.fixed_by_lagrangian = 0
        self.fixed_by_cost = 0
        log.info(
            "labelling model: %d units, %d clusters, %d roots, %d variables fixed",
            self.p.n,
            self.k,
            int(self.p.hub_roots),
            fixed,
        )

    def _firsts(self, cluster: list[int]) -> dict[int, int]:
        """Each cluster's first unit in the root order (units at -1 left out)."""
        first: dict[int, int] = {}
        for i in self.order:
            if cluster[i] >= 0:
                first.setdefault(cluster[i], i)
        return first

    def labels_of(self, assignment: list[int]) -> list[int]:
        """A plan (hub per unit) as cluster numbers in the orbitope order."""
        first = self._firsts(assignment)
        rank = {h: c for c, h in enumerate(sorted(first, key=lambda h: self.position[first[h]]))}
        return [rank[h] for h in assignment]

    def set_start(self, assignment: list[int] | None) -> bool:
        for v in solvers.problem_variables(self.prob):
            v.varValue = None
        if assignment is None or len(set(assignment)) != self.k:
            return False
        lab = self.labels_of(assignment)
        firsts = set(self._firsts(lab).values())
        if any(self.r.get((i, lab[i])) is None or self.r[i, lab[i]].upBound == 0 for i in firsts) or any(
            self.x.get((i, lab[i])) is None or self.x[i, lab[i]].upBound == 0 for i in range(self.p.n)
        ):
            return False  # a plan the fixing rules out cannot be (it is not a valid plan)
        for (i, c), var in self.x.items():
            var.setInitialValue(1 if lab[i] == c else 0)
        for (i, c), var in self.r.items():
            var.setInitialValue(1 if lab[i] == c and i in firsts else 0)
        for (a, b, c), var in self.z.items():
            var.setInitialValue(1 if lab[a] == c and lab[b] != c else 0)
        return True

    def read(self) -> list[int]:
        """The plan as hub per unit, the hub being each cluster's first unit."""
        lab = [-1] * self.p.n
        for (i, c), var in self.x.items():
            if var.varValue is not None and var.varValue > 0.5:
                lab[i] = c
        first = self._firsts(lab)
        return [first[c] if c >= 0 else -1 for c in lab]

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
        progress=None,
        **_ignored,
    ) -> ModelRun:
        """One solve: the flow makes every plan contiguous, so there is no cut loop."""
        t0 = time.perf_counter()
        variables = solvers.problem_variables(self.prob)
        run = ModelRun(
            None, "no solution", None, None, variables=len(variables), constraints=len(self.prob.constraints)
        )
        warm = self.set_start(start)
        options = HIGHS_OPTIONS if solver == "highs" else None
        s = solvers.make(
            solver,
            time_limit=time_limit,
            gap=gap,
            threads=threads,
            seed=seed,
            msg=msg,
            warm_start=warm,
            highs_options=options,
            report=ticker(progress, 1, t0),
        )
        info = solvers.run(self.prob, s)
        run.seconds = time.perf_counter() - t0
        if info.status == "infeasible":
            run.status = "infeasible"
            run.rounds.append(RoundLog(1, "infeasible", None, None, 0, run.seconds))
            return run
        run.bound = info.bound
        if not info.has_solution:
            run.rounds.append(RoundLog(1, "no solution", None, info.bound, 0, run.seconds))
            run.incumbent = start
            return run
        assignment = self.read()
        if -1 in assignment or len(set(assignment)) != self.k:
            log.warning("the labelling model returned an incomplete plan: ignored")
            run.incumbent = start
            return run
        run.assignment, run.objective, run.status = assignment, info.objective, info.status
        run.incumbent = start
        rl = RoundLog(1, info.status, info.objective, info.bound, 0, run.seconds, info.nodes)
        run.rounds.append(rl)
        log.info(
            "labelling model: %s, objective %s, bound %s, %.1f s",
            info.status,
            f"{info.objective:,.1f}",
            "-" if info.bound is None else f"{info.bound:,.1f}",
            run.seconds,
        )
        if progress is not None:
            progress(rl)
        return run


class CompactLabelingModel(LabelingModel):
    """The same model written without what the fixing rules out, for solvers with a size limit.

    Variables fixed at zero are never created, the orbitope rows cover only the roots (every
    other unit comes after them, when every cluster has started, so the rows say nothing there)
    and "i is in cluster c or later" is written out instead of kept as a variable. Same LP
    bound and same plans, a little over half the columns: Iowa's county model (99 units, four
    clusters) has 1,862 columns and 1,896 rows instead of 3,312 and 3,686, inside the 2,000 of
    each that Gurobi's pip licence allows. HiGHS keeps the full layout: on Iowa it proved the
    compact one in 147-204 s against 119-149 s for the full one (four seeds and three, one thread;
    its presolve shrinks both to about the same size), a difference of layout, not of bound.
    """

    def __init__(self, p: PartitionProblem, k: int, allowed: list[list[int]] | None = None):
        prob, order, q = self._begin(p, k)
        n = p.n
        labels = range(k)
        roots = order[:q]
        root_pos = {v: t for t, v in enumerate(roots)}
        # fixing (exact), done before the model is written so that fixed variables never exist:
        # the unit in position t can only be in clusters 0 .. t; only roots start clusters; the
        # last t roots cannot start the first k - t clusters; a unit can only be in a cluster
        # started by a root that reaches it within the maximum (``allowed``)
        can_x = {(i, c) for t, i in enumerate(order) for c in range(min(t + 1, k))}
        can_r = {(i, c) for t, i in enumerate(roots) for c in range(max(0, k - (q - t)), min(t + 1, k))}
        reach: dict[tuple[int, int], list[int]] = {}
        hubs = None if allowed is None else {i: [j for j in allowed[i] if j in root_pos] for i in range(n)}
        while True:  # the rules feed each other (r needs x; x needs a root that may start c)
            if hubs is not None:
                reach = {(i, c): [j for j in hubs[i] if (j, c) in can_r] for (i, c) in can_x}
                keep_x = {ic for ic in can_x if reach[ic]}
            else:
                keep_x = set(can_x)
            keep_r = {ic for ic in can_r if ic in keep_x}
            if keep_x == can_x and keep_r == can_r:
                break
            can_x, can_r = keep_x, keep_r
        x, r = _binaries("x", n, k, can_x), _binaries("r", n, k, can_r)
        self.x, self.r = x, r
        _assign_and_bounds(prob, p, x, k)
        self.z = z = _cut_edges(prob, p, x, k)
        # orbitope extended formulation over the roots (every other unit comes after them, when
        # every cluster has started, so the rules say nothing there): w[i, c] = "cluster c has
        # started by root i", u carries the staircase; "i is in a cluster numbered c or later"
        # (sum of x[i, c'] over c' >= c) needs cluster c started
        w_ = {(i, c): pulp.LpVariable(f"w_{i}_{c}", lowBound=0) for i in roots for c in labels}
        u = {(i, c): pulp.LpVariable(f"u_{i}_{c}", lowBound=0) for i in roots for c in labels}

        def rt(i: int, c: int, coef: float) -> list:
            return [(r[i, c], coef)] if (i, c) in r else []

        for i in roots:
            for c in labels:
                if (i, c) in r:
                    add_row(prob, ((r[i, c], 1), (x[i, c], -1)), LE, 0, f"rx_{i}_{c}")
                later = [(x[i, d], 1) for d in range(c, k) if (i, d) in x]
                if later:
                    add_row(prob, later + [(w_[i, c], -1)], LE, 0, f"sw_{i}_{c}")
        for c in labels:
            add_row(prob, rt(roots[0], c, 1) + [(w_[roots[0], c], -1)], EQ, 0, f"ow_0_{c}")
            for t in range(1, q):
                add_row(
                    prob, rt(roots[t], c, 1) + [(w_[roots[t], c], -1), (w_[roots[t - 1], c], 1)], EQ, 0, f"ow_{t}_{c}"
                )
        for t in range(q - 1):
            a, b = roots[t], roots[t + 1]
            for c in range(k - 1):
                add_row(prob, [(u[a, c], 1)] + rt(a, c, 1) + [(u[b, c], -1)] + rt(b, c + 1, -1), EQ, 0, f"ou_{t}_{c}")
            add_row(prob, [(u[a, k - 1], 1)] + rt(a, k - 1, 1) + [(u[b, k - 1], -1)], EQ, 0, f"ou_{t}_{k - 1}")
        last = roots[-1]
        for c in range(k - 1):
            add_row(prob, [(u[last, c], 1)] + rt(last, c, 1), EQ, 0, f"oend_{c}")
        add_row(prob, [(u[last, k - 1], 1)] + rt(last, k - 1, 1), EQ, 1, "oend_last")
        if (roots[0], 0) in r:
            r[roots[0], 0].lowBound = 1
        _flow(prob, p, r, z, k)
        # reach: a cluster's first unit is a root that takes every member through later units
        # within the maximum (roots.rooted_reach, in ``allowed``), so x[i, c] needs such a root
        # to start cluster c (these rows shorten the county proofs by about a third)
        for i, c in sorted(reach):
            if (i, c) in x:
                add_row(
                    prob, [(x[i, c], 1)] + [(r[j, c], -1) for j in reach[i, c] if (j, c) in r], LE, 0, f"reach_{i}_{c}"
                )
        fixed = 2 * n * k - len(x) - len(r)
        self._end(fixed)


__all__ = ["CompactLabelingModel", "LabelingModel", "applies"]
