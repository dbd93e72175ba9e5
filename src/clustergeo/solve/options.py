"""The options of :func:`~clustergeo.solve.partition`, grouped by what they are about, and the
time budget that shares a solve's time limit between its stages.

``partition()`` takes every option as a plain keyword (``min_weight=2500, district="ward"``);
these groups are what its stages pass around, and what a caller may pass whole
(``districts=Districts(...)``, ``solver_options=SolverOptions(...)``).

One spelling per idea: ``fewest=True`` asks for the fewest clusters (``k="fewest"`` still works,
with a :class:`DeprecationWarning`), and ``contiguity="none"`` drops the one-piece rule
(``contiguous=False`` still works, with a :class:`DeprecationWarning`).
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import RulesError
from ..settings import settings

#: The ways to keep clusters in one piece (``"none"``: no such rule).
CONTIGUITY = ("auto", "cuts", "flow", "columns", "labeling", "none")


@dataclass(frozen=True)
class Sizes:
    """How big the clusters are and how many: ``weight`` (the main measure) between
    ``min_weight`` and ``max_weight``, the further ``bounds`` (``{"schools": (8, 13)}``), and the
    count ``k`` (exact, a ``(min, max)`` range or None), the smallest feasible first when
    ``fewest``."""

    weight: str = "pupils"
    min_weight: float | None = None
    max_weight: float | None = None
    bounds: Mapping[str, tuple] | None = None
    k: int | tuple[int, int] | None = None
    fewest: bool = False


@dataclass(frozen=True)
class Districts:
    """Lines clusters keep within (``mode="within"``) or pay to cross (``"penalty"``, in objective
    units per extra district a cluster touches); ``division*`` is a second level."""

    district: str | None = None
    district_mode: str | None = None
    district_penalty: float = 0.0
    division: str | None = None
    division_mode: str | None = None
    division_penalty: float = 0.0


@dataclass(frozen=True)
class Costs:
    """What a plan costs: the objective (``"hess"`` or ``"cut_edges"``), unit-hub ``cost``,
    ``edge_weights`` for splitting neighbours, a travel cap ``max_cost``, ``forbid`` pairs and the
    ``hubs`` that may head a cluster."""

    objective: str = "hess"
    cost: Mapping[tuple[Hashable, Hashable], float] | None = None
    edge_weights: Mapping[tuple[Hashable, Hashable], float] | None = None
    max_cost: float | None = None
    forbid: set[tuple[Hashable, Hashable]] | None = None
    #: the nodes that may head a cluster (None: any), e.g. those holding a secondary school
    hubs: frozenset | None = None


@dataclass(frozen=True)
class SolverOptions:
    """The MIP solver and what it is told: ``time_limit`` (seconds), relative ``gap``,
    ``threads``, ``seed``, and ``msg`` (the solver's own log). None: from ``settings``."""

    solver: str | None = None
    time_limit: float | None = None
    gap: float | None = None
    threads: int | None = None
    seed: int | None = None
    msg: bool = False

    def resolved(self) -> SolverOptions:
        """These options with the settings' defaults filled in (solver name in lower case)."""
        return dataclasses.replace(
            self,
            solver=(self.solver or settings.default_solver).lower(),
            threads=settings.threads if self.threads is None else self.threads,
            seed=settings.seed if self.seed is None else self.seed,
        )


@dataclass(frozen=True)
class Budget:
    """How a solve's time limit is shared between its stages (shares of the limit, and caps in
    seconds that apply with or without a limit)."""

    #: the root search (max-B MIP) stops once it proves its answer; longer searches rarely
    #: found fewer roots on the county graphs
    roots_seconds: float = 10.0
    roots_share: float = 0.1
    #: the starting-plan search per unit (the cut-edge objective's MIP bound is weak, so the
    #: spanning-tree search, its best source of plans, gets three times longer)
    start_seconds_per_unit: float = 0.02
    start_seconds_per_unit_cut_edges: float = 0.06
    #: (a graph of a handful of units, where the exact model takes milliseconds, gets no more)
    start_min_seconds: float = 0.1
    start_seconds: float = 10.0
    start_share: float = 0.1
    #: the spanning-tree search's time cap, as a multiple of its work budget in seconds
    tree_cap: float = 2.0
    #: the tabu polish of the starting plan gets 1 / polish_part of the search's time
    polish_part: int = 3
    #: the closer-neighbour model that seeds the Hess model (a MIP too)
    nearer_seconds: float = 60.0
    nearer_share: float = 0.15
    nearer_gap: float = 1e-4
    #: no plan from the start search under a narrow window: the spanning-tree splits go on for
    #: this share of the limit (at most these seconds), as the MIP rarely finds a first plan there
    #: either (Louisiana's 64 counties in 6 clusters at +-0.5%: none in 300 s without a start)
    first_plan_seconds: float = 30.0
    first_plan_share: float = 0.1
    #: cut edges: the MIP's incumbent rarely beats more spanning-tree restarts, which run at the
    #: end when the proof did not come in time (this share of the limit, with the start search)
    late_seconds: float = 30.0
    late_share: float = 0.15
    #: of the late search's time, the spanning-tree search takes this, the tabu polish the rest
    late_tree_share: float = 2 / 3
    #: listing every cluster (column method): a share of the limit, or this without a limit
    columns_share: float = 0.25
    columns_seconds: float = 60.0
    #: the Lagrangian fixing before the exact solve (a share of the limit, or this at most) ...
    lagrangian_seconds: float = 30.0
    lagrangian_share: float = 0.08
    #: ... and the LP reduced-cost fixing after it
    lp_fixing_share: float = 0.25
    #: the same model without contiguity, solved before the cut loop (a share of the limit, or
    #: this at most): its optimum, when contiguous, is the answer; otherwise it seeds the loop
    relaxed_seconds: float = 30.0
    relaxed_share: float = 0.1
    #: each rule group relaxed while diagnosing an infeasible problem
    diagnose_seconds: float = 20.0
    #: the least a solver call is given, however little of the limit is left
    min_seconds: float = 1.0


#: The time budget every solve uses.
BUDGET = Budget()


@dataclass(frozen=True)
class Request:
    """Everything one :func:`~clustergeo.solve.partition` call asks for."""

    sizes: Sizes
    districts: Districts
    costs: Costs
    solver: SolverOptions
    contiguity: str = "auto"
    exclude: tuple = ()
    explain: bool = True
    decompose: bool = True
    progress: Callable[..., Any] | None = None
    #: a plan known to meet the rules (node -> cluster): the exact solve's warm start at its count
    start: Mapping[Hashable, Hashable] | None = None
    #: separator cuts an earlier solve of the same graph found (``PartitionResult.separators``)
    separators: tuple = ()

    def solver_kwargs(self) -> dict:
        """The solver options as the models' ``solve()`` takes them (with ``progress``)."""
        return {**dataclasses.asdict(self.solver), "progress": self.progress}


_GROUPS: dict[str, Any] = {"sizes": Sizes, "districts": Districts, "costs": Costs, "solver_options": SolverOptions}
_FLAGS = ("contiguity", "exclude", "explain", "decompose", "progress", "start", "separators")
_FIELDS = {f.name: group for group, cls in _GROUPS.items() for f in dataclasses.fields(cls)}


def known_options() -> list[str]:
    """Every keyword ``partition()`` accepts."""
    return sorted([*_FIELDS, *_FLAGS, *_GROUPS, "contiguous"])


def group(options: dict[str, Any], *names: str) -> dict[str, Any]:
    """The option groups ``names`` (e.g. ``"sizes"``) from keywords: a whole group given by its
    name (``districts=Districts(...)``), its fields given one by one on top. The fields used are
    removed from ``options``; an unknown field of these groups is a :class:`TypeError`."""
    out = {}
    for name in names:
        cls = _GROUPS[name]
        base: Any = options.pop(name, None) or cls()
        if not isinstance(base, cls):
            raise TypeError(f"{name}= must be a {cls.__name__}, not {type(base).__name__}")
        mine = {f: options.pop(f) for f in list(options) if _FIELDS.get(f) == name}
        out[name] = dataclasses.replace(base, **mine)
    return out


def problem_options(options: dict[str, Any]) -> tuple[Sizes, Districts, Costs]:
    """:func:`~clustergeo.solve.problem.build_problem`'s keywords as groups (no solver options)."""
    options = dict(options)
    groups = group(options, "sizes", "districts", "costs")
    if options:
        known = sorted(f for f, g in _FIELDS.items() if g != "solver_options") + ["costs", "districts", "sizes"]
        raise TypeError(
            f"build_problem() got unexpected keyword argument(s) {', '.join(map(repr, sorted(options)))}; "
            f"it accepts {', '.join(known)}"
        )
    return groups["sizes"], groups["districts"], groups["costs"]


def request(options: dict[str, Any]) -> Request:
    """A :class:`Request` from ``partition()``'s keywords: plain options, whole groups, and
    the old spellings (with a :class:`DeprecationWarning`)."""
    options = dict(options)
    unknown = sorted(set(options) - set(known_options()))
    if unknown:
        raise TypeError(
            f"partition() got unexpected keyword argument(s) {', '.join(map(repr, unknown))}; "
            f"it accepts {', '.join(known_options())}"
        )
    if options.get("k") == "fewest":
        warnings.warn(
            'k="fewest" is deprecated: use fewest=True (with k=None or a (min, max) range)',
            DeprecationWarning,
            stacklevel=4,
        )
        options["k"], options["fewest"] = None, True
    if "contiguous" in options:
        warnings.warn(
            'contiguous= is deprecated: use contiguity="none" for clusters that may be in pieces '
            "(the default keeps them in one piece)",
            DeprecationWarning,
            stacklevel=4,
        )
        if not options.pop("contiguous"):
            options["contiguity"] = "none"
    contiguity = options.get("contiguity", "auto")
    if contiguity not in CONTIGUITY:
        raise RulesError(f"contiguity must be one of {', '.join(repr(c) for c in CONTIGUITY)}, not {contiguity!r}")
    groups = group(options, *_GROUPS)
    return Request(
        sizes=groups["sizes"],
        districts=groups["districts"],
        costs=groups["costs"],
        solver=groups["solver_options"].resolved(),
        contiguity=contiguity,
        exclude=tuple(options.get("exclude") or ()),
        explain=options.get("explain", True),
        decompose=options.get("decompose", True),
        progress=options.get("progress"),
        start=options.get("start"),
        separators=tuple(options.get("separators") or ()),
    )
