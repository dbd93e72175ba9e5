"""Repairing an edited plan against solving it again: Norfolk, school by school where it is redrawn.

The plan: Norfolk's lead plan, the scenario's main rules (2,500 to 5,000 pupils of school age per
cluster, the fewest clusters in 22 to 32, each inside one district; King's Lynn, Great Yarmouth
and Norwich redrawn school by school, the other current clusters merged whole), or with
``--rules schools`` all 422 state-funded schools placed one by one (the ``norfolk-schools-within``
case of ``benchmarks/run.py``). Then, for a few schools on the border of two clusters (both
sides single schools, one pair per district) and any ``--move SCHOOL=CLUSTER`` given, one school
is moved to the neighbouring cluster and the plan is repaired with
:func:`clustergeo.edit.repropose`. Each row gives the repair's wall and CPU time, the schools that
moved, the free part and whether it was proved optimal. Results go to
``benchmarks/results/edit.md`` (or ``edit-schools.md`` for ``--rules schools``).

Run: ``python benchmarks/edit_bench.py [--rules urban|schools] [--start PLAN] [--save PLAN]
[--moves 3] [--move 120843="Sprowston Community Academy cluster"]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import time
from pathlib import Path

import clustergeo as cg
from clustergeo import edit

RESULTS = Path(__file__).resolve().parent / "results"
REPAIR_SECONDS = 60.0  # the solver's time limit for one repair
RULE_TEXT = {
    "urban": "the lead plan's (scenario `norfolk-option-4`, its main rules): 2,500-5,000 pupils of school age, "
    "fewest clusters in 22-32, each inside one district, King's Lynn, Great Yarmouth and Norwich redrawn "
    "school by school and the other current clusters merged whole; the moved schools are school-by-school "
    "units on both sides.",
    "schools": "2,500-5,000 pupils, fewest clusters in 22-32, each inside one district, the 422 state-funded "
    "schools placed one by one (the `norfolk-schools-within` case).",
}
SCHOOL_BY_SCHOOL = cg.Rules(
    min_pupils=2500, max_pupils=5000, clusters=(22, 32), fewest=True, keep_whole=None, districts="within"
)


def border_moves(plan: cg.Plan, n: int) -> list[tuple[str, str]]:
    """``n`` schools on the border of two clusters of one district, both placed school by school
    (first by id, one per district)."""
    geo = edit.geography_of(plan)
    s = plan.schools.set_index("school_id")
    single = s["unit"].astype(str) == s.index.astype(str)
    out, seen = [], set()
    for a, b in sorted(geo.graph.edges):
        ca, cb = s.loc[a, "cluster"], s.loc[b, "cluster"]
        district = s.loc[a, "district"]
        if ca != cb and single[a] and single[b] and district == s.loc[b, "district"] and district not in seen:
            out.append((a, cb))
            seen.add(district)
        if len(out) == n:
            break
    return out


def _args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--time-limit", type=float, default=600.0, help="seconds for the full solve")
    ap.add_argument("--moves", type=int, default=3, help="border moves picked by the benchmark (one per district)")
    ap.add_argument(
        "--move",
        action="append",
        default=[],
        metavar="SCHOOL=CLUSTER",
        help="a move to time as well (repeatable), e.g. 120843='Sprowston Community Academy cluster'",
    )
    ap.add_argument(
        "--rules",
        choices=["urban", "schools"],
        default="urban",
        help="the lead plan's rules (urban areas redrawn) or every school on its own",
    )
    ap.add_argument("--start", help="a plan folder saved by an earlier full solve under the same rules")
    ap.add_argument("--save", help="save the full solve's plan here (for --start next time)")
    ap.add_argument("--repair-seconds", type=float, default=REPAIR_SECONDS, help="time limit of one repair")
    return ap.parse_args()


def _full_plan(args: argparse.Namespace, rules: cg.Rules) -> tuple[cg.Plan, float, float]:
    """The plan to edit, its solve's wall and CPU seconds (a saved plan: its recorded solver time)."""
    if args.start:  # a plan saved by an earlier solve under the same rules: its solver time stands
        plan = cg.read_plan(args.start)
        if plan.rules.to_dict() != rules.to_dict():
            raise SystemExit(f"{args.start} was solved under other rules")
        return plan, plan.run["seconds"], float("nan")
    schools, boundary, layers = cg.read_scenario("norfolk-option-4").load()
    t0, c0 = time.perf_counter(), time.process_time()
    plan = cg.propose(
        schools,
        rules,
        boundary=boundary,
        layers=layers,
        time_limit=args.time_limit,
        progress=False,
        name=f"Norfolk ({args.rules})",
    )
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    if args.save:
        plan.save(args.save)
    return plan, wall, cpu


def _repair_row(plan: cg.Plan, sid: str, to: str, rings: int, seconds: float) -> dict:
    name = plan.schools.set_index("school_id").loc[sid, "name"]
    step = f"move {name} ({sid}) to {to}; repair, rings={rings}"
    edited = plan.move(sid, to=to)
    broken = edited.violations()
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        repaired = edit.repropose(edited, rings=rings, time_limit=seconds)
    except cg.ClusterGeoError as e:  # no plan in time, or none at all: recorded, not hidden
        return {"step": step, "seconds": round(time.perf_counter() - t0, 1), "status": type(e).__name__}
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    rep = repaired.run["repair"]
    assert repaired.violations() == [] and repaired.schools.set_index("school_id").loc[sid, "cluster"] == to
    return {
        "step": step,
        "seconds": round(wall, 1),
        "cpu_seconds": round(cpu, 1),
        "status": rep["status"],
        "gap": rep["region_gap"],
        "objective": rep["objective_after"],
        "change": rep["change"],
        "clusters": repaired.metrics["clusters"],
        "free_clusters": len(rep["free_clusters"]),
        "free_units": rep["free_units"],
        "widened": rep["widened"],
        "schools_moved": rep["schools_moved"],
        "broken_after_move": len(broken),
    }


def main() -> None:
    args = _args()
    cg.settings.threads, cg.settings.seed = 1, 0
    rules = cg.read_scenario("norfolk-option-4").rules if args.rules == "urban" else SCHOOL_BY_SCHOOL
    plan, full_s, full_cpu = _full_plan(args, rules)
    print(plan.summary(), flush=True)
    how = "earlier full solve, solver time" if args.start else "full solve"
    rows = [
        {
            "step": f"{how} ({plan.run['units']} units)",
            "seconds": round(full_s, 1),
            "cpu_seconds": None if full_cpu != full_cpu else round(full_cpu, 1),
            "status": plan.run["status"],
            "gap": plan.run["gap"],
            "objective": plan.run["objective"],
            "clusters": plan.metrics["clusters"],
            "free_clusters": plan.metrics["clusters"],
            "free_units": plan.run["units"],
            "schools_moved": None,
        }
    ]
    moves = border_moves(plan, args.moves) + [tuple(m.split("=", 1)) for m in args.move]
    for sid, to in moves:
        for rings in (0, 1):
            rows.append(_repair_row(plan, sid, to, rings, args.repair_seconds))
            print(rows[-1], flush=True)
    write(rows, args)


def write(rows: list[dict], args) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = "edit" if args.rules == "urban" else "edit-schools"
    (RESULTS / f"{stem}.json").write_text(json.dumps(rows, indent=1, default=str))
    head = [
        "step",
        "seconds",
        "cpu_seconds",
        "status",
        "objective",
        "change",
        "clusters",
        "free_clusters",
        "free_units",
        "widened",
        "schools_moved",
    ]
    fmt = {"objective": "{:,.1f}", "change": "{:+,.1f}"}
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines = [
        f"# Editing a plan: repair against a full solve (Norfolk, rules: {args.rules})",
        "",
        (
            f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, "
            f"{os.cpu_count()} cores shared with other jobs (load average {load}), HiGHS, 1 thread; "
            f"`python benchmarks/edit_bench.py --rules {args.rules} --moves {args.moves}"
            + "".join(f" --move {m!r}" for m in args.move)
            + (" --start PLAN" if args.start else f" --time-limit {args.time_limit:g}")
            + "`."
        ),
        "",
        (
            f"Rules: {RULE_TEXT[args.rules]} Each repair moves "
            "one school on a border to the neighbouring cluster (locked there, with that cluster's hub school) and "
            "re-optimises exactly the two clusters (`rings=0`, widened only if they have no plan, or none in half the "
            "repair's time) or "
            "the two and their neighbours in the same district (`rings=1`, the default), with the same number "
            "of clusters there (`repropose`, starting from the edited plan). *seconds* (wall) and *cpu_seconds* "
            "(this process, the solver's thread included) for a repair include rebuilding the plan's tables. "
            "*schools moved*: schools the repair put in another cluster (the edited school not counted; "
            "the free clusters keep the names that leave the most schools in place). *change*: the objective "
            "after the repair minus the edited plan's (pupil-minutes)."
        ),
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for r in rows:
        cells = []
        for h in head:
            v = r.get(h)
            cells.append("" if v is None else fmt[h].format(v) if h in fmt else str(v))
        lines.append("| " + " | ".join(cells) + " |")
    (RESULTS / f"{stem}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
