"""The command line: ``clustergeo solve | sweep | check | compare | schools | scenarios | calibrate``."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from .errors import ClusterGeoError, InfeasibleError


def _print_table(df, limit: int = 60) -> None:
    import pandas as pd

    with pd.option_context("display.max_rows", limit, "display.max_columns", 20, "display.width", 160,
                           "display.max_colwidth", 45):
        print(df.to_string() if len(df) <= limit else df.head(limit).to_string())


_RUNNING_EVERY = 30.0  # seconds between "solving" lines within one round
_last_running = [-_RUNNING_EVERY]


def _progress(r) -> None:
    """Each round's outcome on its own line; within a long round, a line every 30 s."""
    from .solve.progress import describe

    if r.status == "running":
        if 0 <= r.seconds - _last_running[0] < _RUNNING_EVERY:  # (a new solve restarts the clock)
            return
        _last_running[0] = r.seconds
    else:
        _last_running[0] = -_RUNNING_EVERY
    print(f"  {describe(r)}", file=sys.stderr, flush=True)


def _solve_one(scenario, rules, name: str, out: Path, args) -> bool:
    from .proposal import propose

    schools, boundary, layers = scenario.load()
    opts = dict(scenario.solver)
    solver = args.solver or opts.get("name")
    time_limit = args.time_limit if args.time_limit is not None else opts.get("time_limit", 120)
    print(f"Solving {name} ({len(schools)} schools) ...", file=sys.stderr, flush=True)
    kwargs = dict(boundary=boundary, layers=layers, network=scenario.network, links=scenario.links or None,
                  solver=solver, time_limit=time_limit, gap=opts.get("gap"),
                  threads=args.threads if getattr(args, "threads", None) is not None else opts.get("threads"),
                  seed=opts.get("seed"), progress=_progress, name=name)
    try:
        if getattr(args, "alternatives", 1) > 1:
            from .compare import metrics_table
            from .proposal import alternatives

            plans = alternatives(schools, rules, n=args.alternatives, **kwargs)
            plan = plans[0]
            for i, other in enumerate(plans[1:], start=2):
                other.save(out / "alternatives" / f"plan-{i}")
            out.mkdir(parents=True, exist_ok=True)
            table = metrics_table({p.name: p for p in plans})
            table.to_csv(out / "alternatives.csv")
            print("\nThe best distinct plans side by side (alternatives.csv):")
            _print_table(table)
        else:
            plan = propose(schools, rules, **kwargs)
    except InfeasibleError as e:
        out.mkdir(parents=True, exist_ok=True)
        (out / "infeasible.txt").write_text(str(e) + "\n")
        print(f"\n{name}: NO PLAN\n{e}\n(written to {out / 'infeasible.txt'})\n")
        return False
    paths = plan.save(out)
    print()
    print(plan.summary())
    print()
    cols = ["cluster", "kind", "schools", "pupils", "districts", "mean_minutes_to_hub", "current_clusters"]
    _print_table(plan.table()[cols].round(1))
    print(f"\nFiles written to {out}: {', '.join(sorted(p.name for p in paths.values()))}")
    return True


def cmd_solve(args) -> int:
    from .scenario import read_scenario

    sc = read_scenario(args.scenario)
    out = Path(args.out)
    if args.variant:
        ok = _solve_one(sc, sc.variant(args.variant), f"{sc.name}: {args.variant}", out, args)
        return 0 if ok else 2
    ok = _solve_one(sc, sc.rules, sc.name, out, args)
    todo = sc.variants if args.all_variants else ([] if ok else [v for v in sc.variants if v.fallback])
    if not ok and todo:
        print(f"The main rules cannot be met; solving the variant that relaxes them: "
              f"{', '.join(v.name for v in todo)}\n")
    any_ok = ok
    for v in todo:
        any_ok |= _solve_one(sc, sc.rules.replace(**v.changes), f"{sc.name}: {v.name}",
                             out / "variants" / v.slug, args)
    return 0 if any_ok else 2


def cmd_sweep(args) -> int:
    from .sweep import DONE, read_sweep, sweep

    spec = read_sweep(args.sweep)
    executor, client = None, None
    if args.scheduler:
        try:
            from distributed import Client
        except ImportError as e:
            from .errors import SolverError

            raise SolverError("--scheduler needs Dask: pip install 'clustergeo[dask]'") from e
        client = Client(args.scheduler)
        executor = client.get_executor()
    print(f"Sweep {spec.name}: {spec.description or ''}", file=sys.stderr, flush=True)
    try:
        res = sweep(spec.scenarios if len(spec.scenarios) > 1 else spec.scenarios[0], spec.grid, out=args.out,
                    executor=executor, workers=args.workers, rules=spec.rules, solver=spec.solver,
                    maps=spec.maps and not args.no_maps)
    finally:
        if client is not None:
            client.close()
    t = res.table
    varied = [c for c in t.columns if c not in ("number", "worker", "key", "reason", "plan", "objective",
                                                "solver_status", "clusters_total", "max_minutes", "peak_memory_mb")]
    _print_table(t[varied].round(2), limit=100)
    print(f"\n{len(t)} tasks ({res.ran} solved now, {res.skipped} kept from before): "
          + ", ".join(f"{n} {s}" for s, n in t["status"].value_counts().items()))
    print(f"Files written to {res.folder}: sweep.csv, tradeoff.png, plans/")
    return 0 if t["status"].isin(DONE).all() else 1


def cmd_check(args) -> int:
    from .outputs import check_saved

    problems = check_saved(args.folder)
    if problems:
        print(f"{args.folder}: {len(problems)} problems")
        for p in problems:
            print(f"  - {p}")
        return 1
    print(f"{args.folder}: the plan meets its rules (independent check passed)")
    return 0


def cmd_compare(args) -> int:
    from .compare import compare
    from .outputs import read_plan

    a, b = read_plan(args.a), read_plan(args.b)
    res = compare(a, b, out=args.out)
    _print_table(res["metrics"])
    print(f"\n{len(res['moves'])} schools move:")
    _print_table(res["moves"], limit=40)
    return 0


def cmd_schools(args) -> int:
    from . import datasets, summary

    ds = datasets.load(args.dataset)
    print(ds)
    print()
    print(summary(ds.schools).to_string())
    print(f"\nCurrent clusters (DERIVED: {ds.cluster_rule})\n")
    _print_table(ds.current_clusters(), limit=100)
    return 0


def cmd_scenarios(args) -> int:
    from .scenario import read_scenario, shipped

    for name, path in sorted(shipped().items()):
        sc = read_scenario(path)
        print(f"{name}: {sc.description}")
        for v in sc.variants:
            print(f"    variant: {v.name}{' (fallback)' if v.fallback else ''}")
    return 0


def cmd_calibrate(args) -> int:
    from .travel import calibrate

    for k, v in calibrate().items():
        print(f"{k:32s} {v:.3f}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="clustergeo", description="School cluster boundaries by integer programming.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log solver rounds and warnings")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("solve", help="solve a scenario file (or a shipped scenario by name)")
    p.add_argument("scenario")
    p.add_argument("--out", required=True, help="folder for the plan files")
    p.add_argument("--variant", help="solve this variant instead of the main rules")
    p.add_argument("--all-variants", action="store_true", help="also solve every variant")
    p.add_argument("--solver", choices=["highs", "cbc", "gurobi"])
    p.add_argument("--time-limit", type=float, help="seconds per solve")
    p.add_argument("--threads", type=int,
                   help="solver threads (default 1: repeatable runs; 2 runs HiGHS's parallel tree search)")
    p.add_argument("--alternatives", type=int, default=1, metavar="N",
                   help="also find the next best distinct plans (N in all) and compare them")
    p.set_defaults(func=cmd_solve)
    p = sub.add_parser("sweep", help="solve every combination of a sweep file's grid, in parallel, resumably")
    p.add_argument("sweep", help="a sweep file (TOML) or the name of a shipped sweep")
    p.add_argument("--out", required=True, help="folder for sweep.csv, tradeoff.png and the plans")
    p.add_argument("--workers", type=int, help="worker processes (default: the cores)")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="run on this Dask scheduler (the dask extra)")
    p.add_argument("--no-maps", action="store_true", help="skip each plan's map images (faster)")
    p.set_defaults(func=cmd_sweep)
    p = sub.add_parser("check", help="re-verify a saved plan against its rules")
    p.add_argument("folder")
    p.set_defaults(func=cmd_check)
    p = sub.add_parser("compare", help="compare two saved plans")
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--out", help="folder for moves.csv, metrics.csv and diff.png")
    p.set_defaults(func=cmd_compare)
    p = sub.add_parser("schools", help="summarise a shipped dataset")
    p.add_argument("dataset", choices=["norfolk", "north-lanarkshire", "nl"])
    p.set_defaults(func=cmd_schools)
    p = sub.add_parser("scenarios", help="list the shipped scenarios")
    p.set_defaults(func=cmd_scenarios)
    p = sub.add_parser("calibrate", help="calibrate the straight-line travel-time estimate")
    p.set_defaults(func=cmd_calibrate)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    try:
        return args.func(args)
    except ClusterGeoError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
