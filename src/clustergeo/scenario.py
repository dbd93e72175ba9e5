"""Scenario files: a proposal described in TOML, solved by ``clustergeo solve``.

A scenario names the schools (a shipped dataset or a file), the rules, the solver settings and
optional variants, each a set of rule changes::

    name = "Norfolk option 4"
    dataset = "norfolk"
    exclude = { sector = ["independent"] }

    [rules]
    min_pupils = 2500
    max_pupils = 5000
    clusters = [22, 32]
    fewest = true
    districts = "within"

    [solver]
    name = "highs"
    time_limit = 120

    [[variants]]
    name = "districts as a penalty"
    fallback = true          # solved when the main rules cannot be met
    rules = { districts = "penalty" }

Bad files get a :class:`~clustergeo.errors.RulesError` naming the key and the fix.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import geopandas as gpd

from . import datasets
from .errors import RulesError
from .rules import Rules
from .schools import read_schools

TOP_KEYS = {"name", "description", "dataset", "schools", "exclude", "rules", "solver", "travel", "variants",
            "links"}
SOLVER_KEYS = {"name", "time_limit", "gap", "threads", "seed"}
SCHOOLS_KEYS = {"file", "columns", "crs", "layer", "boundary", "boundary_layer", "districts", "districts_layer"}


def _unknown(keys: set[str], known: set[str], where: str) -> None:
    bad = sorted(keys - known)
    if bad:
        hints = []
        for b in bad:
            near = difflib.get_close_matches(b, sorted(known), 1)
            hints.append(f"'{b}'" + (f" (did you mean '{near[0]}'?)" if near else ""))
        raise RulesError(f"unknown key {', '.join(hints)} in {where}; allowed: {', '.join(sorted(known))}")


@dataclass
class Variant:
    name: str
    changes: dict[str, Any]
    fallback: bool = False

    @property
    def slug(self) -> str:
        return re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-")


@dataclass
class Scenario:
    """A parsed scenario file."""

    name: str
    rules: Rules
    description: str = ""
    dataset: str | None = None
    schools_spec: dict[str, Any] = field(default_factory=dict)
    exclude: dict[str, Any] = field(default_factory=dict)
    solver: dict[str, Any] = field(default_factory=dict)
    network: Path | None = None
    links: list[tuple[str, str]] = field(default_factory=list)
    variants: list[Variant] = field(default_factory=list)
    folder: Path = Path(".")

    def load(self) -> tuple[gpd.GeoDataFrame, Any, dict[str, gpd.GeoDataFrame]]:
        """The schools table (exclusions applied), the boundary and the map layers."""
        if self.dataset:
            ds = datasets.load(self.dataset)
            schools = read_schools(ds.schools, exclude=self.exclude or None)
            return schools, ds.layers["authority"], ds.layers
        spec = self.schools_spec
        path = self.folder / spec["file"]
        schools = read_schools(path, columns=spec.get("columns"), crs=spec.get("crs"), layer=spec.get("layer"),
                               exclude=self.exclude or None)
        layers: dict[str, gpd.GeoDataFrame] = {}
        boundary = None
        if "boundary" in spec:
            layers["authority"] = gpd.read_file(self.folder / spec["boundary"], layer=spec.get("boundary_layer"))
            boundary = layers["authority"].to_crs(schools.crs)
        if "districts" in spec:
            layers["districts"] = gpd.read_file(self.folder / spec["districts"], layer=spec.get("districts_layer"))
        if boundary is None:
            hull = schools.geometry.union_all().convex_hull.buffer(2000)
            boundary = gpd.GeoSeries([hull], crs=schools.crs)
        return schools, boundary, layers

    def variant(self, name: str) -> Rules:
        for v in self.variants:
            if v.name == name or v.slug == name:
                return self.rules.replace(**v.changes)
        raise RulesError(f"no variant {name!r}; variants: {[v.name for v in self.variants]}")


def shipped() -> dict[str, Path]:
    """The scenario files shipped with clustergeo, by name."""
    folder = resources.files("clustergeo") / "scenarios"
    return {Path(str(p)).stem: Path(str(p)) for p in folder.iterdir() if str(p).endswith(".toml")}


def read_scenario(path: str | Path) -> Scenario:
    """Read and check a scenario file (a path, or the name of a shipped scenario)."""
    p = Path(path)
    if not p.exists():
        ships = shipped()
        if str(path) in ships:
            p = ships[str(path)]
        else:
            raise RulesError(f"scenario file not found: {path}; shipped scenarios: {sorted(ships)}")
    try:
        data = tomllib.loads(p.read_text())
    except tomllib.TOMLDecodeError as e:
        raise RulesError(f"{p}: not valid TOML ({e}); fix the line it names") from e
    _unknown(set(data), TOP_KEYS, str(p))
    if "dataset" not in data and "schools" not in data:
        raise RulesError(f"{p}: say where the schools are: dataset = \"norfolk\" or a [schools] table with file = ...")
    if "dataset" in data and data["dataset"] not in datasets.NAMES:
        raise RulesError(f"{p}: key 'dataset' must be one of {datasets.available()}, not {data['dataset']!r}")
    if "schools" in data:
        _unknown(set(data["schools"]), SCHOOLS_KEYS, f"{p} [schools]")
        if "file" not in data["schools"]:
            raise RulesError(f"{p}: [schools] needs file = \"...\"")
    solver = data.get("solver", {})
    _unknown(set(solver), SOLVER_KEYS, f"{p} [solver]")
    try:
        rules = Rules.from_dict(data.get("rules", {}))
    except TypeError as e:
        raise RulesError(f"{p} [rules]: {e}") from e
    except RulesError as e:
        raise RulesError(f"{p} [rules]: {e}") from e
    variants = []
    for i, v in enumerate(data.get("variants", [])):
        _unknown(set(v), {"name", "rules", "fallback"}, f"{p} [[variants]] #{i + 1}")
        if "name" not in v:
            raise RulesError(f"{p}: variant #{i + 1} needs a name")
        try:
            rules.replace(**v.get("rules", {}))
        except RulesError as e:
            raise RulesError(f"{p}: variant {v['name']!r}: {e}") from e
        variants.append(Variant(v["name"], v.get("rules", {}), bool(v.get("fallback", False))))
    travel = data.get("travel", {})
    _unknown(set(travel), {"network"}, f"{p} [travel]")
    network = (p.parent / travel["network"]) if "network" in travel else None
    return Scenario(name=data.get("name", p.stem), rules=rules, description=data.get("description", ""),
                    dataset=data.get("dataset"), schools_spec=data.get("schools", {}),
                    exclude=data.get("exclude", {}), solver=solver, network=network,
                    links=[tuple(x) for x in data.get("links", [])], variants=variants, folder=p.parent)
