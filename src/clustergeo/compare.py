"""Compare two plans: which schools move, the metrics side by side, a map of the differences."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from .plan import Plan

METRICS = ["clusters", "pinned_clusters", "apart_clusters", "pupils_min", "pupils_max", "pupils_mean",
           "pupil_balance", "schools_min", "schools_max", "district_splits", "division_splits",
           "mean_polsby_popper", "schools_moved", "mean_minutes_to_hub", "max_minutes_to_hub"]


def metrics_table(plans: dict[str, Plan]) -> pd.DataFrame:
    """Metrics of several plans side by side (one column per plan)."""
    rows = {}
    for name, p in plans.items():
        row = {m: p.metrics.get(m) for m in METRICS}
        row.update({"status": p.run.get("status"), "objective": p.run.get("objective"),
                    "gap": p.run.get("gap"), "seconds": p.run.get("seconds")})
        rows[name] = row
    return pd.DataFrame(rows)


def moves(a: Plan, b: Plan) -> pd.DataFrame:
    """Schools whose cluster differs between ``a`` and ``b`` (matched by shared membership).

    Cluster names differ between plans, so each cluster of ``b`` is matched to the cluster of
    ``a`` with which it shares most schools; a school moves when its ``b`` cluster is not
    matched to its ``a`` cluster.
    """
    left = a.schools[["school_id", "name", "pupils", "cluster", "status"]].rename(
        columns={"cluster": "cluster_a", "status": "status_a"})
    right = b.schools[["school_id", "cluster", "status"]].rename(columns={"cluster": "cluster_b", "status": "status_b"})
    both = left.merge(right, on="school_id", how="outer")
    counts = both.groupby(["cluster_b", "cluster_a"]).size().reset_index(name="n")
    best = counts.sort_values(["n", "cluster_a"], ascending=[False, True]).drop_duplicates("cluster_b")
    match = dict(zip(best["cluster_b"], best["cluster_a"]))
    moved = both[both["cluster_b"].map(match) != both["cluster_a"]]
    return moved.sort_values(["cluster_a", "name"], na_position="last").reset_index(drop=True)


def compare(a: Plan, b: Plan, out: str | Path | None = None) -> dict:
    """Moves and metrics of two plans; with ``out``, write ``moves.csv``, ``metrics.csv`` and ``diff.png``."""
    result = {"moves": moves(a, b), "metrics": metrics_table({a.name or "A": a, b.name or "B": b})}
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        result["moves"].to_csv(out / "moves.csv", index=False)
        result["metrics"].to_csv(out / "metrics.csv")
        _diff_map(a, b, result["moves"], out / "diff.png")
    return result


def _diff_map(a: Plan, b: Plan, moved: pd.DataFrame, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 8))
    a.clusters[a.clusters.geometry.notna()].boundary.plot(ax=ax, color="tab:blue", linewidth=1.5, label=a.name)
    b.clusters[b.clusters.geometry.notna()].boundary.plot(ax=ax, color="tab:orange", linewidth=1, linestyle="--",
                                                          label=b.name)
    s = b.schools
    s.plot(ax=ax, color="lightgrey", markersize=5)
    moved_pts = s[s["school_id"].isin(moved["school_id"])]
    if len(moved_pts):
        moved_pts.plot(ax=ax, color="red", markersize=25, label="moved")
    ax.legend(loc="lower left")
    ax.set_title(f"{a.name} (blue) vs {b.name} (orange dashed): {len(moved)} schools move")
    ax.set_axis_off()
    fig.savefig(path, dpi=100)
    plt.close(fig)
