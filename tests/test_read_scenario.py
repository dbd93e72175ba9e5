"""A plan read from a file under a scenario gets all the scenario's rules: its size measure and
the units it keeps whole, in the check and in the repair."""

import json
import shutil

import pandas as pd
import pytest

import clustergeo as cg
from clustergeo import edit
from clustergeo.cli import main
from clustergeo.read import check_saved

NF = "norfolk-option-4"
NL = "north-lanarkshire"
ASHILL, ATTLEBOROUGH, DEREHAM = "121026", "Attleborough Academy cluster", "Dereham Neatherd High School cluster"
LOGANS, DALZIEL, BRAIDHURST = "8512922", "Dalziel High School cluster", "Braidhurst High School"


def _moved(folder, tmp_path, school, to):
    """The folder's assignment.csv with ``school`` moved to ``to``, and the cluster it left."""
    a = pd.read_csv(folder / "assignment.csv", dtype=str, keep_default_na=False)
    was = a.loc[a["school_id"] == school, "cluster"].item()
    a.loc[a["school_id"] == school, "cluster"] = to
    path = tmp_path / "edited.csv"
    a.to_csv(path, index=False)
    return path, was


def test_saved_plan_read_under_its_scenario_counts_its_size_measure(norfolk_out, capsys):
    assert main(["check", str(norfolk_out / "assignment.csv"), "--scenario", NF]) == 0
    assert "meets the rules" in capsys.readouterr().out
    sc = cg.read_scenario(NF)
    schools, boundary, _layers = sc.load()
    plan = cg.read_assignment(norfolk_out / "assignment.csv", schools, rules=sc.rules, boundary=boundary)
    assert plan.violations() == []
    assert plan.run["size_measure"] == "pupils_school_age"
    saved = cg.read_plan(norfolk_out)
    assert dict(zip(plan.clusters["cluster"], plan.clusters["pupils"])) == dict(
        zip(saved.clusters["cluster"], saved.clusters["pupils"])
    )
    assert plan.metrics["pupils_headcount"] == saved.metrics["pupils_headcount"]


def test_one_school_moved_in_a_csv_is_repaired_around_the_move(norfolk_out, tmp_path, capsys):
    path, was = _moved(norfolk_out, tmp_path, ASHILL, DEREHAM)
    assert was == ATTLEBOROUGH
    assert main(["check", str(path), "--scenario", NF]) == 1
    problems = capsys.readouterr().out
    assert "current cluster 'Wayland Academy' is split" in problems and f"({ASHILL}) moved to {DEREHAM!r}" in problems
    out = tmp_path / "repaired"
    assert main(["solve", NF, "--start", str(path), "--out", str(out)]) == 0
    run = json.loads((out / "plan.json").read_text())["run"]
    assert run["size_measure"] == "pupils_school_age"
    rep = run["repair"]
    n_clusters = len(cg.read_plan(norfolk_out).clusters)
    assert {ATTLEBOROUGH, DEREHAM} <= set(rep["free_clusters"]) and len(rep["free_clusters"]) < n_clusters // 2
    assert rep["change"] <= 0  # the move is repaired at no cost: the lead plan's objective or better
    assert check_saved(out) == []


def test_csv_check_names_the_school_that_split_a_current_cluster(nl_out, tmp_path, capsys):
    path, _was = _moved(nl_out, tmp_path, LOGANS, DALZIEL)
    assert main(["check", str(path), "--scenario", NL]) == 1
    problems = capsys.readouterr().out
    assert f"current cluster {BRAIDHURST!r} is split across clusters" in problems
    assert f"Logans Primary School ({LOGANS}) moved to {DALZIEL!r}" in problems


def test_repair_sends_an_unlocked_school_back_and_blames_a_locked_split(nl_out, tmp_path):
    path, was = _moved(nl_out, tmp_path, LOGANS, DALZIEL)
    sc = cg.read_scenario(NL)
    schools, boundary, _layers = sc.load()
    plan = cg.read_assignment(path, schools, rules=sc.rules, boundary=boundary)
    # no plan keeps Logans apart from its current cluster: unlocked, it goes back
    repaired = edit.repropose(plan, free=[was, DALZIEL], time_limit=None)
    rep = repaired.run["repair"]
    assert rep["rejoined"] == [LOGANS] and repaired.violations() == [] and not repaired.check()
    assert repaired.schools.set_index("school_id").loc[LOGANS, "cluster"] == was
    assert any(m["school_id"] == LOGANS for m in rep["moves"]) and rep["schools_moved"] >= 1
    # the default part (no free clusters named): the clusters it left and went back to
    around = edit.repropose(plan, rings=0, widen=False, time_limit=None)
    assert around.run["repair"]["rejoined"] == [LOGANS] and around.violations() == []
    assert set(around.run["repair"]["free_clusters"]) <= {was, DALZIEL}
    # locked where the planner put it, the repair says why it cannot
    with pytest.raises(cg.InfeasibleError) as e:
        edit.repropose(plan.lock(schools=[LOGANS]), free=[was, DALZIEL], time_limit=None)
    hint = e.value.reasons[-1]
    assert "likely cause is the edit" in hint and f"Logans Primary School ({LOGANS})" in hint
    assert f"move the whole current cluster {BRAIDHURST!r}" in hint and "lock fewer" in hint


def test_split_survives_save_and_shows_in_the_folder_check(nl_out, tmp_path):
    folder = tmp_path / "nl"
    shutil.copytree(nl_out, folder)
    path, _was = _moved(nl_out, tmp_path, LOGANS, DALZIEL)
    shutil.copy(path, folder / "assignment.csv")
    assert any(f"current cluster {BRAIDHURST!r} is split" in p for p in check_saved(folder))


def test_a_misspelt_cluster_in_a_csv_is_named_as_a_likely_typo(norfolk_out, tmp_path, capsys):
    path, _was = _moved(norfolk_out, tmp_path, ASHILL, "Attleborugh Academy cluster")
    assert main(["check", str(path), "--scenario", NF]) == 1
    out = capsys.readouterr().out
    assert "'Attleborugh Academy cluster' (1 school) is nearly the name of 'Attleborough Academy cluster'" in out


def test_a_school_split_off_into_a_locked_cluster_is_not_sent_back(nl_out, tmp_path):
    path, was = _moved(nl_out, tmp_path, LOGANS, DALZIEL)
    sc = cg.read_scenario(NL)
    schools, boundary, _layers = sc.load()
    plan = cg.read_assignment(path, schools, rules=sc.rules, boundary=boundary)
    with pytest.raises(cg.InfeasibleError, match="likely cause is the edit"):
        edit.repropose(plan, locked=[DALZIEL], free=[was], time_limit=None)


def test_numbered_names_are_not_typos_of_each_other(nl_out):
    plan = cg.read_plan(nl_out)
    placed = plan.schools["status"] == "placed"
    first = plan.schools.index[placed][0]
    plan.schools.loc[placed, "cluster"] = "Cluster 12"
    plan.schools.loc[first, "cluster"] = "Cluster 1"
    assert edit.name_hints(plan) == []
    plan.schools.loc[first, "cluster"] = "Cluster 21"  # no typo of "Cluster 12" either
    assert edit.name_hints(plan) == []
