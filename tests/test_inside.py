"""Inside the clusters on the real case: `clustergeo solve north-lanarkshire` forms the SECI groups
and the allocations, writes them, and the checker verifies them; `groups` and `allocate` on a saved plan."""

import shutil

import pandas as pd
import pyogrio
import pytest

from clustergeo.cli import main
from clustergeo.errors import RulesError
from clustergeo.read import check_saved, read_plan
from clustergeo.scenario import read_scenario


def test_solve_writes_peer_groups_and_allocations(nl_out):
    plan = read_plan(nl_out)
    groups = pd.read_csv(nl_out / "peer_groups.csv", dtype={"school": str}, keep_default_na=False)
    grouped = plan.schools[(plan.schools.phase == "primary") & plan.schools.cluster.isin(set(groups.cluster))]
    assert sorted(groups.school) == sorted(grouped.school_id)  # every primary exactly once
    ok = groups.group_size.isin([3, 4]) | groups.exception.isin(["shared", "other-size"])
    assert ok.all()
    assert set(plan.schools.loc[plan.schools.phase == "primary", "cluster"]) <= set(groups.cluster)
    alloc = pd.read_csv(nl_out / "allocations.csv")
    clusters = plan.clusters["cluster"]
    for name in ("CIIL", "S/EFM"):
        rows = alloc[alloc.allocation == name]
        assert sorted(rows.cluster) == sorted(clusters) and (rows.amount == 1).all()
    sfl = alloc[alloc.allocation == "support for learning teachers"]
    assert sfl.amount.sum() == 46 and (sfl.amount >= 1).all() and (sfl.amount % 1 == 0).all()
    assert len(sfl) == (plan.clusters.kind != "apart").sum()
    layers = {name for name, _ in pyogrio.list_layers(nl_out / "plan.gpkg")}
    assert {"peer_groups", "allocations"} <= layers
    summary = (nl_out / "summary.txt").read_text()
    assert "peer groups of primary schools" in summary and "is an example" in summary
    assert all(c in summary for c in set(groups.cluster))
    assert check_saved(nl_out) == []


def test_checker_catches_tampered_groups_and_allocations(nl_out, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(nl_out, bad)
    g = pd.read_csv(bad / "peer_groups.csv", dtype={"school": str}, keep_default_na=False)
    pd.concat([g, g.iloc[[0]]]).to_csv(bad / "peer_groups.csv", index=False)
    a = pd.read_csv(bad / "allocations.csv")
    a.loc[a.index[a.allocation == "support for learning teachers"][0], "amount"] += 1
    a.to_csv(bad / "allocations.csv", index=False)
    problems = check_saved(bad)
    assert any("more than one peer group" in p for p in problems)
    assert any("not the total 46" in p for p in problems)
    assert main(["check", str(bad)]) == 1


def test_groups_and_allocate_commands_on_a_saved_plan(nl_out, tmp_path, capsys):
    """Both commands keep the folder one run's complete files (maps and report rebuilt), checked."""
    plan_dir, out = tmp_path / "plan", tmp_path / "again"
    shutil.copytree(nl_out, plan_dir)
    held = sorted(p.name for p in plan_dir.iterdir())
    assert {"map.png", "map.html", "sizes.png", "report.html", "report.pdf"} <= set(held)
    assert main(["groups", str(plan_dir), "--cost", "hub", "--unsplittable", "other-size"]) == 0
    text = capsys.readouterr().out
    assert "the maps and report rebuilt" in text and "report.pdf" in text
    assert sorted(p.name for p in plan_dir.iterdir()) == held
    assert main(["check", str(plan_dir)]) == 0
    argv = ["allocate", str(plan_dir), "--name", "cluster support teachers", "--total", "30"]
    argv += ["--by", "pupils=0.5,fsm_p6_s6_pupils=0.5", "--method", "hamilton", "--minimum", "1", "--out", str(out)]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "Hamilton" in text and "50% by P6-S6 pupils registered for free school meals" in text
    assert sorted(p.name for p in out.iterdir()) == held
    assert main(["check", str(out)]) == 0
    plan = read_plan(out)
    assert plan.groups is not None and plan.run["peer_groups"]["cost"] == "hub"
    cst = plan.allocations[plan.allocations.allocation == "cluster support teachers"]
    assert cst.amount.sum() == 30
    assert "cluster support teachers" in (out / "report.html").read_text()
    assert check_saved(out) == []
    assert main(["allocate", str(out), "--total", "5", "--by", "nonsense=1"]) == 2


def test_norfolk_scenario_funds_administration_per_pupil_of_school_age():
    sc = read_scenario("norfolk-option-4")
    (admin,) = sc.allocations
    assert admin["unit"] == "pounds" and admin["rates"] == {"pupils_school_age": 2}


def test_bad_sections_name_the_key(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text('dataset = "norfolk"\n[peer_groups]\nsizes = [3, 4]\nunsplitable = "share"\n')
    with pytest.raises(RulesError, match="unknown key 'unsplitable'"):
        read_scenario(p)
    p.write_text('dataset = "norfolk"\n[[allocations]]\nname = "x"\ntotal = "46"\n')
    with pytest.raises(RulesError, match="key 'total' must be a number"):
        read_scenario(p)
    p.write_text('dataset = "norfolk"\n[[allocations]]\nname = "x"\ntotal = 4\nkinds = ["urban"]\n')
    with pytest.raises(RulesError, match="key 'kinds'"):
        read_scenario(p)


def test_saving_a_plan_over_a_folder_leaves_no_stale_groups_or_allocations(nl_out, nl_proposal, tmp_path):
    out = tmp_path / "nl"
    shutil.copytree(nl_out, out)
    assert (out / "allocations.csv").exists() and (out / "peer_groups.csv").exists()
    nl_proposal[3].save(out)  # a plan without peer groups or allocations
    assert not (out / "allocations.csv").exists() and not (out / "peer_groups.csv").exists()
    assert check_saved(out) == []


def test_norfolk_money_follows_the_cluster_sizes(norfolk_out):
    alloc = pd.read_csv(norfolk_out / "allocations.csv")
    sizes = pd.read_csv(norfolk_out / "clusters.csv").set_index("cluster")["pupils"]
    admin = alloc[alloc["allocation"] == "cluster administration"].set_index("cluster")
    assert len(admin) == len(sizes) and (admin["amount"] == 2 * sizes.loc[admin.index]).all()
