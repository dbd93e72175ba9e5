"""What to say when no plan meets the rules: only relaxations the scenario itself allows.

The solver's diagnosis (:func:`clustergeo.solve.partition`) relaxes one group of rules at a
time, contiguity and the size bounds included. A scenario's principles hold some of those
firm: a relaxation is offered only when one of the scenario's variants changes that rule. The
scenario's variants that relax the failing rules are offered instead, fewest changes first, and
a travel cap is named as a possible cause.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .errors import InfeasibleError
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


def explain(error: InfeasibleError, rules: Rules, variants: Iterable[Any] = ()) -> InfeasibleError:
    """The error restated with the relaxations the scenario allows.

    Parameters
    ----------
    error : InfeasibleError
        From :func:`clustergeo.propose`.
    rules : Rules
        The rules that failed.
    variants : iterable of :class:`clustergeo.scenario.Variant`
        The scenario's variants (name and rule changes).

    Returns
    -------
    InfeasibleError
        Every bullet with content; generic relaxations only where a variant allows them; the
        variants to try, fewest changes first; a travel cap named.

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
    for v in variants:
        words = _words(v.changes, rules)
        if words:
            todo.append((len(v.changes), v.name, words))
    if todo:
        reasons.append(
            "the scenario's own variants to try, fewest changes first: "
            + "; ".join(f"{name!r} ({words})" for _, name, words in sorted(todo))
        )
    if not reasons:
        reasons = ["the solver proved that no plan meets all the rules together"]
    return InfeasibleError(reasons, relaxations=allowed)
