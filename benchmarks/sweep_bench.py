"""A scenario sweep on 1 and on 2 local workers in the same run: the speed-up and memory per worker.

    python benchmarks/sweep_bench.py                        # North Lanarkshire: 9 scenarios
    python benchmarks/sweep_bench.py --sweep norfolk-option-4-sizes   # 18: the penalty half use their 120 s

Writes benchmarks/results/sweep.json and sweep.md. Each run starts from an empty output folder
(nothing is kept from before) and writes every plan's files, maps included, as ``clustergeo
sweep`` does. The wall time covers the whole sweep: starting the spawn workers, loading the
data, solving and writing. Peak memory per worker is each worker process's maximum resident
set size (``ru_maxrss``) as its tasks report it. The machine's load average is recorded before
and after: other processes on the same cores slow the 2-worker run more than the 1-worker run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIGURES = ["status", "clusters", "district_crossings", "mean_minutes", "objective"]
TARGET_SPEEDUP = 1.7


def _busy(n: int) -> float:
    t0 = time.perf_counter()
    x = 0
    for i in range(n):
        x += i * i
    return time.perf_counter() - t0


def machine_control(n: int = 30_000_000) -> float:
    """Speed-up of a pure-CPU loop on 2 processes over 1 right now: what the shared cores allow."""
    import concurrent.futures as cf
    import multiprocessing

    with cf.ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(_busy, [1000, 1000]))  # start both workers first
        t0 = time.perf_counter()
        list(pool.map(_busy, [n, n]))
        two = time.perf_counter() - t0
        t0 = time.perf_counter()
        pool.submit(_busy, n).result()
        pool.submit(_busy, n).result()
        one = time.perf_counter() - t0
    return round(one / two, 2)


def run(spec, workers: int, out: Path) -> dict:
    from clustergeo.sweep import sweep

    t0 = time.perf_counter()
    res = sweep(
        spec.scenarios[0],
        spec.grid,
        rules=spec.rules,
        solver=spec.solver,
        out=out,
        workers=workers,
        maps=spec.maps,
        progress=False,
    )
    wall = time.perf_counter() - t0
    t = res.table
    per_worker = t.groupby("worker")["peak_memory_mb"].max()
    return {
        "workers": workers,
        "tasks": len(t),
        "wall_seconds": round(wall, 1),
        "task_seconds_sum": round(float(t["seconds"].sum()), 1),
        "task_cpu_seconds_sum": round(float(t["cpu_seconds"].sum()), 1) if "cpu_seconds" in t else None,
        "statuses": t["status"].value_counts().to_dict(),
        "worker_processes": int(t["worker"].nunique()),
        "peak_memory_mb_per_worker": {k: float(v) for k, v in per_worker.items()},
        "peak_memory_mb_max": float(per_worker.max()),
        "figures": t[FIGURES].astype(object).where(t[FIGURES].notna(), None).to_dict("list"),
    }


def write_md(record: dict, path: Path) -> None:
    one, two = record["runs"]
    shared = max(record["load_before"][0], record["load_after"][0]) > record["cores"]
    note = (
        "the machine was shared: a load average above its cores means other processes competed for them, "
        "which slows the 2-worker run more than the 1-worker run"
        if shared
        else "the machine was otherwise idle"
    )
    lines = [
        f"# Sweep benchmark: {record['sweep']} ({one['tasks']} scenarios)",
        "",
        f"Run {record['date']} on {record['machine']}, clustergeo {record['clustergeo']}, Python "
        f"{record['python']}; load average before {record['load_before']}, after {record['load_after']} "
        f"on {record['cores']} cores: {note}.",
        "",
        "| workers | wall time, s | sum of task times, s | sum of task CPU, s | worker processes | "
        "peak memory per worker, MB |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in (one, two):
        mem = ", ".join(f"{v:.0f}" for v in r["peak_memory_mb_per_worker"].values())
        lines.append(
            f"| {r['workers']} | {r['wall_seconds']} | {r['task_seconds_sum']} | "
            f"{r['task_cpu_seconds_sum']} | {r['worker_processes']} | {mem} |"
        )
    lines += [
        "",
        f"Speed-up on 2 workers: **{record['speedup']:.2f}x** (target {TARGET_SPEEDUP}x); "
        f"same answers on 1 and 2 workers: {record['same_answers']}.",
        f"Statuses: {one['statuses']}.",
        "",
        f"Control: a pure-CPU loop on 2 processes ran {record['cpu_loop_speedup'][0]}x (before the sweeps) "
        f"and {record['cpu_loop_speedup'][1]}x (after) as fast as on 1: the most the shared cores gave at "
        "the time.",
        "",
        "Worker processes are more than the workers when a worker is replaced after `MAX_TASKS_PER_WORKER` tasks.",
        "",
    ]
    path.write_text("\n".join(lines))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweep", default="north-lanarkshire-schools", help="a shipped sweep or a sweep file")
    args = parser.parse_args()
    import clustergeo
    from clustergeo.sweep import read_sweep

    spec = read_sweep(args.sweep)
    load_before = [round(x, 2) for x in os.getloadavg()]
    control_before = machine_control()
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for workers in (1, 2):
            print(f"{spec.name}: {workers} worker(s) ...", file=sys.stderr, flush=True)
            runs.append(run(spec, workers, Path(tmp) / f"w{workers}"))
            print(f"  {runs[-1]['wall_seconds']} s", file=sys.stderr, flush=True)
    record = {
        "sweep": spec.name,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()} {platform.system()}",
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "clustergeo": clustergeo.__version__,
        "load_before": load_before,
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "speedup": round(runs[0]["wall_seconds"] / runs[1]["wall_seconds"], 2),
        "same_answers": runs[0]["figures"] == runs[1]["figures"],
        "cpu_loop_speedup": [control_before, machine_control()],
        "runs": runs,
    }
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "sweep.json").write_text(json.dumps(record, indent=2, default=str))
    write_md(record, out / "sweep.md")
    print((out / "sweep.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
