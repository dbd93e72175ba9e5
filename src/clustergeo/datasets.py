"""The two real cases shipped with clustergeo, and their derived current clusters.

>>> import clustergeo as cg
>>> norfolk = cg.datasets.load("norfolk")
>>> norfolk.schools            # the validated schools table (454 schools)
>>> norfolk.layers["districts"]

Neither authority publishes its cluster membership as data, so the ``cluster`` column is a
**derived stand-in**, built by the documented rules in :func:`derive_norfolk_clusters` and
:func:`derive_north_lanarkshire_clusters`, and marked as derived (``cluster_source``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .errors import DataError, Problem
from .schools import COLUMN_MAPS, read_schools

BNG = "EPSG:27700"

NAMES = {"norfolk": "norfolk", "north-lanarkshire": "north-lanarkshire",
         "north_lanarkshire": "north-lanarkshire", "nl": "north-lanarkshire"}

#: The four North Lanarkshire clusters the 2025 plan keeps as they are.
NL_KEPT = ("Airdrie Academy", "Clyde Valley High School", "Coatbridge High School",
           "St Margaret's High School")


def data_dir() -> Path:
    """The folder holding the shipped data (inside the installed package, or the repo's ``data/``)."""
    here = Path(__file__).resolve().parent
    for cand in (here / "data", here.parents[1] / "data"):
        if (cand / "norfolk" / "schools.csv").exists():
            return cand
    raise DataError(Problem("the shipped data files are not installed",
                            fix="reinstall clustergeo (pip install .) from a full checkout"))


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
        return (s.groupby("cluster", sort=True)
                .agg(schools=("school_id", "size"), pupils=("pupils", "sum"),
                     district=("district", lambda d: "; ".join(sorted(set(d.dropna())))))
                .sort_values("pupils", ascending=False))

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
    return Dataset(ds.name, ds.schools.copy(), {k: v.copy() for k, v in ds.layers.items()},
                   ds.cluster_rule)


@lru_cache(maxsize=None)
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
    schools["group"] = np.where(rc, "catholic", np.where(schools["phase"].eq("special"), "special", None))
    schools["group"] = schools["group"].astype(object).where(schools["group"].notna(), None)
    schools = derive_norfolk_clusters(schools)
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
    "North": ("Kilsyth", "Cumbernauld North", "Cumbernauld South", "Cumbernauld East",
              "Stepps, Chryston and Muirhead", "Gartcosh, Glenboig and Moodiesburn"),
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
        columns={"locality": "name"})
    schools["group"] = np.where(schools["phase"].eq("special"), "asn", None)
    schools["group"] = schools["group"].astype(object).where(schools["group"].notna(), None)
    schools = derive_north_lanarkshire_clusters(schools)
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
