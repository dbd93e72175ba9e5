"""Calibration of the straight-line travel estimate on the shipped access figures.

The figures are shipped with the datasets (``data/roads``): IoD 2019 road distances from each
Norfolk LSOA to its nearest primary school, and SIMD 2020 drive times from each North
Lanarkshire data zone to its nearest primary and secondary. :func:`calibrate` fits the detour
factor, the short-trip speed and the short-trip length that :mod:`clustergeo.travel` uses.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from . import datasets


def calibrate(data: Path | None = None, *, max_area_km2: float = 2.0) -> dict[str, float]:
    """Calibrate the straight-line estimate against published figures.

    * detour factor: Norfolk, IoD 2019 road distance (km) from each LSOA to its nearest
      primary school, against the straight-line distance from the LSOA centroid to the
      nearest state-funded primary (2023): least-squares slope through the origin, over the
      compact LSOAs (under ``max_area_km2``), where the centroid stands for where people
      live (in large rural LSOAs the population-weighted IoD distance is far shorter than
      the distance from the centroid, which would push the factor below 1);
    * speed: North Lanarkshire, SIMD 2020 drive time (minutes) from each data zone to its
      nearest primary and secondary school, against the estimated time with that detour
      factor: least-squares fit of the speed.

    * short-trip length: the 95th percentile road length of those SIMD trips, up to which the
      calibrated speed holds (beyond it the estimate uses the DfT's published average speed,
      :data:`clustergeo.travel.LONG_TRIP_SPEED_KMH`, where either school is rural).

    Returns the parameters and how close the estimate comes (median absolute error and
    Pearson correlation for each check).
    """
    folder = data or datasets.data_dir() / "roads"
    out: dict[str, float] = {}

    def nearest(centres: np.ndarray, schools: gpd.GeoDataFrame) -> np.ndarray:
        from scipy.spatial import cKDTree

        pts = np.column_stack([schools.geometry.x, schools.geometry.y])
        return cKDTree(pts).query(centres)[0]

    nf = datasets.load("norfolk").schools
    prim = nf[(nf["sector"] == "state-funded") & nf["phase"].isin(["primary", "all-through"])]
    lsoa = gpd.read_file(folder / "areas.gpkg", layer="norfolk_lsoas")
    km = pd.read_csv(folder / "norfolk_iod2019_road_km.csv")
    lsoa = lsoa.merge(km, on="lsoa11_code")
    c = lsoa.geometry.centroid
    straight = nearest(np.column_stack([c.x, c.y]), prim) / 1000.0
    road = lsoa["road_distance_to_a_primary_school_indicator_km"].to_numpy()
    compact = lsoa.geometry.area.to_numpy() / 1e6 < max_area_km2
    straight, road = straight[compact], road[compact]
    f = float(np.dot(straight, road) / np.dot(straight, straight))
    out["detour_factor"] = round(f, 3)
    out["norfolk_km_median_abs_error"] = float(np.median(np.abs(f * straight - road)))
    out["norfolk_km_correlation"] = float(np.corrcoef(f * straight, road)[0, 1])
    out["norfolk_areas_used"] = float(compact.sum())

    nl = datasets.load("north-lanarkshire").schools
    dz = gpd.read_file(folder / "areas.gpkg", layer="nl_datazones")
    times = pd.read_csv(folder / "nl_simd2020_drive_times.csv")
    dz = dz.merge(times, on="dz11_code")
    c = dz.geometry.centroid
    cxy = np.column_stack([c.x, c.y])
    d_p = nearest(cxy, nl[nl["phase"] == "primary"]) / 1000.0 * f
    d_s = nearest(cxy, nl[nl["phase"] == "secondary"]) / 1000.0 * f
    d = np.concatenate([d_p, d_s])
    t = np.concatenate([dz["drive_primary"].to_numpy(), dz["drive_secondary"].to_numpy()])
    # t = 60 d / v  ->  least squares in 1/v
    inv_v = float(np.dot(d, t) / np.dot(d, d)) / 60.0
    v = 1.0 / inv_v
    out["speed_kmh"] = round(v, 1)
    est = 60.0 * d / v
    out["nl_minutes_median_abs_error"] = float(np.median(np.abs(est - t)))
    out["nl_minutes_correlation"] = float(np.corrcoef(est, t)[0, 1])
    out["nl_areas"] = float(len(dz))
    out["short_trip_km"] = round(float(np.percentile(d, 95)), 1)
    return out
