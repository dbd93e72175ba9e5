"""A fast lower bound for the compactness (Hess) objective, and the pairs it rules out.

The MIP's own bound comes from its LP relaxation, which on a few hundred units with every
unit-hub pair (100,000 to 1,000,000 variables) can take longer than the time limit: the
solver then stops with no bound at all, and a planner sees a 100% gap. The Lagrangian
relaxation of the assignment rows (each unit in exactly one cluster) gives a bound in
seconds whatever the size: with multipliers ``lam``, each possible hub ``j`` independently
chooses its members as a fractional knapsack (members' ``cost[i, j] - lam[i]``, the main
measure between its minimum and maximum), the cheapest hubs open up to the count, and the
value ``sum(lam) + sum(open hubs' values)`` bounds every plan from below. Contiguity, the
other measures and the penalties are left out (they only add cost or remove plans), and
each hub is open or closed outright, which makes the bound at least the LP's of the same
model without contiguity. The multipliers follow the subgradient method with Polyak steps
towards the cost of a plan in hand (Held, Wolfe and Crowder 1974; Beasley 1993 for the
p-median).

The same numbers fix variables against that plan (Lagrangian reduced-cost fixing): a hub
whose opening alone lifts the bound above the plan's cost is closed, and a pair ``(i, j)``
whose knapsack reduced cost does the same is fixed out. The plan keeps all its pairs, so the
optimum is never lost.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np

from .problem import PartitionProblem, cost_matrix

log = logging.getLogger("clustergeo.solve")

BIG = 1e30
STALL_STEPS = 20  # steps without a real rise before the step size is halved
MIN_RISE = 1e-4  # a rise of the bound below this share is no rise: crawling halves the step too


@dataclass
class LagrangianBound:
    """What :func:`lagrangian_bound` found.

    Attributes
    ----------
    bound : float
        A lower bound on every plan's objective (``-inf`` when none was found).
    iterations : int
        Subgradient steps taken.
    seconds : float
        Wall time.
    keep : numpy.ndarray or None
        ``keep[i, j]``: the pair may stay (computed when ``upper`` was given): False where no
        plan cheaper than ``upper`` can use it.
    hubs : list of int
        The hubs the relaxation opens at the best bound (unit indices): where the cheapest
        plans tend to have theirs.
    """

    bound: float
    iterations: int
    seconds: float
    keep: np.ndarray | None = None
    hubs: list[int] = field(default_factory=list)

    @property
    def fixed(self) -> int:
        return 0 if self.keep is None else int((~self.keep).sum())


def _measure(p: PartitionProblem) -> tuple[np.ndarray, float, float] | None:
    """The measure whose window is narrowest against a cluster's mean: (weights, min, max)."""
    best = None
    for m, (lo, hi) in sorted(p.bounds.items()):
        if lo is None and hi is None:
            continue
        w = np.asarray(p.measures[m], dtype=float)
        lo_v = 0.0 if lo is None else float(lo)
        hi_v = float(w.sum()) if hi is None else float(hi)
        width = (hi_v - lo_v) / max(hi_v, 1e-9)
        if best is None or width < best[0]:
            best = (width, w, lo_v, hi_v)
    return None if best is None else best[1:]


class _Knapsacks:
    """Every hub's fractional knapsack for one set of multipliers, vectorised over hubs.
    Arrays are laid out ``[hub, unit]`` (rows contiguous: sorting and gathering along rows
    is several times faster than along columns)."""

    def __init__(self, cost: np.ndarray, allowed: np.ndarray, w: np.ndarray, lo: float, hi: float):
        n = cost.shape[0]
        self.hubs = np.flatnonzero(allowed.diagonal())
        h = self.hubs
        self.cost = np.ascontiguousarray(cost[:, h].T)  # [hub, i]
        member = np.ascontiguousarray(allowed[:, h].T)
        member[np.arange(len(h)), h] = False  # the hub is in its cluster by itself
        self.member = member
        self.w = np.where(member, w[None, :], 0.0)
        self.own = cost[h, h]
        self.lo = lo - w[h]  # what the members must add
        self.hi = hi - w[h]
        self.feasible = (self.hi >= -1e-9) & (self.w.sum(axis=1) >= self.lo - 1e-9)
        self.n = n

    def values(self, lam: np.ndarray, sel: np.ndarray | slice = slice(None)):
        """The knapsacks of the hubs ``sel`` (positions in ``hubs``): (their values, the member
        order by ratio [hub, k], the shares taken in that order, and what ``solve`` needs for
        the band's duals)."""
        h = self.hubs[sel]
        member, w = self.member[sel], self.w[sel]
        rows = np.arange(len(h))[:, None]
        r = np.where(member, self.cost[sel] - lam[None, :], BIG)
        pos = w > 0
        safe_w = np.where(pos, w, 1.0)
        ratio = np.where(pos, r / safe_w, np.where(r < 0, -np.inf, np.inf))
        order = np.argsort(ratio, axis=1)
        rs = r[rows, order]
        ws = w[rows, order]
        neg_w = np.where(rs < 0, ws, 0.0).sum(axis=1)
        target = np.clip(neg_w, np.maximum(self.lo[sel], 0.0), np.maximum(self.hi[sel], 0.0))
        prev = np.cumsum(ws, axis=1) - ws
        xs = np.where(
            ws > 0, np.clip((target[:, None] - prev) / np.where(ws > 0, ws, 1.0), 0.0, 1.0), (rs < 0).astype(float)
        )
        xs[rs >= BIG / 2] = 0.0
        values = self.own[sel] - lam[h] + (np.where(xs > 0, rs, 0.0) * xs).sum(axis=1)
        values = np.where(self.feasible[sel], values, np.inf)
        return values, order, xs, (r, rs, ws, neg_w, target)

    def solve(self, lam: np.ndarray):
        """(hub values, member shares x[hub, i], the band's duals, and the members' reduced
        costs [hub, i]), for every hub."""
        values, order, xs, (r, rs, ws, neg_w, target) = self.values(lam)
        rows = np.arange(len(self.hubs))[:, None]
        x = np.empty_like(xs)
        x[rows, order] = xs
        # the band's dual: the ratio of the last member taken (0 when the band is slack)
        taken = (xs > 1e-12) & (ws > 0)
        any_taken = taken.any(axis=1)
        last = np.where(any_taken, taken.shape[1] - 1 - np.argmax(taken[:, ::-1], axis=1), 0)
        idx = np.arange(len(self.hubs))
        edge = rs[idx, last] / np.where(ws[idx, last] > 0, ws[idx, last], 1.0)
        binding = (np.abs(target - neg_w) > 1e-9) & any_taken
        mu = np.where(binding & np.isfinite(edge), edge, 0.0)
        red = np.where(self.member, r - mu[:, None] * self.w, BIG)
        return values, x, mu, red


class _Cheapest:
    """The hubs' values at each step, computed only for the hubs that may be among the
    ``most`` cheapest. A change ``d`` of the multipliers moves a hub's value by at most
    ``sum(abs(d))`` (every share is between 0 and 1), so a hub whose value, less the drift
    since it was computed, is above the ``most``-th cheapest value computed now cannot be
    among the cheapest: most hubs of a graph with few clusters are far from it."""

    def __init__(self, ks: _Knapsacks, most: int):
        self.ks, self.most = ks, most
        self.stored = np.full(len(ks.hubs), -np.inf)  # value + drift when computed
        self.drift = 0.0

    def step(self, lam: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(positions computed, their values, member order, shares): every hub outside the
        positions costs more than the ``most`` cheapest among them."""
        lower = self.stored - self.drift
        first = np.argsort(lower, kind="stable")[: self.most]
        v1, o1, x1, _ = self.ks.values(lam, first)
        self.stored[first] = v1 + self.drift
        level = np.sort(v1)[-1]
        rest = np.flatnonzero(lower <= level + 1e-9 * max(1.0, abs(level)))
        rest = np.setdiff1d(rest, first, assume_unique=True)
        where, values, order, shares = first, v1, o1, x1
        if len(rest):
            v2, o2, x2, _ = self.ks.values(lam, rest)
            self.stored[rest] = v2 + self.drift
            where, values = np.concatenate([first, rest]), np.concatenate([v1, v2])
            order, shares = np.concatenate([o1, o2]), np.concatenate([x1, x2])
        by_hub = np.argsort(where)  # in hub order, as every hub's would be: ties break alike
        return where[by_hub], values[by_hub], order[by_hub], shares[by_hub]

    def moved(self, change: np.ndarray) -> None:
        self.drift += float(np.abs(change).sum())


def _open(values: np.ndarray, lo_k: int, hi_k: int) -> np.ndarray:
    """Indices of the hubs the relaxation opens: the ``lo_k`` cheapest, then any other of
    negative value up to ``hi_k``."""
    order = np.argsort(values, kind="stable")
    take = list(order[:lo_k])
    for t in order[lo_k:hi_k]:
        if values[t] < 0:
            take.append(t)
    return np.asarray(take, dtype=int)


def lagrangian_bound(
    p: PartitionProblem,
    allowed: list[list[int]],
    *,
    k: tuple[int, int] | None = None,
    upper: float | None = None,
    seconds: float = 5.0,
    max_iterations: int = 2000,
    matrix: np.ndarray | None = None,
) -> LagrangianBound:
    """A lower bound on the Hess objective by Lagrangian relaxation (see the module notes).

    Parameters
    ----------
    p : PartitionProblem
        With ``objective == "hess"`` and a cost.
    allowed : list of list of int
        ``allowed[i]``: the hubs unit ``i`` may join (after fixing).
    k : (int, int), optional
        The count range; default ``p.k_range()``.
    upper : float, optional
        The cost of a plan in hand: the step target, and the level above which hubs and
        pairs are fixed out (``keep`` in the result).
    seconds, max_iterations : float, int
        Stop after either.
    matrix : numpy.ndarray, optional
        ``p.cost`` as an n x n array, 0 where a pair has no cost
        (:func:`~clustergeo.solve.problem.cost_matrix`), when the caller has it already.

    Returns
    -------
    LagrangianBound
    """
    t0 = time.perf_counter()
    n = p.n
    found = _measure(p)
    lo_k, hi_k = k if k is not None else p.k_range()
    if p.objective != "hess" or p.cost is None or found is None or n == 0:
        return LagrangianBound(-np.inf, 0, 0.0)
    w, lo, hi = found
    cost = matrix if matrix is not None else cost_matrix(p, missing=0.0)
    ok = np.zeros((n, n), dtype=bool)
    for i, hubs in enumerate(allowed):
        ok[i, hubs] = True
    ok &= ok.diagonal()[None, :]
    ks = _Knapsacks(cost, ok, w, lo, hi)
    if len(ks.hubs) < lo_k:
        return LagrangianBound(-np.inf, 0, time.perf_counter() - t0)
    # start: each unit's cheapest other hub (a unit that may only head its own cluster: 0)
    others = np.where(ok & ~np.eye(n, dtype=bool), cost, np.inf).min(axis=1)
    lam = np.where(np.isfinite(others), others, 0.0)
    best, best_lam, best_hubs = -np.inf, lam.copy(), []
    theta, stall, level = 2.0, 0, -np.inf
    it = 0
    cheapest = _Cheapest(ks, min(hi_k, len(ks.hubs)))
    for it in range(1, max_iterations + 1):  # noqa: B007 - the count is reported after the loop
        where, values, order, shares = cheapest.step(lam)
        picked = _open(values, lo_k, hi_k)
        if len(picked) < lo_k or not np.isfinite(values[picked]).all():
            break  # fewer possible hubs than clusters: nothing to bound
        value = float(lam.sum() + values[picked].sum())
        if value > best:
            best, best_lam, best_hubs = value, lam.copy(), ks.hubs[where[picked]].tolist()
        # halve the step after STALL_STEPS steps that did not lift the bound by MIN_RISE: a
        # step too long for the gap left makes the bound crawl up by tiny amounts for ever
        if not np.isfinite(level) or value > level + MIN_RISE * max(1.0, abs(level)):
            level, stall = value, 0
        else:
            stall += 1
            if stall >= STALL_STEPS:
                theta, stall = theta / 2, 0
        covered = np.bincount(order[picked].ravel(), weights=shares[picked].ravel(), minlength=n)
        covered[ks.hubs[where[picked]]] += 1.0
        g = 1.0 - covered
        norm = float(g @ g)
        if norm < 1e-12 or theta < 1e-4 or time.perf_counter() - t0 > seconds:
            break  # every unit covered once: the relaxation's plan is a (fractional) plan
        target = upper if upper is not None and upper > value else value + 0.05 * abs(value) + 1.0
        change = theta * (target - value) / norm * g
        lam = lam + change
        cheapest.moved(change)
        if upper is not None and best >= upper - 1e-9 * max(1.0, abs(upper)):
            break  # proved: nothing beats the plan in hand
    keep = None
    if upper is not None and np.isfinite(best):
        keep = _fixing(ks, best_lam, lo_k, hi_k, upper, n, ok)
    out = LagrangianBound(best, it, time.perf_counter() - t0, keep, best_hubs)
    log.info(
        "Lagrangian bound %s after %d steps (%.1f s)%s",
        f"{best:,.1f}",
        it,
        out.seconds,
        "" if keep is None else f"; {out.fixed - int((~ok).sum())} more pairs fixed out",
    )
    return out


def _fixing(ks: _Knapsacks, lam: np.ndarray, lo_k: int, hi_k: int, upper: float, n: int, ok: np.ndarray) -> np.ndarray:
    """``keep[i, j]`` at the multipliers ``lam``: False where forcing the pair (or its hub)
    in lifts the Lagrangian bound above ``upper``."""
    values, x, _mu, reduced = ks.solve(lam)
    chosen = _open(values, lo_k, hi_k)
    base = float(lam.sum() + values[chosen].sum())
    margin = 1e-6 * max(1.0, abs(upper)) + 1e-6
    # bound with hub t forced open: closed hubs swap in for the worst of the rest
    with_hub = np.full(len(ks.hubs), base)
    is_open = np.zeros(len(ks.hubs), dtype=bool)
    is_open[chosen] = True
    finite = np.sort(values[np.isfinite(values)])
    if lo_k >= 1:
        rest = finite[: max(lo_k - 1, 0)].sum() + np.minimum(finite[max(lo_k - 1, 0) : max(hi_k - 1, 0)], 0).sum()
        with_hub[~is_open] = lam.sum() + values[~is_open] + rest
    keep = ok.copy()
    for t, j in enumerate(ks.hubs):
        if not np.isfinite(with_hub[t]) or with_hub[t] > upper + margin:
            keep[:, j] = False
            continue
        # a member not taken whole: forcing it in costs at least its reduced cost
        extra = np.where(x[t] < 1 - 1e-9, np.maximum(reduced[t], 0.0), 0.0)
        out = ks.member[t] & (with_hub[t] + extra > upper + margin)
        keep[out, j] = False
    keep[:, ~keep.diagonal()] = False
    return keep
