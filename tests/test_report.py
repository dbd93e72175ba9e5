"""Maps and the report as a planner receives them: print-ready PNG, offline pages in a real browser."""

import json
import re
import shutil
import subprocess

import pytest

from clustergeo import maps, report
from clustergeo.read import read_plan

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.fixture(scope="module")
def norfolk_plan(norfolk_out):
    """Norfolk's lead plan as ``clustergeo solve`` saved it (the maps and the report draw saved plans)."""
    return read_plan(norfolk_out)


@pytest.fixture(scope="module")
def nl_plan(nl_proposal):
    return nl_proposal[3]


def _label_boxes(fig):
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    return [(t.get_text(), t.get_window_extent(r)) for t in fig.findobj(lambda a: a.get_gid() == "cluster-label")]


@pytest.mark.parametrize("which", ["norfolk_plan", "nl_plan"])
def test_map_png_labels_never_overlap_and_every_cluster_is_labelled(which, request, tmp_path):
    plan = request.getfixturevalue(which)
    fig, panels = maps.map_figure(plan)
    boxes = _label_boxes(fig)
    for i, (ta, a) in enumerate(boxes):
        for tb, b in boxes[i + 1 :]:
            assert not a.overlaps(b), f"labels {ta} and {tb} overlap"
    drawn = plan.clusters[plan.clusters.geometry.notna()]["cluster"]
    numbers = maps.cluster_numbers(plan)
    assert {str(numbers[c]) for c in drawn} <= {t for t, _ in boxes}
    # no label sits on a school: school dots are obstacles of the placement
    s = plan.schools[plan.schools["status"] != "excluded"]
    renderer = fig.canvas.get_renderer()
    for name, ax in panels.items():
        px = ax.transData.transform(list(zip(s.geometry.x, s.geometry.y, strict=True)))
        for t in ax.texts:
            if t.get_gid() == "cluster-label":
                bb = t.get_window_extent(renderer)
                hit = (px[:, 0] > bb.x0) & (px[:, 0] < bb.x1) & (px[:, 1] > bb.y0) & (px[:, 1] < bb.y1)
                assert not hit.any(), f"label {t.get_text()} in {name} covers {hit.sum()} schools"
    path = maps.save_static_map(plan, tmp_path / "map.png")
    from PIL import Image

    with Image.open(path) as image:
        w, h = image.size
    assert w >= 11.69 * 200 and h >= 8.27 * 200


def test_neighbouring_clusters_never_share_a_colour(norfolk_plan):
    colours = maps.cluster_colours(norfolk_plan)
    cl = norfolk_plan.clusters[norfolk_plan.clusters.geometry.notna()].reset_index(drop=True)
    for i, a in cl.iterrows():
        for j, b in cl.iterrows():
            if i < j and a.geometry.distance(b.geometry) < 1:
                assert colours[a["cluster"]] != colours[b["cluster"]], (a["cluster"], b["cluster"])
    assert len(set(colours.values())) >= 6


def test_insets_found_from_density(norfolk_plan, nl_plan):
    names = [a["name"] for a in maps.dense_areas(norfolk_plan)]
    assert names[0] == "Norwich" and "Great Yarmouth" in names and "King's Lynn and West Norfolk" in names
    names = " / ".join(a["name"] for a in maps.dense_areas(nl_plan))
    assert "Coatbridge" in names and "Motherwell" in names


def test_polygons_partition_norfolk_and_nothing_overlaps_by_accident(norfolk_plan, nl_plan):
    for plan in (norfolk_plan, nl_plan):
        cl = plan.clusters[plan.clusters.geometry.notna()]
        assert cl.geometry.is_valid.all()
        assert cl.geometry.union_all().area == pytest.approx(cl.area.sum(), rel=1e-9)
        # a piece of a cluster holds at least one of its schools
        for lab, geom in zip(cl["cluster"], cl.geometry):
            pts = plan.schools[plan.schools["cluster"] == lab].geometry
            for part in getattr(geom, "geoms", [geom]):
                assert pts.intersects(part.buffer(1)).any(), lab
    assert (norfolk_plan.clusters["pieces"] <= 2).all()
    assert norfolk_plan.metrics["clusters_in_pieces"] == int((norfolk_plan.clusters["pieces"] > 1).sum())
    title = maps._count_title(nl_plan)
    assert title.startswith("15 clusters")


def _chromium(args, tmp_path):
    base = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-extensions",
        "--disable-default-apps",
        "--no-pings",
        "--metrics-recording-only",
        "--disable-client-side-phishing-detection",
        "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,MediaRouter,Translate",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        "--virtual-time-budget=5000",
    ]
    return subprocess.run(base + args, capture_output=True, text=True, timeout=120, check=False)


def _requests_to_other_hosts(netlog):
    """URLs the page asked for over the network (the browser's own update and sign-in calls aside).

    Chromium's net log records every request; those the browser makes for itself carry the
    initiator "not an origin", those a page makes carry the page's origin ("null" for a file).
    """
    text = netlog.read_text(errors="replace").rstrip()
    if not text.endswith("}"):  # a log cut short when the browser exits
        text = text.rstrip(",") + "]}"
    log = json.loads(text)
    start = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    urls = {
        e["params"]["url"]
        for e in log["events"]
        if e["type"] == start and "url" in e.get("params", {}) and e["params"].get("initiator") != "not an origin"
    }
    return sorted(u for u in urls if not u.startswith(("file:", "data:", "blob:")))


def _render(page, tmp_path, shot, min_bytes=20_000):
    netlog = tmp_path / f"{shot.stem}-net.json"
    dom = _chromium([f"--log-net-log={netlog}", "--dump-dom", page.as_uri()], tmp_path)
    assert dom.returncode == 0, dom.stderr[-2000:]
    res = _chromium(["--window-size=1400,1000", f"--screenshot={shot}", page.as_uri()], tmp_path)
    assert res.returncode == 0 and shot.stat().st_size >= min_bytes
    return dom.stdout, _requests_to_other_hosts(netlog)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_request_detector_sees_a_page_asking_the_network(tmp_path):
    page = tmp_path / "leaky.html"
    page.write_text(
        '<!DOCTYPE html><html><body><img src="http://tiles.example.org/1/2/3.png">'
        '<link rel="stylesheet" href="https://cdn.example.org/a.css"></body></html>'
    )
    _dom, requests = _render(page, tmp_path, tmp_path / "leaky.png", min_bytes=0)
    assert any("tiles.example.org" in u for u in requests) and any("cdn.example.org" in u for u in requests)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_map_html_offline_in_chromium(norfolk_plan, tmp_path):
    page = maps.save_interactive_map(norfolk_plan, tmp_path / "map.html")
    text = page.read_text()
    ours = re.sub(r"<script>.*?</script>", "", text, count=1, flags=re.DOTALL)  # the page without Leaflet's code
    assert "<script>" in text and not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", ours)
    dom, requests = _render(page, tmp_path, tmp_path / "map-shot.png")
    assert requests == [], requests
    assert 'id="legend"' in dom
    labels = set(re.findall(r"cg-label[^>]*>(\d+)<", dom))
    numbers = maps.cluster_numbers(norfolk_plan)
    drawn = norfolk_plan.clusters[norfolk_plan.clusters.geometry.notna()]["cluster"]
    assert {str(numbers[c]) for c in drawn} <= labels
    start = dom.index('id="legend"')
    legend = dom[start : dom.index("<hr>", start)]
    for c in norfolk_plan.clusters["cluster"]:
        assert f"{numbers[c]}. {c.removesuffix(' cluster').replace('&', '&amp;')} (" in legend
    assert dom.count("leaflet-interactive") >= len(drawn)
    # the colours match the static map
    data = json.loads(re.search(r"const D = (\{.*?\});\n", text, re.DOTALL).group(1))
    colours = maps.cluster_colours(norfolk_plan)
    assert {f["properties"]["n"]: f["properties"]["colour"] for f in data["clusters"]} == {
        numbers[c]: colours[c] for c in drawn
    }


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")
def test_report_html_offline_in_chromium(nl_plan, tmp_path):
    paths = report.write_report(nl_plan, tmp_path / "out")
    assert paths["report_pdf"].read_bytes()[:5] == b"%PDF-"
    page = paths["report_html"]
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page.read_text())
    dom, requests = _render(page, tmp_path, tmp_path / "report-shot.png")
    assert requests == [], requests
    assert 'id="map"' in dom or "id=map" in dom
    for c in nl_plan.clusters["cluster"]:
        assert c.replace("&", "&amp;") in dom
    assert "Principles" in dom and "Sizes against the bounds" in dom


def test_peer_groups_drawn_and_reported_when_the_plan_has_them(nl_plan):
    import pandas as pd

    placed = nl_plan.schools[nl_plan.schools["status"] == "placed"]
    groups = pd.DataFrame(
        {
            "school": placed["school_id"].iloc[:6].tolist(),
            "cluster": placed["cluster"].iloc[:6].tolist(),
            "group": [1, 1, 1, 2, 2, 2],
        }
    )
    nl_plan.groups = groups
    try:
        _fig, panels = maps.map_figure(nl_plan, insets=False)
        purple = [ln for ln in panels["main"].get_lines() if ln.get_color() == "#6a3d9a"]
        assert len(purple) == 4  # two groups of three schools: two links each
        assert "Peer groups" in report.report_html(nl_plan)
    finally:
        del nl_plan.groups


def test_report_command_rebuilds_from_a_saved_plan(nl_plan, tmp_path):
    from clustergeo.cli import main
    from clustergeo.outputs import write_plan
    from clustergeo.read import read_plan

    write_plan(nl_plan, tmp_path, maps=False)
    assert main(["report", str(tmp_path), "--no-pdf"]) == 0
    for f in ("map.png", "map.html", "sizes.png", "report.html"):
        assert (tmp_path / f).stat().st_size > 0
    assert not (tmp_path / "report.pdf").exists()
    assert "districts" in read_plan(tmp_path).layers


def test_plan_and_comparison_show_themselves_briefly(nl_plan):
    from clustergeo.compare import compare

    text = repr(nl_plan)
    assert len(text.splitlines()) <= 4 and len(text) < 400
    html = nl_plan._repr_html_()
    assert "<table" in html and all(c in html for c in nl_plan.clusters["cluster"].str.replace("&", "&amp;"))
    c = compare(nl_plan, nl_plan)
    assert c.words() == "no school moves" and "no school moves" in repr(c) and "<table" in c._repr_html_()
    assert len(c["moves"]) == 0


def test_compare_leaves_excluded_schools_out_and_tables_fit_100_columns(norfolk_plan, capsys):
    from clustergeo.cli import _print_table
    from clustergeo.compare import compare

    assert (norfolk_plan.schools["status"] == "excluded").sum() == 32
    assert len(compare(norfolk_plan, norfolk_plan).moves) == 0
    cols = ["cluster", "kind", "schools", "pupils", "districts", "mean_minutes_to_hub", "current_clusters"]
    _print_table(norfolk_plan.table()[cols])
    out = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in out) <= 100 and len(out) == len(norfolk_plan.clusters) + 1
    assert not out[1].startswith("0 ")  # no pandas index
    assert "Wymondham College" in "\n".join(out)


def test_compare_refuses_plans_of_different_schools(norfolk_plan, nl_plan):
    from clustergeo.compare import compare
    from clustergeo.errors import DataError

    with pytest.raises(DataError, match="share no school"):
        compare(norfolk_plan, nl_plan)


def test_clusters_named_after_a_secondary_and_listed_main_district_first(norfolk_plan):
    t = norfolk_plan.clusters
    s = norfolk_plan.schools
    for lab, grp in s[s["status"] == "placed"].groupby("cluster"):
        secondaries = grp[grp["phase"].isin(["secondary", "all-through"])]
        if len(secondaries):  # a cluster with a secondary is known by one of them
            assert lab.removesuffix(" cluster") in set(secondaries["name"]), lab
        pupils = grp.groupby("district")["pupils"].sum()
        first = t.loc[t["cluster"] == lab, "districts"].iloc[0].split("; ")[0]
        assert pupils[first] == pupils.max(), lab


def test_a_locality_authority_says_locality(nl_out):
    text = (nl_out / "summary.txt").read_text()
    assert "crossing locality lines" in text and "district" not in text.lower()


def test_versions_print_in_100_columns_with_a_row_for_a_version_without_a_plan(norfolk_plan, capsys):
    from clustergeo.cli import _print_table, _versions_shown
    from clustergeo.versions import versions_table

    table = versions_table({"the main rules": norfolk_plan}, failed={"Catholic schools apart": "no plan"})
    _print_table(_versions_shown(table), index=True)
    out = capsys.readouterr().out.splitlines()
    assert max(len(line) for line in out) <= 100 and len(out) == 3
    assert "2,879-4,999" in out[1] and out[2].startswith("Catholic schools apart") and out[2].endswith("no plan")
