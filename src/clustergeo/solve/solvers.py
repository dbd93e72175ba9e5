"""The MIP solvers behind PuLP: HiGHS (highspy, the default) and CBC.

:func:`run` solves a PuLP problem and reports what a planner and a benchmark need: status,
objective, best bound, gap, time, whether a solution exists. HiGHS gets a real warm start:
PuLP 3.3's ``HiGHS`` class ignores initial values, so :class:`_HiGHSWarm` hands the integer
variables' values to highspy's ``setSolution`` before the run (HiGHS completes the continuous
ones itself).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import pulp

from ..errors import SolverError

SOLVERS = ("highs", "cbc")


@dataclass
class SolveInfo:
    """What one solver call produced."""

    status: str  # "optimal", "feasible", "infeasible", "no solution", "error"
    has_solution: bool
    objective: float | None
    bound: float | None
    gap: float | None
    seconds: float
    nodes: int | None = None


class _HiGHSWarm(pulp.HiGHS):  # type: ignore[misc,valid-type]
    """PuLP's highspy HiGHS, plus a warm start from the variables' initial values."""

    def __init__(self, *args, warm_start: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.warm_start = warm_start

    def callSolver(self, lp):  # noqa: N802 - PuLP's name
        if self.warm_start:
            import numpy as np

            # only the integer variables: HiGHS completes the rest by solving an LP with them
            # fixed, so cut-edge, penalty and flow helpers never make the start infeasible
            start = [(v.index, float(v.varValue)) for v in lp.variables()
                     if v.cat == pulp.LpInteger and v.varValue is not None]
            if start:
                idx, vals = zip(*start)
                lp.solverModel.setSolution(len(idx), np.asarray(idx, dtype=np.int32), np.asarray(vals))
        lp.solverModel.run()


def available() -> list[str]:
    """The solvers that work on this machine."""
    names = set(pulp.listSolvers(onlyAvailable=True))
    out = []
    if "HiGHS" in names:
        out.append("highs")
    if "PULP_CBC_CMD" in names or "COIN_CMD" in names:
        out.append("cbc")
    return out


def version(name: str) -> str:
    """The solver's version string, for the run record."""
    if name == "highs":
        import highspy

        h = highspy.Highs()
        return f"HiGHS {h.version()} (highspy), PuLP {pulp.__version__}"
    return f"CBC (PuLP {pulp.__version__} bundled)"


def make(name: str, *, time_limit: float | None, gap: float | None, threads: int, seed: int,
         msg: bool = False, warm_start: bool = True, highs_options: dict | None = None):
    """A configured PuLP solver object (``highs_options`` go to HiGHS as they are)."""
    name = name.lower()
    gap = 1e-6 if gap is None else gap  # "optimal" means within this relative gap
    if name not in available():
        raise SolverError(f"solver {name!r} is not available here; available: {available()}. "
                          "HiGHS comes with 'pip install highspy'; CBC ships with PuLP < 4.")
    if name == "highs":
        return _HiGHSWarm(msg=msg, timeLimit=time_limit, gapRel=gap, threads=threads,
                          random_seed=seed, warm_start=warm_start, **(highs_options or {}))
    kw = {}
    if "PULP_CBC_CMD" in pulp.listSolvers(onlyAvailable=True):
        cls = pulp.PULP_CBC_CMD
    else:  # pragma: no cover
        cls = pulp.COIN_CMD
    return cls(msg=msg, timeLimit=time_limit, gapRel=gap, threads=threads, warmStart=warm_start,
               options=[f"randomSeed {seed + 1}", f"randomCbcSeed {seed + 1}"], **kw)


def run(problem: pulp.LpProblem, solver) -> SolveInfo:
    """Solve ``problem`` and report status, objective, bound and gap."""
    t0 = time.perf_counter()
    try:
        problem.solve(solver)
    except pulp.PulpSolverError as e:
        raise SolverError(f"the solver failed: {e}") from e
    seconds = time.perf_counter() - t0
    obj = pulp.value(problem.objective) if problem.objective is not None else 0.0
    if isinstance(solver, pulp.HiGHS):
        import highspy

        h = problem.solverModel
        info = h.getInfo()
        ms = h.getModelStatus()
        has = info.primal_solution_status == 2  # kSolutionStatusFeasible
        bound = info.mip_dual_bound if math.isfinite(info.mip_dual_bound) else None
        nodes = int(info.mip_node_count)
        if ms == highspy.HighsModelStatus.kOptimal:
            status = "optimal"
        elif ms in (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kUnboundedOrInfeasible):
            return SolveInfo("infeasible", False, None, None, None, seconds, nodes)
        else:
            status = "feasible" if has else "no solution"
        obj = info.objective_function_value if has else None
        if status == "optimal":
            bound = obj if bound is None else bound
    else:
        nodes = None
        st = problem.status
        if st == pulp.LpStatusInfeasible:
            return SolveInfo("infeasible", False, None, None, None, seconds)
        has = problem.sol_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible)
        if problem.sol_status == pulp.LpSolutionOptimal:
            status, bound = "optimal", obj
        else:
            status, bound = ("feasible" if has else "no solution"), None
        if not has:
            obj = None
    gap = None
    if obj is not None and bound is not None:
        gap = 0.0 if status == "optimal" else abs(obj - bound) / max(abs(obj), 1e-9)
    return SolveInfo(status, has, obj, bound, gap, seconds, nodes)
