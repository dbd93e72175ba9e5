"""The command line: ``clustergeo solve | sweep | check | compare | report | schools | scenarios |
calibrate | groups | allocate``."""

from __future__ import annotations

import argparse
import logging
import math
import os
import re
import shutil
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .errors import ClusterGeoError, InfeasibleError, NoPlanInTimeError, RulesError
from .labels import counted

EXIT_OK = 0
EXIT_PROBLEMS = 1  # `check` found problems; an unexpected internal error
EXIT_ERROR = 2  # a ClusterGeoError: bad input, no plan, solver failure
EXIT_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT, the shell's convention)


#: Printed tables fit a terminal this wide (characters).
TABLE_WIDTH = 100
#: Short headings for printed tables.
HEADINGS = {
    "mean_minutes_to_hub": "mean min",
    "max_minutes_to_hub": "max min",
    "current_clusters": "current",
    "pinned_clusters": "pinned",
    "apart_clusters": "apart",
    "district_splits": "cross districts",
}


def _print_table(df, limit: int = 60, *, index: bool = False) -> None:
    """Print ``df`` within 100 columns, names shortened with care (see :func:`clustergeo.labels.text_table`)."""
    import pandas as pd

    from .labels import text_table

    df = df.reset_index().rename(columns={"index": "measure"}) if index else df
    keep = {"cluster": 26, "name": 26, "index": 18, "measure": 18, "version": 30}
    df = df.rename(columns=HEADINGS)
    for c in ("cluster", "cluster_a", "cluster_b", "b_continues"):
        if c in df and not pd.api.types.is_numeric_dtype(df[c]):
            df[c] = [v.removesuffix(" cluster") if isinstance(v, str) else v for v in df[c]]
    print(text_table(df, width=TABLE_WIDTH, limit=limit, keep=keep))


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


def _solve_one(
    scenario, rules, name: str, out: Path, args, shown: Path | None = None, solved: dict | None = None
) -> bool:
    """Solve one set of rules into ``out`` (``shown``: the folder named in messages; ``solved``
    collects the plans by name)."""
    from .proposal import propose

    shown = out if shown is None else shown
    schools, boundary, layers = scenario.load()
    opts = dict(scenario.solver)
    solver = args.solver or opts.get("name")
    time_limit = args.time_limit if args.time_limit is not None else opts.get("time_limit", 120)
    print(f"Solving {name} ({len(schools)} schools) ...", file=sys.stderr, flush=True)
    kwargs = dict(
        boundary=boundary,
        layers=layers,
        network=scenario.network,
        links=scenario.links or None,
        solver=solver,
        time_limit=time_limit,
        gap=opts.get("gap"),
        threads=args.threads if getattr(args, "threads", None) is not None else opts.get("threads"),
        seed=opts.get("seed"),
        progress=_progress,
        name=name,
    )
    try:
        if getattr(args, "alternatives", 1) > 1:
            from .compare import metrics_table
            from .proposal import alternatives

            plans = alternatives(
                schools,
                rules,
                n=args.alternatives,
                min_difference=getattr(args, "min_difference", None) or 0.0,
                **kwargs,
            )
            plan = plans[0]
            for i, other in enumerate(plans[1:], start=2):
                other.save(out / "alternatives" / f"plan-{i}")
            out.mkdir(parents=True, exist_ok=True)
            table = metrics_table({p.name: p for p in plans})
            table.to_csv(out / "alternatives.csv")
            print("\nThe best distinct plans side by side (alternatives.csv):")
            _print_table(table, index=True)
        else:
            plan = propose(schools, rules, **kwargs)
        scenario.inside(plan)
    except InfeasibleError as e:
        from .principles import explain
        from .scenario import Variant

        others = [v for v in scenario.variants if f"{scenario.name}: {v.name}" != name]
        main = {k: v for k, v in scenario.rules.to_dict().items() if rules.to_dict().get(k) != v}
        if main:  # a variant failed: the main rules are one more version to try
            others.insert(0, Variant("the main rules", main))
        # with --all-variants every version is solved anyway: rank by the plans in hand only
        most = 0 if getattr(args, "all_variants", False) else None
        e = explain(e, rules, others, trials=_trials(scenario, others, schools, kwargs, time_limit, solved, most))
        out.mkdir(parents=True, exist_ok=True)
        (out / "infeasible.txt").write_text(str(e) + "\n")
        print(f"\n{name}: NO PLAN\n{e}\n(written to {shown / 'infeasible.txt'})\n")
        return False
    except NoPlanInTimeError as e:  # one version out of time does not stop the others
        out.mkdir(parents=True, exist_ok=True)
        (out / "no-plan-in-time.txt").write_text(str(e) + "\n")
        print(f"\n{name}: NO PLAN IN TIME ({time_limit:g} s)\n{e}\n")
        return False
    variant = next(
        (v for v in scenario.variants if name in (f"{scenario.name}: {v.name}", f"{scenario.name}: {v.slug}")), None
    )
    if variant is not None:  # the scenario's principles describe its main rules, not this version
        plan.run["variant"] = {"of": scenario.name, "name": variant.name, "changes": dict(variant.changes)}
    elif scenario.principles:
        plan.run["principles"] = list(scenario.principles)
    if scenario.district_word != "district":
        plan.run["district_word"] = scenario.district_word
    if scenario.catchment_layers:
        from .catchment_layers import draw_by_layer

        draw_by_layer(plan, scenario.catchment_layers, boundary)
    if solved is not None:
        solved[name] = plan
    paths = plan.save(out)
    print()
    print(plan.summary())
    print()
    cols = ["cluster", "kind", "schools", "pupils", "districts", "mean_minutes_to_hub", "current_clusters"]
    _print_table(plan.table()[cols].round(1))
    print(f"\nFiles written to {shown}: {', '.join(sorted(p.name for p in paths.values()))}")
    return True


def _trials(
    scenario, others: list, schools, kwargs: dict, time_limit: float, solved: dict | None, most: int | None
) -> dict:
    """The candidate relaxations solved in a short time each (plans in hand reused), to rank
    them by the schools their plans move."""
    from .principles import MAX_TRIALS, TRIAL_SECONDS, try_relaxations
    from .proposal import propose

    have = {}
    for name, plan in (solved or {}).items():
        have["the main rules" if name == scenario.name else name.removeprefix(f"{scenario.name}: ")] = plan
    quick = {**kwargs, "time_limit": min(TRIAL_SECONDS, time_limit), "progress": False}
    if most != 0:
        print("Trying the scenario's relaxations to rank them ...", file=sys.stderr, flush=True)

    def solve(v):
        return propose(schools, scenario.rules.replace(**v.changes), **quick)

    return try_relaxations(others, solve, solved=have, most=MAX_TRIALS if most is None else most)


def _check_solve_args(args) -> None:
    from .scenario import check_seconds

    if args.time_limit is not None:
        check_seconds(args.time_limit, "--time-limit")
    if args.threads is not None and args.threads < 1:
        raise RulesError(f"--threads must be a whole number >= 1 (1: repeatable runs), not {args.threads}")
    if args.alternatives < 1:
        raise RulesError(f"--alternatives must be at least 1, not {args.alternatives}")


def _solve_from(sc, stage: Path, out: Path, args) -> int:
    """``solve SCENARIO --start PLAN [--lock LOCKS.csv]``: keep the locks, repair the rest,
    writing into ``stage`` (``out``: the folder named in messages)."""
    from . import edit
    from .read import read_assignment

    rules = sc.variant(args.variant) if args.variant else sc.rules
    schools, boundary, layers = sc.load()
    plan = read_assignment(
        args.start,
        schools,
        rules=rules,
        boundary=boundary,
        network=sc.network,
        links=sc.links or None,
        name=f"{sc.name} (from {Path(args.start).name})",
    )
    plan.layers.update(layers)
    if args.lock:
        plan = edit.apply_locks(plan, args.lock)
    record = plan.run[edit.EDIT_KEY]
    broken = plan.violations()
    print(
        f"Starting plan {args.start}: {counted(len(record['moves']), 'school')} moved by the locks, "
        f"{counted(len(record['locked_schools']), 'school')} and {counted(len(record['locked_clusters']), 'cluster')} "
        f"locked; it breaks {counted(len(broken), 'rule')}",
        file=sys.stderr,
    )
    for p in broken[:20]:
        print(f"  - {p}", file=sys.stderr)
    for hint in edit.name_hints(plan):
        print(f"  note: {hint}", file=sys.stderr)
    if not broken and not record["moves"]:
        print("The starting plan meets the rules: nothing to repair.", file=sys.stderr)
        repaired = plan
    else:
        opts = dict(sc.solver)
        time_limit = args.time_limit if args.time_limit is not None else opts.get("time_limit", 120)
        try:
            repaired = edit.repropose(
                plan,
                solver=args.solver or opts.get("name"),
                time_limit=time_limit,
                seed=opts.get("seed"),
                free=None
                if not args.free_all
                else [
                    c
                    for c in plan.clusters.loc[plan.clusters["kind"] == "geographic", "cluster"]
                    if c not in record["locked_clusters"]
                ],
            )
        except InfeasibleError as e:
            (stage / "infeasible.txt").write_text(str(e) + "\n")
            print(f"\nNO REPAIR\n{e}\n(written to {out / 'infeasible.txt'})\n")
            return EXIT_ERROR
        except NoPlanInTimeError as e:
            (stage / "no-plan-in-time.txt").write_text(str(e) + "\n")
            print(f"\nNO REPAIR IN TIME ({time_limit:g} s)\n{e}\n(written to {out / 'no-plan-in-time.txt'})\n")
            return EXIT_ERROR
        rep = repaired.run["repair"]
        print(
            f"\nRepaired {len(rep['free_clusters'])} clusters ({rep['free_units']} units, {rep['status']}, "
            f"{rep['seconds']:.1f} s): {counted(rep['schools_moved'], 'school')} moved, objective "
            f"{rep['objective_before']:,.1f} -> {rep['objective_after']:,.1f} ({rep['change']:+,.1f})"
        )
        for m in rep["moves"][:40]:
            print(f"  {m['name']} ({m['school_id']}): {m['from']} -> {m['to']}")
        for unit, ids in rep.get("units_left_split", {}).items():
            from .check import unit_words

            word = unit_words(sc.rules.keep_whole)
            print(f"  {word} {unit!r} stays split by the edit: {', '.join(ids)} apart from the rest")
        if rep.get("rejoined"):
            n = len(rep["rejoined"])
            print(
                f"  {counted(n, 'school')} went back to the current cluster the rules keep whole: no plan keeps "
                f"{'it' if n == 1 else 'them'} apart (lock a school in --lock to keep it where you put it)"
            )
    if sc.district_word != "district":
        repaired.run["district_word"] = sc.district_word
    if not repaired.violations():  # peer groups and allocations follow the clusters as they now are
        sc.inside(repaired)
    paths = repaired.save(stage)
    print()
    print(repaired.summary())
    print(f"\nFiles written to {out}: {', '.join(sorted(p.name for p in paths.values()))}")
    return 0 if not repaired.violations() else 1


def cmd_solve(args) -> int:
    """Solve (or, with ``--start``, repair) into a temporary folder beside ``--out``, then move
    it into place: ``--out`` holds exactly this run's files, or (on an error or Ctrl-C) what it
    held before."""
    from .outputs import install, staging
    from .scenario import read_scenario

    _check_solve_args(args)
    start = getattr(args, "start", None)
    if getattr(args, "lock", None) and not start:
        raise RulesError("--lock needs --start: the plan whose schools and clusters it locks")
    sc = read_scenario(args.scenario)
    out = Path(args.out)
    stage = staging(out)  # checks --out can be written before any solving
    from .solve.backends.solvers import quiet_highs_banner

    quiet_highs_banner()  # the banner must never mix with the command's own output
    done: list[str] = []
    try:
        code = _solve_from(sc, stage, out, args) if start else _solve_all(sc, stage, out, args, done)
    except KeyboardInterrupt:
        if done:
            print(
                f"\nInterrupted (Ctrl-C). Finished: {'; '.join(done)}; their files are in {stage} "
                f"({out} is as it was).",
                file=sys.stderr,
            )
        else:
            shutil.rmtree(stage, ignore_errors=True)
            print(f"\nInterrupted (Ctrl-C) before any plan was finished; {out} is as it was.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BaseException:
        if done:  # keep what was finished: the error is about a later part
            print(
                f"Finished before the error: {'; '.join(done)}; their files are in {stage} ({out} is as it was).",
                file=sys.stderr,
            )
        else:
            shutil.rmtree(stage, ignore_errors=True)
        raise
    install(stage, out)
    return code


def _solve_all(sc, stage: Path, out: Path, args, done: list[str]) -> int:
    if args.variant:
        rules = sc.variant(args.variant)  # a name or a slug; unknown ones are named with the choices
        title = next(v.name for v in sc.variants if args.variant in (v.name, v.slug))
        ok = _solve_one(sc, rules, f"{sc.name}: {title}", stage, args, shown=out)
        done.append(args.variant)
        return 0 if ok else EXIT_ERROR
    plans: dict = {}
    ok = _solve_one(sc, sc.rules, sc.name, stage, args, shown=out, solved=plans)
    done.append("the main rules" + ("" if ok else " (no plan: infeasible.txt)"))
    todo = sc.variants if args.all_variants else ([] if ok else [v for v in sc.variants if v.fallback])
    if not ok and todo:
        print(
            f"The main rules cannot be met; solving the variant that relaxes them: {', '.join(v.name for v in todo)}\n"
        )
    any_ok = ok
    for v in todo:
        sub = Path("variants") / v.slug
        any_ok |= _solve_one(
            sc, sc.rules.replace(**v.changes), f"{sc.name}: {v.name}", stage / sub, args, shown=out / sub, solved=plans
        )
        done.append(f"variant {v.name!r}")
    if len(plans) > 1 or (plans and len(plans) < 1 + len(todo)):
        from .versions import versions_table

        short = {k.removeprefix(f"{sc.name}: ") if k != sc.name else "the main rules": p for k, p in plans.items()}
        versions = ["the main rules", *(v.name for v in todo)]
        failed = {v: "no plan" for v in versions if v not in short}  # its folder says why
        table = versions_table(short, failed=failed).reindex(versions)
        table.to_csv(stage / "versions.csv")
        print(f"\nThe versions side by side ({out / 'versions.csv'}):")
        _print_table(_versions_shown(table), index=True)
    _report_versions(stage)
    return 0 if any_ok else EXIT_ERROR


def _versions_shown(table):
    """The versions table in 100 columns: the measures a planner compares first (all in versions.csv)."""
    import pandas as pd

    def pupils(row) -> str:
        return "-" if pd.isna(row.get("pupils_min")) else f"{row['pupils_min']:,.0f}-{row['pupils_max']:,.0f}"

    def whole(column: str) -> list[str]:
        return ["-" if pd.isna(v) else f"{v:,.0f}" for v in table.get(column, pd.Series(index=table.index))]

    return pd.DataFrame(
        {
            "clusters": whole("clusters"),
            "pupils": [pupils(r) for _, r in table.iterrows()],
            "crossing": whole("crossing_districts"),
            "mean min": table.get("mean_minutes_to_hub"),
            "moved": whole("schools_moved"),
            "% elsewhere": (100 * table["differs_from_first"]).round(1) if "differs_from_first" in table else None,
            "status": table["status"],
        },
        index=table.index,
    ).rename_axis("version")


def _report_versions(out: Path) -> None:
    """Rewrite the top plan's report once its variants exist, so it shows the versions side by
    side (its alternatives, saved before it, are in its report already)."""
    from .read import read_plan
    from .report import versions, write_report

    if (out / "plan.json").exists() and (out / "versions.csv").exists() and versions(out) is not None:
        write_report(read_plan(out), out)


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
        res = sweep(
            spec.scenarios if len(spec.scenarios) > 1 else spec.scenarios[0],
            spec.grid,
            out=args.out,
            executor=executor,
            workers=args.workers,
            rules=spec.rules,
            solver=spec.solver,
            maps=spec.maps and not args.no_maps,
        )
    finally:
        if client is not None:
            client.close()
    t = res.table
    varied = [
        c
        for c in t.columns
        if c
        not in (
            "number",
            "worker",
            "key",
            "reason",
            "plan",
            "objective",
            "solver_status",
            "clusters_total",
            "max_minutes",
            "peak_memory_mb",
            "solve_seconds",  # the last solve's own time; seconds is the task's, in sweep.csv both
        )
    ]
    _print_table(t[varied].round(2), limit=100)
    print(
        f"\n{len(t)} tasks ({res.ran} solved now, {res.skipped} kept from before): "
        + ", ".join(f"{n} {s}" for s, n in t["status"].value_counts().items())
    )
    print(f"Files written to {res.folder}: sweep.csv, tradeoff.png, plans/")
    return 0 if t["status"].isin(DONE).all() else 1


def cmd_check(args) -> int:
    from .read import check_saved

    if getattr(args, "scenario", None):
        return cmd_check_against(args)
    problems = check_saved(args.folder)
    if problems:
        print(f"{args.folder}: {counted(len(problems), 'problem')}")
        for p in problems:
            print(f"  - {p}")
        return EXIT_PROBLEMS
    print(f"{args.folder}: the plan meets its rules (independent check passed)")
    return 0


def cmd_check_against(args) -> int:
    """``check PLAN --scenario S``: judge any plan (an edited CSV, say) by a scenario's rules."""
    from . import edit
    from .read import read_assignment
    from .scenario import read_scenario

    sc = read_scenario(args.scenario)
    rules = sc.variant(args.variant) if args.variant else sc.rules
    schools, boundary, _layers = sc.load()
    plan = read_assignment(
        args.folder, schools, rules=rules, boundary=boundary, network=sc.network, links=sc.links or None
    )
    problems = plan.violations()
    for hint in edit.name_hints(plan):
        print(f"{args.folder}: note: {hint}")
    if problems:
        variant = f": {args.variant}" if args.variant else ""
        print(f"{args.folder}: {counted(len(problems), 'problem')} under {sc.name}{variant}")
        for p in problems:
            print(f"  - {p}")
        return 1
    print(f"{args.folder}: the plan meets the rules of {sc.name} (independent check passed)")
    return 0


def cmd_compare(args) -> int:
    from .compare import compare
    from .read import read_plan

    a, b = read_plan(args.a), read_plan(args.b)
    res = compare(a, b, out=args.out)
    _print_table(res.metrics, index=True)
    moves = res.moves
    print(f"\n{res.words()[0].upper()}{res.words()[1:]}{':' if len(moves) else '.'}")
    if len(moves):
        _print_table(
            moves[[c for c in ("school_id", "name", "pupils", "cluster_a", "cluster_b", "b_continues") if c in moves]],
            limit=40,
        )
    return 0


def cmd_report(args) -> int:
    from .outputs import write_maps
    from .read import read_plan

    plan = read_plan(args.folder)
    paths = write_maps(plan, args.folder, pdf=not args.no_pdf)
    print(f"{args.folder}: {', '.join(sorted(p.name for p in paths.values()))} rebuilt from the saved plan")
    return 0


def cmd_schools(args) -> int:
    from . import datasets
    from .schools import schools_summary

    ds = datasets.load(args.dataset)
    print(ds)
    print()
    print(schools_summary(ds.schools).to_string())
    if "sector" in ds.schools.columns:
        print()
        print(schools_summary(ds.schools, by="sector").to_string())
        print("(a scenario leaves schools out with its 'exclude' key: norfolk-option-4 leaves out independent schools)")
    print(f"\nCurrent clusters (DERIVED: {ds.cluster_rule})\n")
    _print_table(ds.current_clusters(), limit=100, index=True)
    return 0


def cmd_scenarios(args) -> int:
    from .scenario import read_scenario, shipped

    for name, path in sorted(shipped().items()):
        sc = read_scenario(path)
        print(f"{name}: {sc.description}")
        for v in sc.variants:
            print(f"    variant: {v.name}{' (fallback)' if v.fallback else ''}")
    from .sweep import read_sweep, shipped_sweeps

    print("\nSweeps (clustergeo sweep NAME --out DIR):")
    for name, path in sorted(shipped_sweeps().items()):
        spec = read_sweep(path)
        solves = len(spec.scenarios) * math.prod(len(v) for v in spec.grid.values())
        print(f"{name}: {spec.description} ({solves} solves of {', '.join(spec.scenarios)})")
    return 0


def cmd_calibrate(args) -> int:
    from .calibration import calibrate

    for k, v in calibrate().items():
        shown = f"{int(v):d}" if float(v).is_integer() and k.endswith(("_used", "_areas")) else f"{v:.3f}"
        print(f"{k:32s} {shown}")
    return 0


def _pairs(text: str | None, flag: str) -> dict[str, float]:
    """``pupils=0.5,asn_pupils=0.5`` -> {"pupils": 0.5, "asn_pupils": 0.5}."""
    out: dict[str, float] = {}
    for part in filter(None, (text or "").split(",")):
        name, _, value = part.partition("=")
        try:
            number = float(value) if value else 1.0
        except ValueError:
            number = math.nan
        if not name.strip() or not math.isfinite(number):
            raise RulesError(f"{flag}: {part!r} is not measure=number (e.g. {flag} pupils=0.5,asn_pupils=0.5)")
        out[name.strip()] = number
    return out


#: The API's words for its keys, and what the command line calls them.
OPTION_WORDS = {
    "key 'total', or 'per_cluster' or 'rates'": "--total, --per-cluster or --rates",
    "the per_cluster and rates parts": "the --per-cluster and --rates parts",
    "(by = {...})": "(e.g. --by pupils=1)",
}


@contextmanager
def _as_options(*keys: str) -> Iterator[None]:
    """Re-word the API's messages for the command line: ``key 'total'`` and
    ``unsplittable='share'`` become ``--total`` and ``--unsplittable share``."""

    def options(text: str) -> str:
        for words, option in OPTION_WORDS.items():
            text = text.replace(words, option)
        for k in keys:
            flag = "--" + k.replace("_", "-")
            text = re.sub(rf"\b{k}='([^']*)'", rf"{flag} \1", text.replace(f"key '{k}'", flag))
        return text

    try:
        yield
    except InfeasibleError as e:
        raise InfeasibleError([options(r) for r in e.reasons], relaxations=[options(r) for r in e.relaxations]) from e
    except RulesError as e:
        raise RulesError(options(str(e))) from e


def _write_beside(plan, args, layer: str) -> None:
    """Write the plan with its new ``layer`` (peer_groups or allocations) into ``--out`` (default:
    its own folder), rebuilding the maps and report when the folder had them, so the folder
    holds one run's complete files and the report shows what was added."""
    from .outputs import write_plan

    source, out = Path(args.folder), Path(args.out or args.folder)
    maps = (source / "map.png").exists()
    paths = write_plan(plan, out, maps=maps, report=maps and (source / "report.html").exists())
    rebuilt = "; the maps and report rebuilt" if maps else ""
    print(f"\n{out / (layer + '.csv')} and the GeoPackage layer {layer} written{rebuilt}.")
    print(f"Files in {out}: {', '.join(sorted(p.name for p in paths.values()))}")


def _sizes(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(x) for x in text.split(","))
    except ValueError:
        raise RulesError(
            f"--sizes {text!r}: give the group sizes as whole numbers with commas (e.g. --sizes 3,4)"
        ) from None


def cmd_groups(args) -> int:
    from .groups import peer_groups
    from .read import read_plan

    sizes = _sizes(args.sizes)
    plan = read_plan(args.folder)
    with _as_options("sizes", "cost", "unsplittable", "phase"):
        g = peer_groups(plan, phase=args.phase, sizes=sizes, cost=args.cost, unsplittable=args.unsplittable)
    g.attach(plan)
    print("\n".join(g.summary_lines()))
    _write_beside(plan, args, "peer_groups")
    return 0


def _check_amounts(args) -> None:
    for flag, v in (
        ("--total", args.total),
        ("--per-cluster", args.per_cluster),
        ("--minimum", args.minimum),
        ("--maximum", args.maximum),
    ):
        if v is not None and not (math.isfinite(v) and v >= 0):
            raise RulesError(f"{flag} must be a number >= 0, not {v:g}")
    if args.maximum is not None and args.maximum < args.minimum:
        raise RulesError(f"--maximum {args.maximum:g} is below --minimum {args.minimum:g}; raise it")


def cmd_allocate(args) -> int:
    from .allocate import allocate, attach
    from .read import read_plan

    _check_amounts(args)
    by, rates = _pairs(args.by, "--by") or None, _pairs(args.rates, "--rates") or None
    plan = read_plan(args.folder)
    with _as_options("total", "by", "rates", "per_cluster", "minimum", "maximum", "kinds", "unit"):
        a = allocate(
            plan,
            total=args.total,
            by=by,
            rates=rates,
            per_cluster=args.per_cluster,
            method=args.method,
            minimum=args.minimum,
            maximum=args.maximum,
            unit=args.unit,
            name=args.name or args.unit,
            kinds=args.kinds.split(",") if args.kinds else None,
        )
    attach(plan, [a])
    print(a.formula)
    print()
    shown = a.table.drop(columns=["allocation", "unit"])
    shown = shown.assign(share=(100 * shown["share"]).round(1)).rename(columns={"share": "share %"})
    numbers = shown.select_dtypes("number").drop(columns=["share %", "quota", "amount"], errors="ignore")
    whole = [c for c in numbers.columns if (numbers[c] % 1 == 0).all()]
    _print_table(shown.astype({c: int for c in whole}))
    _write_beside(plan, args, "allocations")
    return 0


def _inside_parsers(sub) -> None:
    p = sub.add_parser("groups", help="form peer groups (trios and quads) inside each cluster of a saved plan")
    p.add_argument("folder")
    p.add_argument("--phase", default="primary")
    p.add_argument("--sizes", default="3,4", help="allowed group sizes (default 3,4)")
    p.add_argument(
        "--cost",
        choices=["pairs", "hub"],
        default="pairs",
        help="minimise travel minutes between every two schools (pairs) or to a group hub (hub)",
    )
    p.add_argument(
        "--unsplittable",
        choices=["share", "other-size", "error"],
        default="share",
        help="a cluster whose count cannot split: share a group with the nearest cluster, one group "
        "of another size, or stop",
    )
    p.add_argument("--out", help="folder to write the plan to (default: the plan's own folder)")
    p.set_defaults(func=cmd_groups)
    p = sub.add_parser("allocate", help="share posts or money among the clusters of a saved plan by a formula")
    p.add_argument("folder")
    p.add_argument("--name", help="what is allocated, e.g. 'support for learning teachers' (default: the unit)")
    p.add_argument("--total", type=float, help="posts (or pounds) to share")
    p.add_argument("--by", help="weights on measures for the share, e.g. pupils=0.5,asn_pupils=0.3,simd_q1_pupils=0.2")
    p.add_argument("--rates", help="fixed amounts per unit of a measure, e.g. pupils=2 (£2 per pupil)")
    p.add_argument("--per-cluster", type=float, default=0, help="a fixed amount for every cluster")
    p.add_argument("--method", default="webster", choices=["webster", "hamilton", "huntington-hill"])
    p.add_argument("--minimum", type=float, default=0)
    p.add_argument("--maximum", type=float)
    p.add_argument("--unit", choices=["posts", "pounds"], default="posts")
    p.add_argument("--kinds", help="cluster kinds taking part, e.g. geographic,pinned (default all)")
    p.add_argument("--out", help="folder to write the plan to (default: the plan's own folder)")
    p.set_defaults(func=cmd_allocate)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="clustergeo", description="School cluster boundaries by integer programming.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log solver rounds and warnings")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("solve", help="solve a scenario file (or a shipped scenario by name)")
    p.add_argument("scenario", help="a shipped scenario's name (see: clustergeo scenarios) or a scenario TOML file")
    p.add_argument("--out", required=True, help="folder for the plan files")
    p.add_argument("--variant", help="solve this variant instead of the main rules")
    p.add_argument("--all-variants", action="store_true", help="also solve every variant")
    p.add_argument("--solver", choices=["highs", "cbc", "gurobi", "scip"])
    p.add_argument(
        "--time-limit",
        type=float,
        help="seconds for each plan solved (the main rules, each variant, each alternative, a repair); "
        "default: the scenario's [solver] time_limit, or 120",
    )
    p.add_argument(
        "--threads", type=int, help="solver threads (default 1: repeatable runs; 2 runs HiGHS's parallel tree search)"
    )
    p.add_argument(
        "--alternatives",
        type=int,
        default=1,
        metavar="N",
        help="also find the next best distinct plans (N in all) and compare them",
    )
    p.add_argument(
        "--start",
        metavar="DIR_OR_CSV",
        help="start from this plan (school_id,cluster: a CSV, GeoPackage or plan folder) and "
        "repair it around its edits and broken rules instead of solving from scratch",
    )
    p.add_argument(
        "--lock", metavar="LOCKS.csv", help="with --start: schools (school_id[,cluster]) and clusters (cluster) to keep"
    )
    p.add_argument(
        "--free-all",
        action="store_true",
        help="with --start: re-optimise every unlocked cluster, not only those around the edits",
    )
    p.add_argument(
        "--min-difference",
        type=float,
        metavar="SHARE",
        help="with --alternatives: each plan puts at least this share (0-1) of the schools in a "
        "different cluster from every earlier one",
    )
    p.set_defaults(func=cmd_solve)
    p = sub.add_parser("sweep", help="solve every combination of a sweep file's grid, in parallel, resumably")
    p.add_argument("sweep", help="a sweep file (TOML) or the name of a shipped sweep")
    p.add_argument("--out", required=True, help="folder for sweep.csv, tradeoff.png and the plans")
    p.add_argument("--workers", type=int, help="worker processes (default: the cores)")
    p.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="run on this Dask scheduler (the dask extra)")
    p.add_argument("--no-maps", action="store_true", help="skip each plan's map images (faster)")
    p.set_defaults(func=cmd_sweep)
    p = sub.add_parser(
        "check",
        help="re-verify a saved plan (and the files a planner edits) against its rules, "
        "or any school_id,cluster file against a scenario's",
    )
    p.add_argument("folder", help="a plan folder, or with --scenario any school_id,cluster file")
    p.add_argument("--scenario", help="judge the plan by this scenario's rules and schools")
    p.add_argument("--variant", help="with --scenario: that variant's rules")
    p.set_defaults(func=cmd_check)
    p = sub.add_parser("compare", help="compare two saved plans")
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--out", help="folder for moves.csv, metrics.csv and diff.png")
    p.set_defaults(func=cmd_compare)
    p = sub.add_parser("report", help="rebuild the maps and report.html/report.pdf of a saved plan")
    p.add_argument("folder")
    p.add_argument("--no-pdf", action="store_true", help="write report.html only")
    p.set_defaults(func=cmd_report)
    p = sub.add_parser("schools", help="summarise a shipped dataset")
    p.add_argument("dataset", choices=["norfolk", "north-lanarkshire", "nl"])
    p.set_defaults(func=cmd_schools)
    p = sub.add_parser("scenarios", help="list the shipped scenarios")
    p.set_defaults(func=cmd_scenarios)
    p = sub.add_parser("calibrate", help="calibrate the straight-line travel-time estimate")
    p.set_defaults(func=cmd_calibrate)
    _inside_parsers(sub)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(message)s")
    return _run(args)


def _run(args) -> int:
    """Run a command: a ClusterGeoError is one message (exit 2), Ctrl-C one line (exit 130),
    anything else a short internal-error line (exit 1); tracebacks only with -v."""
    try:
        return args.func(args)
    except ClusterGeoError as e:
        if args.verbose:
            traceback.print_exc()
        print(f"error: {e}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"\nInterrupted (Ctrl-C) during '{args.command}'; nothing more was written.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader went away (e.g. `| head`): stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as e:  # a bug, not bad input: say so without a wall of traceback
        if args.verbose:
            traceback.print_exc()
        print(
            f"internal error: {type(e).__name__}: {e} (run with -v for the traceback, and please report it)",
            file=sys.stderr,
        )
        return EXIT_PROBLEMS


if __name__ == "__main__":
    sys.exit(main())
