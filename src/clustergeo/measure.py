"""The size measure: which pupils every rule and report counts.

``Rules.size_measure`` names the column counted as ``pupils`` (the census headcount by default;
Norfolk counts ``pupils_school_age``). :func:`measured` applies it to a schools table and
:func:`record_measure` notes it in a plan's run record; :func:`count_phases` counts the
schools of each phase a unit holds. A proposal, a plan read from a file and
a repaired plan all count pupils through these two functions.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .errors import DataError, Problem
from .rules import Rules, phase_measure, phase_schools

#: the column keeping the census headcount once another measure is counted as ``pupils``
HEADCOUNT = "pupils_headcount"
MAX_NAMED = 20  # schools named in one error


def measured(s: pd.DataFrame, rules: Rules) -> pd.DataFrame:
    """``s`` with ``pupils`` counted by ``rules.size_measure`` (the headcount kept in
    ``pupils_headcount``); a table already measured (it has ``pupils_headcount``) is returned
    as it is."""
    m = rules.size_measure
    if m == "pupils" or HEADCOUNT in s.columns:
        return s
    if m not in s.columns:
        raise DataError(
            Problem(
                "the size measure is not a column of the schools table",
                column=m,
                fix="use 'pupils' or a column such as 'pupils_school_age'",
            )
        )
    vals = pd.to_numeric(s[m], errors="coerce")
    bad = s.loc[vals.isna() | (vals < 0), "school_id"].tolist()
    if bad:
        raise DataError(
            [
                Problem(
                    "the size measure is missing or negative", school=str(b), column=m, fix="enter a whole number >= 0"
                )
                for b in bad[:MAX_NAMED]
            ]
        )
    return s.assign(**{HEADCOUNT: s["pupils"], "pupils": vals.round().astype("int64")})


def record_measure(plan: Any, rules: Rules) -> None:
    """Note in ``plan`` (a :class:`~clustergeo.Plan`) the size measure its pupils are counted
    by (``run["size_measure"]``) and the headcount beside it (``metrics["pupils_headcount"]``)."""
    if rules.size_measure == "pupils" or HEADCOUNT not in plan.schools.columns:
        return
    plan.run["size_measure"] = rules.size_measure
    counted = plan.schools["status"] != "excluded"
    plan.metrics[HEADCOUNT] = int(pd.to_numeric(plan.schools.loc[counted, HEADCOUNT]).sum())


def count_phases(u: Any, schools: pd.DataFrame, rules: Rules) -> Any:
    """Give each node of the unit graph ``u`` its number of schools of each phase the
    ``min_phase`` rule names (``secondary_schools``, say); returns ``u``."""
    for phase in rules.min_phase:
        of_phase = set(schools.loc[phase_schools(schools, phase), "school_id"].astype(str))
        for v, d in u.nodes(data=True):
            d[phase_measure(phase)] = sum(str(m) in of_phase for m in d.get("members", [v]))
    return u
