"""Rebuild the shipped data files from the raw public sources (maintainers only).

This script documents exactly how ``data/*`` was made. It is not part of the package,
the tests never run it, and the package never reads the raw folder. Run it from the repo
root with the raw folder as argument::

    python data/build_data.py ../shared/data

What it does (nothing else is changed):

* keeps a documented subset of columns of each schools file, unchanged in value;
* reprojects boundary polygons to British National Grid (EPSG:27700) and simplifies each
  layer as a *coverage* (``shapely.coverage_simplify``, 10 m tolerance), so that shared
  edges stay shared and no new gaps or overlaps appear;
* writes one GeoPackage per case with its boundary layers;
* writes one ``measures.csv`` per case: per-school counts used to share staff and money
  (:mod:`clustergeo.allocate`), columns renamed, values unchanged (suppression symbols kept).
"""

from __future__ import annotations

import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

HERE = Path(__file__).resolve().parent
BNG = "EPSG:27700"

NORFOLK_COLUMNS = [
    "URN", "LAESTAB", "EstablishmentName", "phase", "sector", "TypeOfEstablishment",
    "ReligiousCharacter", "NumberOfPupils", "DistrictAdministrative_code",
    "DistrictAdministrative_name", "district_code_from_location", "district_name_from_location",
    "AdministrativeWard_name", "UrbanRural", "Postcode", "Easting", "Northing",
    "pupils_nursery",  # nursery pupils, so a scenario can count pupils of school age only
]
NL_COLUMNS = [
    "seed_code", "school_name", "school_type", "centre_type", "denomination", "pupil_roll_2025",
    "town", "postcode", "datazone_2011", "easting", "northing", "urban_rural_6fold",
    "sn_catchment_secondary_seed", "sn_catchment_secondary_name", "sd_catchment_secondary_seed",
    "sd_catchment_secondary_name", "cluster_secondary_seed_derived", "cluster_secondary_name_derived",
]


#: North Lanarkshire per-school measures: 2025 school level summary statistics column -> shipped name.
NL_MEASURES = {
    "SeedCode": "seed_code",
    "Teachers (Full Time Equivalent) [Note 1]": "teacher_fte",
    "Pupils with an Additional Support Need recorded": "asn_pupils",
    "P1-P5 pupils registered for free school meals [Note 5]": "fsm_p1_p5_pupils",
    "P6-P7/S1-S6/SP pupils registered for free school meals [Note 5]": "fsm_p6_s6_pupils",
    "SIMD Quintile 1 [Note 6]": "simd_q1_pupils",
    "SIMD Quintile 2 [Note 6]": "simd_q2_pupils",
    "SIMD Quintile 3 [Note 6]": "simd_q3_pupils",
    "SIMD Quintile 4 [Note 6]": "simd_q4_pupils",
    "SIMD Quintile 5 [Note 6]": "simd_q5_pupils",
    "SIMD not availble [Note 6]": "simd_unknown_pupils",
}
#: Norfolk per-school measures: January 2023 census (spc 2022/23) column -> shipped name.
NORFOLK_MEASURES = {
    "urn": "URN",
    "number of pupils known to be eligible for free school meals": "fsm_pupils",
    "number of pupils of compulsory school age and above (rounded)": "school_age_pupils",
}


def _coverage_simplify(gdf: gpd.GeoDataFrame, tolerance: float = 10.0) -> gpd.GeoDataFrame:
    out = gdf.to_crs(BNG).copy()
    out["geometry"] = shapely.make_valid(shapely.coverage_simplify(out.geometry.values, tolerance))
    return out


def main(raw: Path) -> None:
    nf = raw / "norfolk"
    schools = pd.read_csv(nf / "norfolk_schools.csv", dtype={"URN": str, "LAESTAB": str})
    (HERE / "norfolk").mkdir(exist_ok=True)
    schools[NORFOLK_COLUMNS].to_csv(HERE / "norfolk" / "schools.csv", index=False)
    spc = pd.read_csv(nf / "norfolk_schools_spc_2022_23_raw.csv", dtype=str)
    spc = spc[list(NORFOLK_MEASURES)].rename(columns=NORFOLK_MEASURES)
    # the census writes this count as a float ("111.0"): the value is a whole number, kept as one
    spc["school_age_pupils"] = spc["school_age_pupils"].map(lambda v: v[:-2] if v.endswith(".0") else v)
    spc.sort_values("URN").to_csv(HERE / "norfolk" / "measures.csv", index=False)
    gpkg = HERE / "norfolk" / "boundaries.gpkg"
    gpkg.unlink(missing_ok=True)
    districts = gpd.read_file(nf / "norfolk_districts.geojson")[["LAD13CD", "LAD13NM", "geometry"]]
    districts = _coverage_simplify(districts.rename(columns={"LAD13CD": "code", "LAD13NM": "name"}))
    districts.to_file(gpkg, layer="districts")
    county = gpd.read_file(nf / "norfolk_county.geojson")[["CTY_CD", "CTY_NM", "geometry"]]
    county = county.rename(columns={"CTY_CD": "code", "CTY_NM": "name"})
    county["geometry"] = [shapely.unary_union(districts.geometry.values)]
    county.set_crs(BNG, allow_override=True).to_file(gpkg, layer="authority")

    nl = raw / "north-lanarkshire"
    schools = pd.read_csv(nl / "nl_schools.csv", dtype=str)
    (HERE / "north-lanarkshire").mkdir(exist_ok=True)
    schools[NL_COLUMNS].to_csv(HERE / "north-lanarkshire" / "schools.csv", index=False)
    stats = pd.read_csv(nl / "nl_school_level_summary_statistics_2025.csv", dtype=str)
    stats = stats[list(NL_MEASURES)].rename(columns=NL_MEASURES)
    stats.sort_values("seed_code").to_csv(HERE / "north-lanarkshire" / "measures.csv", index=False)
    gpkg = HERE / "north-lanarkshire" / "boundaries.gpkg"
    gpkg.unlink(missing_ok=True)
    catch = gpd.read_file(nl / "nl_secondary_catchments.geojson")
    catch = catch[["catchment_layer", "publisher_la", "secondary_seed_code", "secondary_school_name",
                   "secondary_in_north_lanarkshire", "geometry"]]
    parts = [_coverage_simplify(catch[catch.catchment_layer == layer]) for layer in ("SN", "SD")]
    pd.concat(parts).to_file(gpkg, layer="catchments")
    council = gpd.read_file(nl / "nl_council_area_lad2023_bfe_simplified.geojson").to_crs(BNG)
    council = council.rename(columns={"name": "name"})[["name", "geometry"]]
    council.to_file(gpkg, layer="authority")
    wards = gpd.read_file(nl / "nl_wards_2022.geojson")
    _coverage_simplify(wards).to_file(gpkg, layer="wards")

    rd = raw / "roads"
    (HERE / "roads").mkdir(exist_ok=True)
    cols = ["dz11_code", "dz11_name", "Total_population", "drive_primary", "drive_secondary"]
    pd.read_csv(rd / "nl_simd2020_dz_access_drive_times.csv")[cols].to_csv(
        HERE / "roads" / "nl_simd2020_drive_times.csv", index=False)
    cols = ["lsoa11_code", "lsoa11_name", "ltla19_name", "road_distance_to_a_primary_school_indicator_km"]
    pd.read_csv(rd / "norfolk_imd2019_lsoa_road_distances.csv")[cols].to_csv(
        HERE / "roads" / "norfolk_iod2019_road_km.csv", index=False)
    gpkg = HERE / "roads" / "areas.gpkg"
    gpkg.unlink(missing_ok=True)
    dz = gpd.read_file(rd / "nl_datazones_2011_simplified.geojson").to_crs(BNG)
    dz[["dz11_code", "geometry"]].to_file(gpkg, layer="nl_datazones")
    ls = gpd.read_file(rd / "norfolk_lsoa_2011_simplified.geojson").to_crs(BNG)
    code = "lsoa11_code" if "lsoa11_code" in ls else ls.columns[0]
    ls[[code, "geometry"]].rename(columns={code: "lsoa11_code"}).to_file(gpkg, layer="norfolk_lsoas")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data"))
