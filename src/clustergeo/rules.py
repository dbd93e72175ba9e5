"""What the planner asks for: one :class:`Rules` object, every rule optional, units in the names.

>>> rules = Rules(min_pupils=2500, max_pupils=5000, clusters=(22, 32), fewest=True,
...               keep_whole="cluster", districts="within")
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from .errors import RulesError

OBJECTIVES = {"travel": "hess", "boundary": "cut_edges"}


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
        secondary with the primaries that feed it (``"feeds"``), or school by school (``None``).
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

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise :class:`RulesError` naming the rule and the fix."""
        for lo, hi, what in ((self.min_pupils, self.max_pupils, "pupils"),
                             (self.min_schools, self.max_schools, "schools")):
            for name, v in ((f"min_{what}", lo), (f"max_{what}", hi)):
                if v is not None and (not isinstance(v, (int, float)) or v < 0):
                    raise RulesError(f"rule '{name}' must be a number >= 0, not {v!r}")
            if lo is not None and hi is not None and lo > hi:
                raise RulesError(f"rule 'min_{what}' ({lo}) is above 'max_{what}' ({hi}): swap them")
        c = self.clusters
        if isinstance(c, list):
            self.clusters = c = tuple(c)
        if c is not None:
            ok = (isinstance(c, int) and c >= 1) or (isinstance(c, tuple) and len(c) == 2 and
                                                      all(isinstance(v, int) for v in c) and 1 <= c[0] <= c[1])
            if not ok:
                raise RulesError(f"rule 'clusters' must be a whole number or [min, max], not {c!r}")
        if self.keep_whole not in ("cluster", "feeds", None):
            raise RulesError(f"rule 'keep_whole' must be 'cluster', 'feeds' or none, not {self.keep_whole!r}")
        for name in ("districts", "divisions"):
            if getattr(self, name) not in ("within", "penalty", "off"):
                raise RulesError(f"rule '{name}' must be 'within', 'penalty' or 'off', not {getattr(self, name)!r}")
        if self.objective not in OBJECTIVES:
            raise RulesError(f"rule 'objective' must be 'travel' or 'boundary', not {self.objective!r}")
        if self.connect not in ("error", "nearest"):
            raise RulesError(f"rule 'connect' must be 'error' or 'nearest', not {self.connect!r}")
        for name, sel in self.apart.items():
            if not isinstance(sel, dict) or not sel:
                raise RulesError(f"rule 'apart' for {name!r} must select schools by column, "
                                 "e.g. {group = \"asn\"}")

    def bounds(self) -> dict[str, tuple[float | None, float | None]]:
        out = {}
        if self.min_pupils is not None or self.max_pupils is not None:
            out["pupils"] = (self.min_pupils, self.max_pupils)
        if self.min_schools is not None or self.max_schools is not None:
            out["schools"] = (self.min_schools, self.max_schools)
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
            import difflib

            hints = [f"'{u}' (did you mean '{difflib.get_close_matches(u, known, 1)[0]}'?)"
                     if difflib.get_close_matches(u, known, 1) else f"'{u}'" for u in unknown]
            raise RulesError(f"unknown rule {', '.join(hints)}; known rules: {', '.join(sorted(known))}")
        return cls(**data)

    def replace(self, **changes: Any) -> Rules:
        return Rules.from_dict({**self.to_dict(), **changes})
