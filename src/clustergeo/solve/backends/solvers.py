"""The MIP solvers behind PuLP: HiGHS (highspy, the default), CBC and, when installed, Gurobi.

:func:`run` solves a PuLP problem and reports what a planner and a benchmark need: status,
objective, best bound, gap, time, whether a solution exists. HiGHS gets a real warm start:
PuLP 3.3's ``HiGHS`` class ignores initial values, so :class:`_HiGHSWarm` hands the integer
variables' values to highspy's ``setSolution`` before the run (HiGHS completes the continuous
ones itself).

Gurobi (``pip install "clustergeo[gurobi]"``, PuLP's ``GUROBI`` class over gurobipy) is an
option for those with a licence. The licence that comes with the pip wheel is for non-production
use and limited to 2,000 variables and 2,000 rows: enough for the cut-edges labelling model of
a 100-unit county graph, not for a school-by-school Norfolk.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import pulp

from ...errors import SolverError
from .base import Backend, SolveInfo, Tick, problem_variables, pulp_solve

__all__ = ["Backend", "SolveInfo", "Tick", "problem_variables"]  # re-exported: callers use solvers.X

SOLVERS = ("highs", "cbc", "gurobi", "scip")

log = logging.getLogger("clustergeo.solve")


_banner_done = False


def quiet_highs_banner() -> None:
    """Create HiGHS's first object with the C-level stdout muted: HiGHS prints its copyright
    banner there once per process, whatever its ``output_flag``, and a command's output (or a
    piped CSV) must start with the library's own lines."""
    global _banner_done
    if _banner_done:
        return
    import highspy

    _banner_done = True
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError, AttributeError):  # no real stdout (some embedders): nothing to mute
        highspy.Highs()
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(null)


class _HiGHSWarm(pulp.HiGHS):
    """PuLP's highspy HiGHS, plus a warm start from the variables' initial values, a model
    handed over in two bulk calls (PuLP's adds one column and one row at a time: about three
    times slower, over a minute on a million variables), and a time limit that counts the
    hand-over (HiGHS's own clock starts only when it runs)."""

    def __init__(
        self,
        *args,
        warm_start: bool = True,
        report: Callable[[Tick], object] | None = None,
        stop_at: Callable[[Any, float], bool] | None = None,
        **kwargs,
    ):
        quiet_highs_banner()
        super().__init__(*args, **kwargs)
        self.warm_start = warm_start
        self.report = report
        self.stop_at = stop_at
        self._started = time.perf_counter()

    def actualSolve(self, lp):  # noqa: N802 - PuLP's name
        self._started = time.perf_counter()
        self.createAndConfigureSolver(lp)
        self.buildSolverModel(lp)
        self.callSolver(lp)
        status, sol_status = self.findSolutionValues(lp)
        lp.assignStatus(status, sol_status)
        return status

    def findSolutionValues(self, lp):  # noqa: N802 - PuLP's name
        """Values, reduced costs, slacks and duals back onto PuLP's objects (one pass each),
        and PuLP's status pair."""
        import highspy

        h = lp.solverModel
        ms = h.getModelStatus()
        sol = h.getSolution()
        col_value, col_dual = list(sol.col_value), list(sol.col_dual)
        for v in problem_variables(lp):
            v.varValue, v.dj, v.modified = col_value[v.index], col_dual[v.index], False
        row_value, row_dual = list(sol.row_value), list(sol.row_dual)
        for con in lp._constraints.values():
            slack = con.constant + row_value[con.index]
            con.slack = -slack if con.sense == pulp.LpConstraintLE else slack
            con.pi = row_dual[con.index]
        M = highspy.HighsModelStatus
        if ms == M.kOptimal:
            return pulp.LpStatusOptimal, pulp.LpSolutionOptimal
        if ms in (M.kInfeasible, M.kUnboundedOrInfeasible):
            return pulp.LpStatusInfeasible, pulp.LpSolutionInfeasible
        if ms == M.kUnbounded:
            return pulp.LpStatusUnbounded, pulp.LpSolutionUnbounded
        stopped = (M.kObjectiveBound, M.kObjectiveTarget, M.kInterrupt, M.kTimeLimit, M.kIterationLimit)
        if ms in stopped and h.getInfo().primal_solution_status == 2:  # a feasible point in hand
            return pulp.LpStatusOptimal, pulp.LpSolutionIntegerFeasible
        return pulp.LpStatusNotSolved, pulp.LpSolutionNoSolutionFound

    def buildSolverModel(self, lp):  # noqa: N802 - PuLP's name
        import highspy
        import numpy as np

        inf = highspy.kHighsInf
        h = lp.solverModel
        variables = problem_variables(lp)
        n = len(variables)
        sign = -1.0 if lp.sense == pulp.LpMaximize else 1.0
        objective = lp.objective
        cost = np.fromiter((sign * objective.get(v, 0.0) for v in variables), float, n)
        lower = np.fromiter((-inf if v.lowBound is None else v.lowBound for v in variables), float, n)
        upper = np.fromiter((inf if v.upBound is None else v.upBound for v in variables), float, n)
        for i, v in enumerate(variables):
            v.index = i
        empty_i = np.zeros(0, dtype=np.int32)
        h.addCols(n, cost, lower, upper, 0, empty_i, empty_i, np.zeros(0))
        if self.mip:
            ints = np.fromiter((v.index for v in variables if v.cat == pulp.LpInteger), np.int32)
            if len(ints):
                h.changeColsIntegrality(len(ints), ints, np.full(len(ints), highspy.HighsVarType.kInteger))
        starts: list[int] = []
        index: list[int] = []
        value: list[float] = []
        row_lo: list[float] = []
        row_hi: list[float] = []
        for r, con in enumerate(lp._constraints.values()):
            con.index = r
            starts.append(len(index))
            for v, a in con.items():
                if a != 0:
                    index.append(v.index)
                    value.append(a)
            lb, ub = con.getLb(), con.getUb()
            row_lo.append(-inf if lb is None else lb)
            row_hi.append(inf if ub is None else ub)
        if row_lo:
            h.addRows(
                len(row_lo),
                np.asarray(row_lo, dtype=float),
                np.asarray(row_hi, dtype=float),
                len(index),
                np.asarray(starts, dtype=np.int32),
                np.asarray(index, dtype=np.int32),
                np.asarray(value, dtype=float),
            )

    def callSolver(self, lp):  # noqa: N802 - PuLP's name
        import highspy

        _use_threads(lp.solverModel, self.threads, mip=bool(self.mip and lp.isMIP()))
        if self.timeLimit is not None:  # what is left after the hand-over
            left = self.timeLimit - (time.perf_counter() - self._started)
            lp.solverModel.setOptionValue("time_limit", float(max(left, 1.0)))
        if self.warm_start:
            import numpy as np

            # only the integer variables: HiGHS completes the rest by solving an LP with them
            # fixed, so cut-edge, penalty and flow helpers never make the start infeasible
            start = [
                (v.index, float(v.varValue))
                for v in problem_variables(lp)
                if v.cat == pulp.LpInteger and v.varValue is not None
            ]
            if start:
                idx, vals = zip(*start)
                lp.solverModel.setSolution(len(idx), np.asarray(idx, dtype=np.int32), np.asarray(vals))
        h = lp.solverModel
        if self.report is not None:
            _report_ticks(h, lp, self.report)
        if self.stop_at is not None and self.mip and lp.isMIP():
            _stop_at_solution(h, self.stop_at)
        if (
            _run_interruptibly(h) == highspy.HighsStatus.kError
            and h.getModelStatus() == highspy.HighsModelStatus.kNotset
        ):
            # refused before solving anything: other code in this process started HiGHS's
            # scheduler on another thread count
            _restart_scheduler(self.threads)
            _run_interruptibly(h)


def _run_interruptibly(h):
    """``h.run()``, stoppable with Ctrl-C (or a notebook's interrupt button).

    A plain ``run()`` holds the interpreter until HiGHS returns, so an interrupt waited for the
    time limit, or for ever without one. highspy (1.8+) can run the solve on its own thread
    while this one waits; an interrupt then asks HiGHS to stop (it does within a fraction of a
    second, cleanly) and is raised again here once it has."""
    if not hasattr(h, "startSolve"):  # pragma: no cover - highspy before 1.8
        return h.run()
    h.HandleKeyboardInterrupt = True
    h.startSolve()
    stopped = False
    while True:
        try:
            done, status = h.wait(0.1)
        except KeyboardInterrupt:
            stopped = True
            h.cancelSolve()
            continue
        if done:
            break
    if stopped:
        raise KeyboardInterrupt("the solve was interrupted; HiGHS stopped cleanly and no plan is returned")
    return status


def _report_ticks(h, lp: pulp.LpProblem, report: Callable[[Tick], object]) -> None:
    """Call ``report`` with a :class:`Tick` about every ``settings.progress_interval`` seconds
    of a HiGHS MIP solve (from HiGHS's interrupt check, which it makes many times a second)."""
    if not hasattr(h, "cbMipInterrupt"):  # pragma: no cover - highspy before 1.8
        return
    from ...settings import settings

    every = float(settings.progress_interval)
    sign = -1.0 if lp.sense == pulp.LpMaximize else 1.0  # HiGHS solves the negated maximum
    constant = float(lp.objective.constant) if lp.objective is not None else 0.0
    started = time.perf_counter()
    state = {"next": every, "failed": False}
    lock = threading.Lock()  # with parallel search, workers may check at the same time

    def own(value: float) -> float | None:
        return sign * value + constant if math.isfinite(value) else None

    def tick(event) -> None:
        now = time.perf_counter() - started
        if now < state["next"] or not lock.acquire(blocking=False):
            return
        try:
            state["next"] = now + every
            d = event.data_out
            report(Tick(now, int(d.mip_node_count), own(d.mip_primal_bound), own(d.mip_dual_bound)))
        except Exception:  # noqa: BLE001 - a display must never break a solve
            log.log(
                logging.DEBUG if state["failed"] else logging.WARNING,
                "the progress report failed (the solve goes on)",
                exc_info=True,
            )
            state["failed"] = True
        finally:
            lock.release()

    h.cbMipInterrupt.subscribe(tick)


def _stop_at_solution(h, stop_at: Callable[[Any, float], bool]) -> None:
    """Stop a HiGHS MIP solve at an improving solution that ``stop_at(values, gap)`` accepts
    (``values``: the column values; ``gap``: the solution's relative gap to the bound then).
    The solve ends with that solution, as at a time limit."""
    if not hasattr(h, "cbMipImprovingSolution"):  # pragma: no cover - highspy before 1.8
        return
    state = {"stop": False}

    def found(event) -> None:
        d = event.data_out
        obj, bound = float(d.objective_function_value), float(d.mip_dual_bound)
        gap = abs(obj - bound) / max(abs(obj), 1e-9) if math.isfinite(bound) else math.inf
        try:
            state["stop"] = state["stop"] or bool(stop_at(d.mip_solution, gap))
        except Exception:  # noqa: BLE001 - a failed test must never break a solve
            log.warning("the early-stop test failed (the solve goes on)", exc_info=True)

    def check(event) -> None:
        if state["stop"]:
            event.data_in.user_interrupt = True

    h.cbMipImprovingSolution.subscribe(found)
    h.cbMipInterrupt.subscribe(check)


#: The thread count HiGHS's scheduler was last started with in this process (None: not yet).
_scheduler_threads: int | None = None


def _count(threads: int | None) -> int:
    """HiGHS's ``threads`` option for ``threads`` (0: HiGHS chooses)."""
    return 0 if threads is None else int(threads)


def _restart_scheduler(threads: int | None) -> None:
    """Restart HiGHS's process-wide task scheduler (at the next run, on ``threads``)."""
    import highspy

    global _scheduler_threads
    highspy.Highs.resetGlobalScheduler(True)
    _scheduler_threads = _count(threads)


def _use_threads(h, threads: int | None, *, mip: bool) -> None:
    """Make HiGHS run on ``threads`` threads, with its parallel tree search for a MIP.

    HiGHS starts one process-wide task scheduler on its first run and then refuses (a plain
    error, no solution) any run asking for another thread count: change ``settings.threads``
    in a notebook and every later solve came back empty. So the scheduler is restarted when
    the count changes (no HiGHS run is under way then: the library runs one at a time).
    With two threads or more, ``parallel = "on"`` lets HiGHS (1.16) search the branch-and-bound
    tree with that many workers; without it the second thread idles. Plain LPs keep HiGHS's
    serial simplex (its parallel variant rarely pays)."""
    global _scheduler_threads
    if _scheduler_threads is None:  # the first run starts it
        _scheduler_threads = _count(threads)
    elif _count(threads) != _scheduler_threads:
        _restart_scheduler(threads)
    if mip and _count(threads) != 1:
        h.setOptionValue("parallel", "on")


def _value(problem: pulp.LpProblem) -> float:
    """The model's objective at the variables' current values (0 without an objective)."""
    return pulp.value(problem.objective) if problem.objective is not None else 0.0


def _disagrees(problem: pulp.LpProblem, reported: float) -> bool:
    """Whether the solver's objective differs from the model's objective at its values."""
    if problem.objective is None:
        return False
    value = pulp.value(problem.objective)
    if value is None or reported is None or not math.isfinite(reported):
        return False
    if problem.sense == pulp.LpMaximize:  # HiGHS solves the negated model (buildSolverModel)
        reported = -reported
    return abs(value - reported) > 1e-6 * max(1.0, abs(value)) + 1e-6


def available() -> list[str]:
    """The solvers that work on this machine."""
    names = set(pulp.listSolvers(onlyAvailable=True))
    out = []
    if "HiGHS" in names:
        out.append("highs")
    if "PULP_CBC_CMD" in names or "COIN_CMD" in names:
        out.append("cbc")
    if "GUROBI" in names:
        out.append("gurobi")
    from . import scip

    if scip.installed():
        out.append("scip")
    return out


def version(name: str) -> str:
    """The solver's version string, for the run record."""
    if name == "highs":
        import highspy

        h = f"{highspy.HIGHS_VERSION_MAJOR}.{highspy.HIGHS_VERSION_MINOR}.{highspy.HIGHS_VERSION_PATCH}"
        return f"HiGHS {h} (highspy), PuLP {pulp.__version__}"
    if name == "scip":
        from . import scip

        return scip.version()
    if name == "gurobi":
        import gurobipy

        return f"Gurobi {'.'.join(map(str, gurobipy.gurobi.version()))} (gurobipy), PuLP {pulp.__version__}"
    return f"CBC (PuLP {pulp.__version__} bundled)"


_gurobi_env = None


def _quiet_gurobi_env():
    """One Gurobi environment for the process that prints nothing (not even the licence banner
    or each parameter it sets) unless a solve asks for the solver's log."""
    global _gurobi_env
    if _gurobi_env is None:
        import gurobipy

        env = gurobipy.Env(empty=True)
        env.setParam("OutputFlag", 0)
        env.start()
        _gurobi_env = env
    return _gurobi_env


def make(
    name: str,
    *,
    time_limit: float | None,
    gap: float | None,
    threads: int,
    seed: int,
    msg: bool = False,
    warm_start: bool = True,
    highs_options: dict | None = None,
    report: Callable[[Tick], object] | None = None,
    contiguity: Any = None,
    stop_at: Callable[[Any, float], bool] | None = None,
):
    """A configured PuLP solver object (``highs_options`` go to HiGHS as they are; ``report``
    gets a :class:`Tick` every ``settings.progress_interval`` s of a HiGHS or SCIP MIP solve;
    ``contiguity``, a :class:`~clustergeo.solve.backends.scip.Contiguity`, gives SCIP its
    constraint handler and is ignored by the others; ``stop_at(values, gap)`` ends a HiGHS MIP
    solve at the first improving solution it accepts, and is ignored by the others)."""
    name = name.lower()
    gap = 1e-6 if gap is None else gap  # "optimal" means within this relative gap
    if name not in available():
        raise SolverError(
            f"solver {name!r} is not available here; available: {available()}. "
            "HiGHS comes with 'pip install highspy'; CBC ships with PuLP < 4; Gurobi with "
            "'pip install \"clustergeo[gurobi]\"' (and a licence); SCIP with 'pip install \"clustergeo[scip]\"'."
        )
    if name == "scip":
        from . import scip

        return scip.SCIPSolver(
            msg=msg,
            timeLimit=time_limit,
            gapRel=gap,
            threads=threads,
            seed=seed,
            warm_start=warm_start,
            report=report,
            contiguity=contiguity,
        )
    if name == "highs":
        return _HiGHSWarm(
            msg=msg,
            timeLimit=time_limit,
            gapRel=gap,
            threads=threads,
            random_seed=seed,
            warm_start=warm_start,
            report=report,
            stop_at=stop_at,
            **(highs_options or {}),
        )
    if name == "gurobi":
        return pulp.GUROBI(
            msg=msg,
            timeLimit=time_limit,
            gapRel=gap,
            warmStart=warm_start,
            Threads=threads,
            Seed=seed,
            env=None if msg else _quiet_gurobi_env(),
        )
    kw: dict[str, Any] = {}
    if "PULP_CBC_CMD" in pulp.listSolvers(onlyAvailable=True):
        cls = pulp.PULP_CBC_CMD
    else:  # pragma: no cover
        cls = pulp.COIN_CMD
    return cls(
        msg=msg,
        timeLimit=time_limit,
        gapRel=gap,
        threads=threads,
        warmStart=warm_start,
        options=[f"randomSeed {seed + 1}", f"randomCbcSeed {seed + 1}"],
        **kw,
    )


def _cbc_options(problem: pulp.LpProblem, options: list) -> list:
    """CBC's options with its cutoff increment scaled to the objective. CBC prunes every node
    that cannot beat the incumbent by a fixed absolute amount (about 1e-5): with a tiny
    objective (the Hess cost of units a few metres apart: 2.6e-5 in all) it called a plan 8%
    above the optimum optimal. With fractional coefficients the increment becomes a millionth
    of the smallest one, when that is smaller; integral objectives keep CBC's own (it derives 1)."""
    if problem.objective is None:
        return options
    coefs = [abs(a) for a in problem.objective.values() if a != 0]
    if not coefs or all(float(a).is_integer() for a in coefs):
        return options
    increment = min(1e-5, 1e-6 * min(coefs))
    return [o for o in options if not str(o).startswith("increment")] + [f"increment {increment:.3g}"]


#: HiGHS's ``presolve_rule_off`` bit for the solution enumeration reduction (HiGHS#3216).
PRESOLVE_ENUMERATION = 1 << 16


def _gap(status: str, obj: float | None, bound: float | None) -> float | None:
    if obj is None or bound is None:
        return None
    return 0.0 if status == "optimal" else abs(obj - bound) / max(abs(obj), 1e-9)


class HiGHSBackend(Backend):
    """HiGHS (highspy), with two guards for HiGHS 1.16.0: a solve error from presolve is
    retried without the faulty reduction, then without presolve; an objective that disagrees
    with the model's after a warm start is solved again cold."""

    name = "highs"

    @staticmethod
    def handles(solver) -> bool:
        return isinstance(solver, pulp.HiGHS)

    def __init__(self, problem: pulp.LpProblem, solver) -> None:
        super().__init__(problem, solver)
        self.solver.optionsDict = dict(solver.optionsDict)

    def solve(self) -> SolveInfo:
        import highspy

        pulp_solve(self.problem, self.solver)
        # HiGHS 1.16.0's presolve can reduce a MIP to a wrong "optimum" that breaks the model's
        # rows once restored, then stop with a solve error and no plan; HiGHS#3216 traces a like
        # fault to the solution enumeration reduction on equality cliques ("one cluster per unit")
        off = int(self.solver.optionsDict.get("presolve_rule_off", 0)) | PRESOLVE_ENUMERATION
        for fix in ({"presolve_rule_off": off}, {"presolve": "off"}):
            if self.problem.solverModel.getModelStatus() != highspy.HighsModelStatus.kSolveError:
                break
            log.warning("HiGHS stopped with a solve error: solving again with %s", fix)
            self.solver.optionsDict.update(fix)
            self.left()
            pulp_solve(self.problem, self.solver)
        if self._mismatch() and getattr(self.solver, "warm_start", False):
            log.warning(
                "HiGHS reported objective %s for a plan worth %s after a warm start: solving again without it",
                self.problem.solverModel.getInfo().objective_function_value,
                _value(self.problem),
            )
            self.solver.warm_start = False
            self.left()
            pulp_solve(self.problem, self.solver)
        return self.read()

    def _mismatch(self) -> bool:
        info = self.problem.solverModel.getInfo()
        return info.primal_solution_status == 2 and _disagrees(self.problem, info.objective_function_value)

    def read(self) -> SolveInfo:
        import highspy

        h = self.problem.solverModel
        info = h.getInfo()
        mismatch = self._mismatch()
        seconds = self.seconds()
        ms = h.getModelStatus()
        has = info.primal_solution_status == 2  # kSolutionStatusFeasible
        bound = info.mip_dual_bound if math.isfinite(info.mip_dual_bound) else None
        maximise = self.problem.sense == pulp.LpMaximize
        if bound is not None and maximise:  # HiGHS solved the negated model (buildSolverModel)
            bound = -bound
        nodes = int(info.mip_node_count)
        if ms in (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kUnboundedOrInfeasible):
            return SolveInfo("infeasible", False, None, None, None, seconds, nodes)
        if ms == highspy.HighsModelStatus.kOptimal and not mismatch:
            status = "optimal"
        else:
            status = "feasible" if has else "no solution"
        obj = _value(self.problem) if has else None
        if status == "optimal" and obj is not None:
            bound = obj if bound is None else (max(bound, obj) if maximise else min(bound, obj))
        return SolveInfo(status, has, obj, bound, _gap(status, obj, bound), seconds, nodes)


class GurobiBackend(Backend):
    """Gurobi (gurobipy); Ctrl-C, which Gurobi catches, stops the library too."""

    name = "gurobi"

    @staticmethod
    def handles(solver) -> bool:
        return isinstance(solver, pulp.GUROBI)

    def read(self) -> SolveInfo:
        from gurobipy import GRB

        m = self.problem.solverModel
        seconds = self.seconds()
        if m.Status == GRB.INTERRUPTED:
            raise KeyboardInterrupt("the solve was interrupted; Gurobi stopped cleanly and no plan is returned")
        nodes = int(m.NodeCount) if m.IsMIP else None
        if m.Status in (GRB.INFEASIBLE, GRB.INF_OR_UNBD):
            return SolveInfo("infeasible", False, None, None, None, seconds, nodes)
        has = m.SolCount > 0
        obj = _value(self.problem) if has else None
        bound = float(m.ObjBound) if m.IsMIP and math.isfinite(m.ObjBound) else None
        if m.Status == GRB.OPTIMAL and obj is not None:
            status = "optimal"
            if bound is None:
                bound = obj
            else:  # Gurobi's bound is on the problem's own side (below for a minimum)
                bound = min(bound, obj) if self.problem.sense == pulp.LpMinimize else max(bound, obj)
        else:
            status = "feasible" if has else "no solution"
        return SolveInfo(status, has, obj, bound, _gap(status, obj, bound), seconds, nodes)


class CBCBackend(Backend):
    """CBC (bundled with PuLP 3), with its cutoff increment scaled to the objective."""

    name = "cbc"

    @staticmethod
    def handles(solver) -> bool:
        return isinstance(solver, pulp.COIN_CMD)

    def solve(self) -> SolveInfo:
        self.solver.options = _cbc_options(self.problem, list(self.solver.options))
        return super().solve()

    def read(self) -> SolveInfo:
        seconds = self.seconds()
        if self.problem.status == pulp.LpStatusInfeasible:
            return SolveInfo("infeasible", False, None, None, None, seconds)
        has = self.problem.sol_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible)
        obj = _value(self.problem) if has else None
        if self.problem.sol_status == pulp.LpSolutionOptimal:
            status, bound = "optimal", obj
        else:
            status, bound = ("feasible" if has else "no solution"), None
        return SolveInfo(status, has, obj, bound, _gap(status, obj, bound), seconds, None)


#: The backends, tried in this order for a solver object.
BACKENDS: tuple[type[Backend], ...] = (HiGHSBackend, GurobiBackend, CBCBackend)


def backend(problem: pulp.LpProblem, solver) -> Backend:
    """The backend for a PuLP solver object (from :func:`make`)."""
    from . import scip

    classes: tuple[type[Backend], ...] = (*BACKENDS, scip.SCIPBackend)
    for cls in classes:
        if cls.handles(solver):
            return cls(problem, solver)
    raise SolverError(f"no backend for the solver object {type(solver).__name__}; use solvers.make()")


def run(problem: pulp.LpProblem, solver) -> SolveInfo:
    """Solve ``problem`` and report status, objective, bound and gap; ``solver`` is not changed.

    The objective is always the model's objective at the returned values, never the solver's
    own figure: HiGHS 1.16.0, warm-started with the integer variables only, can keep a wrong
    value for the start it completes (the cut-edge helpers), then prune with it and call the
    start optimal. When the two disagree after a warm start, the model is solved again
    without it; if they still disagree the answer is reported as feasible, not optimal."""
    return backend(problem, solver).solve()
