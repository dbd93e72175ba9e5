"""Scenario sweeps on the real North Lanarkshire case: local pool, Dask LocalCluster, resuming, dead workers."""

import io
import json
import os
import signal
import zipfile

import pandas as pd
import pytest

from clustergeo.cli import main
from clustergeo.errors import RulesError
from clustergeo.sweep import plan_tasks, read_sweep, run_task, shipped_sweeps, sweep

# four small tasks: current clusters merged whole solve in well under a second each
GRID = {"min_schools": [7, 8], "max_schools": [12, 13]}
RULES = {"clusters": [8, 16]}
FIGURES = ["status", "clusters", "district_crossings", "mean_minutes", "objective", "pupils_min", "pupils_max"]


def kill_first_attempt(task, attempt=1):
    """Task 2's worker dies under it on the first attempt (SIGKILL: as the kernel's OOM killer does)."""
    if task.number == 2 and attempt == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    return run_task(task, attempt)


def kill_twice_and_always(task, attempt=1):
    """Task 2's worker dies under it on the first attempt, task 3's every time."""
    if task.number == 3 or (task.number == 2 and attempt == 1):
        os.kill(os.getpid(), signal.SIGKILL)
    return run_task(task, attempt)


def must_not_run(task, attempt=1):
    raise AssertionError(f"task {task.number} was solved again")


@pytest.fixture(scope="module")
def alone():
    """Each task solved on its own, in this process."""
    tasks = plan_tasks("north-lanarkshire", GRID, rules=RULES, maps=False)
    return {t.number: run_task(t) for t in tasks}


def _same_as_alone(res, alone):
    assert len(res.table) == 4
    for _, row in res.table.iterrows():
        ref = alone[row["number"]]
        assert row["status"] == ref["status"]
        if ref["status"] == "solved":
            for c in FIGURES[1:]:
                assert row[c] == pytest.approx(ref[c]), c
    solved = res.table[res.table["status"] == "solved"]
    assert len(solved) >= 3


@pytest.fixture(scope="module")
def pool_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("pool")
    return out, sweep("north-lanarkshire", GRID, rules=RULES, out=out, workers=2, maps=False, progress=False)


def test_local_pool_matches_each_task_alone(pool_run, alone):
    out, res = pool_run
    _same_as_alone(res, alone)
    assert (out / "sweep.csv").exists() and (out / "tradeoff.png").stat().st_size > 10_000
    for _, row in res.table.iterrows():
        folder = out / row["plan"]
        assert (folder / "result.json").exists()
        if row["status"] == "solved":
            assert {"plan.gpkg", "assignment.csv", "clusters.csv", "plan.json", "summary.txt"} <= {
                p.name for p in folder.iterdir()
            }
            # every school once, in the same cluster as the solve on its own
            a = pd.read_csv(folder / "assignment.csv")
            assert a["school_id"].is_unique
            ref = zipfile.ZipFile(io.BytesIO(alone[row["number"]]["files"])).read("assignment.csv")
            assert (folder / "assignment.csv").read_bytes() == ref
        else:
            assert "No plan can meet the rules" in (folder / "infeasible.txt").read_text()
    assert res.table["worker"].nunique() >= 1 and res.table["peak_memory_mb"].gt(50).all()


def test_rerun_solves_nothing_again(pool_run):
    out, first = pool_run
    stamps = {p: p.stat().st_mtime_ns for p in out.glob("plans/*/result.json")}
    again = sweep(
        "north-lanarkshire", GRID, rules=RULES, out=out, workers=2, maps=False, progress=False, runner=must_not_run
    )
    assert again.ran == 0 and again.skipped == 4
    assert {p: p.stat().st_mtime_ns for p in out.glob("plans/*/result.json")} == stamps
    pd.testing.assert_frame_equal(again.table, first.table)
    # a changed rule is a new task: only it is solved
    streamed = []
    more = sweep(
        "north-lanarkshire",
        {"min_schools": [7, 8], "max_schools": [12, 13, 14]},
        rules=RULES,
        out=out,
        workers=1,
        maps=False,
        progress=False,
        on_result=streamed.append,
    )
    assert more.ran == 2 and more.skipped == 4 and len(streamed) == 6


def test_pool_worker_killed_mid_task_is_retried(tmp_path, alone):
    # task 2's worker dies once (tried again, solved); task 3's every time (failed); 1 and 4 go on
    res = sweep(
        "north-lanarkshire",
        GRID,
        rules=RULES,
        out=tmp_path,
        workers=2,
        maps=False,
        progress=False,
        runner=kill_twice_and_always,
    )
    t = res.table.set_index("number")
    assert t.loc[2, "attempts"] == 2 and t.loc[2, "status"] == alone[2]["status"]
    assert t.loc[3, "status"] == "failed" and t.loc[3, "attempts"] == 2
    assert "worker died" in t.loc[3, "reason"]
    for n in (1, 2, 4):
        assert t.loc[n, "status"] == alone[n]["status"]
        if alone[n]["status"] == "solved":
            assert t.loc[n, "mean_minutes"] == pytest.approx(alone[n]["mean_minutes"])
    # a failed task is not an answer: the next run tries it again, and only it
    again = sweep("north-lanarkshire", GRID, rules=RULES, out=tmp_path, workers=1, maps=False, progress=False)
    assert again.ran == 1 and again.table.set_index("number").loc[3, "status"] == alone[3]["status"]


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    import dask

    # no retries by the scheduler itself: a worker's death reaches the sweep as KilledWorker at once
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = distributed.LocalCluster(
            n_workers=2,
            processes=True,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address=None,
            memory_limit="4GiB",
        )
        client = distributed.Client(cluster)
        yield client
        client.close()
        cluster.close()


def test_dask_local_cluster_matches_each_task_alone(dask_client, tmp_path, alone):
    res = sweep(
        "north-lanarkshire",
        GRID,
        rules=RULES,
        out=tmp_path,
        executor=dask_client.get_executor(),
        maps=False,
        progress=False,
    )
    _same_as_alone(res, alone)
    assert res.table["worker"].nunique() == 2  # both Dask workers took tasks
    # a killed Dask worker: the scheduler reports KilledWorker, the sweep tries the task again
    res = sweep(
        "north-lanarkshire",
        GRID,
        rules=RULES,
        out=tmp_path / "killed",
        executor=dask_client,
        maps=False,
        progress=False,
        runner=kill_first_attempt,
    )
    t = res.table.set_index("number")
    assert t.loc[2, "attempts"] == 2 and t.loc[2, "status"] == alone[2]["status"]
    _same_as_alone(res, alone)


def test_sweep_files_are_checked_strictly(tmp_path):
    assert {"norfolk-option-4-sizes", "north-lanarkshire-schools"} <= set(shipped_sweeps())
    nf = plan_tasks(*[read_sweep("norfolk-option-4-sizes").scenarios[0]], read_sweep("norfolk-option-4-sizes").grid)
    assert len(nf) == 18 and {t.values["districts"] for t in nf} == {"within", "penalty"}
    assert len(plan_tasks("north-lanarkshire", read_sweep("north-lanarkshire-schools").grid)) == 9
    cases = {
        'scenario = "north-lanarkshire"\n[grid]\nmin_skools = [7, 8]\n': "min_skools",
        'scenario = "north-lanarkshire"\ncolour = 1\n[grid]\nmin_schools = [7]\n': "colour",
        'scenario = "north-lanarkshire"\n[grid]\nmin_schools = 7\n': "min_schools",
        ('scenario = "north-lanarkshire"\n[grid]\n"min_schools,max_schools" = [[7, 9], [8]]\n'): (
            "min_schools,max_schools"
        ),
        'scenario = "north-lanarkshire"\n[solver]\ntime_limit = -1\n[grid]\nmin_schools = [7]\n': "time_limit",
        "[grid]\nmin_schools = [7]\n": "scenario",
        'scenario = "north-lanarkshire"\n': "grid",
    }
    for i, (text, key) in enumerate(cases.items()):
        p = tmp_path / f"bad{i}.toml"
        p.write_text(text)
        with pytest.raises(RulesError, match=key):
            read_sweep(p)
    with pytest.raises(RulesError, match="min_schools"):  # a combination that breaks a rule, before any solve
        plan_tasks("north-lanarkshire", {"min_schools": [7, 20]}, rules={"max_schools": 13})


def test_cli_sweep(tmp_path, capsys):
    p = tmp_path / "nl.toml"
    p.write_text(
        'scenario = "north-lanarkshire"\n[rules]\nclusters = [8, 16]\n[grid]\n'
        '"min_schools,max_schools" = [[8, 13], [8, 12]]\n'
    )
    assert main(["sweep", str(p), "--out", str(tmp_path / "out"), "--workers", "1", "--no-maps"]) == 0
    text = capsys.readouterr().out
    assert "2 tasks (2 solved now, 0 kept from before)" in text and "infeasible" in text
    table = pd.read_csv(tmp_path / "out" / "sweep.csv")
    assert list(table["status"]) == ["solved", "infeasible"]
    record = json.loads((tmp_path / "out" / table.loc[0, "plan"] / "result.json").read_text())
    assert record["task"]["rules"] == {"clusters": [8, 16], "min_schools": 8, "max_schools": 13}
    assert main(["sweep", str(tmp_path / "missing.toml"), "--out", str(tmp_path / "x")]) == 2
