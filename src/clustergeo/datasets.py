"""The two real cases shipped with clustergeo, and their derived current clusters.

>>> import clustergeo as cg
>>> norfolk = cg.datasets.load("norfolk")
>>> norfolk.schools            # the validated schools table (454 schools)
>>> norfolk.layers["districts"]

Neither authority publishes its cluster membership as data, so the ``cluster`` column is a
**derived stand-in**, built by the documented rules in :func:`derive_norfolk_clusters` and
:func:`derive_north_lanarkshire_clusters`, and marked as derived (``cluster_source``).

Each case also carries per-school **measures** (see :data:`MEASURES`) from the same census as
its rolls, read and validated by :func:`read_measures`: what :func:`clustergeo.allocate` shares
staff and money by.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .errors import DataError, Problem
from .schools import COLUMN_MAPS, read_schools

BNG = "EPSG:27700"

NAMES = {
    "norfolk": "norfolk",
    "north-lanarkshire": "north-lanarkshire",
    "north_lanarkshire": "north-lanarkshire",
    "nl": "north-lanarkshire",
}

#: The four North Lanarkshire clusters the 2025 plan keeps as they are.
NL_KEPT = ("Airdrie Academy", "Clyde Valley High School", "Coatbridge High School", "St Margaret's High School")


#: Per-school measures shipped with the cases (column -> what it counts). Counts are pupils.
MEASURES: dict[str, str] = {
    "teacher_fte": "teachers, full-time equivalent (North Lanarkshire, September 2025)",
    "asn_pupils": "pupils with an additional support need recorded (North Lanarkshire, 2025)",
    "fsm_p1_p5_pupils": "P1-P5 pupils registered for free school meals (universal in P1-P3: not a "
    "deprivation measure; North Lanarkshire, 2025)",
    "fsm_p6_s6_pupils": "P6-P7, S1-S6 and special-school pupils registered for free school meals "
    "(North Lanarkshire, 2025)",
    "simd_q1_pupils": "pupils living in SIMD quintile 1, the 20% most deprived data zones (North Lanarkshire, 2025)",
    "simd_q2_pupils": "pupils living in SIMD quintile 2 (North Lanarkshire, 2025)",
    "simd_q3_pupils": "pupils living in SIMD quintile 3 (North Lanarkshire, 2025)",
    "simd_q4_pupils": "pupils living in SIMD quintile 4 (North Lanarkshire, 2025)",
    "simd_q5_pupils": "pupils living in SIMD quintile 5, the 20% least deprived (North Lanarkshire, 2025)",
    "simd_unknown_pupils": "pupils whose SIMD quintile is not available (North Lanarkshire, 2025)",
    "fsm_pupils": "pupils known to be eligible for free school meals (Norfolk, January 2023)",
    "school_age_pupils": "pupils of compulsory school age and above (Norfolk, January 2023)",
}

#: The census suppresses counts of 1 to 4 pupils as ``c``; such a cell is counted as this many
#: pupils (the middle of 1-4, kept whole) and named in the school's ``suppressed`` column. SIMD
#: quintile cells are the exception: their hidden cells share what the others leave of the roll.
SUPPRESSED_PUPILS = 2
#: Measures that are not pupil counts (no whole-number or "at most the roll" check).
_NOT_COUNTS = frozenset({"teacher_fte"})
_SIMD = (
    "simd_q1_pupils",
    "simd_q2_pupils",
    "simd_q3_pupils",
    "simd_q4_pupils",
    "simd_q5_pupils",
    "simd_unknown_pupils",
)


def _measure_value(v: object, col: str, school: str, problems: list[Problem]) -> tuple[float, bool]:
    """One census cell as a number: ``z`` (not applicable) is 0, ``c`` is SUPPRESSED_PUPILS."""
    text = "" if pd.isna(v) else str(v).strip()
    if text == "z":
        return 0.0, False
    if text == "c":
        return float(SUPPRESSED_PUPILS), True
    num = pd.to_numeric(text, errors="coerce")
    if text == "" or pd.isna(num) or not np.isfinite(num) or num < 0:
        problems.append(
            Problem(
                f"{col} is {text!r}, not a number >= 0, 'c' (1-4, suppressed) or 'z' (not applicable)",
                column=col,
                school=school,
                fix="copy the census value unchanged (data/build_data.py)",
            )
        )
        return 0.0, False
    if col not in _NOT_COUNTS and float(num) != round(float(num)):
        problems.append(
            Problem(
                f"{col} is {text!r}, not a whole number of pupils",
                column=col,
                school=school,
                fix="copy the census count unchanged",
            )
        )
    return float(num), False


def _check_measures(out: pd.DataFrame, pupils: pd.Series, label: pd.Series, problems: list[Problem]) -> None:
    """Counts at most the roll; SIMD quintiles add up to the roll.

    The census also hides further SIMD cells (of any size, 0 included) so that a small one cannot
    be worked out, so hidden SIMD cells share what the published ones leave of the roll, equally."""
    for col in (c for c in out.columns if c in MEASURES and c not in _NOT_COUNTS):
        for i in out.index[out[col] > pupils]:
            problems.append(
                Problem(
                    f"{col} is {out.at[i, col]:.0f}, more than the {pupils[i]} pupils on the roll",
                    column=col,
                    school=label[i],
                    fix="check the census row of this school",
                )
            )
    if not all(c in out.columns for c in _SIMD):
        return
    for i in out.index:
        hidden = [c for c in _SIMD if c in out.at[i, "suppressed"].split(";")]
        known = sum(out.at[i, c] for c in _SIMD if c not in hidden)
        left = pupils[i] - known
        if left < 0 or (not hidden and left != 0):
            problems.append(
                Problem(
                    f"the published SIMD quintiles add up to {known:.0f} pupils"
                    f"{f' with {len(hidden)} suppressed cells' if hidden else ''}, "
                    f"which does not fit the roll of {pupils[i]}",
                    column="simd_q1_pupils",
                    school=label[i],
                    fix="check the census row of this school",
                )
            )
        for c in hidden:
            out.at[i, c] = left / len(hidden)


def read_measures(source: str | Path | pd.DataFrame, schools: pd.DataFrame, *, key: str) -> pd.DataFrame:
    """Read and validate a per-school measures table, aligned to ``schools`` (same index).

    Parameters
    ----------
    source : path or DataFrame
        One row per school: ``key`` (the school id) and measure columns (see :data:`MEASURES`),
        census values as published: ``z`` (not applicable) reads as 0, ``c`` (1 to 4 pupils,
        suppressed) as :data:`SUPPRESSED_PUPILS` and is named in the ``suppressed`` column.
    schools : DataFrame
        The validated schools table (``school_id``, ``name``, ``pupils``).
    key : str
        The id column of ``source``.

    Returns
    -------
    pandas.DataFrame
        The measure columns (float) and ``suppressed``, indexed like ``schools``.

    Raises
    ------
    DataError
        Naming each school and column: a school with no row (or a row for no school), a value
        that is not a count, a count above the roll, SIMD quintiles that do not add up.

    Examples
    --------
    >>> ds = load("north-lanarkshire")
    >>> int(ds.schools["asn_pupils"].sum()) > 0
    True
    """
    raw = pd.read_csv(source, dtype=str) if not isinstance(source, pd.DataFrame) else source.astype(str)
    if key not in raw.columns:
        raise DataError(Problem("the measures table has no id column", column=key, fix=f"add a '{key}' column"))
    raw = raw.assign(**{key: raw[key].str.strip()}).set_index(key)
    label = schools["school_id"].astype(str) + " " + schools["name"].astype(str)
    problems = [
        Problem("school has no row in the measures table", column=key, school=label[i], fix="add its census row")
        for i in schools.index
        if schools.at[i, "school_id"] not in raw.index
    ]
    problems += [
        Problem(
            "measures row for a school that is not in the schools table",
            column=key,
            school=str(sid),
            fix="drop the row or add the school",
        )
        for sid in sorted(set(raw.index) - set(schools["school_id"]))
    ]
    if raw.index.duplicated().any():
        problems += [
            Problem("school has more than one measures row", column=key, school=str(sid), fix="keep one row")
            for sid in sorted(set(raw.index[raw.index.duplicated()]))
        ]
    if problems:
        raise DataError(problems)
    cols = [c for c in raw.columns if c in MEASURES]
    out = pd.DataFrame(index=schools.index)
    suppressed = pd.Series("", index=schools.index, dtype=object)
    for col in cols:
        values = []
        for i, sid in zip(schools.index, schools["school_id"]):
            v, hidden = _measure_value(raw.at[sid, col], col, label[i], problems)
            values.append(v)
            if hidden:
                suppressed[i] = f"{suppressed[i]};{col}" if suppressed[i] else col
        out[col] = values
    out["suppressed"] = suppressed
    _check_measures(out, schools["pupils"], label, problems)
    if problems:
        raise DataError(problems)
    return out


def _with_measures(schools: gpd.GeoDataFrame, path: Path, key: str) -> gpd.GeoDataFrame:
    measures = read_measures(path, schools, key=key)
    return gpd.GeoDataFrame(
        pd.concat([schools.drop(columns="geometry"), measures, schools[["geometry"]]], axis=1),
        geometry="geometry",
        crs=schools.crs,
    )


def data_dir() -> Path:
    """The folder holding the shipped data (inside the installed package, or the repo's ``data/``)."""
    here = Path(__file__).resolve().parent
    for cand in (here / "data", here.parents[1] / "data"):
        if (cand / "norfolk" / "schools.csv").exists():
            return cand
    raise DataError(
        Problem(
            "the shipped data files are not installed", fix="reinstall clustergeo (pip install .) from a full checkout"
        )
    )


@dataclass
class Dataset:
    """A shipped case: the schools table plus its boundary layers.

    Attributes
    ----------
    name : str
    schools : geopandas.GeoDataFrame
        Validated schools table (see :mod:`clustergeo.schools`), with a derived ``cluster``.
    layers : dict of str to GeoDataFrame
        Boundary layers in EPSG:27700: ``authority`` and ``districts`` (Norfolk), or
        ``authority``, ``catchments`` and ``wards`` (North Lanarkshire).
    cluster_rule : str
        How the current clusters were derived, in words.
    """

    name: str
    schools: gpd.GeoDataFrame
    layers: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    cluster_rule: str = ""

    @property
    def authority(self) -> shapely.Geometry:
        """The authority outline as one (multi)polygon."""
        return shapely.union_all(self.layers["authority"].geometry.values)

    def current_clusters(self) -> pd.DataFrame:
        """Schools and pupils of each current (derived) cluster."""
        s = self.schools[self.schools["cluster"].notna()]
        return (
            s.groupby("cluster", sort=True)
            .agg(
                schools=("school_id", "size"),
                pupils=("pupils", "sum"),
                district=("district", lambda d: "; ".join(sorted(set(d.dropna())))),
            )
            .sort_values("pupils", ascending=False)
        )

    def __repr__(self) -> str:
        n = len(self.schools)
        k = self.schools["cluster"].nunique()
        return f"<Dataset {self.name}: {n} schools, {k} current clusters (derived), layers {sorted(self.layers)}>"


def available() -> list[str]:
    """Names of the shipped datasets."""
    return ["norfolk", "north-lanarkshire"]


def load(name: str) -> Dataset:
    """Load a shipped dataset by name (``"norfolk"`` or ``"north-lanarkshire"``).

    A fresh copy is returned every time, so callers may modify it.
    """
    key = NAMES.get(name.lower().strip())
    if key is None:
        raise DataError(Problem(f"no shipped dataset called {name!r}", fix=f"use one of {available()}"))
    ds = _load_cached(key)
    return Dataset(ds.name, ds.schools.copy(), {k: v.copy() for k, v in ds.layers.items()}, ds.cluster_rule)


@cache
def _load_cached(key: str) -> Dataset:
    return _load_norfolk() if key == "norfolk" else _load_north_lanarkshire()


def _layers(path: Path, names: list[str]) -> dict[str, gpd.GeoDataFrame]:
    return {n: gpd.read_file(path, layer=n) for n in names}


def _load_norfolk() -> Dataset:
    folder = data_dir() / "norfolk"
    layers = _layers(folder / "boundaries.gpkg", ["authority", "districts"])
    mapping = {k: v for k, v in COLUMN_MAPS["gias"].items() if v != "district"}
    mapping["district_name_from_location"] = "district"
    raw = pd.read_csv(folder / "schools.csv", dtype=str)
    schools = read_schools(raw, columns=mapping, crs=BNG, boundary=layers["authority"])
    rc = schools["ReligiousCharacter"].eq("Roman Catholic")
    group = pd.Series(None, index=schools.index, dtype=object).mask(schools["phase"].eq("special"), "special")
    group = group.mask(rc, "catholic")
    schools["group"] = group.where(group.notna(), None)
    # pupils of school age: the census headcount less its nursery pupils (a size measure a scenario may pick)
    nursery = pd.to_numeric(schools.get("pupils_nursery"), errors="coerce").fillna(0).astype("int64")
    schools["pupils_school_age"] = (schools["pupils"] - nursery).clip(lower=0)
    schools = derive_norfolk_clusters(schools)
    schools = _with_measures(schools, folder / "measures.csv", "URN")
    return Dataset("norfolk", schools, layers, NORFOLK_RULE)


NORFOLK_RULE = (
    "Derived stand-in (Norfolk publishes no membership list). Hubs are the state-funded "
    "secondary and all-through schools, except the University Technical College (no local "
    "intake) and the Roman Catholic high school. Every other state-funded school (primary, "
    "nursery, special, alternative provision, sixth form) joins its nearest hub in straight "
    "line; the six state-funded Roman Catholic schools form one 'Roman Catholic' cluster, as "
    "the council describes. Independent schools get no cluster. This gives 51 hub clusters "
    "plus the Roman Catholic one, against the council's 46 plus one: 2023 has more high "
    "schools (free schools, academies) than the cluster list the council describes."
)


def derive_norfolk_clusters(schools: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Give each state-funded Norfolk school a derived current cluster (see ``NORFOLK_RULE``).

    Adds ``cluster`` (the hub's name), ``feeds`` (the hub's ``school_id`` for non-hubs) and
    ``cluster_source``.
    """
    s = schools.copy()
    state = s["sector"].eq("state-funded")
    rc = s["ReligiousCharacter"].eq("Roman Catholic") & state
    utc = s["TypeOfEstablishment"].eq("University technical college")
    hub = state & s["phase"].isin(["secondary", "all-through"]) & ~rc & ~utc
    hubs = s[hub]
    hx, hy = hubs.geometry.x.to_numpy(), hubs.geometry.y.to_numpy()
    cluster = pd.Series(None, index=s.index, dtype=object)
    feeds = pd.Series(None, index=s.index, dtype=object)
    for i in s.index[state]:
        if hub[i]:
            cluster[i] = s.at[i, "name"]
        elif rc[i]:
            cluster[i] = "Roman Catholic"
        else:
            g = s.geometry[i]
            j = int(np.argmin(np.hypot(hx - g.x, hy - g.y)))
            cluster[i] = hubs["name"].iat[j]
            if s.at[i, "phase"] == "primary":
                feeds[i] = hubs["school_id"].iat[j]
    s["cluster"] = cluster
    s["feeds"] = feeds
    s["cluster_source"] = np.where(state, "derived: nearest high school (straight line)", "")
    s.loc[rc, "cluster_source"] = "derived: Roman Catholic cluster"
    return s


#: The six North Lanarkshire localities (Health and Social Care Partnership areas) as groups of
#: the 21 multi-member wards. Derived by hand from the ward names; approximate where a ward
#: straddles two localities. Used as the ``district`` column.
NL_LOCALITIES: dict[str, tuple[str, ...]] = {
    "North": (
        "Kilsyth",
        "Cumbernauld North",
        "Cumbernauld South",
        "Cumbernauld East",
        "Stepps, Chryston and Muirhead",
        "Gartcosh, Glenboig and Moodiesburn",
    ),
    "Coatbridge": ("Coatbridge North", "Coatbridge West", "Coatbridge South"),
    "Airdrie": ("Airdrie North", "Airdrie Central", "Airdrie South"),
    "Bellshill": ("Thorniewood", "Bellshill", "Mossend and Holytown"),
    "Motherwell": ("Motherwell West", "Motherwell North", "Motherwell South East and Ravenscraig"),
    "Wishaw": ("Wishaw", "Murdostoun", "Fortissat"),
}

NL_RULE = (
    "Derived stand-in (North Lanarkshire publishes no membership list). Each secondary heads "
    "its own cluster. Each primary joins the secondary whose catchment polygon contains the "
    "school, in its own denomination's layer (non-denominational SN, Roman Catholic SD). The "
    "three primaries zoned to out-of-authority secondaries (Auchinloch -> Lenzie Academy; "
    "Aitkenhead and Tannochside -> Uddingston Grammar) join the nearest North Lanarkshire "
    "secondary of the same layer instead. Special (additional-support-needs) schools join the "
    "secondary whose non-denominational catchment contains them and are in group 'asn'."
)


def _load_north_lanarkshire() -> Dataset:
    folder = data_dir() / "north-lanarkshire"
    layers = _layers(folder / "boundaries.gpkg", ["authority", "catchments", "wards"])
    raw = pd.read_csv(folder / "schools.csv", dtype=str)
    schools = read_schools(raw, columns="scotland", crs=BNG)
    # ward: the multi-member ward the school lies in (the nearest for points on an edge);
    # district: the locality that ward belongs to (derived, see NL_LOCALITIES)
    wards = layers["wards"]
    locality = {w: loc for loc, ws in NL_LOCALITIES.items() for w in ws}
    wards["locality"] = wards["ward_name"].map(locality)
    joined = gpd.sjoin_nearest(schools[["geometry"]], wards[["ward_name", "geometry"]], how="left")
    schools["ward"] = joined.groupby(level=0)["ward_name"].first().reindex(schools.index)
    schools["district"] = schools["ward"].map(locality)
    layers["districts"] = wards.dissolve("locality", as_index=False)[["locality", "geometry"]].rename(
        columns={"locality": "name"}
    )
    group = pd.Series(None, index=schools.index, dtype=object).mask(schools["phase"].eq("special"), "asn")
    schools["group"] = group.where(group.notna(), None)
    schools = derive_north_lanarkshire_clusters(schools)
    schools = _with_measures(schools, folder / "measures.csv", "seed_code")
    return Dataset("north-lanarkshire", schools, layers, NL_RULE)


def derive_north_lanarkshire_clusters(schools: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Give each North Lanarkshire school a derived current cluster (see ``NL_RULE``)."""
    s = schools.copy()
    sec = s[s["phase"].eq("secondary")]
    name_of = dict(zip(sec["school_id"], sec["name"]))
    cluster = pd.Series(None, index=s.index, dtype=object)
    feeds = pd.Series(None, index=s.index, dtype=object)
    note = pd.Series("derived: catchment containing the school", index=s.index, dtype=object)
    rc = s["denomination"].eq("Roman Catholic")
    for i in s.index:
        ph = s.at[i, "phase"]
        if ph == "secondary":
            cluster[i] = s.at[i, "name"]
            continue
        col = "sd_catchment_secondary_seed" if (rc[i] and ph == "primary") else "sn_catchment_secondary_seed"
        target = s.at[i, col]
        if not isinstance(target, str) or target not in name_of:
            same = sec[sec["denomination"].eq("Roman Catholic") == bool(rc[i] and ph == "primary")]
            g = s.geometry[i]
            j = int(np.argmin(np.hypot(same.geometry.x - g.x, same.geometry.y - g.y)))
            target = same["school_id"].iat[j]
            note[i] = "derived: catchment is out of authority; nearest secondary of its layer"
        cluster[i] = name_of[target]
        if ph == "primary":
            feeds[i] = target
    s["cluster"] = cluster
    s["feeds"] = feeds
    s["cluster_source"] = note
    return s
