"""Staff and money shared among clusters by a stated formula, rounded by a named method.

A formula has up to three parts, added up per cluster:

* ``per_cluster``: the same amount for every cluster (one CIIL per cluster);
* ``rates``: an amount per unit of a measure (``{"pupils": 2}``: £2 per pupil);
* ``by``: what is left of ``total`` after those, shared in proportion to measures, each weight
  being the part of the pot that follows that measure (``{"pupils": 0.5, "asn_pupils": 0.5}``:
  half by pupils, half by pupils with an additional support need).

A cluster's *quota* is its exact (fractional) figure. Whole posts, or whole pence for money,
come from an apportionment method, so the amounts add up exactly to the total:

``hamilton``  largest remainder: floor of each quota, then one more to the largest remainders.
              Always within quota (floor <= amount <= ceiling); the Alabama paradox can take a
              post away from a cluster when the total grows.
``webster``   Sainte-Laguë divisor method (the default): no cluster loses a post when the total
              grows (house monotone), and no bias to large or small clusters.
``huntington-hill``  the divisor method of equal proportions: every cluster gets at least one.

Measures are columns of the plan's schools table summed over each cluster's schools (see
:data:`clustergeo.datasets.MEASURES`), plus ``schools`` (how many) and ``clusters`` (1 for each
cluster: equal shares). Exact arithmetic (fractions) decides the rounding; ties go to the cluster
with the larger quota, then the first by name.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any, cast

import numpy as np
import pandas as pd

from .errors import DataError, Problem, RulesError

METHODS = {
    "hamilton": "hamilton",
    "largest-remainder": "hamilton",
    "largest_remainder": "hamilton",
    "webster": "webster",
    "sainte-lague": "webster",
    "sainte-laguë": "webster",
    "huntington-hill": "huntington-hill",
    "huntington_hill": "huntington-hill",
    "hill": "huntington-hill",
}
METHOD_TEXT = {
    "hamilton": "Hamilton's largest-remainder method (each within its quota)",
    "webster": "Webster's (Sainte-Laguë) divisor method (no cluster loses when the total grows)",
    "huntington-hill": "the Huntington-Hill divisor method (every cluster at least one)",
}
UNITS = ("posts", "pounds")
PENCE_PER_POUND = 100
#: Cluster kinds in a plan's cluster table.
KINDS = ("geographic", "pinned", "apart")
#: Measures every plan has: counted, not read from a column.
BUILT_IN = {"schools": "schools", "clusters": "an equal share for every cluster"}
#: How measures read in the formula sentence: (plural, singular).
LABELS = {
    "pupils": ("pupils", "pupil"),
    "schools": ("schools", "school"),
    "clusters": ("clusters", "cluster"),
    "asn_pupils": ("pupils with an additional support need", "pupil with an additional support need"),
    "simd_q1_pupils": ("pupils in SIMD quintile 1", "pupil in SIMD quintile 1"),
    "fsm_pupils": ("pupils eligible for free school meals", "pupil eligible for free school meals"),
    "fsm_p6_s6_pupils": (
        "P6-S6 pupils registered for free school meals",
        "P6-S6 pupil registered for free school meals",
    ),
    # the measure Norfolk's clusters are sized by (census headcount, nursery left out)
    "pupils_school_age": ("pupils of school age", "pupil of school age"),
    "school_age_pupils": (
        "pupils of compulsory school age and above (DfE census)",
        "pupil of compulsory school age and above (DfE census)",
    ),
    "teacher_fte": ("teachers (FTE)", "teacher (FTE)"),
}
SUMMARY_WIDTH = 100  # characters per line of summary.txt
#: Keys of an ``[[allocations]]`` table in a scenario file.
SCENARIO_KEYS = {"name", "unit", "total", "by", "rates", "per_cluster", "method", "minimum", "maximum", "kinds", "note"}


# --------------------------------------------------------------------------- apportionment


def _fraction(x: Any) -> Fraction:
    return x if isinstance(x, Fraction) else Fraction(str(x)) if isinstance(x, (float, Decimal, str)) else Fraction(x)


def _priority(method: str, w: Fraction, s: int) -> Fraction:
    """Claim of a cluster holding ``s`` seats to the next (Huntington-Hill: squared, same order)."""
    if method == "webster":
        return w / (s + Fraction(1, 2))
    return w * w / (s * (s + 1))


def _divisor(
    weights: list[Fraction], total: int, method: str, lo: list[int], hi: list[int | None], rank: list[int]
) -> list[int]:
    """The top ``total`` seat claims in one global order (so larger totals only add seats)."""
    n = len(weights)
    W = sum(weights)
    s = [lo[i] if W == 0 else max(lo[i], int(weights[i] * total / W)) for i in range(n)]
    s = [v if h is None else min(v, h) for v, h in zip(s, hi)]

    def key(i: int, seat: int) -> tuple:  # the claim of cluster i to its (seat+1)-th seat
        return (_priority(method, weights[i], seat), -rank[i])

    while True:
        can_add = [i for i, h in enumerate(hi) if h is None or s[i] < h]
        can_drop = [i for i in range(n) if s[i] > lo[i]]
        best = max(can_add, key=lambda i: key(i, s[i]), default=None)
        worst = min(can_drop, key=lambda i: key(i, s[i] - 1), default=None)
        held = sum(s)
        if held < total:
            assert best is not None  # apportion() checked that the maxima allow the total
            s[best] += 1
        elif held > total:
            assert worst is not None  # apportion() checked that the minima fit in the total
            s[worst] -= 1
        elif best is not None and worst is not None and best != worst and key(best, s[best]) > key(worst, s[worst] - 1):
            s[best] += 1
            s[worst] -= 1
        else:
            return s


def _bounded_quotas(w: list[Fraction], total: int, lo: list[int], hi: list[int | None]) -> list[Fraction]:
    """Quotas ``clamp(x * w_i, lo_i, hi_i)`` with the one scale ``x`` that makes them add up to ``total``."""

    def clamp(i: int, x: Fraction) -> Fraction:
        v = max(Fraction(lo[i]), x * w[i])
        h = hi[i]
        return v if h is None else min(v, Fraction(h))

    def f(x: Fraction) -> Fraction:
        return sum((clamp(i, x) for i in range(len(w))), Fraction(0))

    points = sorted(
        {Fraction(0)} | {Fraction(b) / w[i] for i in range(len(w)) if w[i] > 0 for b in (lo[i], hi[i]) if b is not None}
    )
    zero = [i for i in range(len(w)) if w[i] == 0]
    if zero and all(hi[i] is not None for i in range(len(w)) if w[i] > 0) and f(points[-1]) < total:
        # the weighted clusters are full: the clusters with no weight share the rest equally
        full = [clamp(i, points[-1]) for i in range(len(w))]
        rest = _bounded_quotas(
            [Fraction(1)] * len(zero),
            total - int(sum(full[i] for i in range(len(w)) if w[i] > 0)),
            [lo[i] for i in zero],
            [hi[i] for i in zero],
        )
        for i, v in zip(zero, rest):
            full[i] = v
        return full
    below = points[0]
    for x in points:  # f is piecewise linear between the breakpoints: find the piece holding total
        if f(x) >= total:
            break
        below = x
    else:
        x = below + 1
        while f(x) < total:
            x *= 2
    fa, fb = f(below), f(x)
    scale = x if fb == fa else below + (x - below) * (total - fa) / (fb - fa)
    return [clamp(i, scale) for i in range(len(w))]


def _hamilton(quotas: list[Fraction], total: int, lo: list[int], hi: list[int | None], rank: list[int]) -> list[int]:
    """Largest remainder on quotas rescaled within the bounds (plain Hamilton when none binds)."""
    q = _bounded_quotas(quotas, total, lo, hi)
    s = [math.floor(v) for v in q]
    order = sorted(range(len(q)), key=lambda i: (-(q[i] - s[i]), -q[i], rank[i]))
    for i in order[: total - sum(s)]:
        s[i] += 1
    return s


def apportion(
    weights: Sequence[Any],
    total: int,
    *,
    method: str = "webster",
    minimum: int | Sequence[int] = 0,
    maximum: int | Sequence[int | None] | None = None,
) -> list[int]:
    """Whole numbers in proportion to ``weights`` adding up exactly to ``total``.

    Parameters
    ----------
    weights : sequence of numbers >= 0
        Each cluster's claim (its quota, or anything proportional to it).
    total : int
    method : {"webster", "hamilton", "huntington-hill"}
        See the module docstring. Aliases: ``sainte-lague``, ``largest-remainder``, ``hill``.
    minimum, maximum : int or sequence, optional
        Bounds for every cluster (or one each). Huntington-Hill has a minimum of 1.

    Returns
    -------
    list of int

    Examples
    --------
    >>> apportion([5, 3, 2], 7, method="hamilton")
    [4, 2, 1]
    >>> apportion([5, 3, 2], 7)
    [4, 2, 1]
    >>> apportion([5, 3, 2], 4, method="huntington-hill")
    [2, 1, 1]
    """
    m = _method(method)
    n = len(weights)
    w = [_fraction(x) for x in weights]
    if any(x < 0 for x in w):
        raise RulesError("apportion: weights must be >= 0")
    # np.isscalar also takes numpy integers; it narrows no type, hence the casts
    lo = [int(cast(int, minimum))] * n if np.isscalar(minimum) else [int(v) for v in cast(Sequence[int], minimum)]
    hi: list[int | None] = (
        [cast(int | None, maximum)] * n
        if maximum is None or np.isscalar(maximum)
        else list(cast(Sequence[int | None], maximum))
    )
    if m == "huntington-hill":
        lo = [max(v, 1) for v in lo]
    if sum(lo) > total:
        raise RulesError(
            f"the minimum{' (Huntington-Hill: 1 each)' if m == 'huntington-hill' else ''} "
            f"needs {sum(lo)} for {n} clusters, more than the total {total}: lower it or raise the total"
        )
    hi_sum = None if any(h is None for h in hi) else sum(h for h in hi if h is not None)
    if hi_sum is not None and hi_sum < total:
        raise RulesError(f"the maximum allows only {hi_sum} for {n} clusters, less than the total {total}")
    rank = sorted(range(n), key=lambda i: -w[i])
    rank = [rank.index(i) for i in range(n)]
    if m == "hamilton":
        return _hamilton(w, total, lo, hi, rank)
    return _divisor(w, total, m, lo, hi, rank)


def _method(method: str) -> str:
    m = METHODS.get(str(method).lower())
    if m is None:
        raise RulesError(
            f"method {method!r} is not an apportionment method; use one of "
            "'webster' (default), 'hamilton' or 'huntington-hill'"
        )
    return m


# --------------------------------------------------------------------------- allocations


@dataclass
class Allocation:
    """One allocation: the formula, the method and the result table (one row per cluster).

    ``table`` columns: ``allocation, unit, cluster, kind``, each measure used (summed over the
    cluster's schools), ``share`` (of the total), ``quota`` (exact), ``amount`` (posts, or pounds
    to the penny) and ``pence`` (money only). ``formula`` is the sentence that states it all.
    """

    name: str
    unit: str
    total: int | float
    method: str
    formula: str
    table: pd.DataFrame
    spec: dict[str, Any] = field(default_factory=dict)

    def to_record(self) -> dict[str, Any]:
        """What the run record keeps of it."""
        return {
            "name": self.name,
            "unit": self.unit,
            "total": self.total,
            "method": self.method,
            "formula": self.formula,
            **self.spec,
        }


def _schools_of(plan: Any) -> pd.DataFrame:
    s = plan if isinstance(plan, pd.DataFrame) else plan.schools
    if "status" in s.columns:
        s = s[s["status"] != "excluded"]
    return s[s["cluster"].notna()]


def _clusters_of(plan: Any, kinds: Sequence[str] | None) -> pd.DataFrame:
    s = _schools_of(plan)
    if isinstance(plan, pd.DataFrame) or getattr(plan, "clusters", None) is None:
        table = pd.DataFrame({"cluster": sorted(s["cluster"].unique(), key=str), "kind": "geographic"})
    else:
        table = pd.DataFrame(plan.clusters[["cluster", "kind"]]).reset_index(drop=True)
    if kinds is not None:
        bad = sorted(set(kinds) - set(KINDS))
        if bad:
            raise RulesError(f"key 'kinds': unknown cluster kind {bad}; use some of {list(KINDS)}")
        table = table[table["kind"].isin(list(kinds))]
    if table.empty:
        raise RulesError(f"no clusters of kinds {list(kinds or KINDS)} to allocate to")
    return table.sort_values("cluster", key=lambda c: c.astype(str)).reset_index(drop=True)


def measures(plan: Any, names: Sequence[str], *, kinds: Sequence[str] | None = None) -> pd.DataFrame:
    """Each cluster's measures (sums over its schools), one row per cluster.

    Examples
    --------
    >>> measures(plan, ["pupils", "asn_pupils"])  # doctest: +SKIP
    """
    s = _schools_of(plan)
    table = _clusters_of(plan, kinds)
    numeric = sorted(c for c in s.columns if pd.api.types.is_numeric_dtype(s[c]) and c not in ("minutes_to_hub",))
    for name in names:
        if name in BUILT_IN:
            continue
        if name not in s.columns or not pd.api.types.is_numeric_dtype(s[name]):
            raise RulesError(
                f"measure {name!r} is not a number column of the schools table; measures: "
                f"{sorted(set(numeric) | set(BUILT_IN))}"
            )
        missing = s[s[name].isna()]
        if len(missing):
            raise DataError(
                [
                    Problem(
                        "measure is missing",
                        column=name,
                        school=f"{r.school_id} {r.get('name', '')}",
                        fix="fill it in (0 if none)",
                    )
                    for _, r in missing.iterrows()
                ]
            )
        negative = s[s[name] < 0]
        if len(negative):
            raise DataError(
                [
                    Problem("measure is negative", column=name, school=str(r.school_id), fix="use counts >= 0")
                    for _, r in negative.iterrows()
                ]
            )
    for name in names:
        if name == "schools":
            table[name] = table["cluster"].map(s.groupby("cluster").size()).fillna(0).astype(int)
        elif name == "clusters":
            table[name] = 1
        else:
            table[name] = table["cluster"].map(s.groupby("cluster")[name].sum()).fillna(0.0)
    return table


def _weights(spec: Mapping[str, Any] | None, key: str) -> dict[str, Fraction]:
    out = {}
    for m, w in (spec or {}).items():
        if isinstance(w, bool) or not isinstance(w, (int, float, str)):
            raise RulesError(f"key '{key}': the weight of {m!r} must be a number, not {w!r}")
        f = _fraction(w)
        if f < 0:
            raise RulesError(f"key '{key}': the weight of {m!r} is negative ({w}); weights are >= 0")
        out[str(m)] = f
    return out


def _fmt(x: Any, unit: str) -> str:
    d = Decimal(x.numerator) / Decimal(x.denominator) if isinstance(x, Fraction) else Decimal(str(x))
    if unit == "pounds":
        return f"£{d.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,}"
    return f"{float(d):g}"


def _label(measure: str, singular: int) -> str:
    return LABELS[measure][singular] if measure in LABELS else measure.replace("_", " ")


def _sentence(
    name: str,
    unit: str,
    total_units: int,
    table: pd.DataFrame,
    method: str,
    per_cluster: Fraction,
    rates: dict,
    by: dict,
    lo: float,
    hi: float | None,
    note: str,
    exact: bool,
) -> str:
    def amount(u: Any) -> str:
        return _fmt(Fraction(u) / PENCE_PER_POUND, unit) if unit == "pounds" else f"{u} post{'s' * (u != 1)}"

    parts = []
    if per_cluster:
        parts.append(f"{_fmt(per_cluster, unit)}{' post' * (unit == 'posts')} for every cluster")
    parts += [f"{_fmt(r, unit)} per {_label(m, 1)}" for m, r in rates.items()]
    if by:
        wsum = sum(by.values())
        share = ", ".join(f"{float(100 * w / wsum):.4g}% by {_label(m, 0)}" for m, w in by.items())
        parts.append(("the rest " if parts else "") + f"shared {share}")
    what = f"{amount(total_units)}{f' of {name}' if name != unit else ''} among {len(table)} clusters: " + "; ".join(
        parts
    )
    bounds = (f", at least {_fmt(lo, unit)}" if lo else "") + (f", at most {_fmt(hi, unit)}" if hi is not None else "")
    rounding = ("to the penny" if unit == "pounds" else "to whole posts") + f" by {METHOD_TEXT[method]}{bounds}."
    if exact:
        return f"{what} (exact: no rounding){bounds}." + (f" {note}" if note else "")
    return f"{what}, rounded {rounding}" + (f" {note}" if note else "")


def allocate(
    plan: Any,
    *,
    total: float | None = None,
    by: Mapping[str, float] | None = None,
    rates: Mapping[str, float] | None = None,
    per_cluster: float = 0,
    method: str = "webster",
    minimum: float = 0,
    maximum: float | None = None,
    unit: str = "posts",
    name: str = "posts",
    kinds: Sequence[str] | None = None,
    note: str = "",
) -> Allocation:
    """Share whole posts, or money to the penny, among a plan's clusters by a stated formula.

    Parameters
    ----------
    plan : Plan or DataFrame
        A plan, or a schools table with ``cluster`` and the measure columns.
    total : number, optional
        Posts (whole) or pounds to share. Default: the sum of the ``per_cluster`` and ``rates``
        parts (rounded to the whole post or penny).
    by : dict of measure -> weight, optional
        The part of what is left after ``per_cluster`` and ``rates`` that follows each measure
        (weights are normalised: ``{"pupils": 1, "asn_pupils": 1}`` is half and half).
    rates : dict of measure -> amount, optional
        A fixed amount per unit of a measure (pounds per pupil, or posts per school).
    per_cluster : number
        A fixed amount for every cluster (``1``: one post each, the CIIL case).
    method : {"webster", "hamilton", "huntington-hill"}
        How quotas become whole posts (or pence); see the module docstring.
    minimum, maximum : number, optional
        Bounds per cluster, in posts or pounds.
    unit : {"posts", "pounds"}
    name : str
        What is allocated ("support for learning teachers").
    kinds : list of str, optional
        Cluster kinds that take part (``geographic``, ``pinned``, ``apart``); default all.
    note : str
        A sentence added to the formula (for example, that the formula is only an example).

    Returns
    -------
    Allocation
        Its ``table`` has each cluster's measures, share, exact quota and amount; the amounts
        are whole posts (or whole pence) adding up exactly to the total.

    Raises
    ------
    RulesError
        Naming the key: an unknown measure or method, bounds the total cannot meet, fixed
        parts larger than the total.

    Examples
    --------
    >>> import clustergeo as cg
    >>> plan = cg.propose(...)  # doctest: +SKIP
    >>> a = allocate(plan, total=46, by={"pupils": 0.5, "asn_pupils": 0.5}, minimum=1,
    ...              name="support for learning teachers")  # doctest: +SKIP
    >>> a.formula  # doctest: +SKIP
    '46 posts of support for learning teachers among 14 clusters: shared 50% by pupils, ...'
    """
    if unit not in UNITS:
        raise RulesError(f"key 'unit' must be one of {list(UNITS)}, not {unit!r}")
    m = _method(method)
    by_w, rate_w = _weights(by, "by"), _weights(rates, "rates")
    per = _fraction(per_cluster)
    if total is None and not rate_w and not per:
        raise RulesError("say how much to allocate: key 'total', or 'per_cluster' or 'rates'")
    if by_w and sum(by_w.values()) == 0:
        raise RulesError("key 'by': the weights add up to 0")
    table = measures(plan, list(dict.fromkeys([*rate_w, *by_w])), kinds=kinds)
    scale = PENCE_PER_POUND if unit == "pounds" else 1
    values = {c: [_fraction(v) for v in table[c]] for c in dict.fromkeys([*rate_w, *by_w])}
    n = len(table)
    fixed = [per * scale + sum((rate_w[c] * scale * values[c][i] for c in rate_w), Fraction(0)) for i in range(n)]
    fixed_sum = sum(fixed, Fraction(0))
    total_units = _total_units(total, scale, fixed_sum)
    rest = Fraction(total_units) - fixed_sum
    if rest < 0 and abs(rest) >= 1:
        raise RulesError(
            f"key 'total': the per_cluster and rates parts need {_fmt(fixed_sum / scale, unit)}, more "
            f"than the total {_fmt(Fraction(total_units, scale), unit)}; raise the total"
        )
    if rest > 0 and not by_w and total is not None:
        raise RulesError(
            f"key 'by': {_fmt(rest / scale, unit)} of the total is left after the fixed parts: "
            "say how to share it (by = {...}) or lower the total"
        )
    quotas = _quotas(fixed, rest, by_w, values)
    lo = _units(minimum, scale, "minimum")
    hi = None if maximum is None else _units(maximum, scale, "maximum")
    _check_bounds(lo, hi, n, total_units, scale, unit)
    got = apportion(quotas, total_units, method=m, minimum=lo, maximum=hi)
    out = table.copy()
    out.insert(0, "allocation", name)
    out.insert(1, "unit", unit)
    qsum = sum(quotas, Fraction(0))
    out["share"] = [float(q / qsum) if qsum else 0.0 for q in quotas]
    out["quota"] = [float(q / scale) for q in quotas]
    if unit == "pounds":
        out["amount"] = [float(Decimal(g) / PENCE_PER_POUND) for g in got]
        out["pence"] = got
    else:
        out["amount"] = got
    exact = all(q.denominator == 1 and q == g for q, g in zip(quotas, got))
    formula = _sentence(name, unit, total_units, out, m, per, rate_w, by_w, minimum, maximum, note, exact)
    spec = {
        "by": {k: float(v) for k, v in by_w.items()},
        "rates": {k: float(v) for k, v in rate_w.items()},
        "per_cluster": float(per),
        "minimum": minimum,
        "maximum": maximum,
        "kinds": list(kinds or KINDS),
    }
    total_out: int | float = total_units if unit == "posts" else float(Decimal(total_units) / PENCE_PER_POUND)
    return Allocation(name, unit, total_out, m, formula, out, spec)


def _total_units(total: Any, scale: int, fixed_sum: Fraction) -> int:
    """The total to allocate in whole posts or pence: as given, or the fixed parts rounded."""
    if total is None:
        return _round_half_up(fixed_sum)
    if isinstance(total, bool) or not isinstance(total, (int, float, str, Decimal)):
        raise RulesError(f"key 'total' must be a number, not {total!r}")
    scaled = Decimal(str(total)) * scale
    if scaled != scaled.to_integral_value() or scaled < 0:
        raise RulesError(f"key 'total': {total} is not a whole number of {'pence' if scale > 1 else 'posts'} >= 0")
    return int(scaled)


def _quotas(
    fixed: list[Fraction], rest: Fraction, by_w: dict[str, Fraction], values: dict[str, list[Fraction]]
) -> list[Fraction]:
    """Each cluster's exact quota: its fixed part plus its weighted share of what is left."""
    if not by_w:
        return fixed
    wsum = sum(by_w.values())
    col_sum = {c: sum(values[c], Fraction(0)) for c in by_w}
    for c in by_w:
        if col_sum[c] == 0 and by_w[c] > 0:
            raise RulesError(f"key 'by': measure {c!r} is 0 in every cluster, so it cannot share anything")
    n = len(fixed)
    share = [sum((by_w[c] / wsum * values[c][i] / col_sum[c] for c in by_w), Fraction(0)) for i in range(n)]
    return [fixed[i] + max(rest, Fraction(0)) * share[i] for i in range(n)]


def _check_bounds(lo: int, hi: int | None, n: int, total_units: int, scale: int, unit: str) -> None:
    """The per-cluster bounds can meet the total (amounts in posts or pounds, not pence)."""

    def amount(u: int) -> str:
        return _fmt(Fraction(u, scale), unit)

    if lo * n > total_units:
        raise RulesError(
            f"key 'minimum': {amount(lo)} for each of {n} clusters needs {amount(lo * n)}, more than "
            f"the total {amount(total_units)}; lower it or raise the total"
        )
    if hi is not None and hi * n < total_units:
        raise RulesError(
            f"key 'maximum': {amount(hi)} for each of {n} clusters allows only {amount(hi * n)}, less "
            f"than the total {amount(total_units)}; raise it or lower the total"
        )


def _units(x: Any, scale: int, key: str) -> int:
    exact = Decimal(str(x)) * scale
    if exact != exact.to_integral_value() or exact < 0:
        raise RulesError(f"key '{key}': {x} is not a whole number of {'pence' if scale > 1 else 'posts'} >= 0")
    return int(exact)


def _round_half_up(x: Fraction) -> int:
    return int((Decimal(x.numerator) / Decimal(x.denominator)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def attach(plan: Any, allocations: Sequence[Allocation]) -> Any:
    """Keep ``allocations`` on ``plan`` (``plan.allocations``, the records in ``plan.run``), replacing
    any earlier allocation of the same name; returns the plan."""
    names = {a.name for a in allocations}
    old = plan.allocations
    tables = [] if old is None else [old[~old["allocation"].isin(names)]]
    records = [r for r in plan.run.get("allocations", []) if r["name"] not in names]
    tables += [a.table for a in allocations]
    plan.allocations = (
        pd.concat([t for t in tables if len(t)], ignore_index=True) if any(len(t) for t in tables) else None
    )
    plan.run["allocations"] = records + [a.to_record() for a in allocations]
    return plan


def summary_lines(table: pd.DataFrame, records: Sequence[Mapping[str, Any]]) -> list[str]:
    """The summary's lines: each allocation's formula, then what each cluster gets."""
    import textwrap

    lines = ["  allocations:"]
    for rec in records:
        lines += textwrap.wrap(rec["formula"], SUMMARY_WIDTH, initial_indent="    ", subsequent_indent="    ")
        rows = table[table["allocation"] == rec["name"]]
        got = "; ".join(
            f"{r.cluster} {_fmt(r.amount, r.unit) if r.unit == 'pounds' else int(r.amount)}" for r in rows.itertuples()
        )
        lines += textwrap.wrap(got, SUMMARY_WIDTH, initial_indent="      ", subsequent_indent="      ")
    return lines


def read_section(items: Any, where: str) -> list[dict[str, Any]]:
    """Check the ``[[allocations]]`` tables of a scenario file; RulesError names the key."""
    if not isinstance(items, list):
        raise RulesError(f"{where}: 'allocations' must be a list of tables ([[allocations]])")
    out = []
    for i, item in enumerate(items):
        at = f"{where} [[allocations]] #{i + 1}"
        if not isinstance(item, dict):
            raise RulesError(f"{at}: must be a table of keys")
        bad = sorted(set(item) - SCENARIO_KEYS)
        if bad:
            raise RulesError(
                f"{at}: unknown key {', '.join(map(repr, bad))}; allowed: {', '.join(sorted(SCENARIO_KEYS))}"
            )
        if "name" not in item or not isinstance(item["name"], str):
            raise RulesError(f'{at}: needs name = "..." (what is allocated)')
        for key in ("by", "rates"):
            if key in item and not isinstance(item[key], dict):
                raise RulesError(f"{at}: key '{key}' must be a table of measure = weight")
        for key in ("total", "per_cluster", "minimum", "maximum"):
            if key in item and (isinstance(item[key], bool) or not isinstance(item[key], (int, float))):
                raise RulesError(f"{at}: key '{key}' must be a number, not {item[key]!r}")
        if "method" in item:
            try:
                _method(item["method"])
            except RulesError as e:
                raise RulesError(f"{at}: key 'method': {e}") from e
        if item.get("unit", "posts") not in UNITS:
            raise RulesError(f"{at}: key 'unit' must be one of {list(UNITS)}, not {item['unit']!r}")
        if "kinds" in item and (not isinstance(item["kinds"], list) or set(item["kinds"]) - set(KINDS)):
            raise RulesError(f"{at}: key 'kinds' must be a list of {list(KINDS)}, not {item['kinds']!r}")
        if not any(k in item for k in ("total", "per_cluster", "rates")):
            raise RulesError(f"{at}: say how much: key 'total', 'per_cluster' or 'rates'")
        out.append(dict(item))
    names = [x["name"] for x in out]
    for n in sorted({x for x in names if names.count(x) > 1}):
        raise RulesError(f"{where}: two [[allocations]] are named {n!r}; give each its own name")
    return out
