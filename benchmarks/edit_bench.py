"""Repairing an edited plan against solving it again: Norfolk, school by school where it is redrawn.

The plan: Norfolk's lead plan, the scenario's "urban areas redrawn" variant (2,500 to 5,000
pupils per cluster, the fewest clusters in 22 to 32, each inside one district; King's Lynn, Great
Yarmouth and Norwich redrawn school by school, the other current clusters merged whole), or with
``--rules schools`` all 422 state-funded schools placed one by one (the ``norfolk-schools-within``
case of ``benchmarks/run.py``). Then, for a few schools on the border of two clusters (both
sides single schools, one pair per district), one school is moved to the neighbouring cluster and
the plan is repaired with :func:`clustergeo.edit.repropose`. Each row gives the repair's time, the
schools that moved, the free part and whether it was proved optimal. Results go to
``benchmarks/results/edit.md``.

Run: ``python benchmarks/edit_bench.py [--rules urban|schools] [--time-limit 600] [--moves 3]``
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
    "urban": 'the lead plan\'s (scenario `norfolk-option-4`, variant "urban areas redrawn"): 2,500-5,000 pupils, '
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--time-limit", type=float, default=600.0, help="seconds for the full solve")
    ap.add_argument("--moves", type=int, default=3)
    ap.add_argument(
        "--rules",
        choices=["urban", "schools"],
        default="urban",
        help="the lead plan's rules (urban areas redrawn) or every school on its own",
    )
    ap.add_argument("--start", help="a plan folder saved by an earlier full solve under the same rules")
    args = ap.parse_args()
    cg.settings.threads, cg.settings.seed = 1, 0
    sc = cg.read_scenario("norfolk-option-4")
    schools, boundary, layers = sc.load()
    rules = sc.variant("urban areas redrawn") if args.rules == "urban" else SCHOOL_BY_SCHOOL
    if args.start:  # a plan saved by an earlier solve under the same rules: its solver time stands
        plan = cg.read_plan(args.start)
        if plan.rules.to_dict() != rules.to_dict():
            raise SystemExit(f"{args.start} was solved under other rules")
        full_s = plan.run["seconds"]
    else:
        t0 = time.perf_counter()
        plan = cg.propose(
            schools,
            rules,
            boundary=boundary,
            layers=layers,
            time_limit=args.time_limit,
            progress=False,
            name=f"Norfolk ({args.rules})",
        )
        full_s = time.perf_counter() - t0
    print(plan.summary(), flush=True)
    how = "earlier full solve, solver time" if args.start else "full solve"
    rows = [
        {
            "step": f"{how} ({plan.run['units']} units)",
            "seconds": round(full_s, 1),
            "status": plan.run["status"],
            "gap": plan.run["gap"],
            "objective": plan.run["objective"],
            "clusters": plan.metrics["clusters"],
            "free_clusters": plan.metrics["clusters"],
            "free_units": plan.run["units"],
            "schools_moved": None,
        }
    ]
    for sid, to in border_moves(plan, args.moves):
        name = plan.schools.set_index("school_id").loc[sid, "name"]
        t1 = time.perf_counter()
        edited = plan.move(sid, to=to)
        move_s = time.perf_counter() - t1
        broken = edited.violations()
        for rings in (0, 1):
            t2 = time.perf_counter()
            try:
                repaired = edit.repropose(edited, rings=rings, time_limit=REPAIR_SECONDS)
            except cg.ClusterGeoError as e:  # no plan in time, or none at all: recorded, not hidden
                rows.append(
                    {
                        "step": f"move {name} ({sid}) to {to}; repair, rings={rings}",
                        "seconds": round(time.perf_counter() - t2, 1),
                        "status": type(e).__name__,
                    }
                )
                print(rows[-1], flush=True)
                continue
            repair_s = time.perf_counter() - t2
            rep = repaired.run["repair"]
            assert repaired.violations() == [] and repaired.schools.set_index("school_id").loc[sid, "cluster"] == to
            rows.append(
                {
                    "step": f"move {name} ({sid}) to {to}; repair, rings={rings}",
                    "seconds": round(repair_s, 1),
                    "move_seconds": round(move_s, 1),
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
            )
            print(rows[-1], flush=True)
    write(rows, args)


def write(rows: list[dict], args) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "edit.json").write_text(json.dumps(rows, indent=1, default=str))
    head = [
        "step",
        "seconds",
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
    lines = [
        f"# Editing a plan: repair against a full solve (Norfolk, rules: {args.rules})",
        "",
        (
            f"Run {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()}, "
            f"{os.cpu_count()} cores shared with other jobs, HiGHS, 1 thread; "
            f"`python benchmarks/edit_bench.py --rules {args.rules} --moves {args.moves}"
            + (" --start PLAN" if args.start else f" --time-limit {args.time_limit:g}")
            + "`."
        ),
        "",
        (
            f"Rules: {RULE_TEXT[args.rules]} Each repair moves "
            "one school on a border to the neighbouring cluster (locked there, with that cluster's hub school) and "
            "re-optimises exactly the two clusters (`rings=0`, widened only if they cannot meet the rules) or "
            "the two and their neighbours in the same district (`rings=1`, the default), with the same number "
            "of clusters there (`repropose`). *seconds* for a repair include rebuilding the plan's tables. "
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
    (RESULTS / "edit.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
