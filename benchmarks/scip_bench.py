"""HiGHS's solve-separate-resolve loop against SCIP's branch-and-cut, on the same instances in
one run.

Each case runs in a fresh process (one thread, seed 0) through ``clustergeo.partition`` as a
planner would call it, with ``solver="highs"`` and then ``solver="scip"``; the record has the
wall time and the process's CPU time (user + system: the machine is shared, so wall times
swing with its load), the load average at the start, and the published time where one exists.

    python benchmarks/scip_bench.py                 # counties, North Lanarkshire, Norfolk
    python benchmarks/scip_bench.py --only county-  # cases whose name contains this

Writes ``benchmarks/results/scip.json`` and ``scip.md`` (after every case, so a stopped run keeps
what it measured). Needs the ``scip`` extra (``pip install "clustergeo[scip]"``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from multiprocessing import get_context
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run  # noqa: E402 - the runner's instances and records

OUT = HERE / "results"
SOLVERS = ("highs", "scip")
STATES = ("ME", "NE", "AR", "IA", "OK")


def cases() -> list[run.Case]:
    """The county graphs with the Hess objective, then the real cases from ``run.py``."""
    out = []
    for st in STATES:
        # Maine's narrow window goes to the column method under "auto": "cuts" keeps it a cut run
        form = "cuts" if st == "ME" else "auto"
        out.append(run.Case(f"county-{st}", "county", {"state": st}, formulation=form, time_limit=300))
    real = {c.name: c for c in run.cases("full") if c.kind in ("nl", "norfolk-schools") and c.solver == "highs"}
    out += [real["nl-mainstream-units"], replace(real["norfolk-schools-within"], time_limit=600)]
    return out


def _measured(case: run.Case) -> dict:
    """One case in this (fresh) process, with its CPU time."""
    before = resource.getrusage(resource.RUSAGE_SELF)
    rec = run.run_case(case)
    after = resource.getrusage(resource.RUSAGE_SELF)
    rec["cpu_s"] = round((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), 2)
    return rec


def measure(case: run.Case) -> dict:
    load = os.getloadavg()[0]
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as ex:
        rec = ex.submit(_measured, case).result(timeout=3 * case.time_limit + 300)
    rec["load"] = round(load, 2)
    return rec


def table(records: list[dict]) -> str:
    cols = ("case", "solver", "used", "status", "objective", "gap", "rounds", "cuts", "nodes", "seconds", "cpu_s")
    cols += ("load", "published_s", "ratio", "valid")
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in records:
        cells = []
        for c in cols:
            v = r.get(c)
            if isinstance(v, float):
                v = f"{100 * v:.2f}%" if c == "gap" else (f"{v:,.1f}" if c == "objective" else f"{v:g}")
            cells.append("" if v is None else str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write(records: list[dict], started: str, name: str = "scip") -> None:
    run.published(records)
    OUT.mkdir(exist_ok=True)
    (OUT / f"{name}.json").write_text(json.dumps(records, indent=1, default=str) + "\n")
    versions = sorted({r["solver_version"] for r in records if r.get("solver_version")})
    head = (
        "# HiGHS (solve-separate-resolve loop) against SCIP (branch-and-cut)\n\n"
        f"Run {started} by `python benchmarks/scip_bench.py` on the project's shared 2-core machine, one "
        "thread, seed 0, each case in a fresh process. `seconds`: wall time of `partition()`; `cpu_s`: the "
        "process's CPU time (user + system, including loading the data), the fairer figure under load; "
        "`load`: the 1-minute load average when the case started. `published_s`: Gurobi on larger machines "
        "(source in `published.json`); `ratio` = seconds / published_s. "
        f"Solvers: {'; '.join(versions)}.\n\n"
    )
    (OUT / f"{name}.md").write_text(head + table(records) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", help="run only cases whose name contains this")
    ap.add_argument("--solver", choices=SOLVERS, help="run only this solver")
    ap.add_argument("--update", action="store_true", help="replace those rows in results/<out>.json, keep the rest")
    ap.add_argument("--time-limit", type=float, help="seconds per case instead of each case's own")
    ap.add_argument("--out", default="scip", help="write results/<out>.json and .md (default scip)")
    args = ap.parse_args(argv)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    records: list[dict] = []
    if args.update and (OUT / f"{args.out}.json").exists():
        records = json.loads((OUT / f"{args.out}.json").read_text())
    for case in cases():
        if args.only and args.only not in case.name:
            continue
        for solver in SOLVERS if args.solver is None else (args.solver,):
            limit = case.time_limit if args.time_limit is None else args.time_limit
            rec = measure(replace(case, solver=solver, time_limit=limit))
            rec["ran"] = started
            old = [k for k, r in enumerate(records) if (r["case"], r["solver"]) == (rec["case"], solver)]
            if old:
                records[old[0]] = rec
            else:
                records.append(rec)
            print(table([rec]).splitlines()[-1], flush=True)
            write(records, started, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
