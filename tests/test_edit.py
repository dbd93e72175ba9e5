"""Editing a plan: read any plan, move and lock, list what breaks, repair around the edits."""

import itertools
import os
import shutil
import time

import networkx as nx
import pandas as pd
import pytest

import clustergeo as cg
from clustergeo import edit


@pytest.fixture(scope="module")
def nl(nl_proposal):
    schools, boundary, _layers, plan = nl_proposal
    return schools, boundary, plan


def _geo_clusters(plan):
    t = plan.table()
    return list(t.loc[t["kind"] == "geographic", "cluster"])


def _neighbour_pair(plan):
    """A school on the edge of one geographic cluster and the cluster next to it."""
    s = plan.schools
    geo = edit.geography_of(plan)
    where = dict(zip(s["school_id"].astype(str), s["cluster"]))
    geographic = set(_geo_clusters(plan))
    for a, b in sorted(geo.graph.edges):
        if where[a] in geographic and where[b] in geographic and where[a] != where[b]:
            return a, where[b]
    raise AssertionError("no two neighbouring clusters")


def test_read_assignment_names_bad_rows(nl):
    schools, boundary, plan = nl
    table = plan.assignment[["school_id", "cluster"]].copy()
    bad = pd.concat([table.iloc[1:], table.iloc[[2]], pd.DataFrame({"school_id": ["9999999"], "cluster": ["X"]})])
    with pytest.raises(cg.DataError) as e:
        cg.read_assignment(bad, schools, rules=plan.rules, boundary=boundary)
    named = {p.school for p in e.value.problems}
    assert {str(table["school_id"].iloc[0]), str(table["school_id"].iloc[2]), "9999999"} <= named
    assert all(p.fix for p in e.value.problems)


def test_read_assignment_round_trip_and_current_clusters(nl, tmp_path):
    schools, boundary, plan = nl
    plan.assignment.to_csv(tmp_path / "a.csv", index=False)
    again = cg.read_assignment(tmp_path / "a.csv", schools, rules=plan.rules, boundary=boundary)
    assert dict(zip(again.schools["school_id"], again.schools["cluster"])) == dict(
        zip(plan.schools["school_id"], plan.schools["cluster"])
    )
    assert again.violations() == []
    assert edit.objective(again) == pytest.approx(plan.run["objective"], rel=1e-9)
    # the council's current clusters, judged by the new rules: too many, some too small
    current = schools[["school_id", "cluster"]]
    now = cg.read_assignment(current, schools, rules=plan.rules.replace(pinned=[], apart={}), boundary=boundary)
    problems = now.violations()
    assert any("geographic clusters, not 10" in p for p in problems)
    assert any("below the minimum 8" in p for p in problems)


def test_move_violations_undo(nl):
    _schools, _boundary, plan = nl
    sid, to = _neighbour_pair(plan)
    was = plan.schools.set_index("school_id").loc[sid, "cluster"]
    moved = plan.move(sid, to=to)
    assert moved.schools.set_index("school_id").loc[sid, "cluster"] == to
    assert plan.schools.set_index("school_id").loc[sid, "cluster"] == was  # the old plan is untouched
    assert moved.run["edit"]["locked_schools"] == {sid: to}
    assert len(moved.schools) == len(plan.schools)
    assert moved.undo() is plan
    assert moved.lock(clusters=[was]).undo() is moved
    with pytest.raises(cg.RulesError, match="did you mean"):
        plan.move(sid, to=to[:-3])
    with pytest.raises(cg.DataError):
        plan.move("no such school", to=to)


def test_violations_in_planner_language(nl):
    _schools, _boundary, plan = nl
    sid, to = _neighbour_pair(plan)
    moved = plan.move(sid, to=to)
    # moving every school of a small cluster but one leaves it below the minimum
    src = moved.schools.set_index("school_id").loc[sid, "cluster"]
    problems = moved.violations(plan.rules.replace(max_schools=9))
    assert any("above the maximum 9" in p for p in problems)
    far = [c for c in _geo_clusters(plan) if c not in (src,)]
    jumped = plan.move(sid, to=far[-1], lock=True)
    assert any("pieces" in p or "above the maximum" in p or "below the minimum" in p for p in jumped.violations())


def test_repair_keeps_locks_and_passes_the_checker(nl):
    _schools, _boundary, plan = nl
    sid, to = _neighbour_pair(plan)
    keep = [c for c in _geo_clusters(plan) if c != to][-1]
    edited = plan.move(sid, to=to).lock(clusters=[keep])
    repaired = edit.repropose(edited)
    assert repaired.violations() == []
    assert repaired.check() == []
    assert cg.check_partition  # the checker the plan was built against
    s = repaired.schools.set_index("school_id")
    assert s.loc[sid, "cluster"] == to
    before = sorted(plan.schools.loc[plan.schools["cluster"] == keep, "school_id"])
    assert sorted(repaired.schools.loc[repaired.schools["cluster"] == keep, "school_id"]) == before
    rep = repaired.run["repair"]
    assert keep not in rep["free_clusters"] and rep["status"] == "optimal"
    assert rep["objective_after"] == pytest.approx(rep["objective_before"] + rep["change"])
    # pinned and apart clusters are untouched, and every school is there once
    for status in ("pinned", "apart"):
        a = plan.schools[plan.schools["status"] == status].set_index("school_id")["cluster"].sort_index()
        b = repaired.schools[repaired.schools["status"] == status].set_index("school_id")["cluster"].sort_index()
        assert a.equals(b)
    assert repaired.schools["school_id"].is_unique and len(repaired.schools) == len(plan.schools)
    assert repaired.undo() is edited


def _brute_force(board, region, anchors):
    """The best plan of the region's units into len(region) clusters by listing them all."""
    us = sorted(v for v, c in board.label.items() if c in region)
    k, u, cost, rules = len(region), board.units, board.cost, board.rules
    lo, hi = rules.bounds()["schools"]
    best = float("inf")
    for combo in itertools.product(range(k), repeat=len(us)):
        if combo[0] != 0 or len(set(combo)) != k:
            continue
        groups = [[v for v, g in zip(us, combo) if g == i] for i in range(k)]
        if any(not lo <= sum(u.nodes[v]["schools"] for v in grp) <= hi for grp in groups):
            continue
        if any(not nx.is_connected(u.subgraph(grp)) for grp in groups):
            continue
        held = [next(i for i, grp in enumerate(groups) if set(a) & set(grp)) for a in anchors]
        if any(not set(a) <= set(groups[h]) for a, h in zip(anchors, held)) or len(set(held)) != len(held):
            continue
        total = sum(min(sum(cost[i, j] for i in grp) for j in grp) for grp in groups)
        total += rules.district_penalty * sum(len({u.nodes[v]["district"] for v in grp}) - 1 for grp in groups)
        best = min(best, total)
    return best


def test_repaired_part_is_optimal_for_its_subgraph(nl):
    _schools, _boundary, plan = nl
    sid, to = _neighbour_pair(plan)
    edited = plan.move(sid, to=to)
    was = plan.schools.set_index("school_id").loc[sid, "cluster"]
    repaired = edit.repropose(edited, free=[was, to])
    rep = repaired.run["repair"]
    board = edit._board(edited, edited.rules)
    units_in = {v for v, c in board.label.items() if c in {was, to}}
    _graph, node_of, held = edit._anchored(board, units_in, {was, to})
    anchors = [[v for v, n in node_of.items() if n == node] for node in held.values()]
    assert [board.membership[sid]] != anchors[0] and board.membership[sid] in anchors[0]  # with its hub
    assert rep["region_objective"] == pytest.approx(_brute_force(board, {was, to}, anchors), rel=1e-9)
    # the whole unlocked plan solved at once with the same lock is never worse than the part
    full = edit.repropose(edited, free=_geo_clusters(edited))
    assert full.run["repair"]["objective_after"] <= rep["objective_after"] + 1e-6
    assert full.violations() == [] and full.schools.set_index("school_id").loc[sid, "cluster"] == to


def test_polish_never_worsens_and_keeps_locks(nl):
    _schools, _boundary, plan = nl
    sid, to = _neighbour_pair(plan)
    rough = edit.repropose(plan.move(sid, to=to, lock=False), free=None)
    keep = _geo_clusters(rough)[0]
    better = edit.polish(rough.lock(clusters=[keep]), size=2, time_limit=30)
    pol = better.run["polish"]
    assert pol["objective_after"] <= pol["objective_before"] + 1e-6
    assert pol["subproblems_solved"] > 0
    assert better.violations() == []
    assert sorted(better.schools.loc[better.schools["cluster"] == keep, "school_id"]) == sorted(
        rough.schools.loc[rough.schools["cluster"] == keep, "school_id"]
    )


def test_edits_survive_save_and_read(nl, tmp_path):
    _schools, _boundary, plan = nl
    sid, to = _neighbour_pair(plan)
    repaired = edit.repropose(plan.move(sid, to=to))
    repaired.save(tmp_path / "p")
    back = cg.read_plan(tmp_path / "p")
    assert back.run["edit"]["locked_schools"] == {sid: to}
    # the saved plan keeps the schools' urban or rural setting: its travel times, so its
    # objective, come out the same when it is read back and edited
    plan.save(tmp_path / "lead")
    assert edit.objective(cg.read_plan(tmp_path / "lead")) == pytest.approx(plan.run["objective"], rel=1e-9)
    assert back.violations() == []
    from clustergeo.read import check_saved

    assert check_saved(tmp_path / "p") == []


def test_cli_start_lock_and_check(nl, tmp_path, capsys):
    from clustergeo.cli import main

    _schools, _boundary, plan = nl
    sid, to = _neighbour_pair(plan)
    keep = next(c for c in _geo_clusters(plan) if c != to)
    table = plan.assignment
    table.loc[table["school_id"] == sid, "cluster"] = to  # the planner's edit, in a spreadsheet
    table.to_csv(tmp_path / "edited.csv", index=False)
    pd.DataFrame({"school_id": [sid, ""], "cluster": [to, keep]}).to_csv(tmp_path / "locks.csv", index=False)
    broken = cg.read_assignment(tmp_path / "edited.csv", _schools, rules=plan.rules, boundary=_boundary)
    expect = 1 if broken.violations() else 0
    assert main(["check", str(tmp_path / "edited.csv"), "--scenario", "north-lanarkshire"]) == expect
    out = tmp_path / "out"
    assert (
        main(
            [
                "solve",
                "north-lanarkshire",
                "--start",
                str(tmp_path / "edited.csv"),
                "--lock",
                str(tmp_path / "locks.csv"),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert main(["check", str(out)]) == 0
    got = pd.read_csv(out / "assignment.csv", dtype=str).set_index("school_id")["cluster"]
    assert got[sid] == to
    kept = sorted(plan.schools.loc[plan.schools["cluster"] == keep, "school_id"])
    assert sorted(got[got == keep].index) == kept
    assert main(["solve", "north-lanarkshire", "--lock", str(tmp_path / "locks.csv"), "--out", str(out)]) == 2
    assert "--lock needs --start" in capsys.readouterr().err


def test_repair_widens_when_the_two_clusters_cannot_meet_the_rules(nl):
    _schools, _boundary, plan = nl
    sizes = plan.table().set_index("cluster")["schools"]
    for _, row in edit.border_schools(plan).iterrows():
        if sizes[row["next_to"]] != plan.rules.max_schools:
            continue
        edited = plan.move(row["school_id"], to=row["next_to"])
        try:
            edit.repropose(edited, free=[row["cluster"], row["next_to"]], widen=False)
            continue  # the two clusters alone can take the edit
        except cg.InfeasibleError as e:
            assert "widen=True" in str(e)
        try:
            repaired = edit.repropose(edited, free=[row["cluster"], row["next_to"]], widen=True)
        except cg.InfeasibleError as e:
            assert "clusters free" in str(e)  # no plan even with every unlocked cluster free
            continue
        if repaired.run["repair"]["widened"]:
            assert len(repaired.run["repair"]["free_clusters"]) > 2
            assert repaired.violations() == []
            assert repaired.schools.set_index("school_id").loc[row["school_id"], "cluster"] == row["next_to"]
            return
    pytest.fail("no move needed a wider repair")


def test_repair_widens_when_the_part_finds_no_plan_in_its_time_share(nl, monkeypatch):
    # the two edited clusters get half the time; a part with no plan in its share is widened,
    # not given up (the first try stands for a sub-problem too hard for its share)
    _schools, _boundary, plan = nl
    sid, to = _neighbour_pair(plan)
    edited = plan.move(sid, to=to)
    real, shares = edit._solve_region, []

    def first_runs_out(board, region, *, time_limit, **kw):
        shares.append((len(region), time_limit))
        if len(shares) == 1:
            raise cg.NoPlanInTimeError("the time limit ran out before any contiguous plan was found")
        return real(board, region, time_limit=time_limit, **kw)

    monkeypatch.setattr(edit, "_solve_region", first_runs_out)
    repaired = edit.repropose(edited, rings=0, time_limit=40)
    rep = repaired.run["repair"]
    assert shares[0][0] == 2 and shares[0][1] == pytest.approx(20, abs=0.5)  # half of the 40 s
    assert rep["widened"] == 1 and rep["widened_because"][0].startswith("no plan in")
    assert len(rep["free_clusters"]) > 2 and shares[1][0] == len(rep["free_clusters"])
    assert repaired.violations() == [] and repaired.schools.set_index("school_id").loc[sid, "cluster"] == to
    # with widening off, the time-out is the answer, and it says how to widen
    monkeypatch.setattr(edit, "_solve_region", lambda *a, **k: (_ for _ in ()).throw(cg.NoPlanInTimeError("out")))
    with pytest.raises(cg.NoPlanInTimeError, match="widen=True"):
        edit.repropose(edited, free=[plan.schools.set_index("school_id").loc[sid, "cluster"], to], time_limit=10)


def test_partition_takes_a_start_plan_and_gives_the_same_answer():
    # a path of 8 units into 2 clusters: the start (a valid plan) is polished, the proof the same
    g = nx.path_graph(8)
    nx.set_node_attributes(g, 1, "pupils")
    base = cg.partition(g, min_weight=3, max_weight=5, k=2, objective="cut_edges", progress=False)
    start = {v: ("a" if v < 5 else "b") for v in g}
    r = cg.partition(g, min_weight=3, max_weight=5, k=2, objective="cut_edges", progress=False, start=start)
    assert r.status == "optimal" and r.objective == base.objective
    bad = {v: "a" for v in g}  # one cluster of 8 breaks the maximum: not used, same answer
    r2 = cg.partition(g, min_weight=3, max_weight=5, k=2, objective="cut_edges", progress=False, start=bad)
    assert r2.status == "optimal" and r2.objective == base.objective


def test_a_start_past_a_bound_is_mended_by_border_moves():
    # 6 + 2 units, clusters of 3 to 5: two border units move across, each cluster stays one piece
    from clustergeo.solve.heuristics import greedy
    from clustergeo.solve.problem import build_problem

    g = nx.path_graph(8)
    nx.set_node_attributes(g, 1, "pupils")
    p = build_problem(g, min_weight=3, max_weight=5, k=2, objective="cut_edges")
    mended = greedy.rebalance(p, [0] * 6 + [6] * 2)
    sizes = sorted(mended.count(h) for h in set(mended))
    assert sizes in ([3, 5], [4, 4]) and mended[:3] == [mended[0]] * 3 and mended[-3:] == [mended[-1]] * 3
    assert greedy.rebalance(p, [0] * 8) is None  # one cluster cannot become two by moving units
    start = {v: ("a" if v < 6 else "b") for v in g}
    r = cg.partition(g, min_weight=3, max_weight=5, k=2, objective="cut_edges", progress=False, start=start)
    assert r.status == "optimal" and r.objective == 1


def test_cli_start_writes_through_a_staging_folder(nl, tmp_path):
    from clustergeo.cli import main
    from clustergeo.outputs import install, staging

    _schools, _boundary, plan = nl
    sid, to = _neighbour_pair(plan)
    table = plan.assignment
    table.loc[table["school_id"] == sid, "cluster"] = to
    table.to_csv(tmp_path / "edited.csv", index=False)
    out = tmp_path / "out"
    old = staging(out)  # an earlier run that found no plan
    (old / "infeasible.txt").write_text("stale\n")
    install(old, out)
    assert main(["solve", "north-lanarkshire", "--start", str(tmp_path / "edited.csv"), "--out", str(out)]) == 0
    assert not (out / "infeasible.txt").exists()  # the folder holds exactly this run's files
    assert (out / "assignment.csv").exists() and (out / "map.html").exists()
    assert not [p.name for p in tmp_path.iterdir() if ".partial-" in p.name or ".old-" in p.name]
    kept = (out / "assignment.csv").read_text()
    # a run that fails after the staging folder was made leaves --out as it was, and no stage
    bad = ["solve", "north-lanarkshire", "--start", str(tmp_path / "edited.csv"), "--lock", str(tmp_path / "none.csv")]
    assert main([*bad, "--out", str(out)]) == 2
    assert (out / "assignment.csv").read_text() == kept
    assert not [p.name for p in tmp_path.iterdir() if ".partial-" in p.name]
    # a repair with no plan (every cluster locked): --out holds its reason, not the old plan beside it
    every = pd.DataFrame({"school_id": [sid] + [""] * len(_geo_clusters(plan)), "cluster": [to, *_geo_clusters(plan)]})
    every.to_csv(tmp_path / "locks.csv", index=False)
    plan.assignment.to_csv(tmp_path / "plan.csv", index=False)  # the move is in the locks file
    stuck = [
        "solve",
        "north-lanarkshire",
        "--start",
        str(tmp_path / "plan.csv"),
        "--lock",
        str(tmp_path / "locks.csv"),
    ]
    assert main([*stuck, "--out", str(out)]) == 2
    assert "nothing is free to repair" in (out / "infeasible.txt").read_text()
    assert not (out / "assignment.csv").exists()


CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")


def _browser(download_dir):
    """Headless Chromium driven by selenium, offline: Debian's chromium and chromedriver (never a
    driver fetched by selenium-manager), every host name unresolvable, downloads to a folder."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ["SE_OFFLINE"] = "true"  # selenium-manager must not go to the network
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--window-size=1400,1000",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-extensions",
    ):
        opts.add_argument(arg)
    opts.add_experimental_option(
        "prefs", {"download.default_directory": str(download_dir), "download.prompt_for_download": False}
    )
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(download_dir)})
    return driver


@pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None, reason="chromium or chromedriver is not installed")
def test_map_edit_mode_moves_a_school_by_clicking_and_downloads_the_plan(nl, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    from clustergeo.cli import main

    schools, boundary, plan = nl
    sid, to = _neighbour_pair(plan)
    was = plan.schools.set_index("school_id").loc[sid, "cluster"]
    plan.save(tmp_path / "plan")
    driver = _browser(tmp_path / "downloads")
    try:
        driver.get((tmp_path / "plan" / "map.html").resolve().as_uri())
        state = driver.find_element(By.CSS_SELECTOR, "#cg-edit .cg-state")
        driver.find_element(By.CSS_SELECTOR, "#cg-edit .cg-edit-toggle").click()
        assert "Click a school" in state.text
        i = driver.execute_script("return D.schools.findIndex(s => s.id === arguments[0])", sid)

        def move_by_clicking():
            driver.find_element(By.CSS_SELECTOR, f"path.cg-s-{i}").click()  # the school's marker
            pick = WebDriverWait(driver, 10).until(
                lambda d: d.find_element(By.CSS_SELECTOR, ".leaflet-popup select.cg-move")
            )
            assert Select(pick).first_selected_option.text == was
            Select(pick).select_by_visible_text(to)

        move_by_clicking()
        # the two edited clusters, their sizes against the bounds at once
        table = plan.table().set_index("cluster")
        pupils = int(plan.schools.set_index("school_id").loc[sid, "pupils"])
        expect = {was: table.loc[was, "schools"] - 1, to: table.loc[to, "schools"] + 1}
        lo, hi = plan.rules.min_schools, plan.rules.max_schools
        for c, n in expect.items():
            cell = driver.find_element(By.CSS_SELECTOR, f'tr[data-cluster="{c}"] td[data-measure="schools"]')
            assert cell.text.startswith(f"{n} schools")
            assert cell.get_attribute("class") == ("cg-under" if n < lo else "cg-over" if n > hi else "cg-ok")
        cell = driver.find_element(By.CSS_SELECTOR, f'tr[data-cluster="{to}"] td[data-measure="pupils"]')
        assert cell.text.startswith(f"{table.loc[to, 'pupils'] + pupils:,} pupils")
        assert driver.find_elements(By.CSS_SELECTOR, "#cg-edit ol.cg-edits li")[0].text.endswith(f"{was} \u2192 {to}")
        # undo empties the list; the same move again, then the download
        driver.find_element(By.CSS_SELECTOR, "#cg-edit .cg-undo").click()
        assert not driver.find_elements(By.CSS_SELECTOR, "#cg-edit ol.cg-edits li") and "Click a school" in state.text
        move_by_clicking()
        driver.find_element(By.CSS_SELECTOR, "#cg-edit .cg-download").click()
        saved = tmp_path / "downloads" / "edits.csv"
        for _ in range(100):
            if saved.exists() and saved.stat().st_size:
                break
            time.sleep(0.1)
        asked = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
        assert all(u.startswith(("file:", "blob:", "data:")) for u in asked), asked
    finally:
        driver.quit()
    got = pd.read_csv(saved, dtype=str, keep_default_na=False).set_index("school_id")
    assert got.loc[sid, "cluster"] == to and len(got) == len(plan.schools)
    edited = cg.read_assignment(saved, schools, rules=plan.rules, boundary=boundary)
    assert edited.schools.set_index("school_id").loc[sid, "cluster"] == to
    assert main(["check", str(saved), "--scenario", "north-lanarkshire"]) == (1 if edited.violations() else 0)
