"""The library's one exception hierarchy.

``ClusterGeoError`` is the base. ``DataError`` is raised for bad input and carries one
``Problem`` per offending school, each naming the school, the column and the fix.
``InfeasibleError`` is raised when no plan can meet the rules; it carries the reasons in
planner language. ``RulesError`` is a rules or scenario file that does not make sense.
``TooLargeError`` stops a model too big for the machine before it is built; ``OutputError``
is an output folder that cannot be written.
"""

from __future__ import annotations

from dataclasses import dataclass


class ClusterGeoError(Exception):
    """Base class of every error clustergeo raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input."""

    message: str
    column: str | None = None
    school: str | None = None
    fix: str | None = None

    def __str__(self) -> str:
        where = []
        if self.school is not None:
            where.append(f"school {self.school}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        head = f"[{', '.join(where)}] " if where else ""
        tail = f" Fix: {self.fix}" if self.fix else ""
        return f"{head}{self.message}.{tail}"


class DataError(ClusterGeoError, ValueError):
    """Bad input data. ``problems`` lists every problem found, not just the first."""

    def __init__(self, problems: list[Problem] | Problem | str, *, limit: int = 20):
        if isinstance(problems, (str, Problem)):
            problems = [problems if isinstance(problems, Problem) else Problem(problems)]
        self.problems: list[Problem] = list(problems)
        lines = [str(p) for p in self.problems[:limit]]
        if len(self.problems) > limit:
            lines.append(f"... and {len(self.problems) - limit} more (see .problems)")
        n = len(self.problems)
        super().__init__(f"{n} problem{'s' if n != 1 else ''} in the input:\n  - " + "\n  - ".join(lines))


class GraphError(DataError):
    """The neighbour graph cannot be used as it is (for example, it falls apart)."""


class RulesError(ClusterGeoError, ValueError):
    """A rule, or a scenario file, that does not make sense."""


class TooLargeError(ClusterGeoError, MemoryError):
    """The model would need more memory than ``settings.max_memory``: stopped before building it."""


class OutputError(ClusterGeoError, OSError):
    """An output folder cannot be written (an existing file, no permission, a full disk)."""


class SolverError(ClusterGeoError, RuntimeError):
    """The solver failed or is not available."""


class NoPlanInTimeError(SolverError):
    """The time limit ran out before any plan was found, and before the solver could prove
    that none exists: raise ``time_limit`` (or relax a rule)."""


class InfeasibleError(ClusterGeoError):
    """No plan can meet the rules. ``reasons`` says why, in planner language."""

    def __init__(self, reasons: list[str] | str, *, relaxations: list[str] | None = None):
        self.reasons = [reasons] if isinstance(reasons, str) else list(reasons)
        self.relaxations = list(relaxations or [])
        text = "No plan can meet the rules:\n  - " + "\n  - ".join(self.reasons)
        if self.relaxations:
            text += "\nA plan exists if you relax: " + "; ".join(self.relaxations)
        super().__init__(text)
