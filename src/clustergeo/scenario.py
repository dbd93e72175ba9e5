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

Optional top-level keys: ``principles`` (the rules in words, in order, for the summary and the
report), ``catchment_layers`` (a schools column naming overlapping catchment layers, drawn per
layer too), ``district_word`` (what the authority calls its districts: ``"locality"``),
``links``, ``[travel]``, ``[peer_groups]`` and ``[[allocations]]``.

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
from .allocate import read_section as read_allocations
from .errors import RulesError
from .groups import read_section as read_peer_groups
from .rules import Rules
from .schools import read_layer, read_schools

TOP_KEYS = {
    "name",
    "description",
    "dataset",
    "schools",
    "exclude",
    "rules",
    "solver",
    "travel",
    "variants",
    "links",
    "principles",
    "catchment_layers",
    "district_word",
}
TOP_KEYS |= {"peer_groups", "allocations"}  # worked inside the clusters: groups.py, allocate.py
SOLVER_KEYS = {"name", "time_limit", "gap", "threads", "seed"}
SCHOOLS_KEYS = {"file", "columns", "crs", "layer", "boundary", "boundary_layer", "districts", "districts_layer"}
SOLVERS = ("highs", "cbc", "gurobi", "scip")
VARIANT_KEYS = {"name", "rules", "fallback"}
HULL_BUFFER_M = 2000.0  # without a boundary file, the schools' hull grown by this many metres


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
    #: The ``[peer_groups]`` table (keyword arguments of :func:`clustergeo.groups.peer_groups`), or None.
    peer_groups: dict[str, Any] | None = None
    #: The ``[[allocations]]`` tables (keyword arguments of :func:`clustergeo.allocate.allocate`).
    allocations: list[dict[str, Any]] = field(default_factory=list)
    principles: list[str] = field(default_factory=list)  # what the plan must meet, in order
    #: the schools column naming overlapping catchment layers: clusters drawn per layer too
    catchment_layers: str | None = None
    #: what the authority calls its districts, in summaries and reports ("locality")
    district_word: str = "district"

    def load(self) -> tuple[gpd.GeoDataFrame, Any, dict[str, gpd.GeoDataFrame]]:
        """The schools table (exclusions applied), the boundary and the map layers.

        Schools are checked against the authority boundary whenever one is known (the shipped
        outline, or ``boundary`` in ``[schools]``), and every name the rules, the variants
        and the links use is checked against the table (:meth:`check`).
        """
        if self.dataset:
            ds = datasets.load(self.dataset)
            schools = read_schools(ds.schools, exclude=self.exclude or None, boundary=ds.layers["authority"])
            self.check(schools)
            return schools, ds.layers["authority"], ds.layers
        spec = self.schools_spec
        layers: dict[str, gpd.GeoDataFrame] = {}
        if "boundary" in spec:
            layers["authority"] = read_layer(self.folder / spec["boundary"], layer=spec.get("boundary_layer"))
        schools = read_schools(
            self.folder / spec["file"],
            columns=spec.get("columns"),
            crs=spec.get("crs"),
            layer=spec.get("layer"),
            exclude=self.exclude or None,
            boundary=layers.get("authority"),
        )
        if "districts" in spec:
            layers["districts"] = read_layer(self.folder / spec["districts"], layer=spec.get("districts_layer"))
        if "authority" in layers:
            boundary = layers["authority"].to_crs(schools.crs)
        else:
            hull = schools.geometry.union_all().convex_hull.buffer(HULL_BUFFER_M)
            boundary = gpd.GeoSeries([hull], crs=schools.crs)
        self.check(schools)
        return schools, boundary, layers

    def check(self, schools: gpd.GeoDataFrame) -> None:
        """Raise :class:`RulesError` when the rules, a variant or a link names something the
        schools table does not hold (with "did you mean" hints)."""
        errors = []
        for label, rules in [("[rules]", self.rules)] + [
            (f"variant {v.name!r}", self.rules.replace(**v.changes)) for v in self.variants
        ]:
            try:
                rules.check_names(schools)
            except RulesError as e:
                errors.append(f"{label}: {e}")
        if self.catchment_layers and self.catchment_layers not in schools.columns:
            near = difflib.get_close_matches(self.catchment_layers, list(schools.columns), 1)
            errors.append(
                f"catchment_layers: column {self.catchment_layers!r} is not in the schools table"
                + (f" (did you mean {near[0]!r}?)" if near else "")
            )
        ids = set(schools["school_id"].astype(str))
        for a, b in self.links:
            for sid in (a, b):
                if sid not in ids:
                    near = difflib.get_close_matches(sid, sorted(ids), 1)
                    errors.append(
                        f"links: school {sid!r} is not in the schools table"
                        + (f" (did you mean {near[0]!r}?)" if near else "")
                    )
        if errors:
            raise RulesError(
                f"scenario {self.name!r} names what its schools table does not hold:\n" + "\n".join(errors)
            )

    def inside(self, plan: Any, *, times: Any = None) -> Any:
        """Form the scenario's peer groups and allocations on ``plan``, check them, and return it.

        Raises
        ------
        SolverError
            When the independent checker finds a group or an allocation that breaks its terms.
        """
        from .allocate import allocate, attach
        from .check import check_inside
        from .errors import SolverError
        from .groups import peer_groups

        if self.peer_groups is not None:
            if times is None and self.network is not None:
                from .travel import travel_times

                times = travel_times(plan.schools[plan.schools["status"] != "excluded"], network=self.network)
            opts = dict(self.peer_groups)
            if "sizes" in opts:
                opts["sizes"] = tuple(opts["sizes"])
            peer_groups(plan, times=times, **opts).attach(plan)
        if self.allocations:
            attach(plan, [allocate(plan, **a) for a in self.allocations])
        problems = check_inside(plan.groups, plan.allocations, plan.schools, plan.run)
        if problems:
            raise SolverError(
                "the peer groups or allocations failed the independent check: " + "; ".join(problems[:10])
            )
        return plan

    def propose(
        self, *, variant: str | None = None, title: str | None = None, extras: bool = True, **changes: Any
    ) -> Any:
        """The plan of this scenario as ``clustergeo solve`` makes it, in Python: its rules (or a
        variant's) with ``changes``, its solver settings, peer groups and allocations.

        ``changes`` are rule changes (``min_schools=7``) or solver settings (``time_limit``,
        ``solver`` or ``name``, ``gap``, ``threads``, ``seed``, ``progress``). ``title`` names
        the plan (default: the scenario's name, and the variant's); ``extras=False`` leaves out
        the peer groups, allocations and per-layer polygons (a sweep's plans).

        Examples
        --------
        >>> plan = cg.read_scenario("north-lanarkshire").propose(min_schools=7)  # doctest: +SKIP
        >>> print(plan.summary())  # doctest: +SKIP
        """
        from .proposal import propose

        settings_ = {k: changes.pop(k) for k in (*SOLVER_KEYS, "solver", "progress") if k in changes}
        rules = (self.variant(variant) if variant else self.rules).replace(**changes)
        solver = {**self.solver, **settings_}
        solver["solver"] = solver.pop("solver", None) or solver.pop("name", None)
        solver.pop("name", None)
        schools, boundary, layers = self.load()
        title = title or (self.name if not variant else f"{self.name}: {variant}")
        plan = propose(
            schools,
            rules,
            boundary=boundary,
            layers=layers,
            network=self.network,
            links=self.links or None,
            name=title,
            **solver,
        )
        if self.district_word != "district":
            plan.run["district_word"] = self.district_word
        if self.principles and not variant and not changes:  # the principles describe the scenario's rules
            plan.run["principles"] = list(self.principles)
        if not extras:
            return plan
        if self.catchment_layers:
            from .catchment_layers import draw_by_layer

            draw_by_layer(plan, self.catchment_layers, boundary)
        return self.inside(plan)

    def variant(self, name: str) -> Rules:
        for v in self.variants:
            if v.name == name or v.slug == name:
                return self.rules.replace(**v.changes)
        names = [v.name for v in self.variants]
        near = difflib.get_close_matches(name, names, 1)
        raise RulesError(
            f"no variant {name!r}" + (f" (did you mean {near[0]!r}?)" if near else "") + f"; variants: {names}"
        )


def shipped() -> dict[str, Path]:
    """The scenario files shipped with clustergeo, by name."""
    folder = resources.files("clustergeo") / "scenarios"
    return {Path(str(p)).stem: Path(str(p)) for p in folder.iterdir() if str(p).endswith(".toml")}


def read_scenario(path: str | Path) -> Scenario:
    """Read and check a scenario file (a path, or the name of a shipped scenario).

    Every key and value is checked before anything is solved: unknown keys (with "did you
    mean" hints), the types and ranges of the rules (:meth:`Rules.validate`), the solver
    settings (``time_limit`` > 0 seconds, ``threads`` a whole number >= 0, ...), the variants
    and the links. Names are checked against the schools when they are loaded
    (:meth:`Scenario.load`).

    Examples
    --------
    >>> sc = read_scenario("north-lanarkshire")
    >>> sc.rules.min_schools, sc.rules.max_schools
    (8, 13)
    """
    p = _locate(path)
    data = _parse(p)
    _unknown(set(data), TOP_KEYS, str(p))
    _check_top(data, p)
    solver = data.get("solver", {})
    _check_solver(solver, p)
    try:
        rules = Rules.from_dict(_table(data, "rules", p))
    except (TypeError, RulesError) as e:
        raise RulesError(f"{p} [rules]: {e}") from e
    variants = _variants(data, rules, p)
    travel = _table(data, "travel", p)
    _unknown(set(travel), {"network"}, f"{p} [travel]")
    if "network" in travel:
        _string(travel["network"], "network", f"{p} [travel]")
    network = (p.parent / travel["network"]) if "network" in travel else None
    groups = read_peer_groups(data["peer_groups"], str(p)) if "peer_groups" in data else None
    allocations = read_allocations(data["allocations"], str(p)) if "allocations" in data else []
    return Scenario(
        name=data.get("name", p.stem),
        rules=rules,
        description=data.get("description", ""),
        dataset=data.get("dataset"),
        schools_spec=data.get("schools", {}),
        exclude=data.get("exclude", {}),
        solver=solver,
        network=network,
        links=_links(data.get("links", []), p),
        variants=variants,
        folder=p.parent,
        peer_groups=groups,
        allocations=allocations,
        principles=_principles(data.get("principles", []), p),
        catchment_layers=_optional_text(data, "catchment_layers", p),
        district_word=_optional_text(data, "district_word", p) or "district",
    )


def _locate(path: str | Path) -> Path:
    p = Path(path)
    if p.exists():
        if p.is_dir():
            raise RulesError(f"{p} is a folder, not a scenario file; name the .toml file")
        return p
    ships = shipped()
    if str(path) in ships:
        return ships[str(path)]
    near = difflib.get_close_matches(str(path), sorted(ships), 1)
    raise RulesError(
        f"scenario file not found: {path}"
        + (f" (did you mean {near[0]!r}?)" if near else "")
        + f"; shipped scenarios: {sorted(ships)}"
    )


def _parse(p: Path) -> dict[str, Any]:
    raw = p.read_bytes()
    if not raw.strip():
        raise RulesError(f"{p}: the scenario file is empty; start from a shipped one (clustergeo scenarios)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise RulesError(f"{p}: not UTF-8 text (byte {e.start}); save the file as UTF-8") from e
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise RulesError(f"{p}: not valid TOML ({e}); fix the line it names") from e


def _string(v: Any, key: str, where: str) -> None:
    if not isinstance(v, str) or not v.strip():
        raise RulesError(f"{where}: key {key!r} must be a text (in quotes), not {v!r}")


def _table(data: dict[str, Any], key: str, p: Path) -> dict[str, Any]:
    v = data.get(key, {})
    if not isinstance(v, dict):
        raise RulesError(f"{p}: {key!r} must be a table ([{key}] or {key} = {{ ... }}), not {v!r}")
    return v


def _check_top(data: dict[str, Any], p: Path) -> None:
    for key in ("name", "description"):
        if key in data and not isinstance(data[key], str):
            raise RulesError(f"{p}: key {key!r} must be a text (in quotes), not {data[key]!r}")
    if "dataset" not in data and "schools" not in data:
        raise RulesError(f'{p}: say where the schools are: dataset = "norfolk" or a [schools] table with file = ...')
    if "dataset" in data and "schools" in data:
        raise RulesError(f"{p}: give either dataset = ... or a [schools] table, not both")
    if "dataset" in data and (not isinstance(data["dataset"], str) or data["dataset"] not in datasets.NAMES):
        raise RulesError(f"{p}: key 'dataset' must be one of {datasets.available()}, not {data['dataset']!r}")
    if "schools" in data:
        spec = _table(data, "schools", p)
        _unknown(set(spec), SCHOOLS_KEYS, f"{p} [schools]")
        if "file" not in spec:
            raise RulesError(f'{p}: [schools] needs file = "..."')
        for key in SCHOOLS_KEYS - {"columns", "crs"}:
            if key in spec:
                _string(spec[key], key, f"{p} [schools]")
        if "columns" in spec and not isinstance(spec["columns"], (str, dict)):
            raise RulesError(
                f'{p} [schools]: key \'columns\' must be "gias", "scotland" or a table of '
                f"source = schema names, not {spec['columns']!r}"
            )
        if "crs" in spec and (isinstance(spec["crs"], bool) or not isinstance(spec["crs"], (str, int))):
            raise RulesError(f"{p} [schools]: key 'crs' must be a CRS such as \"EPSG:27700\", not {spec['crs']!r}")
    exclude = _table(data, "exclude", p)
    for col, values in exclude.items():
        vals = values if isinstance(values, list) else [values]
        if not vals or not all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in vals):
            raise RulesError(f"{p} exclude: column {col!r} must name a value or a list of values, not {values!r}")


def _check_solver(solver: Any, p: Path) -> None:
    where = f"{p} [solver]"
    if not isinstance(solver, dict):
        raise RulesError(f"{p}: 'solver' must be a table ([solver]), not {solver!r}")
    _unknown(set(solver), SOLVER_KEYS, where)
    if "name" in solver and solver["name"] not in SOLVERS:
        raise RulesError(f"{where}: key 'name' must be one of {', '.join(SOLVERS)}, not {solver['name']!r}")
    if "time_limit" in solver:
        check_seconds(solver["time_limit"], f"{where}: key 'time_limit'")
    if "gap" in solver:
        g = solver["gap"]
        if isinstance(g, bool) or not isinstance(g, (int, float)) or not 0 <= g < 1:
            raise RulesError(f"{where}: key 'gap' must be a fraction from 0 to below 1 (0.01 = 1%), not {g!r}")
    for key in ("threads", "seed"):
        if key in solver:
            v = solver[key]
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise RulesError(f"{where}: key {key!r} must be a whole number >= 0, not {v!r}")


def check_seconds(v: Any, what: str) -> float:
    """``v`` as a time limit in seconds, or a :class:`RulesError` naming ``what``.

    Examples
    --------
    >>> check_seconds(60, "time_limit")
    60.0
    """
    if isinstance(v, bool) or not isinstance(v, (int, float)) or v != v:
        raise RulesError(f"{what} must be a number of seconds, not {v!r}")
    if v <= 0:
        raise RulesError(f"{what} must be above 0 seconds, not {v!r}")
    return float(v)


def _variants(data: dict[str, Any], rules: Rules, p: Path) -> list[Variant]:
    raw = data.get("variants", [])
    if not isinstance(raw, list) or not all(isinstance(v, dict) for v in raw):
        raise RulesError(f"{p}: variants are [[variants]] tables, each with a name and rules")
    variants: list[Variant] = []
    for i, v in enumerate(raw):
        _unknown(set(v), VARIANT_KEYS, f"{p} [[variants]] #{i + 1}")
        if "name" not in v:
            raise RulesError(f"{p}: variant #{i + 1} needs a name")
        _string(v["name"], "name", f"{p} [[variants]] #{i + 1}")
        if v["name"] in {x.name for x in variants}:
            raise RulesError(f"{p}: two variants are called {v['name']!r}; give each its own name")
        if not isinstance(v.get("fallback", False), bool):
            raise RulesError(f"{p}: variant {v['name']!r}: 'fallback' must be true or false, not {v['fallback']!r}")
        changes = v.get("rules", {})
        if not isinstance(changes, dict):
            raise RulesError(f"{p}: variant {v['name']!r}: 'rules' must be a table of rule changes, not {changes!r}")
        try:
            rules.replace(**changes)
        except (TypeError, RulesError) as e:
            raise RulesError(f"{p}: variant {v['name']!r}: {e}") from e
        variants.append(Variant(v["name"], changes, v.get("fallback", False)))
    return variants


def _optional_text(data: dict[str, Any], key: str, p: Path) -> str | None:
    if key not in data:
        return None
    _string(data[key], key, str(p))
    return str(data[key])


def _links(raw: Any, p: Path) -> list[tuple[str, str]]:
    ok = isinstance(raw, list) and all(
        isinstance(x, list) and len(x) == 2 and all(isinstance(s, str) for s in x) for x in raw
    )
    if not ok:
        raise RulesError(f'{p}: links must be pairs of school ids, e.g. links = [["100001", "100002"]], not {raw!r}')
    return [(a, b) for a, b in raw]


def _principles(value: Any, p: Path) -> list[str]:
    """The scenario's principles, in order: a list of sentences."""
    if not isinstance(value, list) or not all(isinstance(x, str) and x.strip() for x in value):
        raise RulesError(
            f"{p}: key 'principles' must be a list of sentences, in order, e.g. "
            'principles = ["2,500 to 5,000 pupils per cluster", "the fewest clusters"]'
        )
    return [x.strip() for x in value]
