"""What to say when no plan meets the rules: only relaxations the scenario itself allows.

The solver's diagnosis (:func:`clustergeo.solve.partition`) relaxes one group of rules at a
time, contiguity and the size bounds included. A scenario's principles hold some of those
firm: a relaxation is offered only when one of the scenario's variants changes that rule. The
scenario's variants that relax the failing rules are offered instead, and a travel cap is named
as a possible cause. :func:`try_relaxations` solves the candidates cheaply first, so that they
are ranked by how little their plans change the current clusters (schools moved), with the
figure in each bullet.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .errors import InfeasibleError, SolverError
from .rules import Rules

#: the solver's words for each relaxation, and the rules a variant must change to allow it
RELAXATION_RULES = {
    "contiguity": (),  # no rule turns contiguity off: never a planner's option
    "the minimum sizes": ("min_pupils", "min_schools"),
    "the maximum sizes": ("max_pupils", "max_schools"),
    "the number of clusters": ("clusters", "fewest"),
    "the district rule": ("districts", "divisions", "max_crossings"),
}


def _words(changes: dict[str, Any], rules: Rules) -> str:
    out = []
    for key, value in sorted(changes.items()):
        old = getattr(rules, key, None)
        if isinstance(value, list) and isinstance(old, list):
            added, dropped = (
                sorted(set(map(str, value)) - set(map(str, old))),
                sorted(set(map(str, old)) - set(map(str, value))),
            )
            bits = ([f"adds {', '.join(added)}"] if added else []) + (
                [f"drops {', '.join(dropped)}"] if dropped else []
            )
            out.append(f"{key} {' and '.join(bits) or 'unchanged'}")
        elif value != old:
            out.append(f"{key} = {value!r} (now {old!r})")
    return "; ".join(out)


#: the candidate relaxations solved to rank them (fewest rule changes first) ...
MAX_TRIALS = 3
#: ... each in at most this many seconds
TRIAL_SECONDS = 20.0


def try_relaxations(
    variants: Iterable[Any],
    solve: Callable[[Any], Any],
    *,
    solved: Mapping[str, Any] | None = None,
    most: int = MAX_TRIALS,
) -> dict[str, dict[str, Any]]:
    """Solve the candidate relaxations cheaply, to rank them by how little they change the plan.

    Parameters
    ----------
    variants : iterable of :class:`clustergeo.scenario.Variant`
        The candidates: those in ``solved`` are read, and of the others the ``most`` with the
        fewest rule changes are solved.
    solve : callable
        ``solve(variant)`` returns a :class:`~clustergeo.plan.Plan` (with a short time limit)
        or raises :class:`InfeasibleError` or a :class:`~clustergeo.errors.SolverError`.
    solved : dict, optional
        Plans already in hand, by variant name (not solved again).

    Returns
    -------
    dict
        Variant name -> ``{"moved": schools moved from their current clusters, "clusters": n}``,
        or ``{"failed": why}``.
    """
    out: dict[str, dict[str, Any]] = {}
    left = most
    for v in sorted(variants, key=lambda v: (len(v.changes), v.name)):
        plan = (solved or {}).get(v.name)
        if plan is None:
            if left <= 0:
                continue
            left -= 1
            try:
                plan = solve(v)
            except InfeasibleError:
                out[v.name] = {"failed": "no plan either"}
                continue
            except SolverError:
                out[v.name] = {"failed": "no plan found in the trial's time"}
                continue
        m = plan.metrics
        out[v.name] = {"moved": int(m.get("schools_moved", 0)), "clusters": int(m.get("clusters_total", m["clusters"]))}
    return out


def _trial_words(trial: dict[str, Any] | None) -> str:
    if trial is None:
        return ""
    if "failed" in trial:
        return f": {trial['failed']}"
    n = trial["moved"]
    return (
        f": a plan of {trial['clusters']} clusters that moves {n} school{'' if n == 1 else 's'} "
        "from their current clusters"
    )


def explain(
    error: InfeasibleError,
    rules: Rules,
    variants: Iterable[Any] = (),
    trials: Mapping[str, dict[str, Any]] | None = None,
) -> InfeasibleError:
    """The error restated with the relaxations the scenario allows.

    Parameters
    ----------
    error : InfeasibleError
        From :func:`clustergeo.propose`.
    rules : Rules
        The rules that failed.
    variants : iterable of :class:`clustergeo.scenario.Variant`
        The scenario's variants (name and rule changes).
    trials : dict, optional
        From :func:`try_relaxations`: the variants tried, ranked first by the schools their
        plan moves (the figure stated in each bullet), then those with no plan.

    Returns
    -------
    InfeasibleError
        Every bullet with content; generic relaxations only where a variant allows them; the
        variants to try, least change first; a travel cap named.

    Examples
    --------
    >>> from clustergeo.scenario import Variant
    >>> e = InfeasibleError(["no plan"], relaxations=["contiguity (clusters in one piece)"])
    >>> v = Variant("districts as a penalty", {"districts": "penalty"})
    >>> print(explain(e, Rules(districts="within"), [v]))  # doctest: +NORMALIZE_WHITESPACE
    No plan can meet the rules:
      - no plan
      - the scenario's own variants to try, fewest changes first: 'districts as a penalty'
        (districts = 'penalty' (now 'within'))
    """
    variants = list(variants)
    changed = {key for v in variants for key in v.changes}

    def ok(r: str) -> bool:
        keys = next((ks for words, ks in RELAXATION_RULES.items() if r.startswith(words)), None)
        return keys is None or any(k in changed for k in keys)

    reasons = []
    for r in (str(x) for x in error.reasons if str(x).strip()):
        head, sep, tail = r.partition("; a plan exists once you relax ")
        if sep:  # keep only the relaxations the scenario allows
            kept = [x for x in tail.split(" or ") if ok(x)]
            r = head + (f"; a plan exists once you relax {' or '.join(kept)}" if kept else "")
        reasons.append(r)
    allowed = [r for r in error.relaxations if ok(r)]
    if isinstance(rules.clusters, int):
        reasons.append(f"the rules ask for exactly {rules.clusters} clusters")
    elif isinstance(rules.clusters, tuple):
        reasons.append(f"the rules ask for {rules.clusters[0]} to {rules.clusters[1]} clusters")
    if rules.max_minutes is not None:
        reasons.append(
            f"the travel cap of {rules.max_minutes:g} minutes to the hub rules out many pairings and "
            "may be the cause: solve without max_minutes to see"
        )
        allowed.append(f"the travel cap (max_minutes = {rules.max_minutes:g})")
    todo = []
    trials = trials or {}
    for v in variants:
        words = _words(v.changes, rules)
        if words:
            t = trials.get(v.name)
            rank = (0, t["moved"]) if t and "moved" in t else (2 if t else 1, 0)
            todo.append((rank, len(v.changes), v.name, words + ")" + _trial_words(t)))
    if todo:
        how = "least change to the plan first" if trials else "fewest changes first"
        reasons.append(
            f"the scenario's own variants to try, {how}: "
            + "; ".join(f"{name!r} ({words}" for _, _, name, words in sorted(todo))
        )
    if not reasons:
        reasons = ["the solver proved that no plan meets all the rules together"]
    return InfeasibleError(reasons, relaxations=allowed)
