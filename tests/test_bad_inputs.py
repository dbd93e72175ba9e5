"""Nothing wrong gets through: every bad input is refused with a message naming the school,
key or file (and the fix), through the API and through the command line, with no traceback.

The cases run on a tiny synthetic authority (12 schools on a 2 km grid, two current clusters)
so that each takes well under a second; the few that solve take one or two.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import networkx as nx
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

import clustergeo as cg
from clustergeo.cli import main
from clustergeo.errors import ClusterGeoError, DataError, OutputError, RulesError, TooLargeError
from clustergeo.read import check_saved
from clustergeo.scenario import read_scenario
from clustergeo.validate import validate_graph

X0, Y0, STEP_M = 280_000, 660_000, 2_000


def schools_table() -> pd.DataFrame:
    rows = []
    for i in range(12):
        c, r = i % 4, i // 4
        rows.append(
            {
                "school_id": f"S{i:02d}",
                "name": f"School {chr(65 + i)}",
                "phase": "secondary" if i in (0, 3) else "primary",
                "pupils": str(100 + 10 * i),
                "x": str(X0 + STEP_M * c),
                "y": str(Y0 + STEP_M * r),
                "cluster": "Alpha" if c < 2 else "Beta",
                "district": "West" if c < 2 else "East",
                "group": "asn" if i == 11 else "",
                "sector": "state",
            }
        )
    return pd.DataFrame(rows)


RULES = {"min_schools": 3, "max_schools": 6, "keep_whole": "none"}


def toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {toml_value(x)}" for k, x in v.items()) + " }"
    return repr(v)


def scenario_text(*, rules=None, solver=None, schools=None, top="", extra="") -> str:
    spec = {"file": "schools.csv", "crs": "EPSG:27700", **(schools or {})}
    lines = ['name = "tiny"', top, "[schools]"] + [f"{k} = {toml_value(v)}" for k, v in spec.items()]
    lines += ["[rules]"] + [f"{k} = {toml_value(v)}" for k, v in {**RULES, **(rules or {})}.items()]
    lines += ["[solver]"] + [f"{k} = {toml_value(v)}" for k, v in {"time_limit": 30, **(solver or {})}.items()]
    return "\n".join(lines) + "\n" + extra


def write_case(folder: Path, *, table=None, rules=None, solver=None, schools=None, top="", extra="") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (schools_table() if table is None else table).to_csv(folder / "schools.csv", index=False)
    p = folder / "s.toml"
    p.write_text(scenario_text(rules=rules, solver=solver, schools=schools, top=top, extra=extra))
    return p


def boundary_gpkg(folder: Path, *, layers=("authority",)) -> Path:
    box = shapely.box(X0 - 1_000, Y0 - 1_000, X0 + 7_000, Y0 + 5_000)
    path = folder / "boundary.gpkg"
    for name in layers:
        gpd.GeoDataFrame({"name": [name]}, geometry=[box], crs="EPSG:27700").to_file(path, layer=name)
    return path


def run_cli(argv, capsys) -> tuple[int, str]:
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert "Traceback" not in text, text
    return code, text


# --- the cases: each builds a bad input in a folder and returns the scenario file -----------


def _table_with(col: str, row: int, value: str) -> pd.DataFrame:
    t = schools_table()
    t.loc[row, col] = value
    return t


def _bytes_case(content: bytes):
    def build(d: Path) -> Path:
        p = write_case(d)
        (d / "schools.csv").write_bytes(content)
        return p

    return build


def _swapped(row: int):
    t = schools_table()
    t.loc[row, ["x", "y"]] = t.loc[row, ["y", "x"]].to_numpy()
    return t


def _with_boundary(table=None, **kw):
    def build(d: Path) -> Path:
        d.mkdir(parents=True, exist_ok=True)
        boundary_gpkg(d)
        return write_case(d, table=table, schools={"boundary": "boundary.gpkg", **kw})

    return build


def _corrupt_boundary(d: Path) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    path = boundary_gpkg(d)
    path.write_bytes(path.read_bytes()[:3000])
    return write_case(d, schools={"boundary": "boundary.gpkg"})


def _lonlat(swap: bool):
    def build(d: Path) -> Path:
        t = schools_table()
        pts = gpd.GeoSeries(gpd.points_from_xy(t["x"].astype(float), t["y"].astype(float)), crs=27700).to_crs(4326)
        lon, lat = (pts.y, pts.x) if swap else (pts.x, pts.y)
        t = t.drop(columns=["x", "y"]).assign(lon=lon.round(6).astype(str), lat=lat.round(6).astype(str))
        return write_case(d, table=t, schools={"crs": "EPSG:27700"} if not swap else {})

    return build


def _drop_crs(build):
    def wrapped(d: Path) -> Path:
        p = build(d)
        p.write_text(p.read_text().replace('crs = "EPSG:27700"\n', ""))
        return p

    return wrapped


def _case(**kw):
    return lambda d: write_case(d, **kw)


# (id, build, error class, words the message must hold)
CASES = [
    # CSV files
    ("csv-empty-0-bytes", _bytes_case(b""), DataError, ["schools.csv", "empty (0 bytes)"]),
    ("csv-blank-lines", _bytes_case(b"\n\n  \n"), DataError, ["schools.csv", "blank"]),
    ("csv-not-text", _bytes_case(b"school_id,name\n\x81\x8d,\x90\x9d\n"), DataError, ["schools.csv", "UTF-8"]),
    ("csv-ragged", _bytes_case(b"a;b,c\n1;2\n3,4;5;6\n"), DataError, ["schools.csv", "separated"]),
    (
        "csv-missing-column-near-name",
        _case(table=schools_table().rename(columns={"pupils": "pupil"})),
        DataError,
        ["pupils", "did you mean 'pupil'"],
    ),
    (
        "csv-pupils-not-a-number",
        _case(table=_table_with("pupils", 4, "lots")),
        DataError,
        ["School E", "pupils", "lots"],
    ),
    ("csv-pupils-negative", _case(table=_table_with("pupils", 2, "-3")), DataError, ["School C", "negative"]),
    ("csv-pupils-fraction", _case(table=_table_with("pupils", 1, "10.5")), DataError, ["School B", "whole"]),
    ("csv-duplicate-id", _case(table=_table_with("school_id", 1, "S00")), DataError, ["S00", "School A", "School B"]),
    ("csv-missing-id", _case(table=_table_with("school_id", 5, "")), DataError, ["School F", "id is missing"]),
    ("csv-unknown-phase", _case(table=_table_with("phase", 6, "college")), DataError, ["School G", "college"]),
    ("csv-missing-coordinate", _case(table=_table_with("x", 7, "")), DataError, ["School H", "coordinates"]),
    ("csv-file-not-found", _case(schools={"file": "scools.csv"}), DataError, ["scools.csv", "schools.csv"]),
    ("csv-metres-as-degrees", _case(schools={"crs": "EPSG:4326"}), DataError, ["School A", "EPSG:27700", "metres"]),
    ("csv-degrees-as-metres", _lonlat(swap=False), DataError, ["degrees", "EPSG:4326"]),
    ("csv-lon-lat-swapped", _drop_crs(_lonlat(swap=True)), DataError, ["swapped", "School A"]),
    ("csv-one-school-xy-swapped", _case(table=_swapped(5)), DataError, ["School F", "swapped", "662,000"]),
    (
        "csv-outside-boundary",
        _with_boundary(table=_table_with("x", 9, str(X0 + 40_000))),
        DataError,
        ["School J", "outside the authority boundary", "320,000"],
    ),
    ("csv-exclude-column-typo", _case(top='exclude = { sectr = ["private"] }'), DataError, ["sectr", "sector"]),
    ("csv-exclude-value-typo", _case(top='exclude = { sector = ["stat"] }'), DataError, ["stat", "state"]),
    # GeoPackages
    ("gpkg-corrupt", _corrupt_boundary, DataError, ["boundary.gpkg", "corrupt"]),
    (
        "gpkg-wrong-layer",
        _with_boundary(boundary_layer="authorty"),
        DataError,
        ["boundary.gpkg", "'authorty'", "'authority'"],
    ),
    ("gpkg-missing-file", _case(schools={"boundary": "nowhere.gpkg"}), DataError, ["nowhere.gpkg"]),
    # scenario files and rules
    (
        "rules-redraw-typo",
        _case(rules={"keep_whole": "cluster", "redraw": ["Alpah"]}),
        RulesError,
        ["redraw", "'Alpah'", "did you mean 'Alpha'"],
    ),
    ("rules-redraw-string", _case(rules={"redraw": "Alpha"}), RulesError, ["redraw", '["Alpha"]']),
    ("rules-fewest-string", _case(rules={"fewest": "no"}), RulesError, ["fewest", "'no'"]),
    (
        "rules-negative-penalty",
        _case(rules={"districts": "penalty", "district_penalty": -50000}),
        RulesError,
        ["district_penalty", "-50000"],
    ),
    ("rules-pinned-string", _case(rules={"pinned": "Alpha"}), RulesError, ["pinned", '["Alpha"]']),
    ("rules-pinned-typo", _case(rules={"pinned": ["Betta"]}), RulesError, ["pinned", "did you mean 'Beta'"]),
    ("rules-must-link-unknown", _case(rules={"must_link": [["S01", "S99"]]}), RulesError, ["must_link", "S99"]),
    (
        "rules-apart-column-typo",
        _case(rules={"apart": {"ASN": {"gruop": "asn"}}}),
        RulesError,
        ["apart", "gruop", "did you mean 'group'"],
    ),
    (
        "rules-apart-value-typo",
        _case(rules={"apart": {"ASN": {"group": "asm"}}}),
        RulesError,
        ["apart", "'asm'", "did you mean 'asn'"],
    ),
    ("rules-clusters-zero", _case(rules={"clusters": 0}), RulesError, ["clusters", "0"]),
    ("rules-clusters-reversed", _case(rules={"clusters": [5, 2]}), RulesError, ["clusters", "[5, 2]"]),
    ("rules-keep-whole-unknown", _case(rules={"keep_whole": "whole"}), RulesError, ["keep_whole", "'whole'"]),
    ("rules-count-not-whole", _case(rules={"min_schools": 2.5}), RulesError, ["min_schools", "2.5"]),
    ("rules-max-minutes-zero", _case(rules={"max_minutes": 0}), RulesError, ["max_minutes"]),
    ("rules-unknown-key", _case(rules={"min_school": 3}), RulesError, ["min_school", "did you mean 'min_schools'"]),
    ("solver-time-limit-zero", _case(solver={"time_limit": 0}), RulesError, ["time_limit", "0"]),
    ("solver-time-limit-negative", _case(solver={"time_limit": -5}), RulesError, ["time_limit", "-5"]),
    ("solver-time-limit-text", _case(solver={"time_limit": "sixty"}), RulesError, ["time_limit", "'sixty'"]),
    ("solver-threads-text", _case(solver={"threads": "two"}), RulesError, ["threads", "'two'"]),
    ("solver-unknown-name", _case(solver={"name": "glpk"}), RulesError, ["glpk", "highs"]),
    ("solver-gap-above-one", _case(solver={"gap": 2}), RulesError, ["gap", "2"]),
    ("scenario-unknown-top-key", _case(top="datset = 1"), RulesError, ["datset", "did you mean 'dataset'"]),
    (
        "scenario-variant-fallback-text",
        _case(extra='[[variants]]\nname = "v"\nfallback = "yes"\n'),
        RulesError,
        ["fallback", "'yes'"],
    ),
    (
        "scenario-variant-bad-rule",
        _case(extra='[[variants]]\nname = "v"\nrules = { fewest = 1 }\n'),
        RulesError,
        ["variant 'v'", "fewest"],
    ),
    (
        "scenario-variant-names-unknown",
        _case(extra='[[variants]]\nname = "v"\nrules = { pinned = ["Gamma"] }\n'),
        RulesError,
        ["variant 'v'", "'Gamma'"],
    ),
    ("scenario-link-unknown", _case(top='links = [["S01", "S77"]]'), RulesError, ["links", "S77"]),
    ("scenario-links-not-pairs", _case(top='links = ["S01"]'), RulesError, ["links"]),
    ("scenario-crs-wrong-type", _case(schools={"crs": True}), RulesError, ["crs"]),
]


@pytest.mark.parametrize("build,error,words", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_scenario_input(tmp_path, capsys, build, error, words):
    path = build(tmp_path / "case")
    with pytest.raises(error) as info:
        read_scenario(path).load()
    for w in words:
        assert w in str(info.value), (w, str(info.value))
    code, text = run_cli(["solve", path, "--out", tmp_path / "out"], capsys)
    assert code == 2
    assert text.count("error:") == 1 and all(w in text for w in words), text
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob(".out.*"))  # nothing half-written


@pytest.mark.parametrize(
    "content,words",
    [
        (b"", ["empty"]),
        (b"not = [valid", ["not valid TOML"]),
        (b'name = "x"\n', ["say where the schools are"]),
        (b'dataset = "norfolk"\n[schools]\nfile = "a.csv"\n', ["not both"]),
        (b'dataset = "norfok"\n', ["dataset", "norfok"]),
    ],
    ids=["empty", "invalid-toml", "no-schools", "dataset-and-schools", "unknown-dataset"],
)
def test_bad_scenario_file(tmp_path, capsys, content, words):
    p = tmp_path / "s.toml"
    p.write_bytes(content)
    with pytest.raises(RulesError) as info:
        read_scenario(p)
    assert all(w in str(info.value) for w in words) and str(p) in str(info.value)
    code, text = run_cli(["solve", p, "--out", tmp_path / "out"], capsys)
    assert code == 2 and all(w in text for w in words)


@pytest.mark.parametrize(
    "argv,words",
    [
        (["--time-limit", "-1"], ["--time-limit", "-1"]),
        (["--time-limit", "0"], ["--time-limit"]),
        (["--threads", "-2"], ["--threads"]),
        (["--threads", "0"], ["--threads", ">= 1"]),
        (["--alternatives", "0"], ["--alternatives"]),
    ],
    ids=["time-limit-negative", "time-limit-zero", "threads-negative", "threads-zero", "alternatives-zero"],
)
def test_bad_command_line_values(tmp_path, capsys, argv, words):
    p = write_case(tmp_path / "case")
    code, text = run_cli(["solve", p, "--out", tmp_path / "out", *argv], capsys)
    assert code == 2 and all(w in text for w in words), text


def test_a_shipped_scenario_name_typo_gets_a_hint(tmp_path, capsys):
    code, text = run_cli(["solve", "north-lanarkshir", "--out", tmp_path / "out"], capsys)
    assert code == 2 and "did you mean 'north-lanarkshire'" in text


# --- CSV files that are fine, only unusual: read correctly --------------------------------


@pytest.mark.parametrize(
    "sep,encoding",
    [(";", "cp1252"), (",", "utf-8-sig"), ("\t", "utf-16"), ("|", "utf-8")],
    ids=["semicolon-cp1252", "utf8-bom", "tab-utf16", "pipe-utf8"],
)
def test_unusual_csvs_are_read_correctly(tmp_path, sep, encoding):
    t = schools_table()
    t.loc[0, "name"] = "École Saint-Étienne"
    path = tmp_path / "schools.csv"
    t.to_csv(path, index=False, sep=sep, encoding=encoding)
    s = cg.read_schools(path, crs="EPSG:27700")
    assert s.loc[0, "name"] == "École Saint-Étienne" and list(s["school_id"]) == list(t["school_id"])
    assert s["pupils"].sum() == t["pupils"].astype(int).sum()


def test_keep_whole_none_or_false_means_school_by_school():
    assert cg.Rules(keep_whole="none").keep_whole is None
    assert cg.Rules.from_dict({"keep_whole": False}).keep_whole is None
    assert cg.Rules(keep_whole=None).keep_whole is None


def test_schools_of_a_shipped_dataset_are_checked_against_its_boundary(tmp_path):
    nl = cg.datasets.load("north-lanarkshire")
    s = nl.schools.copy()
    s.loc[0, "geometry"] = shapely.Point(s.geometry.y.iloc[0], s.geometry.x.iloc[0])
    with pytest.raises(DataError, match=s.loc[0, "name"]):
        cg.read_schools(s, boundary=nl.layers["authority"])


def test_several_layers_without_a_name_lists_them(tmp_path):
    path = boundary_gpkg(tmp_path, layers=("authority", "wards"))
    with pytest.raises(DataError, match="'authority', 'wards'"):
        cg.schools.read_layer(path)


# --- partition(): graphs and weights --------------------------------------------------------


def grid(n: int = 4) -> nx.Graph:
    g = nx.convert_node_labels_to_integers(nx.grid_2d_graph(n, n))
    for v in g:
        g.nodes[v].update(pupils=100, x=float(v % n), y=float(v // n))
    return g


def _set(attr_value):
    def build():
        g = grid()
        g.nodes[5]["pupils"] = attr_value
        return g

    return build


def _selfloop():
    g = grid()
    g.add_edge(6, 6)
    return g


GRAPH_CASES = [
    ("negative-weight", _set(-5), ["5", "pupils", "negative"]),
    ("nan-weight", _set(float("nan")), ["5", "pupils", "not finite"]),
    ("infinite-weight", _set(float("inf")), ["5", "pupils", "not finite"]),
    ("string-weight", _set("100"), ["5", "pupils", "not a number"]),
    ("bool-weight", _set(True), ["5", "pupils", "boolean"]),
    ("self-loop", _selfloop, ["6", "self-loop"]),
    ("multigraph", lambda: nx.MultiGraph(grid()), ["MultiGraph"]),
    ("digraph", lambda: nx.DiGraph(grid()), ["directed"]),
    ("not-a-graph", lambda: {0: [1]}, ["networkx Graph"]),
]


@pytest.mark.parametrize("build,words", [c[1:] for c in GRAPH_CASES], ids=[c[0] for c in GRAPH_CASES])
def test_partition_refuses_bad_graphs(build, words):
    with pytest.raises(DataError) as info:
        cg.partition(build(), weight="pupils", min_weight=300, max_weight=500, time_limit=10)
    assert all(w in str(info.value) for w in words), str(info.value)


def test_partition_checks_every_bounded_measure():
    g = grid()
    g.nodes[2]["schools"] = -1
    with pytest.raises(DataError, match="'schools'"):
        validate_graph(g, weight="pupils", bounds={"schools": (1, 4)})


def test_partition_refuses_a_model_too_big_for_settings_max_memory(monkeypatch):
    monkeypatch.setattr(cg.settings, "max_memory", 10_000_000)
    with pytest.raises(TooLargeError, match="settings.max_memory") as info:
        cg.partition(grid(8), weight="pupils", min_weight=300, max_weight=900, time_limit=10)
    assert "64 units" in str(info.value)
    assert cg.settings.max_memory is not None


# --- output folders ---------------------------------------------------------------------------


def test_out_that_is_a_file_fails_before_solving(tmp_path, capsys):
    p = write_case(tmp_path / "case")
    (tmp_path / "out.txt").write_text("x")
    with pytest.raises(OutputError):
        cg.outputs.check_writable(tmp_path / "out.txt")
    code, text = run_cli(["solve", p, "--out", tmp_path / "out.txt"], capsys)
    assert code == 2 and "out.txt is a file" in text and "Solving" not in text


def test_out_below_a_file_cannot_be_written(tmp_path, capsys):
    p = write_case(tmp_path / "case")
    (tmp_path / "afile").write_text("x")
    code, text = run_cli(["solve", p, "--out", tmp_path / "afile" / "out"], capsys)
    assert code == 2 and "cannot be written" in text and "Solving" not in text


def test_out_holding_other_files_is_not_replaced(tmp_path, capsys):
    p = write_case(tmp_path / "case")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.docx").write_text("precious")
    code, text = run_cli(["solve", p, "--out", tmp_path / "mine"], capsys)
    assert code == 2 and "thesis.docx" in text
    assert (tmp_path / "mine" / "thesis.docx").read_text() == "precious"


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    """A tiny plan solved through the command line."""
    d = tmp_path_factory.mktemp("solved")
    p = write_case(d / "case")
    assert main(["solve", str(p), "--out", str(d / "out")]) == 0
    return d / "out"


@pytest.mark.parametrize(
    "argv,words",
    [
        (["groups", "--sizes", "3,x"], ["--sizes", "'3,x'", "e.g. --sizes 3,4"]),
        (["groups", "--sizes", "1"], ["--sizes", "2 or more"]),
        (["groups", "--phase", "primry"], ["--phase", "primry", "primary, secondary"]),
        (["groups", "--sizes", "5", "--unsplittable", "error"], ["--unsplittable share", "--unsplittable other-size"]),
        (["allocate", "--total", "-3"], ["--total", "-3", ">= 0"]),
        (["allocate", "--total", "nan"], ["--total", "nan"]),
        (["allocate", "--total", "2.5"], ["--total", "2.5", "whole number"]),
        (["allocate"], ["--total, --per-cluster or --rates"]),
        (["allocate", "--total", "9"], ["--by", "e.g. --by pupils=1"]),
        (["allocate", "--total", "9", "--by", "pupils=x"], ["--by", "'pupils=x'", "measure=number"]),
        (["allocate", "--total", "9", "--by", "pupils=-1"], ["--by", "negative"]),
        (["allocate", "--total", "9", "--by", "pupils", "--kinds", "geo"], ["--kinds", "'geo'", "geographic"]),
        (["allocate", "--total", "9", "--by", "pupils", "--minimum", "5"], ["--minimum", "lower it"]),
        (["allocate", "--total", "9", "--by", "pupils", "--maximum", "1"], ["--maximum", "raise it"]),
        (
            ["allocate", "--total", "9", "--by", "pupils", "--minimum", "2", "--maximum", "1"],
            ["--maximum", "--minimum"],
        ),
        (["allocate", "--total", "9", "--by", "pupils", "--per-cluster", "-1"], ["--per-cluster", ">= 0"]),
        (["allocate", "--total", "1", "--rates", "pupils=1"], ["--total", "--per-cluster and --rates parts"]),
    ],
    ids=[
        "sizes-not-numbers",
        "sizes-one",
        "phase-typo",
        "unsplittable",
        "total-negative",
        "total-nan",
        "total-fraction",
        "no-amount",
        "no-by",
        "by-not-number",
        "by-negative",
        "kinds-unknown",
        "minimum-too-big",
        "maximum-too-small",
        "maximum-below-minimum",
        "per-cluster-negative",
        "rates-above-total",
    ],
)
def test_bad_groups_and_allocate_values(solved, capsys, argv, words):
    before = {p.name: p.stat().st_mtime_ns for p in solved.iterdir()}
    code, text = run_cli([argv[0], solved, *argv[1:]], capsys)
    assert code == 2 and text.startswith("error: ") and all(w in text for w in words), text
    assert "key '" not in text and "internal error" not in text
    assert {p.name: p.stat().st_mtime_ns for p in solved.iterdir()} == before


def test_a_folder_holds_one_run_only(solved, tmp_path, capsys):
    out = tmp_path / "out"
    shutil.copytree(solved, out)
    p = write_case(tmp_path / "case", rules={"min_schools": 7, "max_schools": 8, "clusters": 3})
    code, text = run_cli(["solve", p, "--out", out], capsys)
    assert code == 2 and "NO PLAN" in text
    assert [f.name for f in out.iterdir() if not f.name.startswith(".")] == ["infeasible.txt"]  # no stale plan
    p = write_case(tmp_path / "case")
    code, _ = run_cli(["solve", p, "--out", out], capsys)
    assert code == 0 and not (out / "infeasible.txt").exists() and (out / "plan.gpkg").exists()
    assert not list(tmp_path.glob(".out.*"))  # no temporary folders left behind


def test_a_failed_move_keeps_the_run_and_says_where(tmp_path):
    stage = cg.outputs.staging(tmp_path / "out")
    (stage / "plan.json").write_text("{}")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("someone else's")  # appeared while solving
    with pytest.raises(OutputError, match=str(stage)):
        cg.outputs.install(stage, tmp_path / "out")
    assert (stage / "plan.json").exists() and (tmp_path / "out" / "notes.txt").exists()


# --- check on edited files ------------------------------------------------------------------


def _edit_csv(name, change):
    def edit(folder: Path):
        t = pd.read_csv(folder / name, dtype=str)
        change(t).to_csv(folder / name, index=False)

    return edit


def _move_to_biggest(t):
    geo = t[t["status"] == "placed"]
    biggest = geo["cluster"].value_counts().index[0]
    victim = geo.index[geo["cluster"] != biggest]
    for i in victim[:4]:  # four more schools: above the maximum of six
        t.loc[i, "cluster"] = biggest
    return t


def _gpkg_drop_first(folder: Path):
    s = gpd.read_file(folder / "plan.gpkg", layer="schools")
    s.iloc[1:].to_file(folder / "plan.gpkg", layer="schools", driver="GPKG")


def _cluster_pupils(t):
    t.loc[0, "pupils"] = str(int(t.loc[0, "pupils"]) + 7)
    return t


CHECK_CASES = [
    ("moved-breaks-max", _edit_csv("assignment.csv", _move_to_biggest), ["moved from cluster", "above the maximum 6"]),
    (
        "row-deleted",
        _edit_csv("assignment.csv", lambda t: t.drop(index=0)),
        ["School A", "missing from assignment.csv"],
    ),
    (
        "unknown-school",
        _edit_csv(
            "assignment.csv",
            lambda t: pd.concat(
                [t, pd.DataFrame({"school_id": ["S99"], "cluster": [t.loc[0, "cluster"]], "status": ["placed"]})]
            ),
        ),
        ["S99", "unknown school"],
    ),
    ("row-twice", _edit_csv("assignment.csv", lambda t: pd.concat([t, t.iloc[[2]]])), ["School C", "more than once"]),
    ("cluster-table-pupils", _edit_csv("clusters.csv", _cluster_pupils), ["clusters.csv", "pupils"]),
    (
        "cluster-table-extra",
        _edit_csv("clusters.csv", lambda t: pd.concat([t, t.iloc[[0]].assign(cluster="Invented cluster")])),
        ["Invented cluster", "holds no school"],
    ),
    ("gpkg-school-deleted", _gpkg_drop_first, ["School A", "plan.gpkg"]),
    ("assignment-deleted", lambda f: (f / "assignment.csv").unlink(), ["assignment.csv is missing"]),
    ("infeasible-beside-plan", lambda f: (f / "infeasible.txt").write_text("old\n"), ["two different runs"]),
]


@pytest.mark.parametrize("edit,words", [c[1:] for c in CHECK_CASES], ids=[c[0] for c in CHECK_CASES])
def test_check_catches_edited_files(solved, tmp_path, capsys, edit, words):
    folder = tmp_path / "plan"
    shutil.copytree(solved, folder)
    assert check_saved(folder) == []
    edit(folder)
    problems = check_saved(folder)
    assert all(any(w in p for p in problems) for w in words), problems
    code, text = run_cli(["check", folder], capsys)
    assert code == 1 and all(w in text for w in words) and " 1 problems" not in text


def test_counts_of_one_are_singular():
    g = nx.path_graph(3)
    nx.set_node_attributes(g, 1, "pupils")
    problems = cg.check_partition(g, {0: "A", 1: "B", 2: "B"}, bounds={"schools": (2, None), "pupils": (2, None)})
    assert "cluster 'A' has 1 school, below the minimum 2" in problems
    assert "cluster 'A' has 1 pupil, below the minimum 2" in problems


@pytest.mark.parametrize(
    "edit,words",
    [
        (lambda f: (f / "plan.json").unlink(), ["plan.json"]),
        (lambda f: (f / "plan.json").write_text("{not json"), ["plan.json", "not valid JSON"]),
        (lambda f: (f / "plan.gpkg").write_bytes(b"garbage" * 100), ["plan.gpkg", "corrupt"]),
        (lambda f: shutil.rmtree(f), ["no folder"]),
    ],
    ids=["run-record-missing", "run-record-broken", "gpkg-corrupt", "folder-missing"],
)
def test_check_on_unreadable_folders_is_one_clear_error(solved, tmp_path, capsys, edit, words):
    folder = tmp_path / "plan"
    shutil.copytree(solved, folder)
    edit(folder)
    with pytest.raises(ClusterGeoError):
        check_saved(folder)
    code, text = run_cli(["check", folder], capsys)
    assert code == 2 and all(w in text for w in words), text


# --- the command line as a user runs it -------------------------------------------------------


def test_cli_subprocess_bad_input_is_one_message(tmp_path):
    p = write_case(tmp_path / "case", rules={"fewest": "no"})
    r = subprocess.run(
        [sys.executable, "-m", "clustergeo.cli", "solve", str(p), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 2 and "Traceback" not in r.stderr + r.stdout
    assert r.stderr.strip().startswith("error:") and "fewest" in r.stderr
    r = subprocess.run(
        [sys.executable, "-m", "clustergeo.cli", "-v", "solve", str(p), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 2 and "Traceback" in r.stderr  # -v shows where


def test_cli_subprocess_solve_has_no_solver_banner(tmp_path):
    p = write_case(tmp_path / "case")
    r = subprocess.run(
        [sys.executable, "-m", "clustergeo.cli", "solve", str(p), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    assert "Copyright" not in r.stdout and "Running HiGHS" not in r.stdout
    assert check_saved(tmp_path / "out") == []


def test_ctrl_c_is_one_line_and_exit_130(tmp_path):
    """A real SIGINT during a real solve (Norfolk's main rules: a few seconds of solving and
    diagnosis before the fallback variant)."""
    import signal
    import time

    out = tmp_path / "out"
    proc = subprocess.Popen(
        [sys.executable, "-m", "clustergeo.cli", "solve", "norfolk-option-4", "--out", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # a shell starts background jobs with Ctrl-C ignored, and Python then never raises
        # KeyboardInterrupt: the child gets the default, as in a terminal
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    seen = ""
    while "Solving" not in seen:
        line = proc.stderr.readline()
        assert line, "the solve ended before it started"
        seen += line
    time.sleep(2.0)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stdout + stderr
    lines = [ln for ln in stderr.splitlines() if "Interrupted" in ln]
    assert len(lines) == 1 and str(out) in lines[0]
    assert not out.exists()  # --out is as it was (it did not exist)


# --- property: any mutation is refused clearly or solved as written -------------------------


BOOL_KEYS = {"fewest"}
COUNT_KEYS = {"min_schools", "max_schools"}
COST_KEYS = {"district_penalty", "keep_current_weight"}
LIST_KEYS = {"redraw", "pinned"}
CHOICE_KEYS = {
    "districts": ("within", "penalty", "off"),
    "objective": ("travel", "boundary"),
    "connect": ("error", "nearest"),
}
RULE_KEYS = sorted(
    BOOL_KEYS | COUNT_KEYS | COST_KEYS | LIST_KEYS | set(CHOICE_KEYS) | {"clusters", "keep_whole", "max_minutes"}
)
WORDS = [
    "",
    "no",
    "yes",
    "none",
    "cluster",
    "feeds",
    "Alpha",
    "Beta",
    "West",
    "within",
    "penalty",
    "off",
    "travel",
    "boundary",
    "nearest",
    "error",
    "true",
]
VALUES = st.one_of(
    st.integers(-3, 14),
    st.floats(-5, 40, allow_nan=False).map(lambda f: round(f, 1)),
    st.booleans(),
    st.sampled_from(WORDS),
    st.lists(st.sampled_from(["Alpha", "Beta", "Alpah", "West", "East"]), max_size=2),
    st.lists(st.integers(0, 6), min_size=2, max_size=2),
)
CELLS = st.sampled_from(
    [
        "",
        "-1",
        "abc",
        "12.5",
        "1e2",
        " 150 ",
        "S01",
        "0",
        "NaN",
        "inf",
        "286000",
        "661000",
        "300000",
        "primary",
        "Special",
        "Beta",
    ]
)
CSV_COLUMNS = ["pupils", "x", "y", "phase", "school_id", "name", "cluster"]

MUTATION = st.one_of(
    st.tuples(st.just("rule"), st.sampled_from(RULE_KEYS), VALUES),
    st.tuples(st.just("solver"), st.sampled_from(["time_limit", "threads", "gap"]), VALUES),
    st.tuples(st.just("cell"), st.tuples(st.integers(0, 11), st.sampled_from(CSV_COLUMNS)), CELLS),
    st.tuples(st.just("row"), st.sampled_from(["delete", "duplicate", "swap-xy"]), st.integers(0, 11)),
)


def _whole(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and float(v) == round(float(v))


def _rule_meaning_kept(key, value, saved) -> bool:
    """Whether an accepted rule value means what it says (read independently of Rules)."""
    if key in BOOL_KEYS:
        return isinstance(value, bool) and saved is value
    if key in COUNT_KEYS:
        return _whole(value) and value >= 0 and saved == value
    if key in COST_KEYS:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0 and saved == value
    if key == "max_minutes":
        return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0 and saved == value
    if key in LIST_KEYS:
        return isinstance(value, list) and saved == value
    if key in CHOICE_KEYS:
        return saved == value
    if key == "keep_whole":
        return (value in ("cluster", "feeds") and saved == value) or (value in ("none", False) and saved is None)
    if key == "clusters":
        if isinstance(value, list):
            return all(_whole(v) for v in value) and 1 <= value[0] <= value[1] and saved == value
        return _whole(value) and value >= 1 and saved == value
    raise AssertionError(key)


def _apply_mutation(folder: Path, mutation) -> tuple[Path, pd.DataFrame]:
    kind, what, value = mutation
    table = schools_table()
    rules, solver = {}, {}
    if kind == "rule":
        rules[what] = value
    elif kind == "solver":
        solver[what] = value
    elif kind == "cell":
        row, col = what
        table.loc[row, col] = value
    elif what == "delete":
        table = table.drop(index=value).reset_index(drop=True)
    elif what == "duplicate":
        table = pd.concat([table, table.iloc[[value]]], ignore_index=True)
    else:
        table.loc[value, ["x", "y"]] = table.loc[value, ["y", "x"]].to_numpy()
    return write_case(folder, table=table, rules=rules, solver={"time_limit": 20, **solver}), table


#: More examples (and a random search) with CLUSTERGEO_PROPERTY_EXAMPLES=300, say.
PROPERTY_EXAMPLES = int(os.environ.get("CLUSTERGEO_PROPERTY_EXAMPLES", "30"))


@hsettings(
    max_examples=PROPERTY_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize="CLUSTERGEO_PROPERTY_EXAMPLES" not in os.environ,
)
@given(mutation=MUTATION)
def test_every_mutation_is_refused_clearly_or_solved_as_written(mutation):
    import contextlib
    import io
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path, table = _apply_mutation(Path(tmp) / "case", mutation)
        out = Path(tmp) / "out"
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
            code = main(["solve", str(path), "--out", str(out)])
        text = buf.getvalue()
        assert "Traceback" not in text and "internal error" not in text, text
        if code != 0:
            assert code == 2 and ("error:" in text or "NO PLAN" in text), text
            return
        assert check_saved(out) == []
        plan = cg.read_plan(out)
        kind, what, value = mutation
        if kind == "rule":
            assert _rule_meaning_kept(what, value, json.loads((out / "plan.json").read_text())["rules"][what]), (
                mutation,
                text,
            )
        placed = dict(zip(plan.schools["school_id"], plan.schools["pupils"]))
        assert sorted(placed) == sorted(table["school_id"].str.strip())  # every school exactly once
        if kind == "cell" and what[1] == "pupils":
            sid = table.loc[what[0], "school_id"]
            assert placed[sid] == float(value.strip()), (mutation, placed[sid])
        if kind == "cell" and what[1] in ("x", "y"):
            s = plan.schools.set_index("school_id").loc[table.loc[what[0], "school_id"]]
            assert getattr(s.geometry, what[1]) == pytest.approx(float(value)), mutation


def test_writing_that_fails_says_where_the_files_are(solved, tmp_path):
    plan = cg.read_plan(solved)
    out = tmp_path / "out"
    out.mkdir()
    (out / "plan.gpkg").mkdir()  # in the way of the file: the final move fails, as on a full disk
    (out / "plan.gpkg" / "x").write_text("x")
    with pytest.raises(OutputError) as info:
        cg.write_plan(plan, out, maps=False)
    assert ".out.partial-" in str(info.value)
