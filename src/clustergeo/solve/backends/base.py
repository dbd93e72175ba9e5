"""What every solver backend shares: the result of a solve, the progress tick, the PuLP
problem's variables, and the :class:`Backend` interface (:mod:`.solvers` holds HiGHS, Gurobi and
CBC, :mod:`.scip` holds SCIP; both build on this module and neither imports the other at load).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass

import pulp

from ...errors import SolverError


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


@dataclass
class Tick:
    """Where a running solve stands (HiGHS reports it every ``settings.progress_interval`` s).

    ``incumbent`` and ``bound`` are in the model's own terms (its sense and constant), None
    while there is none."""

    seconds: float
    nodes: int
    incumbent: float | None
    bound: float | None


def problem_variables(lp: pulp.LpProblem) -> list:
    """``lp.variables()``, computed once while the problem keeps its shape: PuLP's walks every
    constraint and sorts all variables by name on each call (seconds on a million variables,
    and a solve calls it several times)."""
    objective = lp.objective
    key = (len(lp._constraints), id(objective), 0 if objective is None else len(objective))
    cached = getattr(lp, "_clustergeo_variables", None)
    if cached is None or cached[0] != key:
        cached = (key, lp.variables())
        lp._clustergeo_variables = cached
    return cached[1]


def pulp_solve(problem: pulp.LpProblem, solver) -> None:
    """``problem.solve(solver)``, its failures as :class:`~clustergeo.errors.SolverError`."""
    try:
        problem.solve(solver)
    except pulp.PulpSolverError as e:
        raise SolverError(f"the solver failed: {e}") from e
    except Exception as e:
        if type(e).__name__ != "GurobiError":
            raise
        if "size-limited" in str(e):
            raise SolverError(
                f"Gurobi refused the model ({len(problem_variables(problem)):,} variables, "
                f"{len(problem.constraints):,} rows): {e}. The licence that comes with the gurobipy wheel "
                "stops at 2,000 of each; use your own Gurobi licence or solver='highs'"
            ) from e
        raise SolverError(f"Gurobi failed: {e}") from e


class Backend:
    """One solver behind PuLP: solve a problem with a configured PuLP solver object and read
    back status, objective, bound and gap.

    A backend works on its own copy of the solver object (retries change options and the time
    limit), so the caller's object is never changed."""

    name = ""

    def __init__(self, problem: pulp.LpProblem, solver) -> None:
        self.problem = problem
        self.solver = copy.copy(solver)
        self.started = time.perf_counter()

    @staticmethod
    def handles(solver) -> bool:
        raise NotImplementedError

    def solve(self) -> SolveInfo:
        pulp_solve(self.problem, self.solver)
        return self.read()

    def read(self) -> SolveInfo:
        raise NotImplementedError

    def seconds(self) -> float:
        return time.perf_counter() - self.started

    def left(self) -> None:
        """Shorten the copy's time limit by the time spent so far (before a retry)."""
        if self.solver.timeLimit is not None:
            self.solver.timeLimit = max(self.solver.timeLimit - self.seconds(), 1.0)
