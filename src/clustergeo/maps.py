"""Maps of a plan: a print-ready static map with insets (matplotlib), a size chart, and a fully
offline interactive map (the shipped Leaflet, every asset inside the page; no folium needed).

The static map is an A4 landscape page at 200 dpi or more: clusters in a qualitative palette in
which neighbouring clusters always differ (a colouring of the cluster adjacency graph), numbered
labels placed so that none overlaps another label or sits on a school (leader lines where a label
had to move), an inset for each dense urban area (found from school density), district lines, a
scale bar, and the travel-time basis in the caption. The interactive map uses the same colours.
"""

from __future__ import annotations

import html as _html
import itertools
import json
import math
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import shapely

from .labels import plural, shorten

if TYPE_CHECKING:  # Plan's methods call these functions: no import of plan at run time
    from .plan import Plan

#: A4 landscape in inches, and the resolution of the saved map (dots per inch).
A4_LANDSCAPE_IN = (11.69, 8.27)
MAP_DPI = 220
#: Qualitative palette (ColorBrewer Set3 without its grey and its second yellow, plus Set2's tan):
#: light enough for black labels and school dots, no two so alike that neighbours could be confused.
PALETTE = [
    "#8dd3c7",
    "#ffffb3",
    "#bebada",
    "#fb8072",
    "#80b1d3",
    "#fdb462",
    "#b3de69",
    "#fccde5",
    "#bc80bd",
    "#ccebc5",
    "#e5c494",
]
APART_COLOUR = "#d9d9d9"
#: Polygons closer than this (metres) count as neighbours when colouring.
NEIGHBOUR_M = 50.0
#: Dense areas (towns have a physical size, whatever the authority's): a school seeds one when at
#: least DENSE_MIN_SCHOOLS schools lie within DENSE_RADIUS_M metres of it; the inset holds the
#: schools within DENSE_WINDOW_SHARE times that radius, and is only drawn when it is smaller than
#: INSET_MAX_SHARE of the map's longer side (a larger one would repeat the main map).
DENSE_RADIUS_M = 2500.0
DENSE_MIN_SCHOOLS = 16
DENSE_WINDOW_SHARE = 2.0
INSET_MAX_SHARE = 0.4
MAX_INSETS = 4
#: Label search: offsets (points) tried around a cluster's label point, nearest first.
LABEL_RINGS_PT = (0, 7, 12, 18, 26, 36, 48, 62)
LABEL_DIRECTIONS = 16
LABEL_FONT_PT = 7
SCHOOL_CLEARANCE_PT = 2.0


def cluster_numbers(plan: Plan) -> dict[str, int]:
    """Cluster -> the number shown on maps and in the key (the order of the cluster table)."""
    return {c: i + 1 for i, c in enumerate(plan.clusters["cluster"])}


def cluster_colours(plan: Plan) -> dict[str, str]:
    """Cluster -> hex colour; clusters whose polygons touch (within 50 m) never share a colour.

    Greedy colouring, most-connected first, each cluster taking the least-used colour its
    neighbours do not have, so the palette is used evenly.

    Examples
    --------
    >>> colours = cluster_colours(plan)  # doctest: +SKIP
    """
    cl = plan.clusters
    drawn = cl[cl.geometry.notna()].reset_index(drop=True)
    geoms = list(drawn.geometry)
    nbrs: dict[int, set] = {i: set() for i in range(len(geoms))}
    if geoms:
        tree = shapely.STRtree(geoms)
        a, b = tree.query(geoms, predicate="dwithin", distance=NEIGHBOUR_M)
        for i, j in zip(a, b):
            if i != j:
                nbrs[int(i)].add(int(j))
                nbrs[int(j)].add(int(i))
    colour: dict[int, int] = {}
    used = [0] * len(PALETTE)
    for i in sorted(nbrs, key=lambda k: (-len(nbrs[k]), k)):
        taken = {colour[j] for j in nbrs[i] if j in colour}
        free = [c for c in range(len(PALETTE)) if c not in taken] or list(range(len(PALETTE)))
        colour[i] = min(free, key=lambda c: (used[c], c))
        used[colour[i]] += 1
    out = {lab: PALETTE[colour[i]] for i, lab in enumerate(drawn["cluster"])}
    for lab in cl["cluster"]:
        out.setdefault(lab, APART_COLOUR)
    return out


def dense_areas(plan: Plan, *, max_areas: int = MAX_INSETS) -> list[dict[str, Any]]:
    """Windows around the densest groups of schools, densest first: ``name`` and ``bounds``.

    A school seeds a window when at least 16 schools lie within 2.5 km of it; the window holds the
    schools within 5 km. Seeds near an earlier window are skipped, and a window larger than 40% of
    the map is not drawn.

    Examples
    --------
    >>> [a["name"] for a in dense_areas(plan)]  # doctest: +SKIP
    ['Norwich', "King's Lynn and West Norfolk", 'Great Yarmouth']
    """
    from scipy.spatial import cKDTree

    s = plan.schools[plan.schools["status"] != "excluded"]
    if len(s) < DENSE_MIN_SCHOOLS:
        return []
    xy = np.column_stack([s.geometry.x, s.geometry.y])
    x0, y0, x1, y1 = plan.clusters.total_bounds if plan.clusters.geometry.notna().any() else s.total_bounds
    longest = max(x1 - x0, y1 - y0)
    tree = cKDTree(xy)
    counts = np.array([len(n) for n in tree.query_ball_point(xy, DENSE_RADIUS_M)])
    need = DENSE_MIN_SCHOOLS
    radius = DENSE_RADIUS_M
    taken = np.zeros(len(s), dtype=bool)
    areas: list[dict[str, Any]] = []
    for i in np.lexsort((np.arange(len(s)), -counts)):
        if len(areas) >= max_areas or counts[i] < need:
            break
        if taken[i]:
            continue
        near = tree.query_ball_point(xy[i], DENSE_WINDOW_SHARE * radius)
        pts = xy[near]
        pad = 0.25 * radius
        bx0, by0 = pts.min(axis=0) - pad
        bx1, by1 = pts.max(axis=0) + pad
        taken[(xy[:, 0] >= bx0) & (xy[:, 0] <= bx1) & (xy[:, 1] >= by0) & (xy[:, 1] <= by1)] = True
        if max(bx1 - bx0, by1 - by0) > INSET_MAX_SHARE * longest:
            continue
        col = "town" if "town" in s else "district"  # a town names a place better than a district
        names = s.iloc[near][col].dropna().astype(str) if col in s else pd.Series(dtype=str)
        if col == "town" and names.str.isupper().all():
            names = names.str.title()
        name = _place_name(names, s.iloc[i].get(col) if col in s else None, fallback=f"area {len(areas) + 1}")
        areas.append({"name": name, "bounds": (float(bx0), float(by0), float(bx1), float(by1)), "schools": len(near)})
    return areas


def _place_name(names: pd.Series, seed: Any, *, fallback: str) -> str:
    """The window's name: the place at its densest point, and a second place holding a third of its schools."""
    if not len(names):
        return fallback
    counts = names.value_counts()
    first = seed.title() if isinstance(seed, str) and seed.isupper() else seed
    if not isinstance(first, str) or first not in counts.index:
        first = counts.index[0]
    others = [n for n in counts.index if n != first and counts[n] >= len(names) / 3]
    return f"{first} and {others[0]}" if others else first


def _label_point(geom: Any, window: Any = None) -> Any:
    """The pole of inaccessibility of the cluster's largest piece (inside ``window`` if given)."""
    from shapely.ops import polylabel

    if window is not None:
        geom = geom.intersection(window)
    parts = [p for p in shapely.get_parts(geom) if p.geom_type == "Polygon" and not p.is_empty]
    if not parts:
        return None
    big = max(parts, key=lambda p: p.area)
    return polylabel(big, tolerance=max(math.sqrt(big.area) / 50, 1.0))


def _overlaps(box: Any, boxes: list, pad: float) -> bool:
    return any(
        box.x0 - pad < b.x1 and b.x0 - pad < box.x1 and box.y0 - pad < b.y1 and b.y0 - pad < box.y1 for b in boxes
    )


def place_labels(
    ax: Any, items: list[tuple[str, float, float]], obstacles: np.ndarray, *, fontsize: float = LABEL_FONT_PT
) -> list[Any]:
    """Greedy label placement: each label at the nearest offset where it overlaps no label and no school.

    ``items`` are ``(text, x, y)`` in data coordinates, ``obstacles`` an ``(n, 2)`` array of school
    positions. Candidates ring the point at growing distances; a moved label gets a leader line.
    A label that finds no free place stays on its point (drawn, never dropped).
    Returns the text artists (``gid="cluster-label"``).
    """
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    to_px = ax.transData.transform
    pts_px = to_px(obstacles) if len(obstacles) else np.zeros((0, 2))
    px_per_pt = fig.dpi / 72.0
    clear = (SCHOOL_CLEARANCE_PT + 1.5) * px_per_pt
    axbox = ax.get_window_extent(renderer)
    # what is already written on the panel (scale bar, inset letters) is kept clear too
    placed: list = [
        a.get_window_extent(renderer) for a in [*ax.texts, *ax.patches] if a.get_gid() in ("scale-bar", "inset-letter")
    ]
    texts = []
    for text, x, y in items:
        t = ax.text(
            x,
            y,
            text,
            ha="center",
            va="center",
            fontsize=fontsize,
            weight="bold",
            zorder=6,
            gid="cluster-label",
            bbox=dict(boxstyle="round,pad=0.2", fc="white", ec="#333333", lw=0.4, alpha=0.95),
        )
        ax0 = to_px((x, y))
        best = None
        for r in LABEL_RINGS_PT:
            for k in range(LABEL_DIRECTIONS if r else 1):
                ang = 2 * math.pi * k / LABEL_DIRECTIONS
                off = (r * math.cos(ang) * px_per_pt, r * math.sin(ang) * px_per_pt)
                pos = ax.transData.inverted().transform((ax0[0] + off[0], ax0[1] + off[1]))
                t.set_position(pos)
                box = t.get_window_extent(renderer)
                if box.x0 < axbox.x0 or box.x1 > axbox.x1 or box.y0 < axbox.y0 or box.y1 > axbox.y1:
                    continue
                if _overlaps(box, placed, 1.5 * px_per_pt):
                    continue
                inside = (
                    (pts_px[:, 0] > box.x0 - clear)
                    & (pts_px[:, 0] < box.x1 + clear)
                    & (pts_px[:, 1] > box.y0 - clear)
                    & (pts_px[:, 1] < box.y1 + clear)
                )
                if inside.any():
                    continue
                best = (pos, box, r)
                break
            if best is not None:
                break
        if best is None:
            t.set_position((x, y))
            placed.append(t.get_window_extent(renderer))
        else:
            pos, box, r = best
            placed.append(box)
            if r >= LABEL_RINGS_PT[2]:
                ax.annotate(
                    "",
                    xy=(x, y),
                    xytext=pos,
                    zorder=5,
                    arrowprops=dict(arrowstyle="-", color="#333333", lw=0.5, shrinkA=4, shrinkB=0),
                )
                ax.plot([x], [y], marker="o", ms=1.6, color="#333333", zorder=5)
        texts.append(t)
    return texts


def _nice_length(span_m: float) -> float:
    target = span_m / 5
    for step in (100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000):
        if step >= target * 0.6:
            return float(step)
    return 100_000.0


def scale_bar(ax: Any) -> None:
    """A scale bar in the lower left corner (kilometres; the map is in metres)."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    length = _nice_length(x1 - x0)
    bx, by = x0 + 0.04 * (x1 - x0), y0 + 0.04 * (y1 - y0)
    h = 0.008 * (y1 - y0)
    ax.add_patch(plt.Rectangle((bx, by), length / 2, h, fc="black", ec="black", lw=0.5, zorder=7, gid="scale-bar"))
    ax.add_patch(
        plt.Rectangle((bx + length / 2, by), length / 2, h, fc="white", ec="black", lw=0.5, zorder=7, gid="scale-bar")
    )
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    ax.text(
        bx + length / 2,
        by + 1.6 * h,
        label,
        ha="center",
        va="bottom",
        fontsize=6,
        zorder=7,
        gid="scale-bar",
        bbox=dict(boxstyle="square,pad=0.1", fc="white", ec="none", alpha=0.8),
    )


def _draw_base(ax: Any, plan: Plan, colours: dict, bounds: tuple | None = None) -> np.ndarray:
    """Clusters, districts, schools and peer groups on ``ax``; returns the school positions drawn."""
    cl = plan.clusters[plan.clusters.geometry.notna()]
    cl.plot(ax=ax, color=[colours[c] for c in cl["cluster"]], edgecolor="white", linewidth=0.6, zorder=1)
    cl.boundary.plot(ax=ax, color="#555555", linewidth=0.35, zorder=2)
    districts = plan.layers.get("districts")
    if districts is not None and len(districts):
        # one merged line, so the dashes run on along the whole boundary instead of restarting per segment
        lines = shapely.line_merge(shapely.union_all(districts.to_crs(plan.clusters.crs).boundary.values))
        import geopandas as gpd

        gpd.GeoSeries([lines], crs=plan.clusters.crs).plot(
            ax=ax, color="black", linewidth=0.9, linestyle=(0, (4, 2)), zorder=3
        )
    s = plan.schools[plan.schools["status"] != "excluded"]
    groups = getattr(plan, "groups", None)
    if isinstance(groups, pd.DataFrame) and len(groups) and {"school", "group"} <= set(groups.columns):
        pos = dict(zip(plan.schools["school_id"].astype(str), zip(plan.schools.geometry.x, plan.schools.geometry.y)))
        for _g, grp in groups.groupby("group"):
            pts = [pos[str(x)] for x in grp["school"] if str(x) in pos]
            for a, b in itertools.pairwise(pts):
                ax.plot([a[0], b[0]], [a[1], b[1]], color="#6a3d9a", lw=0.6, alpha=0.8, zorder=3.5)
    scale = max(s["pupils"].max(), 1) if len(s) else 1
    sizes = (
        1.5 + 14 * np.sqrt(s["pupils"].clip(lower=0) / scale)
        if bounds is None
        else 3 + 30 * np.sqrt(s["pupils"].clip(lower=0) / scale)
    )
    special = s["status"].isin(["apart"]).to_numpy()
    ax.scatter(s.geometry.x[~special], s.geometry.y[~special], s=sizes[~special], c="black", lw=0, zorder=4)
    if special.any():
        ax.scatter(
            s.geometry.x[special],
            s.geometry.y[special],
            s=sizes[special] + 4,
            marker="D",
            facecolor="white",
            edgecolor="black",
            lw=0.5,
            zorder=4,
        )
    if bounds is not None:
        ax.set_xlim(bounds[0], bounds[2])
        ax.set_ylim(bounds[1], bounds[3])
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("")
    ax.set_ylabel("")
    return np.column_stack([s.geometry.x, s.geometry.y])


def _count_title(plan: Plan) -> str:
    kinds = plan.clusters["kind"].value_counts()
    parts = [f"{kinds.get('geographic', 0)} drawn"]
    if kinds.get("pinned", 0):
        parts.append(f"{kinds['pinned']} kept as they are")
    if kinds.get("apart", 0):
        parts.append(f"{kinds['apart']} authority-wide (not on the map)")
    return f"{len(plan.clusters)} clusters ({', '.join(parts)})" if len(parts) > 1 else f"{len(plan.clusters)} clusters"


def travel_basis(plan: Plan) -> str:
    """Where the travel times come from, in words (road network or straight-line estimate)."""
    return "road network" if plan.run.get("travel_method") == "road" else "estimate (no road network)"


def map_figure(plan: Plan, *, insets: bool = True, key: bool = True):
    """The A4 landscape map page: main map, an inset per dense area, a numbered key, a caption.

    Returns ``(figure, panels)``, where ``panels`` maps a panel name to its axes.

    Examples
    --------
    >>> fig, panels = map_figure(plan)  # doctest: +SKIP
    >>> fig.savefig("map.png", dpi=220)  # doctest: +SKIP
    """
    colours, numbers = cluster_colours(plan), cluster_numbers(plan)
    fig = plt.figure(figsize=A4_LANDSCAPE_IN, dpi=MAP_DPI)
    areas = dense_areas(plan) if insets else []
    key_w = 0.215 if key else 0.0
    main_w = (0.98 - key_w) * (0.7 if areas else 1.0)
    ax = fig.add_axes((0.01, 0.07, main_w, 0.85))
    panels = {"main": ax}
    pts = _draw_base(ax, plan, colours)
    cl = plan.clusters[plan.clusters.geometry.notna()]
    windows = [shapely.box(*a["bounds"]) for a in areas]
    for letter, (a, w) in zip("ABCD", zip(areas, windows)):
        ax.plot(*w.exterior.xy, color="#b2182b", lw=1.0, zorder=5)
        ax.text(
            a["bounds"][0],
            a["bounds"][3],
            f" {letter}",
            color="#b2182b",
            fontsize=8,
            weight="bold",
            va="bottom",
            ha="left",
            zorder=6,
            gid="inset-letter",
        )
    scale_bar(ax)
    fig.canvas.draw()
    items = []
    for lab, geom in zip(cl["cluster"], cl.geometry):
        p = _label_point(geom)
        if p is not None and not any(w.contains(p) for w in windows):
            items.append((str(numbers[lab]), p.x, p.y))
    place_labels(ax, items, pts)
    if areas:
        x_in = 0.01 + main_w + 0.01
        w_in = 0.98 - key_w - main_w - 0.01
        h_each = 0.85 / len(areas)
        for n, (letter, a, w) in enumerate(zip("ABCD", areas, windows)):
            iax = fig.add_axes((x_in, 0.07 + 0.85 - (n + 1) * h_each + 0.01, w_in, h_each - 0.03))
            panels[a["name"]] = iax
            ipts = _draw_base(iax, plan, colours, bounds=a["bounds"])
            for sp in iax.spines.values():
                sp.set_edgecolor("#b2182b")
            iax.set_title(f"{letter}: {a['name']}", fontsize=7, loc="left", pad=2)
            scale_bar(iax)
            fig.canvas.draw()
            iitems = []
            for lab, geom in zip(cl["cluster"], cl.geometry):
                if geom.intersection(w).area > 0.01 * w.area:
                    p = _label_point(geom, w)
                    if p is not None:
                        iitems.append((str(numbers[lab]), p.x, p.y))
            place_labels(iax, iitems, ipts, fontsize=LABEL_FONT_PT - 0.5)
    if key:
        _key(fig, plan, colours, numbers, x=1 - key_w + 0.005)
    fig.text(0.01, 0.965, f"{plan.name}: {_count_title(plan)}", fontsize=11, weight="bold", va="center")
    fig.text(0.01, 0.035, _caption(plan), fontsize=6.5, va="center", color="#333333")
    return fig, panels


CAPTION_CHARS = 210  # characters a caption line holds across an A4 landscape page at 6.5 pt


def _caption(plan: Plan) -> str:
    m = plan.metrics
    groups = getattr(plan, "groups", None)
    peer = (
        " Thin purple lines: the schools of each peer group joined."
        if isinstance(groups, pd.DataFrame) and len(groups)
        else ""
    )
    text = (
        f"Travel times: {travel_basis(plan)}; mean {m.get('mean_minutes_to_hub', float('nan')):.1f} min to the "
        f"cluster hub. Dots: schools sized by pupils (diamonds: the schools of an authority-wide cluster). Dashed "
        f"lines: {plan.run.get('district_word', 'district')} boundaries. Numbers: clusters (key at right); red "
        f"boxes: the insets.{peer}"
    )
    return "\n".join(textwrap.wrap(text, CAPTION_CHARS))


def _key(fig: Any, plan: Plan, colours: dict, numbers: dict, *, x: float) -> None:
    rows = plan.clusters
    n = len(rows)
    step = min(0.028, 0.86 / max(n, 1))
    font = 6.2 if step >= 0.02 else 5.2
    y = 0.92
    fig.text(x, y + 0.012, "Key (pupils)", fontsize=7, weight="bold", va="bottom")
    for lab, pupils in zip(rows["cluster"], rows["pupils"]):
        y -= step
        fig.patches.append(
            plt.Rectangle(
                (x, y - step * 0.35),
                0.012,
                step * 0.7,
                transform=fig.transFigure,
                fc=colours[lab],
                ec="#555555",
                lw=0.3,
            )
        )
        name = str(lab).removesuffix(" cluster")
        fig.text(
            x + 0.016,
            y,
            f"{numbers[lab]:>2}  {shorten(name, 31)} ({int(pupils):,})",
            fontsize=font,
            va="center",
            family="DejaVu Sans",
        )


def static_map(plan: Plan, ax: Any = None, *, labels: bool = True, title: str | None = None):
    """Clusters coloured, schools sized by pupils, district lines, numbered labels, a scale bar.

    Draws on ``ax`` (a new figure when None) and returns it.

    Examples
    --------
    >>> ax = static_map(plan)  # doctest: +SKIP
    """
    if ax is None:
        _fig, ax = plt.subplots(figsize=(9, 7))
    colours, numbers = cluster_colours(plan), cluster_numbers(plan)
    pts = _draw_base(ax, plan, colours)
    scale_bar(ax)
    if labels:
        ax.figure.canvas.draw()
        cl = plan.clusters[plan.clusters.geometry.notna()]
        items = [
            (str(numbers[lab]), p.x, p.y)
            for lab, p in ((lab, _label_point(g)) for lab, g in zip(cl["cluster"], cl.geometry))
            if p is not None
        ]
        place_labels(ax, items, pts)
    ax.set_title(title or f"{plan.name}: {_count_title(plan)} (travel times: {travel_basis(plan)})", fontsize=9)
    return ax


def save_static_map(plan: Plan, path: str | Path, *, dpi: int = MAP_DPI) -> Path:
    """Write the A4 landscape map page (see :func:`map_figure`) as a PNG at ``dpi``.

    Examples
    --------
    >>> save_static_map(plan, "out/map.png")  # doctest: +SKIP
    """
    fig, _ = map_figure(plan)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return Path(path)


def layer_figure(plan: Plan, layers: Any, column: str):
    """One panel per catchment layer (``layers``: :func:`clustergeo.catchment_layers.layer_polygons`),
    each cluster drawn from its own layer's cells in the main map's colours, with that layer's
    schools: the layers overlap by design, so neither panel hides the other.

    Examples
    --------
    >>> fig = layer_figure(plan, plan.layers["clusters_by_layer"], "denomination")  # doctest: +SKIP
    """
    colours, numbers = cluster_colours(plan), cluster_numbers(plan)
    names = sorted(set(layers["layer"]))
    fig, axes = plt.subplots(1, len(names), figsize=A4_LANDSCAPE_IN, dpi=MAP_DPI, squeeze=False)
    s = plan.schools[plan.schools["status"].isin(["placed", "pinned"])]
    for ax, name in zip(axes[0], names):
        mine = layers[(layers["layer"] == name) & layers.geometry.notna()]
        mine.plot(ax=ax, color=[colours.get(c, APART_COLOUR) for c in mine["cluster"]], edgecolor="#555555", lw=0.4)
        pts = s[s[column].astype(str) == name] if column in s.columns else s.iloc[:0]
        ax.scatter(pts.geometry.x, pts.geometry.y, s=3, c="black", lw=0, zorder=4)
        for lab, geom in zip(mine["cluster"], mine.geometry):
            p = _label_point(geom)
            if p is not None:
                ax.text(p.x, p.y, str(numbers.get(lab, "")), fontsize=6, ha="center", va="center", zorder=5)
        ax.set_title(f"{name}: {mine['cluster'].nunique()} clusters, {len(pts)} schools", fontsize=9)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel("")
        ax.set_ylabel("")
    fig.suptitle(f"{plan.name}: clusters per catchment layer ({column}; the layers overlap by design)", fontsize=10)
    fig.text(0.01, 0.02, "Numbers: the clusters of map.png. Each panel: that layer's schools and cells.", fontsize=7)
    return fig


def save_size_chart(plan: Plan, path: str | Path) -> Path:
    """Pupils (and schools) per cluster against the bounds, bars in the map's colours."""
    fig = size_chart(plan)
    fig.savefig(path, dpi=150)
    plt.close(fig)
    return Path(path)


def size_chart(plan: Plan):
    """The size chart figure (see :func:`save_size_chart`)."""
    colours, numbers = cluster_colours(plan), cluster_numbers(plan)
    geo = plan.table()
    geo = geo[geo["kind"] != "apart"].sort_values("pupils")
    r = plan.rules
    has_schools = r.min_schools is not None or r.max_schools is not None
    fig, axes = plt.subplots(
        1, 2 if has_schools else 1, figsize=(11.69 if has_schools else 8.27, 0.22 * len(geo) + 1.8)
    )
    axes = np.atleast_1d(axes)
    names = [f"{numbers[c]}. {shorten(str(c).removesuffix(' cluster'), 36)}" for c in geo["cluster"]]
    for ax, col, lo, hi in (
        (axes[0], "pupils", r.min_pupils, r.max_pupils),
        *(((axes[1], "schools", r.min_schools, r.max_schools),) if has_schools else ()),
    ):
        ax.barh(names, geo[col], color=[colours[c] for c in geo["cluster"]], edgecolor="#555555", lw=0.4, hatch=None)
        for v in (lo, hi):
            if v is not None:
                ax.axvline(v, color="#b2182b", linestyle="--", lw=1)
        ax.set_xlabel(f"{col} (bounds dashed red)")
        ax.tick_params(axis="y", labelsize=7)
        ax.spines[["top", "right"]].set_visible(False)
    if has_schools:
        axes[1].set_yticklabels([])
    axes[0].set_title("Cluster sizes against the bounds", fontsize=10, loc="left")
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- interactive map


def _leaflet_assets() -> tuple[str, str]:
    """The shipped Leaflet 1.9.3 (BSD-2-Clause), with the CSS's image links removed (no requests)."""
    import re
    from importlib import resources

    base = resources.files("clustergeo") / "static" / "leaflet"
    js = (base / "leaflet.js").read_text(encoding="utf-8")
    css = (base / "leaflet.css").read_text(encoding="utf-8")
    css = re.sub(r"url\([^)]*\)", "none", css)
    return js, css


def _edit_js() -> str:
    """The map's edit mode (static/edit.js): move schools, sizes against the bounds, download."""
    from importlib import resources

    return (resources.files("clustergeo") / "static" / "edit.js").read_text(encoding="utf-8")


def _fmt(v: Any, nd: int = 1) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    if isinstance(v, (float, np.floating)):
        return f"{float(v):,.{nd}f}"
    return _html.escape(str(v))


def _popup(rows: list[tuple[str, Any]]) -> str:
    body = "".join(f"<tr><th>{_html.escape(k)}</th><td>{_fmt(v)}</td></tr>" for k, v in rows)
    return f"<table class='cg'>{body}</table>"


def _bounds_text(plan: Plan) -> str:
    r = plan.rules
    parts = []
    if r.min_pupils is not None or r.max_pupils is not None:
        parts.append(f"{_fmt(r.min_pupils)}-{_fmt(r.max_pupils)} pupils")
    if r.min_schools is not None or r.max_schools is not None:
        parts.append(f"{_fmt(r.min_schools)}-{_fmt(r.max_schools)} schools")
    return "; ".join(parts) or "none"


def map_data(plan: Plan) -> dict[str, Any]:
    """What the interactive map shows, as plain JSON-ready data (WGS84 GeoJSON and popups)."""
    colours, numbers = cluster_colours(plan), cluster_numbers(plan)
    cl = plan.clusters.to_crs("EPSG:4326")
    bounds = _bounds_text(plan)
    features, legend = [], []
    label_pts = {}
    for lab, geom in zip(plan.clusters["cluster"], plan.clusters.geometry):
        if geom is not None:
            p = _label_point(geom)
            if p is not None:
                label_pts[lab] = p
    lp = {
        k: v
        for k, v in zip(
            label_pts,
            __import__("geopandas").GeoSeries(list(label_pts.values()), crs=plan.clusters.crs).to_crs("EPSG:4326"),
        )
    }
    for _, row in cl.iterrows():
        lab = row["cluster"]
        popup = _popup(
            [
                ("Cluster", f"{numbers[lab]}. {lab}"),
                ("Kind", row.get("kind")),
                ("Pupils", row.get("pupils")),
                ("Schools", row.get("schools")),
                ("Bounds", bounds),
                ("Hub", row.get("hub")),
                ("Mean minutes to hub", row.get("mean_minutes_to_hub")),
                ("Longest minutes to hub", row.get("max_minutes_to_hub")),
                (plural(plan.run.get("district_word", "district")).capitalize(), row.get("districts")),
                ("Current clusters", row.get("current_clusters")),
                ("Pieces", row.get("pieces")),
            ]
        )
        legend.append(
            {
                "n": numbers[lab],
                "name": str(lab),
                "colour": colours[lab],
                "pupils": int(row["pupils"]),
                "kind": row.get("kind"),
            }
        )
        if row.geometry is None:
            continue
        feat = json.loads(shapely.to_geojson(shapely.set_precision(row.geometry, 1e-5)))
        features.append(
            {
                "type": "Feature",
                "geometry": feat,
                "properties": {
                    "n": numbers[lab],
                    "colour": colours[lab],
                    "popup": popup,
                    "label": [lp[lab].y, lp[lab].x] if lab in lp else None,
                },
            }
        )
    s = plan.schools.to_crs("EPSG:4326")
    geographic = set(plan.clusters.loc[plan.clusters["kind"] == "geographic", "cluster"])
    schools = []
    for _, row in s.iterrows():
        popup = _popup(
            [
                ("School", row.get("name")),
                ("ID", row.get("school_id")),
                ("Phase", row.get("phase")),
                ("Pupils", row.get("pupils")),
                ("Cluster", row.get("cluster")),
                ("Status", row.get("status")),
                ("Current cluster", row.get("current_cluster")),
                ("Minutes to hub", row.get("minutes_to_hub")),
                ("District", row.get("district")),
            ]
        )
        cluster = row.get("cluster")
        schools.append(
            {
                "ll": [round(row.geometry.y, 6), round(row.geometry.x, 6)],
                "popup": popup,
                "pupils": int(row["pupils"]) if pd.notna(row.get("pupils")) else 0,
                "excluded": row.get("status") == "excluded",
                "apart": row.get("status") == "apart",
                # for edit mode: a placed school of a geographic cluster can be moved
                "id": str(row["school_id"]),
                "name": str(row.get("name", row["school_id"])),
                "cluster": None if cluster is None or pd.isna(cluster) else str(cluster),
                "status": str(row.get("status")),
                "movable": row.get("status") == "placed" and cluster in geographic,
            }
        )
    districts = []
    d = plan.layers.get("districts")
    if d is not None and len(d):
        for g in d.to_crs("EPSG:4326").geometry:
            districts.append(json.loads(shapely.to_geojson(shapely.set_precision(g.boundary, 1e-5))))
    return {
        "title": f"{plan.name}: {_count_title(plan)}",
        "caption": f"Travel times: {travel_basis(plan)}",
        "clusters": features,
        "schools": schools,
        "districts": districts,
        "district_word": plan.run.get("district_word", "district"),
        "legend": legend,
        "edit": {
            "clusters": sorted(str(c) for c in geographic),
            "bounds": {
                "pupils": _bound_pair(plan.rules.min_pupils, plan.rules.max_pupils),
                "schools": _bound_pair(plan.rules.min_schools, plan.rules.max_schools),
            },
            "bounds_text": bounds,
        },
    }


def _bound_pair(lo: Any, hi: Any) -> list | None:
    """A rule's bounds for the map's edit mode (None: no bound on that measure)."""
    if lo is None and hi is None:
        return None
    return [None if lo is None else float(lo), None if hi is None else float(hi)]


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{css}</style>
<style>
html,body{{margin:0;height:100%;font:13px/1.35 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}}
#map{{position:absolute;inset:0;background:#f4f4f0}}
.cg-legend{{background:#fff;padding:6px 8px;border-radius:4px;box-shadow:0 1px 4px rgba(0,0,0,.3);
  max-height:calc(100vh - 60px);overflow:auto;font-size:11.5px;max-width:40vw}}
.cg-legend h3{{margin:0 0 4px;font-size:13px}}
.cg-legend .row{{display:flex;align-items:center;gap:6px;white-space:nowrap}}
.cg-legend .sw{{width:14px;height:12px;border:1px solid #555;flex:none}}
.cg-legend label{{display:block}}
.cg-title{{background:#fff;padding:4px 8px;border-radius:4px;font-weight:600;box-shadow:0 1px 4px rgba(0,0,0,.3)}}
.cg-label{{background:#fff;border:1px solid #333;border-radius:3px;padding:0 3px;font-weight:700;
  font-size:11px;box-shadow:none}}
.cg-label:before{{display:none}}
table.cg th{{text-align:left;padding-right:8px;vertical-align:top}}
.cg-edit{{max-width:46vw}} .cg-edit table{{border-collapse:collapse;margin:4px 0}}
.cg-edit td,.cg-edit th{{padding:1px 6px 1px 0;text-align:left;white-space:nowrap}}
.cg-edit .cg-over{{color:#b00000;font-weight:700}} .cg-edit .cg-under{{color:#0040b0;font-weight:700}}
.cg-edit ol{{margin:4px 0;padding-left:18px}} .cg-edit .cg-note{{white-space:normal;color:#444;margin:4px 0 0}}
</style></head>
<body><div id="map"></div>
<script>{js}</script>
<script>
const D = {data};
const map = L.map('map', {{zoomSnap: 0.25, attributionControl: false}});
L.control.attribution({{prefix: 'Leaflet (BSD-2-Clause), drawn offline by clustergeo'}}).addTo(map);
const clusters = L.geoJSON(D.clusters, {{
  style: f => ({{color:'#555', weight:1, fillColor:f.properties.colour, fillOpacity:1}}),
  onEachFeature: (f, layer) => layer.bindPopup(f.properties.popup, {{maxWidth: 360}})
}}).addTo(map);
const districts = L.geoJSON(D.districts, {{style: {{color:'#000', weight:2, dashArray:'6 4', fill:false}},
  interactive:false}}).addTo(map);
const labels = L.layerGroup();
D.clusters.forEach(f => {{ if (f.properties.label) {{
  labels.addLayer(L.tooltip({{permanent:true, direction:'center', className:'cg-label', interactive:false}})
    .setLatLng(f.properties.label).setContent(String(f.properties.n)));
}} }});
const markers = D.schools.map((s, i) => L.circleMarker(s.ll, {{
  radius: 2 + 5 * Math.sqrt(s.pupils / 2000), weight: s.apart ? 1 : 0, color:'#000',
  fillColor: s.excluded ? '#999' : (s.apart ? '#fff' : '#000'), fillOpacity: s.excluded ? 0.5 : 0.85,
  className: 'cg-school cg-s-' + i
}}).bindPopup(s.popup));
const schools = L.layerGroup(markers).addTo(map);
const title = L.control({{position:'topleft'}});
title.onAdd = () => {{ const d = L.DomUtil.create('div', 'cg-title');
  d.textContent = D.title + ' \u2014 ' + D.caption; return d; }};
title.addTo(map);
const legend = L.control({{position:'topright'}});
legend.onAdd = () => {{
  const d = L.DomUtil.create('div', 'cg-legend'); d.id = 'legend';
  let h = '<h3>Clusters (pupils)</h3>';
  D.legend.forEach(r => {{ h += '<div class="row"><span class="sw" style="background:' + r.colour +
    '"></span><span>' + r.n + '. ' + r.name.replace(/ cluster$/, '').replace(/&/g,'&amp;').replace(/</g,'&lt;') + ' (' +
    r.pupils.toLocaleString('en-GB') + ')</span></div>'; }});
  h += '<hr><label><input type="checkbox" data-l="schools" checked> schools</label>' +
       '<label><input type="checkbox" data-l="districts" checked> ' + D.district_word + ' lines</label>' +
       '<label><input type="checkbox" data-l="labels" checked> cluster numbers</label>';
  d.innerHTML = h;
  L.DomEvent.disableClickPropagation(d); L.DomEvent.disableScrollPropagation(d);
  d.querySelectorAll('input').forEach(cb => cb.addEventListener('change', e => {{
    const l = {{schools, districts, labels}}[e.target.dataset.l];
    if (l === labels) {{ labelsOn = e.target.checked; showLabels(); }}
    else if (e.target.checked) l.addTo(map); else l.remove(); }}));
  return d; }};
legend.addTo(map);
// leave room for the legend, then show cluster numbers from this zoom in (never on a crowded overview)
map.fitBounds(clusters.getBounds(), {{paddingTopLeft:[10,40],
  paddingBottomRight:[Math.min(legend.getContainer().offsetWidth + 20, window.innerWidth / 2), 10]}});
const LABEL_ZOOM = map.getZoom();
let labelsOn = true;
function showLabels() {{ if (labelsOn && map.getZoom() >= LABEL_ZOOM) labels.addTo(map); else labels.remove(); }}
map.on('zoomend', showLabels); showLabels();
L.control.scale({{imperial:false}}).addTo(map);
</script>
<script>{edit_js}</script>
<script>const editor = cgEditMode(map, D, markers);</script></body></html>
"""


def interactive_html(plan: Plan) -> str:
    """The interactive map as one self-contained HTML page (no request leaves the machine).

    Leaflet, its stylesheet and the data are inside the page; there are no tiles (an offline
    page cannot fetch them), so the clusters, district lines and schools are the map. Its edit
    mode (``static/edit.js``) moves a school to another cluster by clicking, shows the edited
    clusters' sizes against the rule bounds, undoes, and downloads ``edits.csv``
    (``school_id,cluster,status``: the whole plan with the moves) for ``solve --start``.

    Examples
    --------
    >>> html = interactive_html(plan)  # doctest: +SKIP
    """
    js, css = _leaflet_assets()
    data = json.dumps(map_data(plan), separators=(",", ":")).replace("</", "<\\/")
    return _PAGE.format(title=_html.escape(plan.name), css=css, js=js, data=data, edit_js=_edit_js())


def save_interactive_map(plan: Plan, path: str | Path, *, offline: bool = True) -> Path:
    """Write the offline interactive map (``offline`` is kept for compatibility; it is always offline).

    Examples
    --------
    >>> save_interactive_map(plan, "out/map.html")  # doctest: +SKIP
    """
    Path(path).write_text(interactive_html(plan), encoding="utf-8")
    return Path(path)


def interactive_map(plan: Plan, **kwargs: Any):
    """A folium map for notebooks (needs the ``maps`` extra); files use :func:`interactive_html`."""
    try:
        import folium  # noqa: F401
    except ImportError as e:
        raise ImportError(
            "plan.explore() draws with folium, which the 'maps' extra installs: pip install -e '.[maps]' "
            "(without it, map.html in a saved plan folder is the interactive map)"
        ) from e

    colours = cluster_colours(plan)
    cl = plan.clusters[plan.clusters.geometry.notna()].copy()
    cl["colour"] = cl["cluster"].map(colours)
    fields = [
        c
        for c in ("cluster", "kind", "schools", "pupils", "hub", "districts", "mean_minutes_to_hub", "current_clusters")
        if c in cl
    ]
    m = cl.explore(
        color=list(cl["colour"]),
        tooltip=["cluster", "pupils"],
        popup=fields,
        style_kwds={"fillOpacity": 0.8, "weight": 1},
        name="clusters",
        **kwargs,
    )
    s = plan.schools.copy()
    sfields = [
        c
        for c in ("name", "school_id", "phase", "pupils", "cluster", "status", "current_cluster", "minutes_to_hub")
        if c in s
    ]
    s[sfields + ["geometry"]].explore(
        m=m, color="black", marker_kwds={"radius": 3}, tooltip=["name"], popup=sfields, name="schools"
    )
    return m
