"""What the planner asks for: one :class:`Rules` object, every rule optional, units in the names.

>>> rules = Rules(min_pupils=2500, max_pupils=5000, clusters=(22, 32), fewest=True,
...               keep_whole="cluster", districts="within")
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import numbers
from dataclasses import dataclass, field
from typing import Any

from .errors import RulesError

OBJECTIVES = {"travel": "hess", "boundary": "cut_edges"}
MODES = ("within", "penalty", "off")
KEEP_WHOLE = ("cluster", "feeds")
#: Words that mean "school by school" for ``keep_whole`` (TOML has no null).
SCHOOL_BY_SCHOOL = ("none", "school", "schools", "off")


#: phases that count as another phase for the composition and hub rules
PHASE_ALIASES = {"secondary": {"secondary", "all-through"}}


def phase_schools(schools: Any, phase: str) -> Any:
    """A mask of the schools of ``phase`` (all-through schools count as secondary)."""
    return schools["phase"].isin(PHASE_ALIASES.get(phase, {phase}))


def hub_schools(rules: Rules, schools: Any) -> set[str] | None:
    """The school ids that may be a cluster's hub under ``rules.hubs`` (None: any school)."""
    if rules.hubs is None:
        return None
    if isinstance(rules.hubs, str):
        return set(schools.loc[phase_schools(schools, rules.hubs), "school_id"].astype(str))
    return set(map(str, rules.hubs))


def phase_measure(phase: str) -> str:
    """The unit attribute counting a phase's schools (for the ``min_phase`` rule)."""
    return f"{phase}_schools"


@dataclass
class Rules:
    """The rules a plan must meet.

    Attributes
    ----------
    min_pupils, max_pupils : int, optional
        Pupils per geographic cluster (Norfolk: 2,500 to 5,000).
    min_schools, max_schools : int, optional
        Schools per geographic cluster (North Lanarkshire: 8 to 13). Both measures can apply.
    clusters : int or (int, int), optional
        Number of geographic clusters: exact or a range (Norfolk: 22 to 32). Pinned and apart
        clusters are counted apart and are not part of this number.
    fewest : bool
        Find the smallest feasible number first (within ``clusters`` if given), then the most
        compact plan with that number (Norfolk's "reduce the number where possible").
    keep_whole : {"cluster", "feeds", None}
        Catchments that stay whole: current clusters merged whole (``"cluster"``), each
        secondary with the primaries that feed it (``"feeds"``), or school by school (``None``;
        ``"none"`` or ``false`` in a scenario file).
    redraw : list of str
        Current clusters (by label) or districts (by name) whose schools are redrawn school by
        school (Norfolk: King's Lynn, Great Yarmouth, Norwich).
    must_link : list of lists of school ids
        Extra groups of schools that must stay together.
    districts, divisions : {"within", "penalty", "off"}
        Each cluster inside one district (``within``), or each extra district a cluster touches
        costs ``district_penalty`` (``penalty``), or no rule. The same for ``divisions``.
    district_penalty, division_penalty : float
        In objective units: pupil-minutes for ``objective="travel"``, split neighbour pairs for
        ``objective="boundary"``.
    pinned : list of str
        Current clusters (by label) kept exactly as they are (North Lanarkshire keeps four).
    apart : dict of str to dict
        Non-geographic clusters: name -> selector, e.g. ``{"ASN schools": {"group": "asn"}}``:
        the matching schools form that cluster, outside the geography and its rules.
    objective : {"travel", "boundary"}
        ``travel``: pupil-weighted travel time from each unit to its cluster's hub (Hess /
        p-median). ``boundary``: the number of neighbour pairs split between clusters.
    keep_current_weight : float
        Extra cost for each pair of neighbouring schools of one current cluster that the plan
        puts in different clusters (0 = off), in objective units.
    max_minutes : float, optional
        A travel cap: no unit's pupils travel more than this many minutes on average to their
        cluster's hub school (fixes those unit-hub pairs out before solving).
    min_phase : dict of str to int
        At least this many schools of a phase in each geographic cluster, e.g.
        ``{"secondary": 1}`` (all-through schools count as secondary).
    hubs : str or list of str, optional
        The schools that may be a cluster's hub, where its travel is measured to (e.g. where a
        wellbeing base would sit): a phase (``"secondary"``, all-through schools included) or
        a list of school ids. Each geographic cluster is then hubbed at its best candidate.
    size_measure : str
        The schools column the pupil bounds count (default ``"pupils"``, the headcount), e.g.
        ``"pupils_school_age"`` (Norfolk: nursery pupils left out). The plan then reports
        that measure as its pupils and records it in the run.
    max_crossings : int, optional
        At most this many clusters (pinned ones included) with schools in more than one district
        (or locality), counted school by school. Use with ``districts = "off"``.
    fewest_crossings : bool
        Fewest clusters crossing district lines first, proved, then the most compact plan
        with that many (lexicographic; within ``max_crossings`` if given).
    connect : {"error", "nearest"}
        What to do if the neighbour graph falls apart (islands, or parts cut off by pinned
        clusters): stop with the schools named, or join each stray part to its nearest neighbour.
    """

    min_pupils: int | None = None
    max_pupils: int | None = None
    min_schools: int | None = None
    max_schools: int | None = None
    clusters: int | tuple[int, int] | None = None
    fewest: bool = False
    keep_whole: str | None = "cluster"
    redraw: list[str] = field(default_factory=list)
    must_link: list[list[str]] = field(default_factory=list)
    districts: str = "off"
    district_penalty: float = 50_000.0
    divisions: str = "off"
    division_penalty: float = 50_000.0
    pinned: list[str] = field(default_factory=list)
    apart: dict[str, dict[str, Any]] = field(default_factory=dict)
    objective: str = "travel"
    keep_current_weight: float = 0.0
    max_minutes: float | None = None
    connect: str = "nearest"
    max_crossings: int | None = None
    fewest_crossings: bool = False
    size_measure: str = "pupils"
    min_phase: dict[str, int] = field(default_factory=dict)
    hubs: str | list[str] | None = None

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise :class:`RulesError` naming the rule and the fix (types and ranges of every rule).

        Booleans are strict (``fewest = "no"`` is refused, not read as true); counts are whole
        numbers; penalties and weights are >= 0; ``max_minutes`` is > 0; ``redraw``,
        ``pinned`` and ``must_link`` are lists. ``keep_whole = "none"`` (or ``False``) means
        school by school, the same as ``None``.
        """
        for name in ("min_pupils", "max_pupils", "min_schools", "max_schools"):
            setattr(self, name, _count(name, getattr(self, name), minimum=0))
        for lo, hi, what in (
            (self.min_pupils, self.max_pupils, "pupils"),
            (self.min_schools, self.max_schools, "schools"),
        ):
            if lo is not None and hi is not None and lo > hi:
                raise RulesError(f"rule 'min_{what}' ({lo}) is above 'max_{what}' ({hi}): swap them")
        self.clusters = _clusters(self.clusters)
        if not isinstance(self.fewest, bool):
            raise RulesError(f"rule 'fewest' must be true or false, not {self.fewest!r}")
        self.keep_whole = _keep_whole(self.keep_whole)
        self.redraw = _names("redraw", self.redraw)
        self.pinned = _names("pinned", self.pinned)
        self.must_link = _groups(self.must_link)
        for name in ("district_penalty", "division_penalty", "keep_current_weight"):
            setattr(self, name, _number(name, getattr(self, name), minimum=0.0))
        if self.max_minutes is not None:
            self.max_minutes = _number("max_minutes", self.max_minutes, minimum=0.0)
            if self.max_minutes <= 0:
                raise RulesError(
                    f"rule 'max_minutes' must be above 0 minutes, not {self.max_minutes!r}; "
                    "leave it out for no travel cap"
                )
        for name, allowed in (
            ("districts", MODES),
            ("divisions", MODES),
            ("objective", tuple(OBJECTIVES)),
            ("connect", ("error", "nearest")),
        ):
            _choice(name, getattr(self, name), allowed)
        self.apart = _apart(self.apart)
        if self.max_crossings is not None and (not isinstance(self.max_crossings, int) or self.max_crossings < 0):
            raise RulesError(f"rule 'max_crossings' must be a whole number >= 0, not {self.max_crossings!r}")
        if not isinstance(self.fewest_crossings, bool):
            raise RulesError(f"rule 'fewest_crossings' must be true or false, not {self.fewest_crossings!r}")
        if (self.max_crossings is not None or self.fewest_crossings) and self.districts != "off":
            raise RulesError(
                "rules 'max_crossings' and 'fewest_crossings' are the district rule: "
                f'set districts = "off" (not {self.districts!r})'
            )
        for phase, n in self.min_phase.items():
            if not isinstance(n, int) or n < 0:
                raise RulesError(f"rule 'min_phase' for {phase!r} must be a whole number >= 0, not {n!r}")
        if self.hubs is not None:
            if isinstance(self.hubs, (list, tuple)):
                self.hubs = _names("hubs", list(self.hubs))
                if not self.hubs:
                    raise RulesError("rule 'hubs' lists no school; leave it out to let any school be a hub")
            elif not isinstance(self.hubs, str) or not self.hubs.strip():
                raise RulesError(
                    f"rule 'hubs' must be a phase (e.g. \"secondary\") or a list of school ids, not {self.hubs!r}"
                )
            if self.objective != "travel":
                raise RulesError(f"rule 'hubs' needs objective = 'travel' (travel to the hub), not {self.objective!r}")

    def check_names(self, schools: Any) -> None:
        """Raise :class:`RulesError` when a rule names something the schools table does not hold.

        ``redraw`` (current clusters, feeder groups or districts), ``pinned`` (current
        clusters), ``must_link`` (school ids) and ``apart`` (columns and their values) are
        checked, each unknown name with a "did you mean" hint.

        Examples
        --------
        >>> import clustergeo as cg
        >>> nl = cg.datasets.load("north-lanarkshire")
        >>> cg.Rules(pinned=["Airdrie Academy"]).check_names(nl.schools)
        """
        errors = _name_errors(self, schools)
        if errors:
            raise RulesError(
                "\n  - ".join(
                    [
                        f"{len(errors)} rule{'s' if len(errors) != 1 else ''} name "
                        "what the schools table does not hold:",
                        *errors,
                    ]
                )
            )

    def bounds(self) -> dict[str, tuple[float | None, float | None]]:
        out: dict[str, tuple[float | None, float | None]] = {}
        if self.min_pupils is not None or self.max_pupils is not None:
            out["pupils"] = (self.min_pupils, self.max_pupils)
        if self.min_schools is not None or self.max_schools is not None:
            out["schools"] = (self.min_schools, self.max_schools)
        for phase, n in sorted(self.min_phase.items()):
            out[phase_measure(phase)] = (n, None)
        return out

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        if isinstance(d["clusters"], tuple):
            d["clusters"] = list(d["clusters"])
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Rules:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            hints = [
                f"'{u}' (did you mean '{difflib.get_close_matches(u, known, 1)[0]}'?)"
                if difflib.get_close_matches(u, known, 1)
                else f"'{u}'"
                for u in unknown
            ]
            raise RulesError(f"unknown rule {', '.join(hints)}; known rules: {', '.join(sorted(known))}")
        return cls(**data)

    def replace(self, **changes: Any) -> Rules:
        return Rules.from_dict({**self.to_dict(), **changes})


def _is_number(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(float(v))


def _number(name: str, v: Any, *, minimum: float) -> float:
    if not _is_number(v):
        raise RulesError(f"rule {name!r} must be a number, not {v!r}")
    if v < minimum:
        raise RulesError(
            f"rule {name!r} must be >= {minimum:g}, not {v!r} (a negative value would reward what it is meant to cost)"
        )
    return float(v)


def _count(name: str, v: Any, *, minimum: int) -> int | None:
    if v is None:
        return None
    if not _is_number(v) or float(v) != round(float(v)):
        raise RulesError(f"rule {name!r} must be a whole number, not {v!r}")
    if v < minimum:
        raise RulesError(f"rule {name!r} must be a whole number >= {minimum}, not {v!r}")
    return int(v)


def _clusters(c: Any) -> int | tuple[int, int] | None:
    if c is None:
        return None
    fix = "a whole number (clusters = 10) or [min, max] (clusters = [22, 32])"
    if isinstance(c, (list, tuple)):
        if len(c) != 2 or not all(_is_number(v) and float(v) == round(float(v)) for v in c):
            raise RulesError(f"rule 'clusters' must be {fix}, not {c!r}")
        lo, hi = int(c[0]), int(c[1])
        if not 1 <= lo <= hi:
            raise RulesError(f"rule 'clusters' as [min, max] needs 1 <= min <= max, not {c!r}")
        return (lo, hi)
    if not _is_number(c) or float(c) != round(float(c)) or c < 1:
        raise RulesError(f"rule 'clusters' must be {fix}, at least 1, not {c!r}")
    return int(c)


def _keep_whole(v: Any) -> str | None:
    if v is None or v is False or (isinstance(v, str) and v.strip().lower() in SCHOOL_BY_SCHOOL):
        return None
    if isinstance(v, str) and v in KEEP_WHOLE:
        return v
    raise RulesError(f"rule 'keep_whole' must be 'cluster', 'feeds' or 'none' (school by school), not {v!r}")


def _choice(name: str, v: Any, allowed: tuple[str, ...]) -> None:
    if v not in allowed:
        near = difflib.get_close_matches(str(v), allowed, 1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        raise RulesError(f"rule {name!r} must be one of {', '.join(repr(a) for a in allowed)}, not {v!r}{hint}")


def _names(name: str, v: Any) -> list[str]:
    if isinstance(v, str):
        toml = v.replace('"', '\\"')
        raise RulesError(f'rule {name!r} must be a list of names, not the string {v!r}: write {name} = ["{toml}"]')
    if not isinstance(v, (list, tuple)) or not all(isinstance(x, str) for x in v):
        raise RulesError(f"rule {name!r} must be a list of names (strings), not {v!r}")
    return list(v)


def _groups(v: Any) -> list[list[str]]:
    if isinstance(v, str) or not isinstance(v, (list, tuple)):
        raise RulesError(
            f"rule 'must_link' must be a list of lists of school ids, not {v!r}; "
            'e.g. must_link = [["100001", "100002"]]'
        )
    out = []
    for g in v:
        if isinstance(g, str) or not isinstance(g, (list, tuple)) or len(g) < 2:
            raise RulesError(f"rule 'must_link': each group must list two or more school ids, not {g!r}")
        if not all(isinstance(x, (str, int)) and not isinstance(x, bool) for x in g):
            raise RulesError(f"rule 'must_link': school ids are strings, not {g!r}")
        out.append([str(x) for x in g])
    return out


def _apart(v: Any) -> dict[str, dict[str, Any]]:
    if not isinstance(v, dict):
        raise RulesError(
            f"rule 'apart' must map cluster names to selectors, e.g. "
            f'apart = {{ "ASN" = {{ group = "asn" }} }}, not {v!r}'
        )
    for name, sel in v.items():
        if not isinstance(sel, dict) or not sel:
            raise RulesError(f"rule 'apart' for {name!r} must select schools by column, e.g. {{group = \"asn\"}}")
        for col, values in sel.items():
            vals = values if isinstance(values, (list, tuple)) else [values]
            if not vals or not all(isinstance(x, (str, int, float)) and not isinstance(x, bool) for x in vals):
                raise RulesError(
                    f"rule 'apart' for {name!r}: column {col!r} must select a value or a list of values, not {values!r}"
                )
    return v


def _hint(name: str, known: set) -> str:
    near = difflib.get_close_matches(str(name), sorted(map(str, known)), 1, cutoff=0.6)
    return f" (did you mean {near[0]!r}?)" if near else ""


def _values(schools: Any, column: str) -> set:
    if column not in schools.columns:
        return set()
    return {v for v in schools[column].dropna().tolist() if v != ""}


def _name_errors(rules: Rules, schools: Any) -> list[str]:
    """Every name in ``rules`` that ``schools`` does not hold, in words."""
    out = []
    clusters, districts = _values(schools, "cluster"), _values(schools, "district")
    if rules.keep_whole is not None and rules.redraw:
        groups = clusters if rules.keep_whole == "cluster" else _values(schools, "feeds")
        what = "current cluster" if rules.keep_whole == "cluster" else "feeder secondary (school id)"
        for name in rules.redraw:
            if name not in groups and name not in districts:
                out.append(
                    f"rule 'redraw' names {name!r}, which is neither a {what} nor a district"
                    f"{_hint(name, groups | districts)}"
                )
    for name in rules.pinned:
        if name not in clusters:
            out.append(
                f"rule 'pinned' names {name!r}, which is not a current cluster{_hint(name, clusters)}"
                + ("" if clusters else " (the schools table has no current clusters)")
            )
    ids = set(schools["school_id"].astype(str))
    if isinstance(rules.hubs, str):
        phases = {str(x) for x in _values(schools, "phase")} | set(PHASE_ALIASES)
        if rules.hubs not in phases:
            out.append(f"rule 'hubs' names phase {rules.hubs!r}, which no school has{_hint(rules.hubs, phases)}")
    elif rules.hubs:
        for sid in rules.hubs:
            if sid not in ids:
                out.append(f"rule 'hubs' names school {sid!r}, which is not in the schools table{_hint(sid, ids)}")
    for group in rules.must_link:
        for sid in group:
            if sid not in ids:
                out.append(f"rule 'must_link' names school {sid!r}, which is not in the schools table{_hint(sid, ids)}")
    for cname, sel in rules.apart.items():
        for col, values in sel.items():
            if col not in schools.columns:
                out.append(
                    f"rule 'apart' for {cname!r} selects on column {col!r}, which the schools table "
                    f"does not have{_hint(col, set(schools.columns))}"
                )
                continue
            have = {str(x) for x in _values(schools, col)}
            for value in values if isinstance(values, (list, tuple)) else [values]:
                if str(value) not in have:
                    out.append(f"rule 'apart' for {cname!r}: no school has {col} = {value!r}{_hint(value, have)}")
    return out
