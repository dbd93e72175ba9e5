"""A report a council can hand out: ``report.html`` (one self-contained page, offline) and
``report.pdf`` (A4 landscape pages, written with matplotlib's PdfPages: no browser, no network).

Both hold the summary in words, the map with its insets, the cluster table, the size chart against
the bounds, the versions side by side when the plan's folder holds variants or alternatives, and
the peer groups and allocations when the plan has them (``plan.groups``, ``plan.allocations``).
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .labels import shorten

if TYPE_CHECKING:  # annotations only: no import of plan at run time
    from .plan import Plan

#: Rows of the cluster table on one PDF page.
PDF_TABLE_ROWS = 30
TABLE_COLUMNS = [
    "cluster",
    "kind",
    "schools",
    "pupils",
    "districts",
    "mean_minutes_to_hub",
    "max_minutes_to_hub",
    "current_clusters",
    "pieces",
]
HEADINGS = {
    "mean_minutes_to_hub": "mean min to hub",
    "max_minutes_to_hub": "longest min",
    "current_clusters": "current clusters merged",
    "pieces": "pieces",
}


def principles(plan: Plan) -> list[str]:
    """The plan's rules in words, each saying whether it held (from the metrics, not the solver's word).

    Examples
    --------
    >>> principles(plan)[0]  # doctest: +SKIP
    'Every cluster has 2,500 to 5,000 pupils: held (2,711 to 4,992).'
    """
    m, r = plan.metrics, plan.rules
    out = []
    geo = plan.clusters[plan.clusters["kind"] == "geographic"]
    if r.min_pupils is not None or r.max_pupils is not None:
        lo, hi = r.min_pupils or 0, r.max_pupils or float("inf")
        ok = bool(geo["pupils"].between(lo, hi).all())
        out.append(
            f"Every drawn cluster has {lo:,} to {hi:,} pupils: {'held' if ok else 'GAVE WAY'} "
            f"({m['pupils_min']:,} to {m['pupils_max']:,})."
        )
    if r.min_schools is not None or r.max_schools is not None:
        lo, hi = r.min_schools or 0, r.max_schools or 10**9
        ok = bool(geo["schools"].between(lo, hi).all())
        out.append(
            f"Every drawn cluster has {lo} to {hi if hi < 10**9 else 'any number of'} schools: "
            f"{'held' if ok else 'GAVE WAY'} ({m['schools_min']} to {m['schools_max']})."
        )
    if isinstance(r.clusters, (tuple, list)):
        lo, hi = r.clusters
        fewest = " (as few as the other rules allow)" if getattr(r, "fewest", False) else ""
        ok = lo <= m["clusters"] <= hi
        out.append(f"{lo} to {hi} drawn clusters{fewest}: {'held' if ok else 'GAVE WAY'} ({m['clusters']}).")
    elif r.clusters is not None:
        out.append(f"{r.clusters} drawn clusters asked for: {m['clusters']} drawn.")
    elif getattr(r, "fewest", False):
        out.append(f"As few clusters as the bounds allow: {m['clusters']}.")
    d, word = getattr(r, "districts", "off"), plan.run.get("district_word", "district")
    if d == "within":
        out.append(
            f"Clusters within {word} lines (whole current clusters count in their main {word}): "
            f"{m['district_splits']} clusters still touch more than one {word}."
        )
    elif d == "penalty":
        out.append(
            f"{word.capitalize()} lines as a preference (a penalty per crossing): {m['district_splits']} of "
            f"{m['clusters']} drawn clusters cross them."
        )
    if plan.run.get("crossings_proof"):
        cp = plan.run["crossings_proof"]
        out.append(f"The fewest clusters crossing {word} lines: {cp['fewest']} ({cp['proof']}).")
    if r.max_minutes is not None:
        out.append(f"No unit travels more than {r.max_minutes:g} minutes on average to its hub: held.")
    if m.get("clusters_in_pieces"):
        n = m["clusters_in_pieces"]
        out.append(
            f"{n} cluster{'s are' if n > 1 else ' is'} drawn in pieces: {'their' if n > 1 else 'its'} "
            "schools lie apart "
            "(overlapping catchment layers or a river), which the map shows as it is."
        )
    for key in ("explanation", "gave_way", "lead_reason"):
        if plan.run.get(key):
            out.append(str(plan.run[key]))
    return out


def summary_words(plan: Plan) -> str:
    """One paragraph a governor can read: what the plan is and how good it is."""
    m, r = plan.metrics, plan.run
    total = m.get("clusters_total", m["clusters"])
    parts = [
        f"{plan.name} places {m['schools_placed']:,} schools in {total} clusters"
        + (f": {m['clusters']} drawn on the map" if total != m["clusters"] else "")
    ]
    if m.get("pinned_clusters"):
        parts[-1] += f", {m['pinned_clusters']} kept as they are"
    if m.get("apart_clusters"):
        parts[-1] += f", {m['apart_clusters']} authority-wide"
    parts[-1] += "."
    if m.get("schools_excluded"):
        parts.append(f"{m['schools_excluded']} schools are outside the plan (excluded by its rules).")
    parts.append(
        f"Drawn clusters hold {m['pupils_min']:,} to {m['pupils_max']:,} pupils (mean {m['pupils_mean']:,.0f})"
        f" and {m['schools_min']} to {m['schools_max']} schools."
    )
    moved = m.get("schools_moved", 0)
    parts.append(
        "No school leaves the current cluster its neighbours stay in."
        if not moved
        else f"{moved} school{'s' if moved != 1 else ''} leave{'s' if moved == 1 else ''} the current cluster "
        "most of their neighbours stay in."
    )
    parts.append(
        f"Pupils travel {m['mean_minutes_to_hub']:.1f} minutes on average to their cluster's hub "
        f"(longest {m['max_minutes_to_hub']:.0f}); times are {r.get('travel_times', 'estimated')}."
    )
    gap = r.get("gap")
    if r.get("status") == "optimal" and (gap in (None, 0) or gap < 1e-6):
        parts.append("The solver proved this plan the best under its rules.")
    elif gap is not None:
        parts.append(f"The solver stopped within {100 * gap:.2f}% of the best possible plan.")
    return " ".join(parts)


def cluster_table(plan: Plan, *, width: int | None = None) -> pd.DataFrame:
    """The cluster table for people: numbered, rounded, readable headings (names shortened to ``width``)."""
    from .maps import cluster_numbers

    t = plan.table()
    cols = [c for c in TABLE_COLUMNS if c in t]
    out = t[cols].copy()
    out.insert(0, "no.", [cluster_numbers(plan)[c] for c in t["cluster"]])
    for c in ("mean_minutes_to_hub", "max_minutes_to_hub"):
        if c in out:
            out[c] = out[c].round(1)
    if width:
        for c in ("cluster", "districts", "current_clusters"):
            if c in out:
                out[c] = [shorten(v, width) for v in out[c]]
    return out.rename(columns=HEADINGS)


def versions(folder: str | Path | None, *, beside: str | Path | None = None) -> pd.DataFrame | None:
    """Metrics of the plan in ``folder`` and of the versions saved beside it (``variants/*``,
    ``alternatives/*`` of ``beside``, by default ``folder`` itself), or None when there are none."""
    if folder is None:
        return None
    folder = Path(folder)
    others = Path(beside) if beside is not None else folder
    from .compare import METRICS

    found = {}
    for sub in [folder, *sorted(others.glob("variants/*")), *sorted(others.glob("alternatives/*"))]:
        pj = sub / "plan.json"
        if pj.exists():
            meta = json.loads(pj.read_text())
            found[meta.get("name") or sub.name] = {k: meta["metrics"].get(k) for k in METRICS}
    return pd.DataFrame(found) if len(found) > 1 else None


def _png(fig: Any, dpi: int = 150, *, close: bool = True) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    if close:
        plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


def _extra_tables(plan: Plan) -> list[tuple[str, pd.DataFrame]]:
    out = []
    for attr, title in (("groups", "Peer groups"), ("allocations", "Allocations")):
        v = getattr(plan, attr, None)
        if isinstance(v, pd.DataFrame) and len(v):
            out.append((title, pd.DataFrame(v)))
        elif isinstance(v, dict):
            for k, df in v.items():
                if isinstance(df, pd.DataFrame) and len(df):
                    out.append((f"{title}: {k}", df))
    return out


_CSS = """body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1100px;
color:#222;padding:0 16px}h1{font-size:22px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:12.5px}th,td{border-bottom:1px solid #ddd;padding:3px 7px;text-align:left;
vertical-align:top}td.n,th.n{text-align:right}img{max-width:100%;height:auto;border:1px solid #ddd}
.sw{display:inline-block;width:12px;height:12px;border:1px solid #555;vertical-align:middle;margin-right:4px}
ul.p li{margin:2px 0}@media print{h2{break-before:auto}img{break-inside:avoid}}"""


def _html_table(df: pd.DataFrame, colours: dict | None = None) -> str:
    head = "".join(
        f"<th{' class=n' if pd.api.types.is_numeric_dtype(df[c]) else ''}>{html.escape(str(c))}</th>"
        for c in df.columns
    )
    rows = []
    for _, r in df.iterrows():
        cells = []
        for c in df.columns:
            v = r[c]
            num = pd.api.types.is_numeric_dtype(df[c])
            txt = (
                "-"
                if v is None or (isinstance(v, float) and pd.isna(v))
                else (
                    f"{v:,}"
                    if isinstance(v, int) or (num and float(v).is_integer())
                    else (f"{v:,.1f}" if num else html.escape(str(v)))
                )
            )
            if colours and c == "cluster" and v in colours:
                txt = f"<span class=sw style='background:{colours[v]}'></span>{txt}"
            cells.append(f"<td{' class=n' if num else ''}>{txt}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def report_html(
    plan: Plan, *, folder: str | Path | None = None, map_figure: Any = None, beside: str | Path | None = None
) -> str:
    """The report as one self-contained HTML page (images inside the page; no links out).

    ``folder`` holds the plan and ``beside`` its variants and alternatives (see :func:`versions`).

    Examples
    --------
    >>> html = report_html(plan)  # doctest: +SKIP
    """
    from . import maps

    if map_figure is None:
        map_png = _png(maps.map_figure(plan)[0], dpi=130)
    else:
        map_png = _png(map_figure, dpi=130, close=False)
    sizes_png = _png(maps.size_chart(plan), dpi=110)
    colours = maps.cluster_colours(plan)
    parts = [
        f"<h1>{html.escape(plan.name)}</h1>",
        f"<p id=summary>{html.escape(summary_words(plan))}</p>",
        "<h2>Principles</h2><ul class=p>" + "".join(f"<li>{html.escape(p)}</li>" for p in principles(plan)) + "</ul>",
        "<h2>Map</h2>",
        f"<img id=map alt='map of the clusters' src='data:image/png;base64,{map_png}'>",
        "<h2>Clusters</h2>",
        _html_table(cluster_table(plan), colours),
        "<h2>Sizes against the bounds</h2>",
        f"<img alt='size chart' src='data:image/png;base64,{sizes_png}'>",
    ]
    v = versions(folder, beside=beside)
    if v is not None:
        parts += [
            "<h2>Versions side by side</h2>",
            _html_table(v.reset_index().rename(columns={"index": "measure"}).astype(object)),
        ]
    for title, df in _extra_tables(plan):
        parts += [f"<h2>{html.escape(title)}</h2>", _html_table(df)]
    parts.append(
        f"<p><small>clustergeo {html.escape(str(plan.run.get('clustergeo', '')))}; solver "
        f"{html.escape(str(plan.run.get('solver', '')))}; created {html.escape(str(plan.run.get('created', '')))}"
        "</small></p>"
    )
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>"
        f"{html.escape(plan.name)}: report</title><style>{_CSS}</style></head><body>{''.join(parts)}</body></html>"
    )


def _text_page(pdf: Any, title: str, paragraphs: list[str]) -> None:
    import textwrap

    import matplotlib.pyplot as plt

    from .maps import A4_LANDSCAPE_IN

    fig = plt.figure(figsize=A4_LANDSCAPE_IN)
    fig.text(0.05, 0.93, title, fontsize=16, weight="bold")
    y = 0.86
    for p in paragraphs:
        for line in textwrap.wrap(p, 130):
            fig.text(0.05, y, line, fontsize=9.5)
            y -= 0.026
        y -= 0.014
    pdf.savefig(fig)
    plt.close(fig)


def _table_pages(pdf: Any, title: str, df: pd.DataFrame, colours: dict | None = None) -> None:
    """``df`` over as many A4 pages as it needs; ``colours`` (cluster number -> colour) tints the numbers."""
    import matplotlib.pyplot as plt

    from .maps import A4_LANDSCAPE_IN

    df = df.copy()
    for c in df.columns:
        if df[c].dtype == object:
            df[c] = [shorten(v, 40) for v in df[c]]
    for start in range(0, max(len(df), 1), PDF_TABLE_ROWS):
        part = df.iloc[start : start + PDF_TABLE_ROWS]
        fig = plt.figure(figsize=A4_LANDSCAPE_IN)
        fig.text(0.03, 0.95, title + (" (continued)" if start else ""), fontsize=13, weight="bold")
        ax = fig.add_axes((0.03, 0.04, 0.94, 0.88))
        ax.set_axis_off()
        cells = [
            [
                "-"
                if pd.isna(v)
                else (
                    f"{v:,.1f}"
                    if isinstance(v, float)
                    else (f"{v:,}" if isinstance(v, int) and not isinstance(v, bool) else str(v))
                )
                for v in row
            ]
            for row in part.itertuples(index=False)
        ]
        tab = ax.table(
            cellText=cells or [[""] * len(df.columns)],
            colLabels=[str(c) for c in df.columns],
            loc="upper left",
            cellLoc="left",
        )
        tab.auto_set_font_size(False)
        tab.set_fontsize(7)
        tab.auto_set_column_width(list(range(len(df.columns))))
        if colours and "no." in df.columns:
            ci = list(df.columns).index("no.")
            for r, n in enumerate(part["no."], start=1):
                if int(n) in colours:
                    tab[r, ci].set_facecolor(colours[int(n)])
        pdf.savefig(fig)
        plt.close(fig)


def write_pdf(
    plan: Plan,
    path: str | Path,
    *,
    folder: str | Path | None = None,
    map_figure: Any = None,
    beside: str | Path | None = None,
) -> Path:
    """Write ``report.pdf``: summary, map with insets, cluster table, size chart, versions, groups.

    Examples
    --------
    >>> write_pdf(plan, "out/report.pdf")  # doctest: +SKIP
    """
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    from . import maps

    numbers = maps.cluster_numbers(plan)
    colours = {numbers[lab]: c for lab, c in maps.cluster_colours(plan).items()}
    with PdfPages(path, metadata={"Title": f"{plan.name}: report", "Creator": "clustergeo"}) as pdf:
        _text_page(pdf, plan.name, [summary_words(plan), "Principles:"] + [f"- {p}" for p in principles(plan)])
        fig = map_figure if map_figure is not None else maps.map_figure(plan)[0]
        pdf.savefig(fig)
        if map_figure is None:
            plt.close(fig)
        _table_pages(pdf, "Clusters", cluster_table(plan, width=40), colours)
        fig = maps.size_chart(plan)
        pdf.savefig(fig)
        plt.close(fig)
        v = versions(folder, beside=beside)
        if v is not None:
            _table_pages(pdf, "Versions side by side", v.reset_index().rename(columns={"index": "measure"}))
        for title, df in _extra_tables(plan):
            _table_pages(pdf, title, df)
    return Path(path)


def write_report(
    plan: Plan, folder: str | Path, *, pdf: bool = True, map_figure: Any = None, beside: str | Path | None = None
) -> dict[str, Path]:
    """Write ``report.html`` (and ``report.pdf``) into ``folder``; returns their paths.

    ``map_figure`` reuses a map already drawn by :func:`clustergeo.maps.map_figure`; ``beside``
    is where the plan's variants and alternatives are saved, when not in ``folder`` (a plan
    written into a staging folder first).

    Examples
    --------
    >>> write_report(plan, "out/norfolk")  # doctest: +SKIP
    {'report_html': PosixPath('out/norfolk/report.html'), 'report_pdf': PosixPath('out/norfolk/report.pdf')}
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"report_html": folder / "report.html"}
    html_text = report_html(plan, folder=folder, map_figure=map_figure, beside=beside)
    paths["report_html"].write_text(html_text, encoding="utf-8")
    if pdf:
        paths["report_pdf"] = write_pdf(
            plan, folder / "report.pdf", folder=folder, map_figure=map_figure, beside=beside
        )
    return paths
