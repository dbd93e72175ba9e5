"""Read, map and validate the schools table: the input every other part of clustergeo takes.

The schools table is a GeoDataFrame with one row per school:

==============  ========  =====================================================================
column          required  meaning
==============  ========  =====================================================================
``school_id``   yes       unique string: URN (England) or seed code (Scotland)
``name``        yes       school name
``phase``       yes       one of ``primary``, ``secondary``, ``all-through``, ``special``,
                          ``nursery``, ``other``
``pupils``      yes       integer >= 0 (headcount)
``geometry``    yes       Point in a projected CRS in metres (EPSG:27700 for Great Britain)
``cluster``     no        the current cluster (a label)
``district``    no        the district (or locality) the school lies in
``division``    no        a second, coarser level of districts
``feeds``       no        the ``school_id`` of the secondary a primary feeds
``group``       no        a non-geographic group (``special``, ``catholic``, ...)
``excluded``    no        why a school is left out of the optimisation (empty if it is in)
==============  ========  =====================================================================

Other columns are kept as they are. Excluded schools stay in the table (``excluded`` says
why) so that every plan can list every input school exactly once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .errors import DataError, Problem

REQUIRED = ("school_id", "name", "phase", "pupils")
OPTIONAL = ("cluster", "district", "division", "feeds", "group", "excluded")
PHASES = ("primary", "secondary", "all-through", "special", "nursery", "other")

#: Ready column mappings, source name -> schema name. The first source column present wins.
COLUMN_MAPS: dict[str, dict[str, str]] = {
    # England: Get Information About Schools (GIAS / Edubase) and the DfE school census.
    "gias": {
        "URN": "school_id",
        "EstablishmentName": "name",
        "PhaseOfEducation (name)": "phase",
        "phase": "phase",
        "NumberOfPupils": "pupils",
        "DistrictAdministrative (name)": "district",
        "DistrictAdministrative_name": "district",
        "Easting": "x",
        "Northing": "y",
    },
    # Scotland: Scottish Government school roll and locations / school level statistics.
    "scotland": {
        "SeedCode": "school_id",
        "seed_code": "school_id",
        "SchoolName": "name",
        "school_name": "name",
        "SchoolType": "phase",
        "school_type": "phase",
        "PupilRoll": "pupils",
        "pupil_roll_2025": "pupils",
        "GridRefEasting": "x",
        "GridRefNorthing": "y",
        "easting": "x",
        "northing": "y",
    },
}

#: How source phase labels map to the six schema phases (case-insensitive).
PHASE_ALIASES: dict[str, str] = {
    "primary": "primary",
    "infant": "primary",
    "junior": "primary",
    "first": "primary",
    "middle deemed primary": "primary",
    "secondary": "secondary",
    "middle deemed secondary": "secondary",
    "high": "secondary",
    "all-through": "all-through",
    "all through": "all-through",
    "all_through": "all-through",
    "special": "special",
    "nursery": "nursery",
    "16 plus": "other",
    "16+": "other",
    "alternative provision": "other",
    "pupil referral unit": "other",
    "not applicable": "other",
    "other": "other",
}

_XY_CANDIDATES = [("x", "y"), ("easting", "northing"), ("Easting", "Northing"),
                  ("GridRefEasting", "GridRefNorthing")]
_LONLAT_CANDIDATES = [("lon", "lat"), ("longitude", "latitude"), ("Longitude", "Latitude"),
                      ("lng", "lat")]

#: Great Britain bounds in WGS84, used to choose British National Grid for lon/lat input.
_GB_BOUNDS = (-9.0, 49.0, 2.5, 61.5)


def _label(df: pd.DataFrame, i: Any) -> str:
    """A human label for row ``i``: its id and name where they are known."""
    sid = df.at[i, "school_id"] if "school_id" in df else None
    name = df.at[i, "name"] if "name" in df else None
    if sid is None or (isinstance(sid, float) and np.isnan(sid)):
        sid = f"(row {i})"
    return f"{sid} {name!s}" if name is not None and not pd.isna(name) else str(sid)


def _read_any(source: Any, layer: str | None, **kwargs: Any) -> pd.DataFrame:
    if isinstance(source, gpd.GeoDataFrame):
        return source.copy()
    if isinstance(source, pd.DataFrame):
        return source.copy()
    path = Path(source)
    if not path.exists():
        raise DataError(Problem(f"file not found: {path}", fix="check the path"))
    if path.suffix.lower() in {".csv", ".txt", ".tsv"}:
        sep = "\t" if path.suffix.lower() == ".tsv" else ","
        return pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False,
                           na_values=[""], **kwargs)
    return gpd.read_file(path, layer=layer, **kwargs)


def _resolve_mapping(columns: str | Mapping[str, str] | None, df: pd.DataFrame) -> dict[str, str]:
    if columns is None:
        return {}
    if isinstance(columns, str):
        if columns not in COLUMN_MAPS:
            raise DataError(Problem(f"unknown column mapping '{columns}'",
                                    fix=f"use one of {sorted(COLUMN_MAPS)} or a dict"))
        columns = COLUMN_MAPS[columns]
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for src, dst in columns.items():
        if src in df.columns and dst not in taken and src != dst:
            mapping[src] = dst
            taken.add(dst)
    return mapping


def _geometry(df: pd.DataFrame, crs: Any, problems: list[Problem]) -> gpd.GeoDataFrame | None:
    """Build point geometry from a geometry column or coordinate columns."""
    if isinstance(df, gpd.GeoDataFrame) and df.geometry.name in df.columns:
        if df.crs is None and crs is None:
            problems.append(Problem("the table has geometry but no CRS", column="geometry",
                                    fix="pass crs='EPSG:27700' (or the right code) to read_schools"))
            return None
        gdf = df if df.crs is not None else df.set_crs(crs)
        return gdf
    pair, geographic = None, False
    for cand in _XY_CANDIDATES:
        if all(c in df.columns for c in cand):
            pair = cand
            break
    if pair is None:
        for cand in _LONLAT_CANDIDATES:
            if all(c in df.columns for c in cand):
                pair, geographic = cand, True
                break
    if pair is None:
        problems.append(Problem("no coordinates: need x/y (or Easting/Northing) or lon/lat columns",
                                column="x, y", fix="add coordinate columns or pass x= and y= names"))
        return None
    if crs is None and not geographic:
        problems.append(Problem(f"coordinates in '{pair[0]}'/'{pair[1]}' but no CRS given",
                                column=pair[0], fix="pass crs='EPSG:27700' for British National Grid"))
        return None
    xs = pd.to_numeric(df[pair[0]], errors="coerce").to_numpy(dtype=float)
    ys = pd.to_numeric(df[pair[1]], errors="coerce").to_numpy(dtype=float)
    geom = gpd.points_from_xy(xs, ys)
    return gpd.GeoDataFrame(df.drop(columns=list(pair)), geometry=geom,
                            crs=crs if crs is not None else "EPSG:4326")


def _projected(gdf: gpd.GeoDataFrame, target_crs: Any) -> gpd.GeoDataFrame:
    if target_crs is not None:
        return gdf.to_crs(target_crs)
    if gdf.crs.is_geographic:
        ok = gdf.geometry[~gdf.geometry.is_empty & gdf.geometry.notna()]
        b = ok.total_bounds if len(ok) else np.array([np.nan] * 4)
        inside_gb = np.all(np.isfinite(b)) and (b[0] >= _GB_BOUNDS[0] and b[1] >= _GB_BOUNDS[1]
                                                 and b[2] <= _GB_BOUNDS[2] and b[3] <= _GB_BOUNDS[3])
        if inside_gb:
            return gdf.to_crs("EPSG:27700")
        finite = gdf[np.isfinite(gdf.geometry.x) & np.isfinite(gdf.geometry.y)]
        return gdf.to_crs(finite.estimate_utm_crs() if len(finite) else "EPSG:3857")
    return gdf


def read_schools(
    source: Any,
    *,
    columns: str | Mapping[str, str] | None = None,
    crs: Any = None,
    target_crs: Any = None,
    layer: str | None = None,
    boundary: Any = None,
    exclude: Mapping[str, Any] | Callable[[pd.DataFrame], pd.Series] | None = None,
    phase_map: Mapping[str, str] | None = None,
    keep: bool = True,
) -> gpd.GeoDataFrame:
    """Read a schools table, map its columns to the schema, reproject and validate it.

    Parameters
    ----------
    source : path, DataFrame or GeoDataFrame
        A CSV (with ``x``/``y``, ``Easting``/``Northing`` or ``lon``/``lat`` columns), a
        GeoPackage or GeoJSON file, or a table already in memory.
    columns : {"gias", "scotland"} or dict, optional
        Source-to-schema column names. ``"gias"`` reads England's GIAS/census columns
        (URN, EstablishmentName, NumberOfPupils, Easting, ...); ``"scotland"`` reads the
        Scottish Government seed-code files (SeedCode, SchoolName, PupilRoll, ...).
    crs : optional
        CRS of the input coordinates when the file does not carry one (``"EPSG:27700"``).
        Longitude/latitude columns are taken as EPSG:4326.
    target_crs : optional
        Projected CRS in metres to work in. By default geographic input inside Great Britain
        goes to British National Grid (EPSG:27700), elsewhere to the local UTM zone.
    layer : str, optional
        Layer to read from a GeoPackage.
    boundary : geometry or GeoDataFrame, optional
        The authority's outline; schools outside it are reported (with a 100 m tolerance).
    exclude : dict or callable, optional
        Schools to leave out of the optimisation, e.g. ``{"sector": "independent"}``. They stay
        in the table with the reason in ``excluded``: nothing is dropped silently.
    phase_map : dict, optional
        Extra source-phase labels (case-insensitive) mapped to schema phases.
    keep : bool
        Keep the source columns that the schema does not name (default ``True``).

    Returns
    -------
    geopandas.GeoDataFrame
        The validated schools table, indexed 0..n-1, in a projected CRS in metres.

    Raises
    ------
    DataError
        Listing every problem found, each naming the school, the column and the fix.
    """
    df = _read_any(source, layer)
    problems: list[Problem] = []
    df = df.rename(columns=_resolve_mapping(columns, df))
    if len(df) == 0:
        raise DataError(Problem("the schools table is empty", fix="check the file and any filter"))
    missing = [c for c in REQUIRED if c not in df.columns]
    for c in missing:
        problems.append(Problem("required column is missing", column=c,
                                fix=f"rename your column to '{c}' or pass columns={{'YOUR_NAME': '{c}'}}"))
    gdf = _geometry(df, crs, problems)
    if problems:
        raise DataError(problems)
    assert gdf is not None
    gdf = gdf.reset_index(drop=True)

    # ids
    gdf["school_id"] = gdf["school_id"].map(lambda v: None if pd.isna(v) else str(v).strip())
    for i in gdf.index[gdf["school_id"].isna() | (gdf["school_id"] == "")]:
        problems.append(Problem("school id is missing", column="school_id", school=_label(gdf, i),
                                fix="give every school a unique id (URN or seed code)"))
    dup = gdf["school_id"].notna() & gdf["school_id"].duplicated(keep=False)
    for sid, grp in gdf[dup].groupby("school_id", sort=True):
        names = ", ".join(str(n) for n in grp["name"])
        problems.append(Problem(f"school id is used {len(grp)} times ({names})", column="school_id",
                                school=str(sid), fix="make ids unique or drop the duplicate rows"))
    gdf["name"] = gdf["name"].map(lambda v: "" if pd.isna(v) else str(v))

    # pupils
    raw = gdf["pupils"]
    num = pd.to_numeric(raw, errors="coerce")
    for i in gdf.index:
        v, n = raw.iat[i], num.iat[i]
        if pd.isna(v) or (isinstance(v, str) and not v.strip()):
            problems.append(Problem("pupils is missing", column="pupils", school=_label(gdf, i),
                                    fix="enter the headcount (0 if the school has no pupils yet)"))
        elif pd.isna(n):
            problems.append(Problem(f"pupils is not a number ({v!r})", column="pupils",
                                    school=_label(gdf, i), fix="enter a whole number of pupils"))
        elif not np.isfinite(n) or n < 0:
            problems.append(Problem(f"pupils is negative or not finite ({v!r})", column="pupils",
                                    school=_label(gdf, i), fix="enter a whole number >= 0"))
        elif float(n) != round(float(n)):
            problems.append(Problem(f"pupils is not a whole number ({v!r})", column="pupils",
                                    school=_label(gdf, i), fix="round the headcount to a whole number"))

    # phase
    aliases = {**PHASE_ALIASES, **{k.lower(): v for k, v in (phase_map or {}).items()}}
    phases = []
    for i in gdf.index:
        v = gdf.at[i, "phase"]
        key = "" if pd.isna(v) else str(v).strip().lower()
        if key in aliases:
            phases.append(aliases[key])
        else:
            phases.append(None)
            problems.append(Problem(f"unknown phase {v!r}", column="phase", school=_label(gdf, i),
                                    fix=f"use one of {', '.join(PHASES)} or pass phase_map={{{v!r}: 'other'}}"))

    # geometry
    geom = gdf.geometry
    for i in gdf.index:
        g = geom.iat[i]
        if g is None or g.is_empty:
            problems.append(Problem("location is missing", column="geometry", school=_label(gdf, i),
                                    fix="add coordinates for this school"))
        elif g.geom_type != "Point":
            problems.append(Problem(f"location is a {g.geom_type}, not a point", column="geometry",
                                    school=_label(gdf, i), fix="use the school's point location"))
        elif not (np.isfinite(g.x) and np.isfinite(g.y)):
            problems.append(Problem("coordinates are missing or not finite", column="x, y",
                                    school=_label(gdf, i), fix="fill in both coordinates"))
    if problems:
        raise DataError(problems)

    gdf["pupils"] = num.round().astype("int64")
    gdf["phase"] = phases
    gdf = _projected(gdf, target_crs)
    if gdf.crs.is_geographic:
        raise DataError(Problem("target CRS is geographic (degrees)", column="geometry",
                                fix="pass a projected target_crs in metres, e.g. 'EPSG:27700'"))

    if boundary is not None:
        problems.extend(_outside(gdf, boundary))
        if problems:
            raise DataError(problems)

    # exclusions: kept, with a reason
    reason = pd.Series("", index=gdf.index, dtype=object)
    if "excluded" in gdf.columns:
        reason = gdf["excluded"].map(lambda v: "" if pd.isna(v) else str(v))
    if exclude is not None:
        if callable(exclude):
            mask = pd.Series(exclude(gdf), index=gdf.index).astype(bool)
            reason = reason.where(~mask | (reason != ""), "excluded by rule")
        else:
            for col, values in exclude.items():
                if col not in gdf.columns:
                    raise DataError(Problem("exclusion names a column the table does not have",
                                            column=col, fix=f"use one of {list(gdf.columns)}"))
                values = [values] if isinstance(values, (str, int, float)) else list(values)
                mask = gdf[col].isin(values)
                text = gdf[col].map(lambda v, c=col: f"{c}={v}")
                reason = reason.where(~mask | (reason != ""), text)
    gdf["excluded"] = reason

    for c in OPTIONAL:
        if c in gdf.columns and c != "excluded":
            gdf[c] = gdf[c].map(lambda v: None if pd.isna(v) or v == "" else str(v)).astype(object)
    ordered = [c for c in (*REQUIRED, *OPTIONAL) if c in gdf.columns]
    rest = [c for c in gdf.columns if c not in ordered and c != gdf.geometry.name]
    gdf = gdf[ordered + (rest if keep else []) + [gdf.geometry.name]]
    return gpd.GeoDataFrame(gdf, geometry=gdf.geometry.name, crs=gdf.crs)


def _boundary_geometry(boundary: Any, crs: Any) -> shapely.Geometry:
    if isinstance(boundary, (gpd.GeoDataFrame, gpd.GeoSeries)):
        b = boundary.to_crs(crs) if boundary.crs is not None else boundary
        return shapely.union_all(b.geometry.values if isinstance(b, gpd.GeoDataFrame) else b.values)
    return boundary


def _outside(gdf: gpd.GeoDataFrame, boundary: Any, tolerance_m: float = 100.0) -> list[Problem]:
    shape = _boundary_geometry(boundary, gdf.crs)
    grown = shape.buffer(tolerance_m)
    shapely.prepare(grown)
    inside = shapely.contains(grown, gdf.geometry.values)
    return [Problem("location lies outside the authority boundary", column="geometry",
                    school=_label(gdf, i),
                    fix="check the coordinates (swapped x/y? wrong CRS?) or exclude the school")
            for i in np.flatnonzero(~inside)]


def validate(schools: gpd.GeoDataFrame, boundary: Any = None) -> gpd.GeoDataFrame:
    """Validate a table that is already in the schema (re-runs every check of ``read_schools``)."""
    return read_schools(schools, boundary=boundary)


def active(schools: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The schools that take part in the optimisation (those not excluded)."""
    if "excluded" not in schools.columns:
        return schools
    return schools[schools["excluded"].fillna("") == ""]


def summary(schools: gpd.GeoDataFrame, by: str = "phase") -> pd.DataFrame:
    """Schools and pupils by ``by``, with excluded schools counted apart (nothing hidden)."""
    df = pd.DataFrame({
        by: schools[by].fillna("(none)"),
        "included": schools.get("excluded", pd.Series("", index=schools.index)).fillna("") == "",
        "pupils": schools["pupils"],
    })
    out = df.groupby([by, "included"], sort=True).agg(schools=("pupils", "size"), pupils=("pupils", "sum"))
    return out.unstack("included", fill_value=0).rename(columns={True: "included", False: "excluded"})
