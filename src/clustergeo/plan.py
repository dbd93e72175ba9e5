"""The answer: which school goes where, the cluster table and polygons, metrics and the run record.

A :class:`Plan` holds

* ``schools``: every input school exactly once, with ``cluster`` and ``status`` (``placed``,
  ``pinned``, ``apart`` or ``excluded``) and the travel time to its cluster's hub;
* ``clusters``: one row per cluster with its polygon (dissolved Voronoi cells or catchments),
  schools, pupils, phases, districts touched, hub, mean and longest travel time to the hub,
  the current clusters merged into it and its Polsby-Popper compactness;
* ``metrics``: plan-wide figures; ``run``: the run record (solver, status, bound, gap, rules,
  input hashes, whether travel times were road-based or estimated).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import pandas as pd

from .check import check_partition, check_plan
from .errors import SolverError
from .rules import Rules
from .tables import cluster_polygons, plan_tables, polsby_popper

__all__ = ["Plan", "build_plan", "cluster_polygons", "polsby_popper", "proof_lines"]


@dataclass
class Plan:
    """A proposal. See the module docstring for what each table holds."""

    name: str
    schools: gpd.GeoDataFrame
    clusters: gpd.GeoDataFrame
    metrics: dict[str, Any]
    run: dict[str, Any]
    rules: Rules
    layers: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    edit_state: Any = field(default=None, repr=False, compare=False)  # clustergeo.edit: geography, plan before
    #: Peer groups inside the clusters (one row per school: ``school, name, cluster, group,
    #: group_size, shared_with, exception, group_minutes``; see :mod:`clustergeo.groups`), or None.
    groups: pd.DataFrame | None = None
    #: Staff and money per cluster (one row per allocation and cluster: ``allocation, unit,
    #: cluster, kind``, the measures, ``share, quota, amount``; see :mod:`clustergeo.allocate`), or None.
    allocations: pd.DataFrame | None = None

    @property
    def assignment(self) -> pd.DataFrame:
        """``school_id, cluster`` for every school (empty cluster for excluded schools)."""
        return self.schools[["school_id", "cluster", "status"]].copy()

    def summary(self) -> str:
        """A plain-text summary a planner can read."""
        m, r = self.metrics, self.run
        gap = "-" if r["gap"] is None else f"{100 * r['gap']:.3f}%"
        word = r.get("district_word", "district")
        lines = [
            f"{self.name}",
            f"  {m['clusters']} geographic clusters ({m['pinned_clusters']} pinned, {m['apart_clusters']} apart "
            f"in addition); {m['schools_placed']} schools placed, {m['schools_excluded']} excluded",
            f"  pupils per geographic cluster: {m['pupils_min']:,} to {m['pupils_max']:,} "
            f"(mean {m['pupils_mean']:,.0f})",
            f"  schools per geographic cluster: {m['schools_min']} to {m['schools_max']}",
            f"  clusters crossing {word} lines: {_crossings(m)}; schools moved from their current "
            f"cluster: {m['schools_moved']}",
            f"  mean travel time to the hub: {m['mean_minutes_to_hub']:.1f} min ({r['travel_times']})",
            *(
                [
                    f"  cluster polygons in pieces: {m['clusters_in_pieces']} (each cluster is connected in the "
                    "neighbour graph; its schools' areas lie apart, across water or where catchment layers overlap)"
                ]
                if m.get("clusters_in_pieces")
                else []
            ),
            f"  solver: {r['status']}, objective {r['objective']:,.1f}, gap {gap}, {r['seconds']:.1f} s, {r['solver']}",
        ]
        lines += proof_lines(self.run)
        if self.groups is not None and r.get("peer_groups"):
            from .groups import summary_lines

            lines += summary_lines(r["peer_groups"])
        if self.allocations is not None and r.get("allocations"):
            from .allocate import summary_lines as allocation_lines

            lines += allocation_lines(self.allocations, r["allocations"])
        return "\n".join(lines)

    def __repr__(self) -> str:
        m, r = self.metrics, self.run
        gap = "" if r.get("gap") in (None, 0) else f", gap {100 * r['gap']:.2f}%"
        return (
            f"Plan({self.name!r}: {m.get('clusters_total', m['clusters'])} clusters, "
            f"{m['schools_placed']:,} schools placed, {m['schools_excluded']} excluded)\n"
            f"  pupils per drawn cluster {m['pupils_min']:,}-{m['pupils_max']:,}; schools {m['schools_min']}-"
            f"{m['schools_max']}; {m['district_splits']} cross district lines\n"
            f"  solver {r.get('status')}{gap}; travel {r.get('travel_method', '-')}; "
            ".summary(), .table(), .save(folder)"
        )

    def _repr_html_(self) -> str:
        import html

        cols = [
            c
            for c in ("cluster", "kind", "schools", "pupils", "districts", "mean_minutes_to_hub", "current_clusters")
            if c in self.clusters
        ]
        table = self.table()[cols].to_html(index=False, na_rep="-", float_format=lambda v: f"{v:,.1f}")
        return (
            f"<div><pre style='white-space:pre-wrap'>{html.escape(self.summary())}</pre>"
            f"<details open><summary>{len(self.clusters)} clusters</summary>{table}</details></div>"
        )

    def table(self) -> pd.DataFrame:
        """The cluster table without geometry, sorted by cluster."""
        return pd.DataFrame(self.clusters.drop(columns="geometry"))

    def check(self) -> list[str]:
        """Re-check the plan with the independent checker (see :func:`clustergeo.check.verify_plan`),
        and its peer groups and allocations when it has them (:func:`clustergeo.check.check_inside`)."""
        from .check import check_inside, verify_plan

        problems = verify_plan(self.schools, self.clusters, self.rules.to_dict(), self.run.get("unit_edges"))
        return problems + check_inside(self.groups, self.allocations, self.schools, self.run)

    def explore(self, **kwargs: Any):
        """An interactive folium map (needs the ``maps`` extra)."""
        from .maps import interactive_map

        return interactive_map(self, **kwargs)

    def plot(self, **kwargs: Any):
        """A static map (matplotlib)."""
        from .maps import static_map

        return static_map(self, **kwargs)

    def save(self, folder: Any) -> dict[str, Any]:
        """Write every output file into ``folder``; see :func:`clustergeo.outputs.write_plan`."""
        from .outputs import write_plan

        return write_plan(self, folder)

    def move(self, school: str, *, to: str, lock: bool = True) -> Plan:
        """A new plan with ``school`` moved to cluster ``to`` (see :func:`clustergeo.edit.move`)."""
        from .edit import move

        return move(self, school, to=to, lock=lock)

    def lock(self, *, clusters: Any = None, schools: Any = None) -> Plan:
        """A new plan with clusters and schools locked (see :func:`clustergeo.edit.lock`)."""
        from .edit import lock

        return lock(self, clusters=clusters, schools=schools)

    def violations(self, rules: Rules | None = None) -> list[str]:
        """Every rule the plan breaks, in words (see :func:`clustergeo.edit.violations`)."""
        from .edit import violations

        return violations(self, rules)

    def undo(self) -> Plan:
        """The plan before the last edit (see :func:`clustergeo.edit.undo`)."""
        from .edit import undo

        return undo(self)


def _crossings(m: dict[str, Any]) -> str:
    """Drawn clusters crossing district lines, and all clusters when kept ones cross too."""
    drawn, every = m["district_splits"], m.get("clusters_crossing_districts")
    if every is None or every == drawn:
        return f"{drawn}"
    kept = m["clusters"] + m.get("pinned_clusters", 0)  # the clusters on the map: authority-wide ones cross nothing
    return f"{drawn} of {m['clusters']} drawn ({every} of {kept} with the kept clusters)"


def proof_lines(run: dict[str, Any]) -> list[str]:
    """The summary's lines for the proofs, the principles and what gave way (from the run record)."""
    import textwrap

    out = []
    if run.get("size_measure"):
        out.append(f"  pupils counted: {run['size_measure']} (the census headcount is in pupils_headcount)")
    if run.get("fewest_proof"):
        fp = run["fewest_proof"]
        how = "proved" if fp.get("proved", True) else "NOT PROVED"
        out.append(f"  fewest clusters: {fp['fewest']}, {how}: {fp['proof']}")
    if run.get("crossings_proof"):
        cp = run["crossings_proof"]
        of = f" of {cp['of']}" if cp.get("of") else ""
        out.append(
            f"  fewest clusters crossing {run.get('district_word', 'district')} lines (kept clusters included): "
            f"{cp['fewest']}{of}; {cp['proof']}"
        )
    if run.get("drawn_by_layer"):
        out.append(f"  polygons: {run['drawn_by_layer']}")
    if run.get("principles"):
        out.append("  principles, in order: " + "; ".join(f"{i}. {p}" for i, p in enumerate(run["principles"], 1)))
    if run.get("variant"):
        v = run["variant"]
        changes = ", ".join(f"{k} = {val!r}" for k, val in v["changes"].items())
        out.append(f"  a variant of the main rules ({v['of']}): {v['name']}, with {changes}")
    for line in run.get("zoned_outside", []):
        out.append(f"  zoned to a neighbouring council's secondary: {line}")
    if run.get("gave_way"):
        out += textwrap.wrap(run["gave_way"], width=100, initial_indent="  ", subsequent_indent="  ")
    return out


def build_plan(
    s: gpd.GeoDataFrame,
    status: pd.Series,
    cluster: pd.Series,
    *,
    result: Any,
    rules: Rules,
    unit_graph: Any,
    membership: pd.Series,
    cells: gpd.GeoSeries,
    times: Any,
    name: str,
    settings_used: dict,
    check: bool = True,
    **context: Any,
) -> Plan:
    """Assemble, check and return the :class:`Plan` (raises if the independent check fails).

    ``check=False`` skips the check, for plans a planner edited by hand that may break the
    rules (:mod:`clustergeo.edit` lists what they break).

    ``context`` carries what the plan records but does not compute from: ``links_added`` (pairs
    joined to connect stray parts), ``layers`` (context layers for the maps) and
    ``school_graph`` (accepted for the record; the polygons come from ``cells``).
    """
    out, clusters, metrics, run = plan_tables(
        s,
        status,
        cluster,
        result=result,
        rules=rules,
        unit_graph=unit_graph,
        membership=membership,
        cells=cells,
        times=times,
        name=name,
        settings_used=settings_used,
        links_added=context.get("links_added"),
    )
    plan = Plan(name, out, clusters, metrics, run, rules, context.get("layers") or {})
    if not check:
        return plan
    problems = check_plan(plan.assignment, s)
    problems += check_partition(
        unit_graph,
        result.assignment,
        bounds=rules.bounds(),
        k=rules.clusters,
        district="district" if rules.districts == "within" else None,
        district_mode=rules.districts,
    )
    problems += plan.check()
    if problems:
        raise SolverError("the plan failed the independent check: " + "; ".join(problems[:10]))
    return plan
