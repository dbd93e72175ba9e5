"""Maps of a plan: a static PNG (matplotlib), a size chart, and an interactive HTML map (folium)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np

from .plan import Plan


def _colours(geoms) -> list:
    """One colour per polygon, neighbours always different (greedy graph colouring on tab10)."""
    import networkx as nx
    import shapely

    geoms = list(geoms)
    g = nx.Graph()
    g.add_nodes_from(range(len(geoms)))
    tree = shapely.STRtree(geoms)
    a, b = tree.query(geoms, predicate="dwithin", distance=1.0)
    g.add_edges_from((int(i), int(j)) for i, j in zip(a, b) if i < j)
    colour = nx.greedy_color(g, strategy="largest_first")
    cmap = plt.get_cmap("tab10")
    return [cmap(colour[i] % 10) for i in range(len(geoms))]


def static_map(plan: Plan, ax: Any = None, *, labels: bool = True, title: str | None = None):
    """Clusters coloured, schools as points sized by pupils, district lines, cluster numbers."""
    if ax is None:
        _fig, ax = plt.subplots(figsize=(11, 9))
    cl = plan.clusters[plan.clusters.geometry.notna()].reset_index(drop=True)
    cols = _colours(cl.geometry)
    cl.plot(ax=ax, color=cols, edgecolor="white", linewidth=0.8, alpha=0.75)
    districts = plan.layers.get("districts")
    if districts is not None:
        districts.to_crs(plan.clusters.crs).boundary.plot(ax=ax, color="black", linewidth=1.2, linestyle="--")
    s = plan.schools[plan.schools["status"] != "excluded"]
    sizes = 4 + 60 * np.sqrt(s["pupils"].clip(lower=0) / max(s["pupils"].max(), 1))
    s.plot(ax=ax, markersize=sizes, color="black", alpha=0.7)
    ex = plan.schools[plan.schools["status"] == "excluded"]
    if len(ex):
        ex.plot(ax=ax, markersize=6, color="grey", marker="x", alpha=0.6)
    if labels:
        for i, row in cl.iterrows():
            p = row.geometry.representative_point()
            ax.annotate(str(i + 1), (p.x, p.y), ha="center", va="center", fontsize=8, weight="bold",
                        bbox=dict(boxstyle="round,pad=0.15", fc="white", alpha=0.8, lw=0))
    ax.set_title(title or f"{plan.name}: {plan.metrics['clusters']} clusters "
                 f"(travel times: {'estimate' if plan.run.get('travel_method') != 'road' else 'road network'})")
    ax.set_axis_off()
    return ax


def save_static_map(plan: Plan, path: str | Path) -> Path:
    fig, ax = plt.subplots(figsize=(11, 9))
    static_map(plan, ax=ax)
    cl = plan.clusters[plan.clusters.geometry.notna()].reset_index(drop=True)
    text = "\n".join(f"{i + 1}. {c[:38]} ({p:,})" for i, (c, p) in enumerate(zip(cl["cluster"], cl["pupils"])))
    fig.text(0.99, 0.5, text, fontsize=6, va="center", ha="right", family="monospace")
    fig.subplots_adjust(right=0.72)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return Path(path)


def save_size_chart(plan: Plan, path: str | Path) -> Path:
    """Pupils (and schools) per cluster against the bounds."""
    geo = plan.table()
    geo = geo[geo["kind"] != "apart"].sort_values("pupils")
    r = plan.rules
    has_schools = r.min_schools is not None or r.max_schools is not None
    fig, axes = plt.subplots(1, 2 if has_schools else 1, figsize=(12 if has_schools else 8, 0.25 * len(geo) + 2))
    axes = np.atleast_1d(axes)
    names = [c[:40] for c in geo["cluster"]]
    for ax, col, lo, hi in ((axes[0], "pupils", r.min_pupils, r.max_pupils),
                            *(((axes[1], "schools", r.min_schools, r.max_schools),) if has_schools else ())):
        colours = ["tab:grey" if k == "pinned" else "tab:blue" for k in geo["kind"]]
        ax.barh(names, geo[col], color=colours)
        for v, ls in ((lo, "--"), (hi, "--")):
            if v is not None:
                ax.axvline(v, color="red", linestyle=ls)
        ax.set_xlabel(col)
        ax.tick_params(axis="y", labelsize=7)
    axes[0].set_title("cluster sizes against the bounds (red); pinned in grey")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return Path(path)


def interactive_map(plan: Plan, **kwargs: Any):
    """A folium map with a popup for each school and cluster (needs the ``maps`` extra)."""
    import folium  # raises ImportError when the 'maps' extra is missing

    cl = plan.clusters[plan.clusters.geometry.notna()].copy()
    fields = [c for c in ("cluster", "kind", "schools", "pupils", "hub", "districts", "mean_minutes_to_hub",
                          "current_clusters") if c in cl]
    m = cl.explore(column="cluster", categorical=True, legend=False, tooltip=["cluster", "pupils"],
                   popup=fields, style_kwds={"fillOpacity": 0.5, "weight": 1}, name="clusters", **kwargs)
    s = plan.schools.copy()
    sfields = [c for c in ("name", "school_id", "phase", "pupils", "cluster", "status", "current_cluster",
                           "minutes_to_hub") if c in s]
    s[sfields + ["geometry"]].explore(m=m, color="black", marker_kwds={"radius": 3}, tooltip=["name"],
                                        popup=sfields, name="schools")
    folium.LayerControl().add_to(m)
    return m


def _inline_leaflet(html: str) -> str:
    """Put the shipped Leaflet 1.9.3 (BSD-2-Clause) inside the page, so it works offline.

    folium links Leaflet from a CDN; a planner's laptop or a locked-down council network may
    not reach it. Other CDN assets (Bootstrap, icons) only style popups and are left linked.
    """
    import re
    from importlib import resources

    base = resources.files("clustergeo") / "static" / "leaflet"
    js = (base / "leaflet.js").read_text(encoding="utf-8")
    css = (base / "leaflet.css").read_text(encoding="utf-8")
    html = re.sub(r'<script src="[^"]*/leaflet(@[0-9.]+)?/dist/leaflet\.js"></script>',
                  lambda _m: f"<script>{js}</script>", html, count=1)
    html = re.sub(r'<link rel="stylesheet" href="[^"]*/leaflet(@[0-9.]+)?/dist/leaflet\.css"/>',
                  lambda _m: f"<style>{css}</style>", html, count=1)
    return html


def save_interactive_map(plan: Plan, path: str | Path, *, offline: bool = True) -> Path:
    """Write the interactive map; with ``offline`` (default) Leaflet is inlined in the page."""
    html = interactive_map(plan).get_root().render()
    Path(path).write_text(_inline_leaflet(html) if offline else html, encoding="utf-8")
    return Path(path)
