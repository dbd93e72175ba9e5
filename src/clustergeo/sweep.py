"""Scenario sweeps: many proposals at once, on a local process pool or a Dask cluster, resumable.

A sweep solves every combination of a grid of rule and solver values (and, optionally, of
several scenario files) as independent tasks::

    import clustergeo as cg
    result = cg.sweep("norfolk-option-4", grid={"min_pupils": [2000, 2500, 3000],
                                                "max_pupils": [4500, 5000, 5500],
                                                "districts": ["within", "penalty"]},
                      out="sweeps/norfolk")
    result.table                       # one row per task (also sweeps/norfolk/sweep.csv)

Each task is a small picklable :class:`Task` (the scenario reference, the rule changes, the
solver settings and seed); the data are loaded and the solver is built inside the worker. The
default executor is a local process pool (spawn start method, one solver thread per worker, as
many workers as cores, each worker replaced after :data:`MAX_TASKS_PER_WORKER` tasks to bound
memory). Any :class:`concurrent.futures.Executor` can run it instead, for example a Dask
``Client(...).get_executor()`` (the ``dask`` extra).

Each task's result is stored under a key hashed from its inputs (the content of the data files),
its rules, its solver settings and the clustergeo version, so running the same sweep again skips
what is done. A worker that dies mid-task (killed, out of memory) gets the task tried once more;
a second death reports it ``failed`` with the reason, and the other tasks go on.

Outputs in ``out``: ``sweep.csv`` (one row per task), ``plans/<task>/`` (each plan's folder as
``clustergeo solve`` writes it, or its ``infeasible.txt``, plus ``result.json``) and
``tradeoff.png`` (clusters against district crossings and mean travel time).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import hashlib
import io
import itertools
import json
import logging
import multiprocessing
import os
import re
import shutil
import socket
import sys
import time
import tomllib
import zipfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import ClusterGeoError, DataError, InfeasibleError, NoPlanInTimeError, Problem, RulesError
from .rules import Rules
from .scenario import SOLVER_KEYS, Scenario, read_scenario, shipped
from .settings import settings
from .version import __version__

log = logging.getLogger(__name__)

#: Tasks a pool worker runs before it is replaced by a fresh process (bounds memory growth).
MAX_TASKS_PER_WORKER = 10
#: Times a task is tried again after its worker died under it.
RETRIES = 1
#: Solver threads per task unless the sweep says otherwise: one solve per core.
SWEEP_THREADS = 1
#: Default solver time limit per task, seconds (as ``clustergeo solve``).
TIME_LIMIT_S = 120.0
#: Seconds between progress-bar refreshes while no task finishes.
POLL_S = 1.0
#: Settings that change a plan: copied into every task so that fresh worker processes use them.
MODEL_SETTINGS = ("default_solver", "detour_factor", "speed_kmh", "snap_tolerance_m", "close_gaps_m")
#: Task statuses that are answers (kept when the sweep runs again); ``error`` and ``failed`` are re-run.
DONE = ("solved", "infeasible", "no plan in time")
#: Grid keys that are not rules or solver settings.
GRID_KEYS = ("scenario", "variant")
RESULT_FILE = "result.json"
PLANS_FOLDER = "plans"
#: sweep.csv columns that count (clusters, pupils, schools, crossings): whole numbers, empty without a plan
WHOLE_COLUMNS = (
    "clusters",
    "clusters_total",
    "pupils_min",
    "pupils_max",
    "schools_min",
    "schools_max",
    "district_crossings",
)
#: What sweep.csv reports of each plan (see ``_figures``).
FIGURES = (
    *WHOLE_COLUMNS,
    "mean_minutes",
    "max_minutes",
    "objective",
    "gap",
    "solver_status",
    "solve_seconds",
)
#: Columns of sweep.csv after the varied values.
COLUMNS = [
    "status",
    *FIGURES,
    "seconds",
    "cpu_seconds",
    "attempts",
    "worker",
    "peak_memory_mb",
    "plan",
    "reason",
    "key",
]
SWEEP_FILE_KEYS = {"name", "description", "scenario", "rules", "solver", "grid", "maps"}


@dataclass(frozen=True)
class Task:
    """One solve of a sweep: small and picklable; the worker loads the data and builds the solver.

    Attributes
    ----------
    key : str
        Hash of the inputs' content, the rules, the solver settings and the clustergeo version.
    number : int
        Position in the sweep (1-based), for labels.
    scenario : str
        Scenario file path (absolute) or shipped scenario name.
    variant : str or None
        Variant of the scenario whose rules are the base, or None for the main rules.
    rules : dict
        Rule changes applied on top (the sweep's fixed changes and the grid's values).
    solver : dict
        ``name``, ``time_limit`` (seconds), ``gap``, ``threads`` and ``seed``.
    values : dict
        The varied values, by grid key (the columns of ``sweep.csv``).
    folder : str
        The task's folder name under ``out/plans``.
    input_hash : str
        Content hash of the scenario's data; the worker checks its own copy against it.
    settings : dict
        The library settings that change a plan (:data:`MODEL_SETTINGS`).
    maps : bool
        Write the map and chart images of each plan.
    """

    key: str
    number: int
    scenario: str
    variant: str | None
    rules: dict[str, Any]
    solver: dict[str, Any]
    values: dict[str, Any]
    folder: str
    input_hash: str
    settings: dict[str, Any] = field(default_factory=dict)
    maps: bool = True

    @property
    def label(self) -> str:
        """The varied values in words, e.g. ``min_pupils=2000, districts=within``."""
        return ", ".join(f"{k}={v}" for k, v in self.values.items()) or "base rules"


@dataclass
class SweepSpec:
    """A parsed sweep file (see :func:`read_sweep`)."""

    name: str
    scenarios: list[str]
    grid: dict[Any, list]
    rules: dict[str, Any] = field(default_factory=dict)
    solver: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    maps: bool = True


@dataclass
class SweepResult:
    """What a sweep produced.

    Attributes
    ----------
    table : DataFrame
        One row per task (as ``sweep.csv``).
    folder : Path
        The sweep's output folder.
    ran, skipped : int
        Tasks solved in this run, and tasks whose stored answer was kept.
    """

    table: pd.DataFrame
    folder: Path
    ran: int
    skipped: int

    @property
    def csv(self) -> Path:
        return self.folder / "sweep.csv"

    @property
    def chart(self) -> Path:
        return self.folder / "tradeoff.png"

    def __repr__(self) -> str:
        counts = self.table["status"].value_counts().to_dict() if len(self.table) else {}
        return (
            f"SweepResult({len(self.table)} tasks: {counts}; ran {self.ran}, kept {self.skipped}; "
            f"folder {str(self.folder)!r})"
        )


# --------------------------------------------------------------------------- the tasks


def _file_hash(path: Path, h: Any) -> None:
    h.update(path.name.encode())
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)


def input_hash(scenario: Scenario) -> str:
    """Content hash of what a scenario reads: its data files, exclusions, links and road network.

    Examples
    --------
    >>> from clustergeo.scenario import read_scenario
    >>> len(input_hash(read_scenario("north-lanarkshire")))
    16
    """
    from . import datasets

    h = hashlib.sha256()
    meta: dict[str, Any] = {
        "dataset": datasets.NAMES.get(scenario.dataset) if scenario.dataset else None,
        "schools": scenario.schools_spec,
        "exclude": scenario.exclude,
        "links": [list(x) for x in scenario.links],
    }
    h.update(json.dumps(meta, sort_keys=True, default=str).encode())
    files: list[Path] = []
    if scenario.dataset:
        files += sorted(p for p in (datasets.data_dir() / meta["dataset"]).iterdir() if p.is_file())
    for k in ("file", "boundary", "districts"):
        if k in scenario.schools_spec:
            files.append(scenario.folder / scenario.schools_spec[k])
    if scenario.network is not None and Path(scenario.network).is_file():
        files.append(Path(scenario.network))
    for p in files:
        if not p.exists():
            raise DataError(Problem(f"the scenario reads {p}, which does not exist", fix="check the path"))
        _file_hash(p, h)
    return h.hexdigest()[:16]


def _slug(text: str, limit: int = 80) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:limit].strip("-") or "base"


def _grid_axes(grid: Mapping[Any, Iterable], where: str) -> list[tuple[tuple[str, ...], list[tuple]]]:
    """The grid as axes of (names, value tuples); names joined by commas vary together."""
    rule_keys = {f for f in Rules.__dataclass_fields__}
    axes = []
    for raw, values in grid.items():
        names = tuple(raw) if isinstance(raw, tuple) else tuple(n.strip() for n in str(raw).split(","))
        for n in names:
            if n not in rule_keys and n not in SOLVER_KEYS and n not in GRID_KEYS:
                import difflib

                near = difflib.get_close_matches(n, sorted(rule_keys | SOLVER_KEYS | set(GRID_KEYS)), 1)
                raise RulesError(
                    f"{where}: grid key '{n}' is not a rule, a solver setting, 'scenario' or 'variant'"
                    + (f" (did you mean '{near[0]}'?)" if near else "")
                )
        if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
            raise RulesError(f"{where}: grid key '{raw}' needs a list of values, not {values!r}")
        values = list(values)
        if not values:
            raise RulesError(f"{where}: grid key '{raw}' has no values: give at least one")
        rows = []
        for v in values:
            t = tuple(v) if len(names) > 1 and isinstance(v, (list, tuple)) else (v,)
            if len(t) != len(names):
                raise RulesError(
                    f"{where}: grid key '{raw}' varies {len(names)} values together; {v!r} does not have {len(names)}"
                )
            rows.append(t)
        axes.append((names, rows))
    return axes


def _check_solver(solver: Mapping[str, Any], where: str) -> None:
    bad = sorted(set(solver) - SOLVER_KEYS)
    if bad:
        raise RulesError(f"{where}: unknown solver key '{bad[0]}'; allowed: {', '.join(sorted(SOLVER_KEYS))}")
    checks = {
        "name": lambda v: v in ("highs", "cbc", "gurobi", "scip"),
        "time_limit": lambda v: v is None or (isinstance(v, (int, float)) and v > 0),
        "gap": lambda v: v is None or (isinstance(v, (int, float)) and v >= 0),
        "threads": lambda v: isinstance(v, int) and v >= 0,
        "seed": lambda v: isinstance(v, int),
    }
    for k, v in solver.items():
        if not checks[k](v):
            raise RulesError(
                f"{where}: solver key '{k}' cannot be {v!r} (name: highs, cbc or gurobi; time_limit "
                "seconds > 0; gap >= 0; threads and seed whole numbers)"
            )


def _scenario_ref(s: str | Path) -> str:
    p = Path(s)
    if p.exists():
        return str(p.resolve())
    if str(s) in shipped():
        return str(s)
    read_scenario(s)  # raises the RulesError that names the shipped scenarios
    return str(s)


def _key(*parts: Any) -> str:
    body = json.dumps([__version__, *parts], sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()[:20]


def plan_tasks(
    scenario: str | Path | list,
    grid: Mapping[Any, Iterable] | None = None,
    *,
    rules: Mapping[str, Any] | None = None,
    solver: Mapping[str, Any] | None = None,
    maps: bool = True,
) -> list[Task]:
    """The tasks of a sweep, checked: every combination of ``grid`` for each scenario.

    Parameters
    ----------
    scenario : path, shipped name, or list of them
        The base scenario(s). A grid key ``scenario`` does the same.
    grid : dict
        Rule names (``min_pupils``, ``districts``, ...), solver settings (``time_limit``,
        ``seed``, ...), ``variant`` (a variant name of the scenario, or ``"main"``) or
        ``scenario``, each with a list of values. A key naming several, comma-separated
        (``"min_schools,max_schools"``) or a tuple, varies them together: its values are lists.
    rules, solver : dict, optional
        Fixed changes for every task.
    maps : bool
        Write each plan's map images.

    Returns
    -------
    list of Task

    Raises
    ------
    RulesError
        Naming the grid key or rule that does not make sense.

    Examples
    --------
    >>> tasks = plan_tasks("north-lanarkshire", {"min_schools,max_schools": [[7, 9], [8, 10]]})
    >>> [t.label for t in tasks]
    ['min_schools=7, max_schools=9', 'min_schools=8, max_schools=10']
    """
    grid = dict(grid or {})
    fixed_rules, fixed_solver = dict(rules or {}), dict(solver or {})
    _check_solver(fixed_solver, "sweep [solver]")
    refs = scenario if isinstance(scenario, (list, tuple)) else [scenario]
    if any(("scenario" in (k if isinstance(k, tuple) else (k,))) for k in grid):
        refs = []
    axes = _grid_axes(grid, "sweep")
    model = {k: getattr(settings, k) for k in MODEL_SETTINGS if hasattr(settings, k)}
    tasks: list[Task] = []
    seen: set[str] = set()
    cache: dict[str, tuple[Scenario, str]] = {}
    for base in refs or [None]:
        for combo in itertools.product(*[rows for _, rows in axes]):
            values = {n: v for (names, _), row in zip(axes, combo) for n, v in zip(names, row)}
            ref = _scenario_ref(values.get("scenario", base))
            if ref not in cache:
                sc = read_scenario(ref)
                cache[ref] = (sc, input_hash(sc))
            sc, ihash = cache[ref]
            task = _make_task(
                sc, ref, ihash, values, fixed_rules, fixed_solver, model, len(tasks) + 1, multi=len(refs) > 1, maps=maps
            )
            if task.key in seen:
                log.warning("sweep: %s repeats an earlier task; solved once", task.label)
                continue
            seen.add(task.key)
            tasks.append(task)
    return tasks


def _make_task(
    sc: Scenario,
    ref: str,
    ihash: str,
    values: dict,
    fixed_rules: dict,
    fixed_solver: dict,
    model: dict,
    number: int,
    *,
    multi: bool,
    maps: bool,
) -> Task:
    variant = values.get("variant")
    variant = None if variant in (None, "", "main") else str(variant)
    changes = {**fixed_rules, **{k: v for k, v in values.items() if k in Rules.__dataclass_fields__}}
    where = f"sweep task {number} ({', '.join(f'{k}={v}' for k, v in values.items())})"
    try:
        base = sc.variant(variant) if variant else sc.rules
        full = base.replace(**changes)
    except RulesError as e:
        raise RulesError(f"{where}: {e}") from e
    solver = {
        "name": settings.default_solver,
        "time_limit": TIME_LIMIT_S,
        "gap": None,
        "threads": SWEEP_THREADS,
        "seed": settings.seed,
    }
    solver.update({k: v for k, v in sc.solver.items() if k != "threads"})
    solver.update(fixed_solver)
    solver.update({k: v for k, v in values.items() if k in SOLVER_KEYS})
    _check_solver(solver, where)
    shown = dict(values)
    if multi and "scenario" not in shown:
        shown = {"scenario": sc.name, **shown}
    if "scenario" in shown:
        shown["scenario"] = sc.name
    key = _key(ihash, full.to_dict(), solver, model, {"maps": maps})
    label = "_".join(f"{_slug(str(k), 20)}-{_slug(str(v), 30)}" for k, v in shown.items())
    return Task(
        key=key,
        number=number,
        scenario=ref,
        variant=variant,
        rules=changes,
        solver=solver,
        values=shown,
        folder=f"{_slug(label, 90) if shown else 'base'}-{key[:8]}",
        input_hash=ihash,
        settings=model,
        maps=maps,
    )


# --------------------------------------------------------------------------- inside a worker


def _zip_folder(folder: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                z.write(p, p.relative_to(folder).as_posix())
    return buf.getvalue()


def _peak_memory_mb() -> float | None:
    try:
        import resource
    except ImportError:  # not on Windows
        return None
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(kb / 1024 if sys.platform != "darwin" else kb / 2**20, 1)


def _figures(plan: Any) -> dict[str, Any]:
    m, r = plan.metrics, plan.run
    values = (
        *(m[k] for k in ("clusters", "clusters_total", "pupils_min", "pupils_max", "schools_min", "schools_max")),
        m["district_splits"],
        round(m["mean_minutes_to_hub"], 3),
        round(m["max_minutes_to_hub"], 3),
        *(r[k] for k in ("objective", "gap", "status", "seconds")),
    )
    return dict(zip(FIGURES, values, strict=True))


def _solve(task: Task, folder: Path) -> dict[str, Any]:
    from .outputs import write_plan

    sc = read_scenario(task.scenario)
    if input_hash(sc) != task.input_hash:
        raise DataError(
            Problem(
                f"the data of scenario {task.scenario} differ on this worker "
                f"({socket.gethostname()}) from those the sweep was planned with",
                fix="give every worker the same data files and clustergeo version",
            )
        )
    try:
        plan = sc.propose(
            variant=task.variant,
            title=f"{sc.name}: {task.label}",
            extras=False,
            progress=False,
            **task.rules,
            **task.solver,
        )
    except (InfeasibleError, NoPlanInTimeError) as e:
        (folder / "infeasible.txt").write_text(str(e) + "\n")
        status = "infeasible" if isinstance(e, InfeasibleError) else "no plan in time"
        return {"status": status, "reason": str(e).splitlines()[1 if isinstance(e, InfeasibleError) else 0].strip(" -")}
    write_plan(plan, folder, maps=task.maps)
    return {"status": "solved", **_figures(plan)}


def run_task(task: Task, attempt: int = 1) -> dict[str, Any]:
    """Solve one task where it runs; the result row, with the plan folder's files zipped.

    Errors in the task come back as ``status="error"`` with the reason, never raised, so one
    bad combination does not stop a sweep.

    Examples
    --------
    >>> task = plan_tasks("north-lanarkshire", {"min_schools,max_schools": [[8, 13]]})[0]
    >>> run_task(task)["status"]
    'solved'
    """
    import tempfile

    t0, cpu0 = time.perf_counter(), time.process_time()
    for k, v in task.settings.items():
        setattr(settings, k, v)
    settings.threads = task.solver["threads"]
    row: dict[str, Any] = {"key": task.key, "attempts": attempt, "worker": f"{socket.gethostname()}:{os.getpid()}"}
    with tempfile.TemporaryDirectory(prefix="clustergeo-task-") as tmp:
        try:
            row.update(_solve(task, Path(tmp)))
        except ClusterGeoError as e:
            row.update(status="error", reason=f"{type(e).__name__}: {e}")
        except Exception as e:  # a bug or a broken install: reported in the row; the sweep goes on
            row.update(status="error", reason=f"{type(e).__name__}: {e}")
        row["files"] = _zip_folder(Path(tmp))
    row["seconds"] = round(time.perf_counter() - t0, 3)
    row["cpu_seconds"] = round(time.process_time() - cpu0, 3)
    row["peak_memory_mb"] = _peak_memory_mb()
    return row


class _Once(logging.Filter):
    """Each distinct log message once per worker: every task of a sweep warns alike."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        if text in self.seen:
            return False
        self.seen.add(text)
        return True


def _init_worker() -> None:
    settings.progress = False
    once = _Once()
    # a spawned worker has no handler of its own: its warnings go through logging.lastResort
    last = [logging.lastResort] if logging.lastResort is not None else []
    for handler in logging.getLogger().handlers or last:
        handler.addFilter(once)


# --------------------------------------------------------------------------- running the tasks


@contextlib.contextmanager
def _one_thread_per_worker() -> Iterator[None]:
    """Spawned workers inherit the environment: one BLAS/OpenMP thread each while the sweep runs."""
    names = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    before = {n: os.environ.get(n) for n in names}
    for n in names:
        os.environ.setdefault(n, "1")
    try:
        yield
    finally:
        for n, v in before.items():
            if v is None:
                os.environ.pop(n, None)
            else:
                os.environ[n] = v


def default_workers() -> int:
    """Cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def local_pool(
    workers: int | None = None, *, max_tasks_per_worker: int | None = MAX_TASKS_PER_WORKER
) -> cf.ProcessPoolExecutor:
    """The default executor: a spawn process pool whose workers are replaced every few tasks.

    Examples
    --------
    >>> with local_pool(2) as pool:
    ...     pool.submit(abs, -3).result()
    3
    """
    return cf.ProcessPoolExecutor(
        max_workers=workers or default_workers(),
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
        max_tasks_per_child=max_tasks_per_worker,
    )


def _slots(executor: Any, workers: int | None) -> int | None:
    """How many tasks to keep in flight: the executor's workers, so that "running" is true."""
    if workers:
        return workers
    client = getattr(executor, "_client", None)  # distributed's ClientExecutor
    if client is not None:
        try:
            return max(1, sum(client.nthreads().values()))
        except Exception:  # a scheduler that does not answer: let the executor queue
            return None
    return getattr(executor, "_max_workers", None)


def _died(exc: BaseException) -> bool:
    """A worker died under the task (the pool's or distributed's word for it)."""
    return isinstance(exc, cf.process.BrokenProcessPool) or type(exc).__name__ == "KilledWorker"


@dataclass
class _Runner:
    """Keeps tasks in flight, tries a task again when its worker dies, replaces a broken pool."""

    tasks: list[Task]
    runner: Callable[..., dict]
    executor: Any
    workers: int | None
    max_tasks_per_worker: int | None
    attempts: dict[str, int] = field(default_factory=dict)

    def run(self, started: Callable[[int], None]) -> Iterator[tuple[Task, dict]]:
        own = self.executor is None
        pool = self._pool() if own else self.executor
        slots = (self.workers or default_workers()) if own else _slots(pool, self.workers)
        pending, alone = deque(self.tasks), deque[Task]()  # alone: suspects of a broken pool, run one at a time
        inflight: dict[cf.Future, tuple[Task, bool]] = {}
        broken = False
        try:
            while pending or alone or inflight:
                if broken and not inflight:  # every future of the broken pool has come back
                    pool.shutdown(wait=False, cancel_futures=True)
                    pool, broken = self._pool(), False
                queue, limit = (alone, 1) if alone else (pending, slots or len(pending) + len(inflight))
                while queue and len(inflight) < limit and not broken:
                    task = queue.popleft()
                    n = self.attempts.get(task.key, 0) + 1
                    try:
                        fut = pool.submit(self.runner, task, n)
                    except cf.process.BrokenProcessPool:  # a worker died before its future said so
                        queue.appendleft(task)
                        broken = True
                        break
                    self.attempts[task.key] = n
                    inflight[fut] = (task, queue is alone or slots == 1)
                started(len(inflight))
                done, _ = cf.wait(list(inflight), timeout=POLL_S, return_when=cf.FIRST_COMPLETED)
                for fut in done:
                    task, was_alone = inflight.pop(fut)
                    try:
                        result = fut.result()
                    except Exception as e:
                        if not _died(e):
                            result = {"status": "error", "reason": f"{type(e).__name__}: {e}"}
                        else:
                            broken |= isinstance(e, cf.process.BrokenProcessPool)
                            result = self._died(task, e, was_alone, alone, pending)
                            if result is None:
                                continue
                        result.setdefault("attempts", self.attempts[task.key])
                    yield task, result
                if broken and not own:  # someone else's pool: it cannot be replaced
                    for task in [*(t for t, _ in inflight.values()), *alone, *pending]:
                        yield (
                            task,
                            {
                                "status": "failed",
                                "reason": "the executor's process pool broke (a worker died)",
                                "attempts": self.attempts.get(task.key, 0),
                            },
                        )
                    return
        except BaseException:  # interrupted or closed early: do not wait for running solves
            if own:
                pool.shutdown(wait=False, cancel_futures=True)
            raise
        if own:
            pool.shutdown(wait=True)

    def _pool(self) -> cf.ProcessPoolExecutor:
        return local_pool(self.workers, max_tasks_per_worker=self.max_tasks_per_worker)

    def _died(self, task: Task, exc: BaseException, was_alone: bool, alone: deque, pending: deque) -> dict | None:
        """Try again (on its own when a pool broke under several tasks) or report it failed."""
        n = self.attempts[task.key]
        reason = (
            f"its worker died ({type(exc).__name__}: {exc})" if str(exc) else f"its worker died ({type(exc).__name__})"
        )
        if was_alone and n > RETRIES:
            return {"status": "failed", "reason": f"{reason}, {n} times", "attempts": n}
        log.warning("sweep: the worker running task %d died (%s); trying it again", task.number, type(exc).__name__)
        if isinstance(exc, cf.process.BrokenProcessPool):
            alone.append(task)  # the pool cannot say which task killed it: each suspect runs alone
        elif n > RETRIES:
            return {"status": "failed", "reason": f"{reason}, {n} times", "attempts": n}
        else:
            pending.appendleft(task)
        return None


# --------------------------------------------------------------------------- storing results


def _stored(out: Path, task: Task) -> dict | None:
    p = out / PLANS_FOLDER / task.folder / RESULT_FILE
    if not p.exists():
        return None
    try:
        row = json.loads(p.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return row if row.get("key") == task.key and row.get("status") in DONE else None


def _store(out: Path, task: Task, result: dict) -> dict:
    folder = out / PLANS_FOLDER / task.folder
    files = result.pop("files", None)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    if files:
        with zipfile.ZipFile(io.BytesIO(files)) as z:
            z.extractall(folder)
    row = {"number": task.number, **task.values, **{c: None for c in COLUMNS}, **result}
    row["key"] = task.key
    row["plan"] = f"{PLANS_FOLDER}/{task.folder}"
    record = {**row, "task": asdict(task)}
    (folder / RESULT_FILE).write_text(json.dumps(record, indent=2, default=str))
    return row


def _write_table(out: Path, rows: list[dict], tasks: list[Task]) -> pd.DataFrame:
    varied = list(dict.fromkeys(k for t in tasks for k in t.values))
    table = pd.DataFrame(sorted(rows, key=lambda r: r["number"]), columns=["number", *varied, *COLUMNS])
    table = table.astype({c: "Int64" for c in WHOLE_COLUMNS})  # counts stay whole beside tasks without a plan
    tmp = out / "sweep.csv.tmp"
    table.to_csv(tmp, index=False)
    tmp.replace(out / "sweep.csv")  # readers (a notebook) never see a half-written file
    return table


def tradeoff_chart(
    table: pd.DataFrame, path: str | Path, *, title: str = "Sweep", district_word: str = "district"
) -> Path:
    """Clusters against district crossings and against mean travel time; tasks without a plan listed.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"number": [1, 2], "status": ["solved", "infeasible"], "clusters": [10, None],
    ...                   "district_crossings": [3, None], "mean_minutes": [6.5, None]})
    >>> tradeoff_chart(t, "/tmp/tradeoff.png").name
    'tradeoff.png'
    """
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    path = Path(path)
    ok = table[table["status"] == "solved"]
    bad = table[table["status"] != "solved"]
    fig = Figure(figsize=(11, 5.2 + 0.18 * min(len(bad), 12)), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, col, what in (
        (axes[0], "district_crossings", f"clusters crossing {district_word} lines"),
        (axes[1], "mean_minutes", "mean travel time to the hub, minutes"),
    ):
        ax.scatter(
            ok["clusters"], ok[col], s=46, color="#2b6cb0", edgecolor="white", zorder=3, label=f"plan ({len(ok)})"
        )
        for (x, y), grp in ok.groupby(["clusters", col]):  # tasks on one point share one label
            ax.annotate(
                ", ".join(str(int(n)) for n in grp["number"]),
                (x, y),
                textcoords="offset points",
                xytext=(5, 4),
                fontsize=7,
                color="#333333",
            )
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if col == "district_crossings":
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("geographic clusters")
        ax.set_ylabel(what)
        ax.grid(alpha=0.3)
        if len(bad):
            ax.scatter([], [], marker="x", color="#c53030", label=f"no plan ({len(bad)}: listed below)")
        ax.legend(loc="best", fontsize=8)
    if len(bad):
        varied = [c for c in table.columns if c not in COLUMNS and c != "number"]
        lines = [
            f"x {int(r['number'])}: " + ", ".join(f"{c}={r[c]}" for c in varied) + f"  [{r['status']}]"
            for _, r in bad.head(12).iterrows()
        ]
        if len(bad) > 12:
            lines.append(f"... and {len(bad) - 12} more (sweep.csv)")
        fig.supxlabel("\n".join(lines), fontsize=8, color="#c53030", ha="left", x=0.02)
    fig.suptitle(f"{title}: numbers are task numbers in sweep.csv", fontsize=10)
    fig.savefig(path, dpi=110)
    return path


# --------------------------------------------------------------------------- the sweep


class _Bar:
    """One tqdm bar over the tasks (terminal or Jupyter), with done, running and failed counts."""

    def __init__(self, total: int, done: int, show: bool, title: str):
        from tqdm.auto import tqdm

        self.counts = {"done": done, "running": 0, "failed": 0}
        self.bar = tqdm(total=total, initial=done, desc=title, unit="task", disable=not show, dynamic_ncols=True)
        self._show()

    def _show(self) -> None:
        self.bar.set_postfix_str(", ".join(f"{k} {v}" for k, v in self.counts.items()), refresh=True)

    def running(self, n: int) -> None:
        if n != self.counts["running"]:
            self.counts["running"] = n
            self._show()

    def finished(self, status: str) -> None:
        self.counts["done" if status in DONE else "failed"] += 1
        self.counts["running"] = max(0, self.counts["running"] - 1)
        self.bar.update(1)
        self._show()

    def close(self) -> None:
        self.bar.close()


def iter_sweep(
    scenario: str | Path | list,
    grid: Mapping[Any, Iterable] | None = None,
    *,
    out: str | Path,
    executor: Any = None,
    workers: int | None = None,
    rules: Mapping[str, Any] | None = None,
    solver: Mapping[str, Any] | None = None,
    maps: bool = True,
    progress: bool = True,
    runner: Callable[..., dict] | None = None,
    max_tasks_per_worker: int | None = MAX_TASKS_PER_WORKER,
    title: str = "sweep",
) -> Iterator[dict]:
    """Run a sweep, yielding each task's row as it finishes (stored answers first).

    The stream a notebook reads while the sweep runs; ``sweep.csv`` is rewritten after every
    task and ``tradeoff.png`` at the end. Parameters as :func:`sweep`.

    Examples
    --------
    >>> for row in iter_sweep("north-lanarkshire", {"min_schools,max_schools": [[8, 13]]},
    ...                       out="/tmp/nl-sweep", progress=False, maps=False):
    ...     print(row["status"], row["clusters"])
    solved 10
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tasks = plan_tasks(scenario, grid, rules=rules, solver=solver, maps=maps)
    rows: dict[str, dict] = {}
    todo = []
    for task in tasks:
        kept = _stored(out, task)
        if kept is None:
            todo.append(task)
        else:
            kept.pop("task", None)
            rows[task.key] = {**kept, "number": task.number, "kept": True}
    _write_table(out, list(rows.values()), tasks)
    yield from rows.values()
    executor = executor.get_executor() if hasattr(executor, "get_executor") else executor
    bar = _Bar(len(tasks), len(rows), progress, title)
    run = _Runner(todo, runner or run_task, executor, workers, max_tasks_per_worker)
    try:
        with _one_thread_per_worker():
            for task, result in run.run(bar.running):
                row = _store(out, task, result)
                rows[task.key] = row
                _write_table(out, list(rows.values()), tasks)
                bar.finished(row["status"])
                if row["status"] not in DONE:
                    log.warning("sweep: task %d (%s) %s: %s", task.number, task.label, row["status"], row["reason"])
                yield row
    finally:
        bar.close()
    words = {read_scenario(t.scenario).district_word for t in tasks}
    word = words.pop() if len(words) == 1 else "district"
    tradeoff_chart(_write_table(out, list(rows.values()), tasks), out / "tradeoff.png", title=title, district_word=word)


def sweep(
    scenario: str | Path | list,
    grid: Mapping[Any, Iterable] | None = None,
    *,
    out: str | Path,
    executor: Any = None,
    workers: int | None = None,
    rules: Mapping[str, Any] | None = None,
    solver: Mapping[str, Any] | None = None,
    maps: bool = True,
    progress: bool = True,
    on_result: Callable[[dict], Any] | None = None,
    runner: Callable[..., dict] | None = None,
    max_tasks_per_worker: int | None = MAX_TASKS_PER_WORKER,
) -> SweepResult:
    """Solve every combination of ``grid`` as independent tasks, in parallel, resumably.

    In a script, call it under ``if __name__ == "__main__":``: the default pool starts its
    workers by spawning, and each worker imports the script again (a notebook needs nothing).

    Parameters
    ----------
    scenario : path, shipped scenario name, or list of them
        The base scenario(s): every combination is solved for each.
    grid : dict
        Rule names, solver settings, ``variant`` or ``scenario``, each with a list of values
        (see :func:`plan_tasks`). ``"min_schools,max_schools": [[7, 9], [8, 10]]`` varies two
        rules together.
    out : path
        Output folder: ``sweep.csv``, ``plans/<task>/`` and ``tradeoff.png``. Running the same
        sweep into the same folder again keeps the stored answers and solves only the rest.
    executor : concurrent.futures.Executor or distributed.Client, optional
        Where the tasks run. By default a local spawn process pool with ``workers`` processes
        (see :func:`local_pool`). A Dask ``Client`` (or ``client.get_executor()``) runs them on
        its cluster; the scenario's data must be readable at the same path on every worker
        (shipped scenarios always are); plan files come back to ``out`` over the wire.
    workers : int, optional
        Worker processes of the local pool (default: the cores), or tasks kept in flight on
        ``executor`` (default: its workers).
    rules, solver : dict, optional
        Fixed rule changes and solver settings for every task. Each task uses one solver
        thread unless ``solver={"threads": n}`` says otherwise.
    maps : bool
        Write each plan's map images (``map.png``, ``sizes.png``, ``map.html``) as ``solve``
        does; False is faster.
    progress : bool
        One progress bar over the tasks (done, running, failed), in a terminal or a notebook.
    on_result : callable, optional
        Called with each task's row as it finishes (stored answers first).
    runner : callable, optional
        The function a worker calls with ``(task, attempt)``; by default :func:`run_task`.
    max_tasks_per_worker : int or None
        Tasks each local worker runs before a fresh process replaces it (None: never).

    Returns
    -------
    SweepResult

    Raises
    ------
    RulesError
        A grid key or value that does not make sense, named, before anything is solved.

    Examples
    --------
    >>> res = sweep("north-lanarkshire", {"min_schools,max_schools": [[7, 9], [8, 13]]},
    ...             out="/tmp/nl-sweep", workers=2, maps=False, progress=False)
    >>> res.table["status"].tolist()
    ['infeasible', 'solved']
    """
    name = Path(str(scenario[0] if isinstance(scenario, (list, tuple)) else scenario)).stem
    rows = []
    for row in iter_sweep(
        scenario,
        grid,
        out=out,
        executor=executor,
        workers=workers,
        rules=rules,
        solver=solver,
        maps=maps,
        progress=progress,
        runner=runner,
        max_tasks_per_worker=max_tasks_per_worker,
        title=f"sweep {name}",
    ):
        rows.append(row)
        if on_result is not None:
            on_result(row)
    table = pd.read_csv(Path(out) / "sweep.csv", dtype={c: "Int64" for c in WHOLE_COLUMNS})
    skipped = sum(1 for r in rows if r.get("kept"))
    return SweepResult(table=table, folder=Path(out), ran=len(rows) - skipped, skipped=skipped)


# --------------------------------------------------------------------------- sweep files


def read_sweep(path: str | Path) -> SweepSpec:
    """Read and check a sweep file (a path, or the name of a shipped sweep).

    A sweep file names a base scenario and the grid::

        name = "North Lanarkshire: schools per cluster"
        scenario = "north-lanarkshire"      # a shipped name, or a path relative to this file
        [rules]                             # optional: fixed changes for every task
        clusters = [8, 16]
        [solver]                            # optional: time_limit, gap, threads, seed, name
        time_limit = 60
        [grid]
        "min_schools,max_schools" = [[7, 9], [8, 10], [9, 11]]

    Raises
    ------
    RulesError
        Naming the key that does not make sense.

    Examples
    --------
    >>> spec = read_sweep("north-lanarkshire-schools")
    >>> spec.scenarios
    ['north-lanarkshire']
    """
    p = Path(path)
    if not p.exists():
        ships = shipped_sweeps()
        if str(path) not in ships:
            raise RulesError(f"sweep file not found: {path}; shipped sweeps: {sorted(ships)}")
        p = ships[str(path)]
    try:
        data = tomllib.loads(p.read_text())
    except tomllib.TOMLDecodeError as e:
        raise RulesError(f"{p}: not valid TOML ({e}); fix the line it names") from e
    bad = sorted(set(data) - SWEEP_FILE_KEYS)
    if bad:
        raise RulesError(f"{p}: unknown key '{bad[0]}'; allowed: {', '.join(sorted(SWEEP_FILE_KEYS))}")
    if "scenario" not in data:
        raise RulesError(f"{p}: key 'scenario' is missing: name the base scenario (a file or a shipped name)")
    refs = data["scenario"] if isinstance(data["scenario"], list) else [data["scenario"]]
    if not refs or not all(isinstance(r, str) for r in refs):
        raise RulesError(f"{p}: key 'scenario' must be a scenario file or name, or a list of them")
    refs = [_relative(p, r) for r in refs]
    for k in ("rules", "solver", "grid"):
        if not isinstance(data.get(k, {}), dict):
            raise RulesError(f"{p}: key '{k}' must be a table ([{k}])")
    if not data.get("grid"):
        raise RulesError(f"{p}: [grid] is missing or empty: give at least one rule with a list of values")
    if "maps" in data and not isinstance(data["maps"], bool):
        raise RulesError(f"{p}: key 'maps' must be true or false")
    try:
        Rules.from_dict(data.get("rules", {}))
    except (RulesError, TypeError) as e:
        raise RulesError(f"{p} [rules]: {e}") from e
    _check_solver(data.get("solver", {}), f"{p} [solver]")
    _grid_axes(data["grid"], f"{p} [grid]")
    if "scenario" in data["grid"]:
        data["grid"]["scenario"] = [_relative(p, r) for r in data["grid"]["scenario"]]
    return SweepSpec(
        name=data.get("name", p.stem),
        scenarios=refs,
        grid=data["grid"],
        rules=data.get("rules", {}),
        solver=data.get("solver", {}),
        description=data.get("description", ""),
        maps=data.get("maps", True),
    )


def _relative(sweep_file: Path, ref: Any) -> Any:
    """A scenario path relative to the sweep file; a shipped name as it is."""
    return (
        str((sweep_file.parent / ref).resolve()) if isinstance(ref, str) and (sweep_file.parent / ref).exists() else ref
    )


def shipped_sweeps() -> dict[str, Path]:
    """The sweep files shipped with clustergeo, by name."""
    from importlib import resources

    folder = resources.files("clustergeo") / "sweeps"
    return {Path(str(p)).stem: Path(str(p)) for p in folder.iterdir() if str(p).endswith(".toml")}
