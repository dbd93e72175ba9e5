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

import csv
import difflib
import io
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
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

_XY_CANDIDATES = [("x", "y"), ("easting", "northing"), ("Easting", "Northing"), ("GridRefEasting", "GridRefNorthing")]
_LONLAT_CANDIDATES = [("lon", "lat"), ("longitude", "latitude"), ("Longitude", "Latitude"), ("lng", "lat")]

#: Great Britain bounds in WGS84, used to choose British National Grid for lon/lat input.
_GB_BOUNDS = (-9.0, 49.0, 2.5, 61.5)


def _label(df: pd.DataFrame, i: Any) -> str:
    """A human label for row ``i``: its id and name where they are known."""
    sid = df.at[i, "school_id"] if "school_id" in df else None
    name = df.at[i, "name"] if "name" in df else None
    if sid is None or (isinstance(sid, float) and np.isnan(sid)):
        sid = f"(row {i})"
    return f"{sid} {name!s}" if name is not None and not pd.isna(name) else str(sid)


#: Encodings tried in turn for text files: UTF-8 (with or without a byte-order mark), then
#: Windows-1252, what Excel writes for "CSV" on Windows.
ENCODINGS = ("utf-8-sig", "cp1252")
#: Delimiters a CSV may use (comma, semicolon: Excel in many European locales, tab, pipe).
DELIMITERS = (",", ";", "\t", "|")
_SNIFF_LINES = 50  # lines read to find the delimiter
_TEXT_SUFFIXES = {".csv", ".txt", ".tsv"}


def _read_any(source: Any, layer: str | None) -> pd.DataFrame:
    if isinstance(source, pd.DataFrame):  # GeoDataFrames too
        return source.copy()
    path = Path(source)
    if path.suffix.lower() in _TEXT_SUFFIXES:
        return read_csv(path)
    return read_layer(path, layer=layer)


def _existing_file(path: Path) -> None:
    if not path.exists():
        near = (
            difflib.get_close_matches(path.name, [p.name for p in path.parent.glob("*")], 1)
            if path.parent.is_dir()
            else []
        )
        raise DataError(
            Problem(
                f"file not found: {path}", column=None, fix=f"did you mean {near[0]!r}?" if near else "check the path"
            )
        )
    if path.is_dir():
        raise DataError(Problem(f"{path} is a folder, not a file", fix="name the file inside it"))
    if path.stat().st_size == 0:
        raise DataError(Problem(f"{path} is empty (0 bytes)", fix="export the table again; the file holds nothing"))


def _decode(raw: bytes, path: Path) -> tuple[str, str]:
    """The text of ``raw`` and the encoding it was in: UTF-16 (by its byte-order mark), UTF-8
    (with or without a mark) or Windows-1252; a :class:`DataError` naming ``path`` otherwise."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            pass
    errors = []
    for enc in ENCODINGS:
        try:
            return raw.decode(enc), enc
        except UnicodeDecodeError as e:
            errors.append(e)
    at = errors[0].start
    raise DataError(
        Problem(
            f"{path} is neither UTF-8 nor Windows-1252 text (byte {raw[at : at + 1]!r} at position {at})",
            fix="save it from your spreadsheet as 'CSV UTF-8'",
        )
    )


def _sniff_delimiter(text: str, path: Path) -> str:
    """The delimiter of a CSV: the candidate that splits the header into the most columns and
    every one of the first lines into the same number."""
    lines = [ln for ln in text.splitlines()[:_SNIFF_LINES] if ln.strip()]
    best, best_n = None, 1
    for d in DELIMITERS:
        counts = {len(row) for row in csv.reader(lines, delimiter=d)}
        n = len(next(csv.reader(lines[:1], delimiter=d)))
        if len(counts) == 1 and n > best_n:
            best, best_n = d, n
    if best is None:
        header = lines[0] if lines else ""
        found = {d: header.count(d) for d in DELIMITERS if header.count(d)}
        names = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
        what = ", ".join(f"{c} {names[d]}s" for d, c in found.items()) or "no delimiter"
        raise DataError(
            Problem(
                f"{path}: cannot tell how the columns are separated (the header has {what}, "
                "and the rows do not split into the same number of columns)",
                fix="save it as a comma-separated CSV with one header row",
            )
        )
    return best


def read_csv(path: str | Path) -> pd.DataFrame:
    """Read a CSV as text columns, finding its encoding (UTF-8, UTF-8 with a byte-order mark,
    UTF-16, Windows-1252) and its delimiter (comma, semicolon, tab, pipe).

    Examples
    --------
    >>> import clustergeo as cg
    >>> path = cg.datasets.data_dir() / "north-lanarkshire" / "schools.csv"
    >>> read_csv(path).shape[1]
    18
    """
    path = Path(path)
    _existing_file(path)
    text, _encoding = _decode(path.read_bytes(), path)
    if not text.strip():
        raise DataError(Problem(f"{path} holds only blank lines", fix="export the table again"))
    sep = _sniff_delimiter(text, path)
    try:
        df = pd.read_csv(io.StringIO(text), sep=sep, dtype=str, keep_default_na=False, na_values=[""])
    except (pd.errors.ParserError, csv.Error) as e:
        raise DataError(
            Problem(
                f"{path} cannot be read as a table ({e})",
                fix="check the line it names: a stray quote or a delimiter inside a value",
            )
        ) from e
    df.columns = [str(c).strip() for c in df.columns]
    return df


def read_layer(path: str | Path, *, layer: str | None = None) -> gpd.GeoDataFrame:
    """Read one layer of a GeoPackage, GeoJSON or shapefile, or say clearly why not: a missing
    or empty file, a corrupt one, or a layer that is not there (listing those that are).

    With several layers and no ``layer`` the file is refused rather than its first layer taken.

    Examples
    --------
    >>> import clustergeo as cg
    >>> path = cg.datasets.data_dir() / "north-lanarkshire" / "boundaries.gpkg"
    >>> len(read_layer(path, layer="authority"))
    1
    """
    path = Path(path)
    _existing_file(path)
    try:
        names = [str(n) for n, _kind in pyogrio.list_layers(path)]
    except Exception as e:  # GDAL says "not recognized as a supported file format" and the like
        raise DataError(
            Problem(
                f"{path} cannot be opened as a GeoPackage or other spatial file "
                f"({str(e).splitlines()[0] if str(e) else type(e).__name__})",
                fix="the file may be truncated or corrupt: export it again",
            )
        ) from e
    if not names:
        raise DataError(Problem(f"{path} holds no layers", fix="export the layer again"))
    if layer is not None and layer not in names:
        near = difflib.get_close_matches(layer, names, 1)
        raise DataError(
            Problem(
                f"{path} has no layer {layer!r}; its layers are {', '.join(map(repr, names))}",
                column="layer",
                fix=f"use layer = {near[0]!r}" if near else "name one of them",
            )
        )
    if layer is None and len(names) > 1:
        raise DataError(
            Problem(
                f"{path} has {len(names)} layers ({', '.join(map(repr, names))}); it is not clear which to read",
                column="layer",
                fix="name the layer (layer = ... in [schools], or boundary_layer = ...)",
            )
        )
    try:
        return gpd.read_file(path, layer=layer or names[0])
    except Exception as e:
        raise DataError(
            Problem(
                f"{path}: layer {layer or names[0]!r} cannot be read ({e})",
                fix="the file may be truncated or corrupt: export it again",
            )
        ) from e


def _resolve_mapping(columns: str | Mapping[str, str] | None, df: pd.DataFrame) -> dict[str, str]:
    if columns is None:
        return {}
    if isinstance(columns, str):
        if columns not in COLUMN_MAPS:
            raise DataError(
                Problem(f"unknown column mapping '{columns}'", fix=f"use one of {sorted(COLUMN_MAPS)} or a dict")
            )
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
            problems.append(
                Problem(
                    "the table has geometry but no CRS",
                    column="geometry",
                    fix="pass crs='EPSG:27700' (or the right code) to read_schools",
                )
            )
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
        problems.append(
            Problem(
                "no coordinates: need x/y (or Easting/Northing) or lon/lat columns",
                column="x, y",
                fix="add coordinate columns or pass x= and y= names",
            )
        )
        return None
    if crs is None and not geographic:
        problems.append(
            Problem(
                f"coordinates in '{pair[0]}'/'{pair[1]}' but no CRS given",
                column=pair[0],
                fix="pass crs='EPSG:27700' for British National Grid",
            )
        )
        return None
    xs = pd.to_numeric(df[pair[0]], errors="coerce").to_numpy(dtype=float)
    ys = pd.to_numeric(df[pair[1]], errors="coerce").to_numpy(dtype=float)
    geom = gpd.points_from_xy(xs, ys)
    return gpd.GeoDataFrame(df.drop(columns=list(pair)), geometry=geom, crs=crs if crs is not None else "EPSG:4326")


def _projected(gdf: gpd.GeoDataFrame, target_crs: Any) -> gpd.GeoDataFrame:
    if target_crs is not None:
        return gdf.to_crs(target_crs)
    if gdf.crs.is_geographic:
        ok = gdf.geometry[~gdf.geometry.is_empty & gdf.geometry.notna()]
        b = ok.total_bounds if len(ok) else np.array([np.nan] * 4)
        inside_gb = np.all(np.isfinite(b)) and (
            b[0] >= _GB_BOUNDS[0] and b[1] >= _GB_BOUNDS[1] and b[2] <= _GB_BOUNDS[2] and b[3] <= _GB_BOUNDS[3]
        )
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
    gdf = _table_stage(source, columns=columns, crs=crs, layer=layer)
    problems = _id_problems(gdf) + _pupil_problems(gdf)
    phases = _phases(gdf, phase_map, problems)
    problems += _location_problems(gdf)
    if problems:
        raise DataError(problems)
    gdf["pupils"] = pd.to_numeric(gdf["pupils"]).round().astype("int64")
    gdf["phase"] = phases
    gdf = _project_stage(gdf, target_crs=target_crs, boundary=boundary)
    gdf["excluded"] = _exclusions(gdf, exclude)
    return _finish(gdf, keep=keep)


def _table_stage(source: Any, *, columns: Any, crs: Any, layer: str | None) -> gpd.GeoDataFrame:
    """Read the source, map its columns, check the required ones and build the points."""
    df = _read_any(source, layer)
    df = df.rename(columns=_resolve_mapping(columns, df))
    if len(df) == 0:
        raise DataError(Problem("the schools table is empty", fix="check the file and any filter"))
    problems: list[Problem] = []
    for c in (c for c in REQUIRED if c not in df.columns):
        near = difflib.get_close_matches(c, [str(x) for x in df.columns], 1, cutoff=0.6)
        fix = f"rename your column to '{c}' or pass columns={{'YOUR_NAME': '{c}'}}"
        if near:
            fix = f"did you mean '{near[0]}'? " + fix
        elif len(df.columns) == 1:
            fix = f"the file was read as one column ({str(df.columns[0])[:60]!r}): check its delimiter; " + fix
        problems.append(Problem("required column is missing", column=c, fix=fix))
    gdf = _geometry(df, crs, problems)
    if problems:
        raise DataError(problems)
    assert gdf is not None
    return gdf.reset_index(drop=True)


def _id_problems(gdf: gpd.GeoDataFrame) -> list[Problem]:
    """School ids as stripped strings (in place): each missing or repeated one is a problem."""
    problems = []
    gdf["school_id"] = gdf["school_id"].map(lambda v: None if pd.isna(v) else str(v).strip())
    for i in gdf.index[gdf["school_id"].isna() | (gdf["school_id"] == "")]:
        problems.append(
            Problem(
                "school id is missing",
                column="school_id",
                school=_label(gdf, i),
                fix="give every school a unique id (URN or seed code)",
            )
        )
    dup = gdf["school_id"].notna() & gdf["school_id"].duplicated(keep=False)
    for sid, grp in gdf[dup].groupby("school_id", sort=True):
        names = ", ".join(str(n) for n in grp["name"])
        problems.append(
            Problem(
                f"school id is used {len(grp)} times ({names})",
                column="school_id",
                school=str(sid),
                fix="make ids unique or drop the duplicate rows",
            )
        )
    gdf["name"] = gdf["name"].map(lambda v: "" if pd.isna(v) else str(v))
    return problems


def _pupil_problems(gdf: gpd.GeoDataFrame) -> list[Problem]:
    problems = []
    raw = gdf["pupils"]
    num = pd.to_numeric(raw.map(lambda v: v.strip() if isinstance(v, str) else v), errors="coerce")
    for i in gdf.index:
        v, n = raw.iat[i], num.iat[i]
        if isinstance(v, (bool, np.bool_)):
            problems.append(
                Problem(
                    f"pupils is a true/false value ({v!r})",
                    column="pupils",
                    school=_label(gdf, i),
                    fix="enter a whole number of pupils",
                )
            )
        elif pd.isna(v) or (isinstance(v, str) and not v.strip()):
            problems.append(
                Problem(
                    "pupils is missing",
                    column="pupils",
                    school=_label(gdf, i),
                    fix="enter the headcount (0 if the school has no pupils yet)",
                )
            )
        elif pd.isna(n):
            problems.append(
                Problem(
                    f"pupils is not a number ({v!r})",
                    column="pupils",
                    school=_label(gdf, i),
                    fix="enter a whole number of pupils",
                )
            )
        elif not np.isfinite(n) or n < 0:
            problems.append(
                Problem(
                    f"pupils is negative or not finite ({v!r})",
                    column="pupils",
                    school=_label(gdf, i),
                    fix="enter a whole number >= 0",
                )
            )
        elif float(n) != round(float(n)):
            problems.append(
                Problem(
                    f"pupils is not a whole number ({v!r})",
                    column="pupils",
                    school=_label(gdf, i),
                    fix="round the headcount to a whole number",
                )
            )
    return problems


def _phases(gdf: gpd.GeoDataFrame, phase_map: Mapping[str, str] | None, problems: list[Problem]) -> list:
    aliases = {**PHASE_ALIASES, **{k.lower(): v for k, v in (phase_map or {}).items()}}
    phases: list[str | None] = []
    for i in gdf.index:
        v = gdf.at[i, "phase"]
        key = "" if pd.isna(v) else str(v).strip().lower()
        if key in aliases:
            phases.append(aliases[key])
        else:
            phases.append(None)
            problems.append(
                Problem(
                    f"unknown phase {v!r}",
                    column="phase",
                    school=_label(gdf, i),
                    fix=f"use one of {', '.join(PHASES)} or pass phase_map={{{v!r}: 'other'}}",
                )
            )
    return phases


def _location_problems(gdf: gpd.GeoDataFrame) -> list[Problem]:
    problems = []
    for i, g in enumerate(gdf.geometry):
        if g is None or g.is_empty:
            problems.append(
                Problem(
                    "location is missing",
                    column="geometry",
                    school=_label(gdf, i),
                    fix="add coordinates for this school",
                )
            )
        elif g.geom_type != "Point":
            problems.append(
                Problem(
                    f"location is a {g.geom_type}, not a point",
                    column="geometry",
                    school=_label(gdf, i),
                    fix="use the school's point location",
                )
            )
        elif not (np.isfinite(g.x) and np.isfinite(g.y)):
            problems.append(
                Problem(
                    "coordinates are missing or not finite",
                    column="x, y",
                    school=_label(gdf, i),
                    fix="fill in both coordinates",
                )
            )
    return problems


def _project_stage(gdf: gpd.GeoDataFrame, *, target_crs: Any, boundary: Any) -> gpd.GeoDataFrame:
    """Check the coordinates fit their CRS, reproject, and check them against the boundary."""
    problems = coordinate_problems(gdf)
    if problems:
        raise DataError(problems)
    gdf = _projected(gdf, target_crs)
    if gdf.crs.is_geographic:
        raise DataError(
            Problem(
                "target CRS is geographic (degrees)",
                column="geometry",
                fix="pass a projected target_crs in metres, e.g. 'EPSG:27700'",
            )
        )
    if boundary is not None:
        problems = _outside(gdf, boundary)
        if problems:
            raise DataError(problems)
    return gdf


def _exclusions(gdf: gpd.GeoDataFrame, exclude: Any) -> pd.Series:
    """Why each school is left out ("" if it takes part): the ``excluded`` column and ``exclude``."""
    reason = pd.Series("", index=gdf.index, dtype=object)
    if "excluded" in gdf.columns:
        reason = gdf["excluded"].map(lambda v: "" if pd.isna(v) else str(v))
    if exclude is None:
        return reason
    if callable(exclude):
        mask = pd.Series(exclude(gdf), index=gdf.index).astype(bool)
        return reason.where(~mask | (reason != ""), "excluded by rule")
    for col, values in exclude.items():
        if col not in gdf.columns:
            near = difflib.get_close_matches(str(col), [str(c) for c in gdf.columns], 1)
            raise DataError(
                Problem(
                    "exclusion names a column the table does not have",
                    column=col,
                    fix=f"did you mean {near[0]!r}?" if near else f"use one of {list(gdf.columns)}",
                )
            )
        values = [values] if isinstance(values, (str, int, float)) else list(values)
        have = {str(v) for v in gdf[col].dropna()}
        for v in values:
            if str(v) not in have:
                near = difflib.get_close_matches(str(v), sorted(have), 1)
                raise DataError(
                    Problem(
                        f"exclusion {col} = {v!r} matches no school",
                        column=col,
                        fix=f"did you mean {near[0]!r}?" if near else f"the column holds {sorted(have)[:10]}",
                    )
                )
        mask = gdf[col].astype(str).isin([str(v) for v in values]) & gdf[col].notna()
        text = gdf[col].map(lambda v, c=col: f"{c}={v}")
        reason = reason.where(~mask | (reason != ""), text)
    return reason


def _finish(gdf: gpd.GeoDataFrame, *, keep: bool) -> gpd.GeoDataFrame:
    for c in OPTIONAL:
        if c in gdf.columns and c != "excluded":
            gdf[c] = gdf[c].map(lambda v: None if pd.isna(v) or v == "" else str(v)).astype(object)
    ordered = [c for c in (*REQUIRED, *OPTIONAL) if c in gdf.columns]
    rest = [c for c in gdf.columns if c not in ordered and c != gdf.geometry.name]
    gdf = gdf[ordered + (rest if keep else []) + [gdf.geometry.name]]
    return gpd.GeoDataFrame(gdf, geometry=gdf.geometry.name, crs=gdf.crs)


def _xy(gdf: gpd.GeoDataFrame, i: int | np.integer) -> str:
    g = gdf.geometry.iat[i]
    if (gdf.crs is not None and gdf.crs.is_geographic) or max(abs(g.x), abs(g.y)) < 1000:
        return f"({g.x:.6g}, {g.y:.6g})"
    return f"({g.x:,.0f}, {g.y:,.0f})"


def _bulk_box(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float, float]:
    """Where most schools are: the box between the 10th and 90th percentiles, grown by its own
    size (so that an authority's edge schools fall inside, and a swapped point does not)."""
    lo_x, hi_x = np.percentile(x, [10, 90])
    lo_y, hi_y = np.percentile(y, [10, 90])
    wx, wy = max(hi_x - lo_x, 1e-9), max(hi_y - lo_y, 1e-9)
    return lo_x - wx, lo_y - wy, hi_x + wx, hi_y + wy


def _inside(box: tuple[float, float, float, float], x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return (x >= box[0]) & (x <= box[2]) & (y >= box[1]) & (y <= box[3])


def coordinate_problems(gdf: gpd.GeoDataFrame) -> list[Problem]:
    """Schools whose coordinates cannot be right in the table's CRS, found before any
    projection: degrees beyond +-180/+-90 (metres declared as EPSG:4326), degrees declared as
    a projected CRS, points outside the area the CRS covers, and x/y (or lon/lat) swapped.

    Examples
    --------
    >>> import geopandas as gpd
    >>> t = gpd.GeoDataFrame({"school_id": ["1"], "name": ["A"]},
    ...                      geometry=gpd.points_from_xy([277620], [675058]), crs="EPSG:4326")
    >>> coordinate_problems(t)[0].fix
    'these look like metres (British National Grid?): declare crs = "EPSG:27700"'
    """
    x, y = gdf.geometry.x.to_numpy(dtype=float), gdf.geometry.y.to_numpy(dtype=float)
    crs = pyproj.CRS(gdf.crs)
    if crs.is_geographic:
        out = _degree_problems(gdf, x, y)
    elif crs.axis_info and crs.axis_info[0].unit_name in ("metre", "meter"):
        out = _metre_problems(gdf, x, y, crs)
    else:
        out = []
    if out or len(x) < 5:
        return out
    box = _bulk_box(x, y)  # one school with its x and y exchanged, among the others
    return [
        Problem(
            f"coordinates {_xy(gdf, i)} lie far from the other schools, and among them once x and y are exchanged",
            column="x, y",
            school=_label(gdf, i),
            fix="x and y look swapped for this school: exchange them",
        )
        for i in np.flatnonzero(~_inside(box, x, y) & _inside(box, y, x))
    ]


def _degree_problems(gdf: gpd.GeoDataFrame, x: np.ndarray, y: np.ndarray) -> list[Problem]:
    out = [
        Problem(
            f"coordinates {_xy(gdf, i)} are not degrees (longitude -180..180, latitude -90..90)",
            column="geometry",
            school=_label(gdf, i),
            fix='these look like metres (British National Grid?): declare crs = "EPSG:27700"',
        )
        for i in np.flatnonzero((np.abs(x) > 180) | (np.abs(y) > 90))
    ]
    if not out and not _inside(_GB_BOUNDS, x, y).any() and _inside(_GB_BOUNDS, y, x).all():
        out.append(
            Problem(
                f"longitude and latitude look swapped: every school lies in Great Britain with them "
                f"exchanged (this one at {_xy(gdf, 0)})",
                column="lon, lat",
                school=_label(gdf, 0),
                fix="exchange the lon and lat columns (lon is x, lat is y)",
            )
        )
    return out


def _metre_problems(gdf: gpd.GeoDataFrame, x: np.ndarray, y: np.ndarray, crs: pyproj.CRS) -> list[Problem]:
    if len(x) and (np.abs(x) <= 180).all() and (np.abs(y) <= 90).all():
        return [
            Problem(
                f"every coordinate is within +-180/+-90 (this school at {_xy(gdf, 0)}): these look like "
                f"degrees, not the metres of {crs.to_string()}",
                column="geometry",
                school=_label(gdf, 0),
                fix='declare crs = "EPSG:4326" (or name the columns lon and lat)',
            )
        ]
    if crs.area_of_use is None:
        return []
    area = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform_bounds(*crs.area_of_use.bounds)
    out = []
    for i in np.flatnonzero(~_inside(area, x, y)):
        swapped = _inside(area, y[i : i + 1], x[i : i + 1])[0]
        out.append(
            Problem(
                f"coordinates {_xy(gdf, i)} lie outside the area {crs.to_string()} covers",
                column="geometry",
                school=_label(gdf, i),
                fix="x and y look swapped: exchange them"
                if swapped
                else f"check the coordinates, and that the file's CRS really is {crs.to_string()}",
            )
        )
    return out


def _boundary_geometry(boundary: Any, crs: Any) -> shapely.Geometry:
    if isinstance(boundary, (gpd.GeoDataFrame, gpd.GeoSeries)):
        b = boundary.to_crs(crs) if boundary.crs is not None else boundary
        return shapely.union_all(b.geometry.values if isinstance(b, gpd.GeoDataFrame) else b.values)
    return boundary


def _outside(gdf: gpd.GeoDataFrame, boundary: Any, tolerance_m: float = 100.0) -> list[Problem]:
    """Schools outside the boundary (grown by ``tolerance_m``), each with its coordinates and
    the likely cause: x/y swapped (the swapped point is inside), or a wrong location or CRS."""
    shape = _boundary_geometry(boundary, gdf.crs)
    grown = shape.buffer(tolerance_m)
    shapely.prepare(grown)
    inside = shapely.contains(grown, gdf.geometry.values)
    out = []
    for i in np.flatnonzero(~inside):
        g = gdf.geometry.iat[i]
        km = shape.distance(g) / 1000
        if shapely.contains(grown, shapely.Point(g.y, g.x)):
            fix = "x and y look swapped (the point lies inside once they are exchanged): exchange them"
        elif (~inside).all():
            fix = "no school lies inside: check the CRS of the schools and of the boundary"
        else:
            fix = "check the coordinates (a typo? a school of another authority?) or exclude the school"
        out.append(
            Problem(
                f"location {_xy(gdf, i)} lies outside the authority boundary ({km:,.1f} km away)",
                column="geometry",
                school=_label(gdf, i),
                fix=fix,
            )
        )
    return out


def validate(schools: gpd.GeoDataFrame, boundary: Any = None) -> gpd.GeoDataFrame:
    """Validate a table that is already in the schema (re-runs every check of ``read_schools``)."""
    return read_schools(schools, boundary=boundary)


def active(schools: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The schools that take part in the optimisation (those not excluded)."""
    if "excluded" not in schools.columns:
        return schools
    return schools[schools["excluded"].fillna("") == ""]


def schools_summary(schools: gpd.GeoDataFrame, by: str = "phase") -> pd.DataFrame:
    """Schools and pupils by ``by``, with excluded schools counted apart (nothing hidden).

    Returns
    -------
    pandas.DataFrame
        One row per value of ``by`` and an ``all`` row; columns ``schools`` and ``pupils``
        (included), ``excluded_schools`` and ``excluded_pupils``.

    Examples
    --------
    >>> import clustergeo as cg
    >>> s = cg.datasets.load("north-lanarkshire").schools
    >>> int(cg.schools_summary(s).loc["all", "schools"])
    155
    """
    included = schools.get("excluded", pd.Series("", index=schools.index)).fillna("") == ""
    key = schools[by].fillna("(none)").astype(str)
    pupils = schools["pupils"]
    out = pd.DataFrame(
        {
            "schools": included.groupby(key).sum(),
            "pupils": pupils.where(included, 0).groupby(key).sum(),
            "excluded_schools": (~included).groupby(key).sum(),
            "excluded_pupils": pupils.where(~included, 0).groupby(key).sum(),
        }
    ).astype(int)
    out.loc["all"] = out.sum()
    out.index.name = by
    return out


def summary(schools: gpd.GeoDataFrame, by: str = "phase") -> pd.DataFrame:
    """The old name and table of :func:`schools_summary` (it summarises schools, not plans):
    columns ``(schools|pupils, included|excluded)``, no ``all`` row."""
    import warnings

    warnings.warn("clustergeo.summary is now clustergeo.schools_summary", DeprecationWarning, stacklevel=2)
    df = pd.DataFrame(
        {
            by: schools[by].fillna("(none)"),
            "included": schools.get("excluded", pd.Series("", index=schools.index)).fillna("") == "",
            "pupils": schools["pupils"],
        }
    )
    out = df.groupby([by, "included"], sort=True).agg(schools=("pupils", "size"), pupils=("pupils", "sum"))
    return out.unstack("included", fill_value=0).rename(columns={True: "included", False: "excluded"})
