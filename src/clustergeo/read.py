"""Plans read back: a folder written by :func:`clustergeo.outputs.write_plan`
(:func:`read_plan`, re-verified by :func:`check_saved`), and any plan given as
``school_id,cluster`` (:func:`read_assignment`), such as a council's current clusters or a plan
edited in QGIS.

This module builds :class:`~clustergeo.Plan` objects from files; :mod:`clustergeo.outputs` and
:mod:`clustergeo.edit`, whose functions Plan's methods call, only receive plans.
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from . import units
from .edit import SPLIT_KEY, Board, geography, plan_from_board
from .errors import DataError, Problem
from .measure import measured
from .outputs import CONTEXT_LAYERS
from .plan import Plan
from .rules import Rules


def read_plan(folder: str | Path) -> Plan:
    """Read a plan written by :func:`clustergeo.outputs.write_plan`."""
    folder = Path(folder)
    gpkg = folder / "plan.gpkg"
    if not folder.is_dir():
        raise DataError(Problem(f"no folder {folder}", fix="point at a folder written by 'clustergeo solve'"))
    if not gpkg.exists():
        why = " (it holds infeasible.txt: no plan met the rules)" if (folder / "infeasible.txt").exists() else ""
        subs = (
            sorted(p.name for p in (folder / "variants").iterdir() if (p / "plan.gpkg").exists())
            if (folder / "variants").is_dir()
            else []
        )
        if subs:
            why += f"; its variants' plans are in {folder / 'variants'}: {', '.join(subs)}"
        raise DataError(
            Problem(f"no plan.gpkg in {folder}{why}", fix="point at a folder written by 'clustergeo solve'")
        )
    from .schools import read_layer

    schools = read_layer(gpkg, layer="schools")
    clusters = read_layer(gpkg, layer="clusters")
    for c in ("school_id", "cluster", "unit", "current_cluster", "hub_school"):
        if c in schools:
            schools[c] = schools[c].astype(object).where(schools[c].notna(), None)
    meta = _meta(folder)
    saved = {name for name, _kind in pyogrio.list_layers(gpkg)}
    layers = {name: read_layer(gpkg, layer=name) for name in CONTEXT_LAYERS if name in saved}
    plan = Plan(meta["name"], schools, clusters, meta["metrics"], meta["run"], Rules.from_dict(meta["rules"]), layers)
    if (folder / "peer_groups.csv").exists():
        plan.groups = pd.read_csv(folder / "peer_groups.csv", dtype={"school": str}, keep_default_na=False)
    if (folder / "allocations.csv").exists():
        plan.allocations = pd.read_csv(folder / "allocations.csv")
    return plan


def _meta(folder: Path) -> dict[str, Any]:
    path = folder / "plan.json"
    if not path.exists():
        raise DataError(Problem(f"no plan.json in {folder}", fix="the run record is needed: solve again"))
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise DataError(
            Problem(f"{path} is not valid JSON ({e})", fix="restore it from the run, or solve again")
        ) from e
    missing = [k for k in ("name", "metrics", "run", "rules") if k not in meta]
    if missing:
        raise DataError(Problem(f"{path} lacks {', '.join(missing)}", fix="restore it from the run, or solve again"))
    return meta


def check_saved(folder: str | Path) -> list[str]:
    """Re-verify a saved plan, including the files a planner edits, with the independent checker.

    * ``plan.gpkg`` against its rules (:func:`~clustergeo.check.verify_plan`) and against the
      run record in ``plan.json`` (every school, its cluster and status);
    * ``assignment.csv`` against ``plan.gpkg`` (each school that moved, is missing, is
      unknown or is listed twice, named) and, if it differs, against the rules and the
      schools data (sizes, counts, units kept whole, contiguity, districts, pinned clusters);
    * ``clusters.csv`` totals (schools, pupils) against the schools in each cluster;
    * a folder holding both a plan and ``infeasible.txt`` (files of two runs);
    * the peer groups and allocations against their terms (:func:`~clustergeo.check.check_inside`).

    Returns every problem in words; empty when the plan and its files agree and meet the rules.
    """
    from .check import check_cluster_table, check_inside, compare_assignments, verify_plan
    from .schools import read_csv

    folder = Path(folder)
    out: list[str] = []
    if (folder / "infeasible.txt").exists() and (folder / "plan.gpkg").exists():
        out.append(f"{folder} holds both a plan and infeasible.txt: files of two different runs")
    plan = read_plan(folder)
    rules, edges = plan.rules.to_dict(), plan.run.get("unit_edges")
    record = _meta(folder).get("assignment") or {}
    names = {sid: str(r.get("name", "")) for sid, r in record.items()}
    names.update(zip(plan.schools["school_id"].astype(str), plan.schools["name"].astype(str)))
    named = functools.partial(_named, names=names)
    out += [f"plan.gpkg: {named(p)}" for p in verify_plan(plan.schools, plan.clusters, rules, edges)]
    if record:
        written = pd.DataFrame(
            [(sid, r.get("cluster"), r.get("status")) for sid, r in record.items()],
            columns=["school_id", "cluster", "status"],
        )
        out += compare_assignments(
            written, plan.schools, names=names, expected_in="the run record (plan.json)", got_in="plan.gpkg"
        )
    edited = plan.schools
    if (folder / "assignment.csv").exists():
        a = read_csv(folder / "assignment.csv")
        missing = [c for c in ("school_id", "cluster", "status") if c not in a.columns]
        if missing:
            return out + [f"assignment.csv has no column {', '.join(map(repr, missing))}"]
        diff = compare_assignments(plan.schools, a, names=names, expected_in="plan.gpkg", got_in="assignment.csv")
        out += diff
        if diff:
            edited = _apply(plan.schools, a)
            out += [f"assignment.csv: {named(p)}" for p in verify_plan(edited, None, rules, edges)]
    else:
        out.append("assignment.csv is missing")
    if (folder / "clusters.csv").exists():
        table = read_csv(folder / "clusters.csv")
        out += check_cluster_table(table, _numeric(edited), where="clusters.csv")
    else:
        out.append("clusters.csv is missing")
    out += [
        f"peer groups or allocations: {named(p)}"
        for p in check_inside(plan.groups, plan.allocations, plan.schools, plan.run)
    ]
    return out


def _named(text: str, *, names: dict[str, str]) -> str:
    """``text`` with each "school ID" followed by the school's name."""
    return re.sub(
        r"\bschool ([^\s(),]+)(?! \()",
        lambda m: f"school {m.group(1)} ({names[m.group(1)]})" if m.group(1) in names else m.group(0),
        text,
    )


def _numeric(schools: pd.DataFrame) -> pd.DataFrame:
    s = schools.copy()
    s["pupils"] = pd.to_numeric(s["pupils"], errors="coerce").fillna(0)
    return s


def _apply(schools: gpd.GeoDataFrame, edited: pd.DataFrame) -> pd.DataFrame:
    """The schools table with the clusters and statuses of an edited assignment (schools it
    lacks keep no cluster; unknown schools have no pupils to count)."""
    e = edited.drop_duplicates("school_id", keep="last").set_index(
        edited["school_id"].astype(str).drop_duplicates(keep="last")
    )
    s = pd.DataFrame(schools.drop(columns="geometry")).copy()
    sid = s["school_id"].astype(str)
    s["cluster"] = sid.map(e["cluster"]).where(sid.isin(e.index), None)
    s["status"] = sid.map(e["status"]).where(sid.isin(e.index), s["status"])
    s["cluster"] = s["cluster"].astype(object).where(s["cluster"].notna(), None)
    return s


# --------------------------------------------------------------------------- any plan in


def _read_table(source: str | Path, layer: str | None) -> pd.DataFrame:
    path = Path(source)
    if path.is_dir():
        path = path / "assignment.csv"
    if not path.exists():
        raise DataError(
            Problem(
                f"no plan file at {path}",
                fix="give a CSV or GeoPackage of school_id,cluster, or a folder written by 'clustergeo solve'",
            )
        )
    if path.suffix.lower() in (".gpkg", ".geojson", ".shp"):
        import pyogrio

        layers = [name for name, _ in pyogrio.list_layers(path)]
        use = layer or ("schools" if "schools" in layers else layers[0])
        table = pd.DataFrame(gpd.read_file(path, layer=use).drop(columns="geometry", errors="ignore"))
    else:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in ("school_id", "cluster") if c not in table.columns]
    if missing:
        raise DataError(
            [
                Problem(
                    "the plan file has no such column",
                    column=c,
                    fix=f"name the columns school_id,cluster (found: {list(table.columns)[:8]})",
                )
                for c in missing
            ]
        )
    table = table.copy()
    table["school_id"] = table["school_id"].astype(str).str.strip()
    table["cluster"] = table["cluster"].map(
        lambda v: (
            None if v is None or (isinstance(v, float) and np.isnan(v)) or str(v).strip() == "" else str(v).strip()
        )
    )
    return table


def _plan_problems(table: pd.DataFrame, schools: pd.DataFrame) -> list[Problem]:
    ids = set(schools["school_id"].astype(str))
    excluded = set(
        schools.loc[schools.get("excluded", pd.Series("", index=schools.index)).fillna("") != "", "school_id"].astype(
            str
        )
    )
    problems = []
    for sid in sorted(set(table.loc[table["school_id"].duplicated(), "school_id"])):
        problems.append(
            Problem(
                "the school appears more than once in the plan",
                school=sid,
                column="school_id",
                fix="keep one row per school",
            )
        )
    for sid in sorted(set(table["school_id"]) - ids):
        near = difflib.get_close_matches(sid, sorted(ids), 1)
        problems.append(
            Problem(
                "the plan names a school that is not in the schools data",
                school=sid,
                column="school_id",
                fix=f"did you mean {near[0]}?" if near else "check the id",
            )
        )
    given = dict(zip(table["school_id"], table["cluster"]))
    name_of = dict(zip(schools["school_id"].astype(str), schools.get("name", schools["school_id"]).astype(str)))
    for sid in sorted(ids - excluded):
        if given.get(sid) is None:
            problems.append(
                Problem(
                    f"the school ({name_of.get(sid, sid)}) has no cluster in the plan",
                    school=sid,
                    column="cluster",
                    fix="add a row school_id,cluster for it (or exclude it in the schools data)",
                )
            )
    return problems


def read_assignment(
    source: str | Path | pd.DataFrame,
    schools: gpd.GeoDataFrame,
    *,
    rules: Rules | None = None,
    boundary: Any = None,
    areas: gpd.GeoSeries | None = None,
    network: Any = None,
    links: list[tuple[str, str]] | None = None,
    layer: str | None = None,
    name: str | None = None,
) -> Plan:
    """Read any plan (``school_id,cluster``) and check it against the schools data.

    Parameters
    ----------
    source : path or DataFrame
        A CSV or GeoPackage (layer ``schools`` or ``layer``) with columns ``school_id`` and
        ``cluster``, a folder written by ``clustergeo solve`` (its ``assignment.csv``), or a table.
    schools : GeoDataFrame
        The schools table (:func:`clustergeo.read_schools`); excluded schools may be left out.
    rules : Rules, optional
        The rules the plan is judged by (default: no rule, so every cluster is taken as
        geographic and must be in one piece). Pinned and apart cluster names give those
        schools their status: pass the scenario's rules (``cg.read_scenario(...).rules``).
    boundary, areas, network, links
        As for :func:`clustergeo.propose`: the authority ``boundary`` is needed unless
        ``areas`` gives each school its area.

    Returns
    -------
    Plan
        With ``status`` ``"given"``; :func:`violations` lists the rules it breaks.

    Raises
    ------
    DataError
        Naming every unknown, missing or duplicated school.

    Examples
    --------
    >>> import clustergeo as cg
    >>> nl = cg.datasets.load("north-lanarkshire")
    >>> current = nl.schools[["school_id", "cluster"]]
    >>> plan = cg.read_assignment(current, nl.schools, boundary=nl.layers["authority"])  # doctest: +SKIP
    """
    rules = rules or Rules(keep_whole=None)
    s = measured(schools.reset_index(drop=True).copy(), rules)
    s["school_id"] = s["school_id"].astype(str)
    table = source.copy() if isinstance(source, pd.DataFrame) else _read_table(source, layer)
    table["school_id"] = table["school_id"].astype(str)
    problems = _plan_problems(table, s)
    if problems:
        raise DataError(problems)
    given = dict(zip(table["school_id"], table["cluster"]))
    excluded = s.get("excluded", pd.Series("", index=s.index)).fillna("") != ""
    status = pd.Series("placed", index=s["school_id"], dtype=object)
    status[excluded.values] = "excluded"
    for sid in s["school_id"]:
        if status[sid] != "excluded" and given.get(sid) in rules.apart:
            status[sid] = "apart"
        elif status[sid] != "excluded" and given.get(sid) in rules.pinned:
            status[sid] = "pinned"
    placed = s[(status == "placed").values]
    membership = units.make_units(
        placed, keep_whole=rules.keep_whole, split=rules.redraw, must_link=rules.must_link
    ).to_dict()
    # a unit the plan puts in several clusters is the planner's choice: the schools outside the
    # cluster holding most of them go on their own (as a move does)
    spans: dict = {}
    for sid, u in membership.items():
        spans.setdefault(u, []).append(given.get(sid))
    main = {u: max(sorted(set(cs), key=str), key=cs.count) for u, cs in spans.items()}
    split = {u: [sid for sid, v in membership.items() if v == u] for u, cs in spans.items() if len(set(cs)) > 1}
    membership = {sid: (u if given.get(sid) == main[u] else sid) for sid, u in membership.items()}
    geo = geography(s, status, boundary=boundary, areas=areas, network=network, links=links)
    board = Board(geo, rules, membership, {membership[sid]: given[sid] for sid in membership}, {}, set(), {})
    board.labels_fixed = {sid: given[sid] for sid in s["school_id"] if status[sid] in ("pinned", "apart")}
    if name is None:
        name = "given plan" if isinstance(source, pd.DataFrame) else f"plan from {Path(source).name}"
    return plan_from_board(
        board,
        None,
        plan_type=Plan,
        name=name,
        status="given",
        record={"locked_clusters": {}, "locked_schools": {}, "moves": []},
        extra={SPLIT_KEY: split} if split else None,
    )
