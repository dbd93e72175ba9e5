"""Peer groups inside clusters: every school of a phase in exactly one small group.

North Lanarkshire's 2025 plan puts each primary in a Self-Evaluation for Continuous Improvement
(SECI) trio or quad within its cluster. :func:`peer_groups` forms such groups for every cluster
of a plan, **exactly**: it lists every candidate group (286 trios and 715 quads for 13 schools)
and solves the set-partitioning model with HiGHS, so the groups are provably the most compact.

The measure minimised (``cost``):

``pairs``  the sum, over groups, of the travel minutes between every two schools of the group
           (the mean of both directions). A trio has 3 pairs and a quad 6, so where both fit,
           trios score lower.
``hub``    the sum, over groups, of the travel minutes from each school to the group's hub (the
           member that makes the sum smallest): 2 journeys for a trio, 3 for a quad.

A cluster whose count cannot be split into the allowed sizes (1, 2 or 5 primaries for trios and
quads) is named, and handled by the option the planner chooses (``unsplittable``):

``share``       one group shared with the nearest cluster whose count allows it (the plan's
                "collaborate with larger clusters"): both are solved together, with exactly one
                group holding schools of both (nearest: the shortest time between a school of each).
``other-size``  one group of another size: the size nearest the allowed ones that makes the
                count split, larger first (5 primaries: one group of 5; 2: a pair; 1: alone).
``error``       stop with the list of such clusters.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pulp

from .errors import InfeasibleError, RulesError, SolverError

log = logging.getLogger(__name__)

COSTS = {
    "pairs": "the sum of travel minutes between every two schools of each group",
    "hub": "the sum of travel minutes from each school to its group's hub school",
}
OPTIONS = ("share", "other-size", "error")
UNSPLITTABLE_WORDS = {
    "share": "shares a group with the nearest cluster",
    "other-size": "has one group of another size",
    "error": "is an error",
}
#: Largest number of schools solved together: C(30, 4) = 27,405 candidate quads.
MAX_SCHOOLS = 30
SIZE_NAMES = {1: "single", 2: "pair", 3: "trio", 4: "quad", 5: "quintet", 6: "sextet"}
#: Keys of the ``[peer_groups]`` table in a scenario file.
SCENARIO_KEYS = {"phase", "sizes", "cost", "unsplittable"}


@dataclass
class PeerGroups:
    """The groups of one plan.

    Attributes
    ----------
    table : DataFrame
        One row per school: ``school`` (its id), ``name, cluster, group, group_size, shared_with,
        exception, group_minutes`` (the group's cost, in minutes).
    clusters : DataFrame
        One row per cluster: ``cluster, schools, groups, sizes, minutes, exception``.
    record : dict
        What was asked and found, for the run record (phase, sizes, measure, option, travel).
    """

    table: pd.DataFrame
    clusters: pd.DataFrame
    record: dict[str, Any]

    def summary_lines(self) -> list[str]:
        return summary_lines(self.record)

    def attach(self, plan: Any) -> Any:
        """Keep the groups on ``plan`` (``plan.groups``, and the record in ``plan.run``); returns it."""
        plan.groups = self.table
        plan.run["peer_groups"] = self.record
        return plan


def splits(n: int, sizes: Sequence[int]) -> bool:
    """Whether ``n`` schools can be split exactly into groups of the allowed ``sizes``.

    Examples
    --------
    >>> [n for n in range(1, 10) if not splits(n, (3, 4))]
    [1, 2, 5]
    """
    ok = [True] + [False] * n
    for k in range(1, n + 1):
        ok[k] = any(k >= s and ok[k - s] for s in sizes)
    return ok[n]


def other_size(n: int, sizes: Sequence[int]) -> int:
    """The size of the one odd group that lets ``n`` schools split (see the module docstring)."""
    lo, hi = min(sizes), max(sizes)
    cands = sorted((s for s in range(1, n + 1) if s not in sizes), key=lambda s: (max(lo - s, s - hi, 0), -s))
    for s in cands:
        if splits(n - s, sizes):
            return s
    return n


def _costs(ids: list, minutes: np.ndarray, cost: str | Callable) -> Callable[[tuple[int, ...]], float]:
    sym = (minutes + minutes.T) / 2.0
    if callable(cost):
        return lambda g: float(cost([ids[i] for i in g]))
    if cost == "pairs":
        return lambda g: float(sum(sym[a, b] for a, b in itertools.combinations(g, 2)))
    return lambda g: float(min(sum(minutes[i, h] for i in g) for h in g))


def _solve(
    cands: list[tuple[tuple[int, ...], float, str]], n: int, limits: Mapping[str, tuple[int, int]], where: str
) -> list[tuple[tuple[int, ...], float, str]]:
    """Set partitioning: each of ``n`` schools in exactly one chosen candidate group.

    A candidate is (members, cost, tag); ``limits[tag] = (lo, hi)`` bounds how many groups
    carrying that tag are chosen (the shared and odd-sized groups)."""
    lp = pulp.LpProblem("peer_groups", pulp.LpMinimize)
    x = [pulp.LpVariable(f"g{k}", cat="Binary") for k in range(len(cands))]
    lp += pulp.lpSum(c * v for (_, c, _), v in zip(cands, x))
    cover: list[list] = [[] for _ in range(n)]
    for (members, _, _), v in zip(cands, x):
        for i in members:
            cover[i].append(v)
    for i in range(n):
        lp += pulp.lpSum(cover[i]) == 1, f"school{i}"
    for tag, (lo, hi) in limits.items():
        tagged = [v for (_, _, t), v in zip(cands, x) if tag in t.split(",")]
        lp += pulp.lpSum(tagged) >= lo, f"lo_{len(lp.constraints)}"
        lp += pulp.lpSum(tagged) <= hi, f"hi_{len(lp.constraints)}"
    from .solve.backends import solvers

    try:
        info = solvers.run(lp, solvers.make("highs", time_limit=None, gap=None, threads=1, seed=0, warm_start=False))
    except pulp.PulpSolverError as e:  # pragma: no cover - solver missing
        raise SolverError(f"HiGHS failed on the peer groups of {where}: {e}") from e
    status = info.status
    if status == "error" or (status != "infeasible" and not info.has_solution):
        raise SolverError(f"HiGHS did not solve the peer groups of {where} ({status})")
    if status != "optimal":
        raise InfeasibleError(
            f"{where}: the schools cannot be split into the groups asked for ({status}); use unsplittable='other-size'"
        )
    return [cands[k] for k, v in enumerate(x) if (v.value() or 0) > 0.5]


def can_share(n_a: int, n_b: int, sizes: Sequence[int]) -> bool:
    """Whether clusters of ``n_a`` and ``n_b`` schools split with exactly one group holding both.

    Examples
    --------
    >>> can_share(2, 3, (3, 4)), can_share(2, 4, (3, 4))
    (False, True)
    """
    return any(
        splits(n_a - a, sizes) and splits(n_b - (s - a), sizes)
        for s in sizes
        for a in range(1, min(n_a, s - 1) + 1)
        if 1 <= s - a <= n_b
    )


def _partner(c: str, members: dict[str, list[int]], minutes: np.ndarray, sizes: Sequence[int]) -> str | None:
    """The nearest cluster (shortest minutes between a school of each) that ``c`` can share a group with."""
    near = []
    for other, idx in sorted(members.items()):
        if other != c and idx and can_share(len(members[c]), len(idx), sizes):
            near.append((float(minutes[np.ix_(members[c], idx)].min()), other))
    return min(near)[1] if near else None


def _candidates(
    part: list[str],
    members: dict[str, list[int]],
    sizes: Sequence[int],
    partner: dict[str, str],
    odd: dict[str, int],
    local: dict[int, int],
    cost_of: Callable,
) -> list:
    cands = []
    for c in part:
        idx = members[c]
        for s in sorted(set(sizes) | ({odd[c]} if c in odd else set())):
            tag = f"odd:{c}" if s not in sizes else ""
            for g in itertools.combinations(idx, s):
                cands.append((tuple(local[i] for i in g), cost_of(g), tag))
    seen = set()
    for a, b in sorted(partner.items()):
        if a not in part:
            continue
        both = sorted(members[a] + members[b])
        tag = ",".join(sorted({f"shared:{a}"} | ({f"shared:{b}"} if partner.get(b) == a else set())))
        for s in sizes:
            for g in itertools.combinations(both, s):
                key = tuple(sorted(g))
                if key in seen or not (set(g) & set(members[a]) and set(g) & set(members[b])):
                    continue
                seen.add(key)
                cands.append((tuple(local[i] for i in g), cost_of(g), tag))
    return cands


def _parts(clusters: list[str], partner: dict[str, str]) -> list[list[str]]:
    """Clusters solved together: each unsplittable cluster with its partner (joined up)."""
    root = {c: c for c in clusters}

    def find(c: str) -> str:
        while root[c] != c:
            c = root[c]
        return c

    for a, b in partner.items():
        root[find(a)] = find(b)
    parts: dict[str, list[str]] = {}
    for c in clusters:
        parts.setdefault(find(c), []).append(c)
    return sorted(parts.values())


def peer_groups(
    plan: Any,
    *,
    phase: str = "primary",
    sizes: Sequence[int] = (3, 4),
    cost: str | Callable = "pairs",
    unsplittable: str = "share",
    times: Any = None,
    kinds: Sequence[str] | None = None,
) -> PeerGroups:
    """Split each cluster's schools of one phase exactly into the most compact groups of allowed sizes.

    Parameters
    ----------
    plan : Plan
        The plan whose clusters are split (its ``schools`` table).
    phase : str
        The phase grouped (``"primary"``); other schools get no group.
    sizes : sequence of int
        The allowed group sizes (trios and quads: ``(3, 4)``).
    cost : {"pairs", "hub"} or callable
        The measure minimised (see the module docstring), or a function of a list of school ids.
    unsplittable : {"share", "other-size", "error"}
        What happens to a cluster whose count cannot be split (see the module docstring).
    times : TravelTimes, optional
        Travel times between the schools; by default the straight-line estimate of
        :func:`clustergeo.travel.estimate_travel_times`, labelled as such.
    kinds : sequence of str, optional
        The cluster kinds grouped (default geographic and pinned).

    Returns
    -------
    PeerGroups

    Raises
    ------
    InfeasibleError
        With ``unsplittable="error"``, naming every cluster whose count does not split.
    RulesError
        Bad sizes, cost, option, or a cluster above :data:`MAX_SCHOOLS` schools of the phase.

    Examples
    --------
    >>> import clustergeo as cg
    >>> plan = cg.propose(...)  # doctest: +SKIP
    >>> g = peer_groups(plan, sizes=(3, 4), unsplittable="share")  # doctest: +SKIP
    >>> g.table[["school", "cluster", "group"]]  # doctest: +SKIP
    """
    from .travel import estimate_travel_times

    sizes = _check_args(sizes, cost, unsplittable)
    s = plan.schools
    phases = sorted(set(s["phase"].dropna().astype(str)))
    s = s[(s["status"] != "excluded") & s["cluster"].notna() & (s["phase"] == phase)]
    if kinds is None:
        kinds = ("geographic", "pinned")
    kind_of = dict(zip(plan.clusters["cluster"], plan.clusters["kind"]))
    s = s[s["cluster"].map(kind_of).isin(list(kinds))].sort_values(["cluster", "school_id"]).reset_index(drop=True)
    if s.empty:
        raise RulesError(
            f"key 'phase': no {phase} schools in the plan's {', '.join(kinds)} clusters to group "
            f"(the plan's phases: {', '.join(phases)})"
        )
    ids = s["school_id"].tolist()
    if times is None:
        times = estimate_travel_times(s)
    pos = {k: i for i, k in enumerate(times.ids)}
    missing = [sid for sid in ids if sid not in pos]
    if missing:
        raise RulesError(f"the travel times lack {len(missing)} schools (first {missing[:3]}); pass times for all")
    minutes = times.minutes[np.ix_([pos[k] for k in ids], [pos[k] for k in ids])]
    members = {c: list(idx) for c, idx in s.groupby("cluster", sort=True).indices.items()}
    bad = sorted(c for c, idx in members.items() if not splits(len(idx), sizes))
    if bad and unsplittable == "error":
        raise InfeasibleError(
            [
                f"{c} has {len(members[c])} {phase} schools: they cannot be split into groups of {_sizes_text(sizes)}"
                for c in bad
            ],
            relaxations=[
                "unsplittable='share' (a group shared with the nearest cluster)",
                "unsplittable='other-size' (one group of another size)",
            ],
        )
    partner = {c: p for c in bad if unsplittable == "share" and (p := _partner(c, members, minutes, sizes)) is not None}
    if unsplittable == "share" and len(partner) < len(bad):
        raise InfeasibleError(
            f"the {phase} schools of {sorted(set(bad) - set(partner))} have no cluster to share "
            f"one group of {_sizes_text(sizes)} with",
            relaxations=["unsplittable='other-size'"],
        )
    odd = {c: other_size(len(members[c]), sizes) for c in bad if unsplittable == "other-size"}
    cost_of = _costs(ids, minutes, cost)
    chosen = _solve_parts(sorted(members), members, sizes, partner, odd, cost_of)
    return _result(
        s,
        chosen,
        members,
        partner,
        odd,
        sizes,
        {
            "phase": phase,
            "sizes": list(sizes),
            "unsplittable": unsplittable,
            "times": times.label,
            "cost": cost if isinstance(cost, str) else getattr(cost, "__name__", "custom"),
        },
    )


def _solve_parts(
    clusters: list[str],
    members: dict[str, list[int]],
    sizes: Sequence[int],
    partner: dict[str, str],
    odd: dict[str, int],
    cost_of: Callable,
) -> list[tuple[tuple[int, ...], float, str]]:
    chosen = []
    for part in _parts(clusters, partner):
        idx = sorted(i for c in part for i in members[c])
        if len(idx) > MAX_SCHOOLS:
            shared = [c for c in part if c in partner]
            raise RulesError(
                f"{' + '.join(part)}: {len(idx)} schools to group in one model, more than {MAX_SCHOOLS}, "
                f"because {', '.join(shared) or 'a cluster'} cannot split into {_sizes_text(sizes)} "
                "on its own and shares a group with its neighbour; choose sizes that fit (e.g. sizes=(3, 4)) "
                "or unsplittable='other-size'"
                if shared
                else f"{part[0]}: {len(idx)} schools to group, more than {MAX_SCHOOLS} in one model; split the cluster"
            )
        local = {i: k for k, i in enumerate(idx)}
        cands = _candidates(part, members, sizes, partner, odd, local, cost_of)
        limits = {f"odd:{c}": (1, 1) for c in part if c in odd}
        limits |= {f"shared:{c}": (1, 1) for c in part if c in partner}
        for members_local, c, tag in _solve(cands, len(idx), limits, " + ".join(part)):
            chosen.append((tuple(idx[k] for k in members_local), c, tag))
    return chosen


def _result(
    s: pd.DataFrame,
    chosen: list,
    members: dict[str, list[int]],
    partner: dict[str, str],
    odd: dict[str, int],
    sizes: Sequence[int],
    record: dict[str, Any],
) -> PeerGroups:
    cluster_of = s["cluster"].tolist()
    rows: list[dict[str, Any]] = []
    counter: dict[str, int] = {}
    for g, c, _tag in sorted(chosen, key=lambda t: (cluster_of[t[0][0]], t[1], t[0])):
        home = sorted({cluster_of[i] for i in g})
        label = " + ".join(home)
        counter[label] = counter.get(label, 0) + 1
        gid = f"{label} #{counter[label]}"
        exception = "shared" if len(home) > 1 else ("other-size" if len(g) not in sizes else "")
        for i in g:
            others = sorted(set(home) - {cluster_of[i]})
            rows.append(
                {
                    "school": s.at[i, "school_id"],
                    "name": s.at[i, "name"],
                    "cluster": cluster_of[i],
                    "group": gid,
                    "group_size": len(g),
                    "shared_with": "; ".join(others),
                    "exception": exception,
                    "group_minutes": round(c, 3),
                }
            )
    table = pd.DataFrame(rows).sort_values(["cluster", "group", "school"]).reset_index(drop=True)
    per = []
    for c, idx in sorted(members.items()):
        mine = table[table["cluster"] == c]
        groups = mine.drop_duplicates("group")
        note = ""
        if c in partner:
            note = f"{len(idx)} schools do not split into {_sizes_text(sizes)}: a group shared with {partner[c]}"
        elif c in odd:
            note = f"{len(idx)} schools do not split into {_sizes_text(sizes)}: one group of {odd[c]}"
        elif (mine["exception"] == "shared").any():
            note = "shares a group with " + "; ".join(sorted(set("; ".join(mine["shared_with"]).split("; ")) - {""}))
        per.append(
            {
                "cluster": c,
                "schools": len(idx),
                "groups": len(groups),
                "sizes": "+".join(str(n) for n in sorted(groups["group_size"])),
                "minutes": round(float(groups["group_minutes"].sum()), 1),
                "exception": note,
            }
        )
    clusters = pd.DataFrame(per)
    record = {
        **record,
        "measure": COSTS.get(record["cost"], f"custom measure {record['cost']}"),
        "total_minutes": round(float(table.drop_duplicates("group")["group_minutes"].sum()), 1),
        "clusters": clusters.to_dict("records"),
    }
    return PeerGroups(table, clusters, record)


def _sizes_text(sizes: Sequence[int]) -> str:
    names = [f"{SIZE_NAMES.get(n, f'{n}-school group')}s" for n in sizes]
    return " and ".join(names) if len(names) < 3 else ", ".join(names[:-1]) + " and " + names[-1]


def _check_args(sizes: Any, cost: Any, unsplittable: Any) -> tuple[int, ...]:
    if isinstance(sizes, int):
        sizes = (sizes,)
    try:
        out = tuple(sorted({int(n) for n in sizes}))
    except (TypeError, ValueError) as e:
        raise RulesError(f"key 'sizes' must be a list of whole numbers, not {sizes!r}") from e
    if not out or out[0] < 2 or any(isinstance(n, bool) or int(n) != n for n in sizes):
        raise RulesError(f"key 'sizes' must list group sizes of 2 or more, not {sizes!r}")
    if not callable(cost) and cost not in COSTS:
        raise RulesError(f"key 'cost' must be one of {sorted(COSTS)}, not {cost!r}")
    if unsplittable not in OPTIONS:
        raise RulesError(f"key 'unsplittable' must be one of {list(OPTIONS)}, not {unsplittable!r}")
    return out


def summary_lines(record: Mapping[str, Any]) -> list[str]:
    """The summary's lines: the measure, then one line per cluster."""
    head = (
        f"  peer groups of {record['phase']} schools ({_sizes_text(record['sizes'])}; minimising "
        f"{record['measure']}: {record['total_minutes']:,.1f} min, {record['times']}; "
        f"a cluster whose schools cannot all form groups of these sizes "
        f"{UNSPLITTABLE_WORDS.get(record['unsplittable'], record['unsplittable'])}):"
    )
    lines = [head]
    for c in record["clusters"]:
        tail = f"; {c['exception']}" if c["exception"] else ""
        lines.append(
            f"    {c['cluster']}: {c['schools']} {record['phase']} schools in {c['groups']} "
            f"group{'s' * (c['groups'] != 1)} ({c['sizes']}), "
            f"{c['minutes']:,.1f} min{tail}"
        )
    return lines


def read_section(section: Any, where: str) -> dict[str, Any]:
    """Check the ``[peer_groups]`` table of a scenario file; RulesError names the key."""
    if not isinstance(section, dict):
        raise RulesError(f"{where}: [peer_groups] must be a table")
    bad = sorted(set(section) - SCENARIO_KEYS)
    if bad:
        raise RulesError(
            f"{where} [peer_groups]: unknown key {', '.join(map(repr, bad))}; allowed: "
            f"{', '.join(sorted(SCENARIO_KEYS))}"
        )
    if "phase" in section:
        from .schools import PHASES

        if section["phase"] not in PHASES:
            raise RulesError(
                f"{where} [peer_groups]: key 'phase' must be one of {list(PHASES)}, not {section['phase']!r}"
            )
    try:
        _check_args(section.get("sizes", (3, 4)), section.get("cost", "pairs"), section.get("unsplittable", "share"))
    except RulesError as e:
        raise RulesError(f"{where} [peer_groups]: {e}") from e
    return dict(section)
