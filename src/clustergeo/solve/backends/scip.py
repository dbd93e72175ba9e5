"""SCIP (pyscipopt) behind the same interface as HiGHS, CBC and Gurobi, with contiguity as a
constraint handler: one branch-and-bound tree instead of a solve-separate-resolve loop.

``pip install "clustergeo[scip]"``. :func:`~clustergeo.solve.backends.solvers.make` returns a
:class:`SCIPSolver` for ``"scip"``; :class:`SCIPBackend` copies the PuLP problem's rows into a
SCIP model (variables in PuLP's sorted order, so the same input gives the same model), hands it
the warm start as a partial solution (SCIP completes the continuous helpers), solves, and writes
the values back onto PuLP's variables.

With a :class:`Contiguity` attached, a constraint handler checks every candidate plan SCIP
finds (integer LP points, pseudo-solutions, heuristics' plans): a cluster in pieces is rejected,
and at LP and pseudo points the a,b-separator cuts of :mod:`~clustergeo.solve.cuts` are added,
the same rows the HiGHS loop adds between its rounds. At fractional LP points the handler
separates cuts from the pieces of each hub's support (:func:`~clustergeo.solve.cuts.separate_fractional`).
"""

from __future__ import annotations

import logging
import math
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pulp

from ...errors import SolverError
from ..cuts import SeparatorCut, separate, separate_fractional, support
from ..cuts import rows as cut_rows
from .base import Backend, SolveInfo, Tick, problem_variables

log = logging.getLogger("clustergeo.solve")

#: x values above this count as 1 when an integer point is read as a plan
ONE = 0.5
#: the handler's separation frequency in SCIP's terms (1: at every node's LP)
FRACTIONAL_FREQ = 1


def installed() -> bool:
    """Whether pyscipopt can be imported."""
    try:
        import pyscipopt  # noqa: F401
    except ImportError:
        return False
    return True


def version() -> str:
    import pyscipopt

    return f"SCIP {pyscipopt.Model().version()} (pyscipopt {pyscipopt.__version__})"


@dataclass
class Contiguity:
    """What the constraint handler needs from the Hess model: ``x[i, j]`` by (unit, hub), the
    graph (unit -> neighbours), the hubs each unit may join, and whether a stray piece is cut
    off from every hub beyond its boundary (the loop's default)."""

    x: dict[tuple[int, int], pulp.LpVariable]
    adjacency: list[list[int]]
    hubs_of: dict[int, list[int]]
    all_hubs: bool = True
    fractional: bool = True
    #: filled in by the solve: rows added at integer points and at fractional ones
    integer_rows: int = 0
    fractional_rows: int = 0
    found: list[SeparatorCut] = field(default_factory=list)


class SCIPSolver:
    """A SCIP solve's settings (what :func:`~clustergeo.solve.backends.solvers.make` returns
    for ``"scip"``); attributes named as PuLP's solver objects name them."""

    def __init__(
        self,
        *,
        msg: bool = False,
        timeLimit: float | None = None,  # noqa: N803 - PuLP's name
        gapRel: float = 1e-6,  # noqa: N803 - PuLP's name
        threads: int = 1,
        seed: int = 0,
        warm_start: bool = True,
        report: Callable[[Tick], object] | None = None,
        contiguity: Contiguity | None = None,
    ) -> None:
        if not installed():
            raise SolverError("solver 'scip' needs pyscipopt: pip install \"clustergeo[scip]\"")
        self.msg, self.timeLimit, self.gapRel = msg, timeLimit, gapRel
        self.threads, self.seed, self.warm_start = threads, seed, warm_start
        self.report, self.contiguity = report, contiguity


def _build(problem: pulp.LpProblem, solver: SCIPSolver):
    """The SCIP model of ``problem`` and its variables in PuLP's order."""
    import pyscipopt

    m = pyscipopt.Model(problem.name or "clustergeo")
    if not solver.msg:
        m.hideOutput()
    variables = problem_variables(problem)
    mip = problem.isMIP()
    svars = []
    for v in variables:
        vtype = "B" if mip and v.cat == pulp.LpInteger and v.lowBound == 0 and v.upBound == 1 else "C"
        if mip and v.cat == pulp.LpInteger and vtype == "C":
            vtype = "I"
        svars.append(m.addVar(name=v.name, vtype=vtype, lb=v.lowBound, ub=v.upBound))
    index = {v.name: k for k, v in enumerate(variables)}
    for name, con in problem.constraints.items():
        expr = pyscipopt.quicksum(a * svars[index[v.name]] for v, a in con.items() if a != 0)
        rhs = -con.constant
        if con.sense == pulp.LpConstraintEQ:
            m.addCons(expr == rhs, name=name)
        elif con.sense == pulp.LpConstraintLE:
            m.addCons(expr <= rhs, name=name)
        else:
            m.addCons(expr >= rhs, name=name)
    objective = problem.objective if problem.objective is not None else pulp.LpAffineExpression()
    obj = pyscipopt.quicksum(a * svars[index[v.name]] for v, a in objective.items() if a != 0)
    if problem.sense == pulp.LpMaximize:
        m.setObjective(obj + float(objective.constant), "maximize")
    else:
        m.setObjective(obj + float(objective.constant), "minimize")
    return m, variables, svars


def _configure(m, solver: SCIPSolver) -> None:
    m.setParam("limits/gap", float(solver.gapRel))
    m.setParam("randomization/randomseedshift", int(solver.seed))
    m.setParam("parallel/maxnthreads", max(int(solver.threads or 1), 1))
    if solver.timeLimit is not None:
        m.setParam("limits/time", max(float(solver.timeLimit), 1.0))


def _warm_start(m, variables, svars) -> None:
    """The integer variables' initial values as a partial solution (SCIP completes the rest)."""
    values = [
        (s, float(v.varValue)) for v, s in zip(variables, svars) if v.cat == pulp.LpInteger and v.varValue is not None
    ]
    if not values:
        return
    sol = m.createPartialSol()
    for s, value in values:
        m.setSolVal(sol, s, value)
    m.addSol(sol)


def _handler(contiguity: Contiguity, xs: dict[tuple[int, int], Any]):
    """The constraint handler for ``contiguity`` over the SCIP variables ``xs`` (by unit, hub)."""
    import pyscipopt
    from pyscipopt import SCIP_RESULT

    adj = contiguity.adjacency
    n = len(adj)
    pairs = sorted(xs)

    class ContiguityHandler(pyscipopt.Conshdlr):
        """Clusters in one piece: a,b-separator cuts at integer and fractional points."""

        def __init__(self) -> None:
            self.keys: set = set()
            self.transformed: dict[tuple[int, int], Any] | None = None

        def _vars(self):
            if self.transformed is None:
                self.transformed = {k: self.model.getTransformedVar(v) for k, v in xs.items()}
            return self.transformed

        def _plan(self, sol) -> list[int]:
            out = [-1] * n
            for (i, j), v in self._vars().items():
                if self.model.getSolVal(sol, v) > ONE:
                    out[i] = j
            return out

        def _add(self, rows, *, removable: bool) -> int:
            tv = self._vars()
            added = 0
            for key in rows:
                if key in self.keys:
                    continue
                self.keys.add(key)
                j, sep, piece = key
                lhs = [tv[s, j] for s in sep if (s, j) in tv]
                for a in piece:
                    if (a, j) in tv:
                        self.model.addCons(
                            pyscipopt.quicksum(lhs) - tv[a, j] >= 0,
                            name=f"sep_{len(self.keys)}_{a}",
                            removable=removable,
                            local=False,
                        )
                        added += 1
            return added

        def _enforce(self, sol) -> dict:
            plan = self._plan(sol)
            if -1 in plan:  # not an integer point in x: the integrality handler's business
                return {"result": SCIP_RESULT.FEASIBLE}
            cuts = separate(plan, adj)
            if not cuts:
                return {"result": SCIP_RESULT.FEASIBLE}
            contiguity.found.extend(cuts)
            added = self._add(cut_rows(cuts, adj, contiguity.hubs_of, all_hubs=contiguity.all_hubs), removable=False)
            if not added:  # every row already there (the LP has not seen them yet): cut off this point
                added = self._add(cut_rows(cuts, adj, contiguity.hubs_of, all_hubs=False), removable=False)
            contiguity.integer_rows += added
            return {"result": SCIP_RESULT.CONSADDED if added else SCIP_RESULT.INFEASIBLE}

        def consenfolp(self, constraints, nusefulconss, solinfeasible):
            return self._enforce(None)

        def consenfops(self, constraints, nusefulconss, solinfeasible, objinfeasible):
            return self._enforce(None)

        def conscheck(self, constraints, solution, checkintegrality, checklprows, printreason, completely):
            plan = self._plan(solution)
            ok = -1 not in plan and not separate(plan, adj)
            return {"result": SCIP_RESULT.FEASIBLE if ok else SCIP_RESULT.INFEASIBLE}

        def conssepalp(self, constraints, nusefulconss):
            if not contiguity.fractional:
                return {"result": SCIP_RESULT.DIDNOTRUN}
            get = self.model.getSolVal
            hubs = support((ij, get(None, v)) for ij, v in self._vars().items())
            cuts = separate_fractional(hubs, adj)
            added = self._add(cut_rows(cuts, adj, contiguity.hubs_of, all_hubs=False), removable=True)
            contiguity.fractional_rows += added
            return {"result": SCIP_RESULT.CONSADDED if added else SCIP_RESULT.DIDNOTFIND}

        def conslock(self, constraint, locktype, nlockspos, nlocksneg):
            # a unit's x can go either way and break a cluster: lock both directions
            tv = self._vars() if not constraint.isOriginal() else xs
            for k in pairs:
                self.model.addVarLocksType(tv[k], locktype, nlockspos + nlocksneg, nlockspos + nlocksneg)

    return ContiguityHandler()


def _attach(m, contiguity: Contiguity, xs: dict[tuple[int, int], Any]) -> None:
    hdlr = _handler(contiguity, xs)
    m.includeConshdlr(
        hdlr,
        "contiguity",
        "clusters in one piece (a,b-separator cuts)",
        sepapriority=100,
        enfopriority=-100,
        chckpriority=-100,
        sepafreq=FRACTIONAL_FREQ,
        eagerfreq=-1,
        maxprerounds=0,
        needscons=True,
    )
    cons = m.createCons(hdlr, "contiguity", modifiable=False, propagate=False)
    m.addPyCons(cons)


def _watch(m, report: Callable[[Tick], object] | None, stop: threading.Event) -> None:
    """At every solved node: stop the solve once ``stop`` is set (Ctrl-C), and call ``report``
    with a :class:`Tick` about every ``settings.progress_interval`` seconds."""
    import pyscipopt
    from pyscipopt import SCIP_EVENTTYPE

    from ...settings import settings

    every = float(settings.progress_interval)
    started = time.perf_counter()

    class Watch(pyscipopt.Eventhdlr):
        def __init__(self) -> None:
            self.next = every
            self.failed = False

        def eventinit(self):
            self.model.catchEvent(SCIP_EVENTTYPE.NODESOLVED | SCIP_EVENTTYPE.LPSOLVED, self)

        def eventexit(self):
            self.model.dropEvent(SCIP_EVENTTYPE.NODESOLVED | SCIP_EVENTTYPE.LPSOLVED, self)

        def eventexec(self, event):
            if stop.is_set():
                self.model.interruptSolve()
                return
            now = time.perf_counter() - started
            if report is None or now < self.next:
                return
            self.next = now + every
            try:
                inc = self.model.getPrimalbound() if self.model.getNSols() else None
                bound = self.model.getDualbound()
                report(
                    Tick(
                        now,
                        int(self.model.getNNodes()),
                        inc if inc is not None and math.isfinite(inc) else None,
                        bound if math.isfinite(bound) else None,
                    )
                )
            except Exception:  # noqa: BLE001 - a display must never break a solve
                log.log(logging.DEBUG if self.failed else logging.WARNING, "the progress report failed", exc_info=True)
                self.failed = True

    m.includeEventhdlr(Watch(), "clustergeo-watch", "progress reports and Ctrl-C")


def _optimize(m, stop: threading.Event) -> None:
    """``m.optimize()``, stoppable with Ctrl-C: SCIP holds the interpreter, so Python's own
    handler would only raise once SCIP returned (at the time limit). A handler that sets
    ``stop`` runs at the next Python callback, where :func:`_watch` asks SCIP to stop."""
    if threading.current_thread() is not threading.main_thread():
        m.optimize()
        return
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        m.optimize()
    finally:
        signal.signal(signal.SIGINT, previous)


class SCIPBackend(Backend):
    """SCIP (pyscipopt): the PuLP problem copied into SCIP, with the contiguity handler when the
    solver object carries one. Ctrl-C stops SCIP cleanly (it catches the signal) and is raised
    again as KeyboardInterrupt."""

    name = "scip"

    @staticmethod
    def handles(solver) -> bool:
        return isinstance(solver, SCIPSolver)

    def solve(self) -> SolveInfo:
        problem, solver = self.problem, self.solver
        m, variables, svars = _build(problem, solver)
        _configure(m, solver)
        if solver.contiguity is not None:
            by_name = {v.name: s for v, s in zip(variables, svars)}
            xs = {k: by_name[v.name] for k, v in solver.contiguity.x.items() if v.name in by_name}
            _attach(m, solver.contiguity, xs)
        if solver.warm_start:
            _warm_start(m, variables, svars)
        stop = threading.Event()
        _watch(m, solver.report, stop)
        if solver.timeLimit is not None:  # what is left after the hand-over
            m.setParam("limits/time", max(solver.timeLimit - self.seconds(), 1.0))
        _optimize(m, stop)
        if stop.is_set():
            raise KeyboardInterrupt("the solve was interrupted; SCIP stopped cleanly and no plan is returned")
        return self._read(m, variables, svars)

    def _read(self, m, variables, svars) -> SolveInfo:
        status = m.getStatus()
        seconds = self.seconds()
        nodes = int(m.getNTotalNodes())
        if status == "userinterrupt":  # SCIP's own Ctrl-C handler (outside Python callbacks)
            raise KeyboardInterrupt("the solve was interrupted; SCIP stopped cleanly and no plan is returned")
        if status in ("infeasible", "inforunbd"):
            return SolveInfo("infeasible", False, None, None, None, seconds, nodes)
        has = m.getNSols() > 0
        if has:
            best = m.getBestSol()
            for v, s in zip(variables, svars):
                v.varValue = m.getSolVal(best, s)
        obj = (pulp.value(self.problem.objective) or 0.0) if has and self.problem.objective is not None else None
        if has and obj is None:
            obj = 0.0
        bound = m.getDualbound()
        bound = float(bound) if math.isfinite(bound) else None
        if status in ("optimal", "gaplimit") and has:
            state = "optimal"
            maximise = self.problem.sense == pulp.LpMaximize
            assert obj is not None
            bound = obj if bound is None else (max(bound, obj) if maximise else min(bound, obj))
        else:
            state = "feasible" if has else "no solution"
        gap = (
            None
            if obj is None or bound is None
            else (0.0 if state == "optimal" else abs(obj - bound) / max(abs(obj), 1e-9))
        )
        return SolveInfo(state, has, obj, bound, gap, seconds, nodes)
