"""Compare two plans: which schools move, the metrics side by side, a map of the differences."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:  # annotations only: no import of plan at run time
    from .plan import Plan

METRICS = [
    "clusters",
    "pinned_clusters",
    "apart_clusters",
    "pupils_min",
    "pupils_max",
    "pupils_mean",
    "pupil_balance",
    "schools_min",
    "schools_max",
    "district_splits",
    "division_splits",
    "mean_polsby_popper",
    "schools_moved",
    "mean_minutes_to_hub",
    "max_minutes_to_hub",
]


def metrics_table(plans: dict[str, Plan]) -> pd.DataFrame:
    """Metrics of several plans side by side (one column per plan)."""
    rows = {}
    for name, p in plans.items():
        row = {m: p.metrics.get(m) for m in METRICS}
        row.update(
            {
                "status": p.run.get("status"),
                "objective": p.run.get("objective"),
                "gap": p.run.get("gap"),
                "seconds": p.run.get("seconds"),
            }
        )
        rows[name] = row
    return pd.DataFrame(rows)


def moves(a: Plan, b: Plan) -> pd.DataFrame:
    """Schools whose cluster differs between ``a`` and ``b``.

    The clusters of ``b`` are matched one to one to those of ``a``: a cluster of the same name
    first (an edited plan keeps its clusters' names; a new plan names them after a secondary),
    then so that as many schools as possible keep their cluster. A school moves when its ``b``
    cluster is not matched to its ``a`` cluster; ``b_continues`` names the ``a`` cluster that
    its ``b`` cluster is matched to (empty for a cluster new in ``b``).
    """
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    left = a.schools[["school_id", "name", "pupils", "cluster", "status"]].rename(
        columns={"cluster": "cluster_a", "status": "status_a"}
    )
    right = b.schools[["school_id", "cluster", "status"]].rename(columns={"cluster": "cluster_b", "status": "status_b"})
    both = left.merge(right, on="school_id", how="outer")
    # a school outside both plans (excluded by their rules) does not move
    both = both[~((both["status_a"] == "excluded") & (both["status_b"] == "excluded"))]
    la = sorted({str(c) for c in both["cluster_a"].dropna()})
    lb = sorted({str(c) for c in both["cluster_b"].dropna()})
    shared = np.zeros((len(lb), len(la)))
    ia, ib = {c: n for n, c in enumerate(la)}, {c: n for n, c in enumerate(lb)}
    for ca, cb in zip(both["cluster_a"], both["cluster_b"]):
        if pd.notna(ca) and pd.notna(cb):
            shared[ib[str(cb)], ia[str(ca)]] += 1
    same_name = np.array([[float(x == y) for y in la] for x in lb]).reshape(len(lb), len(la))
    rows, cols = linear_sum_assignment(-(shared + (len(both) + 1) * same_name))
    match = {lb[r]: la[c] for r, c in zip(rows, cols) if shared[r, c] > 0 or same_name[r, c]}

    def moves_(ca: Any, cb: Any) -> bool:
        if pd.isna(cb):
            return bool(pd.notna(ca))  # placed in a, not in b
        return bool(pd.isna(ca)) or match.get(str(cb)) != str(ca)

    moved = both[[moves_(ca, cb) for ca, cb in zip(both["cluster_a"], both["cluster_b"])]].copy()
    moved["b_continues"] = [match.get(str(cb)) if pd.notna(cb) else None for cb in moved["cluster_b"]]
    return moved.sort_values(["cluster_a", "name"], na_position="last").reset_index(drop=True)


@dataclass
class Comparison:
    """Two plans compared: ``moves`` (schools whose cluster differs) and ``metrics`` side by side.

    Reads like the dict it replaces (``c["moves"]``, ``c["metrics"]``) and shows itself in a
    notebook as a short summary with both tables.
    """

    a: str
    b: str
    moves: pd.DataFrame
    metrics: pd.DataFrame

    def __getitem__(self, key: str) -> Any:
        return {"moves": self.moves, "metrics": self.metrics}[key]

    def keys(self) -> list[str]:
        return ["moves", "metrics"]

    def words(self) -> str:
        """The moves in words: "no school moves", "1 school moves", "12 schools move"."""
        n = len(self.moves)
        return "no school moves" if n == 0 else ("1 school moves" if n == 1 else f"{n} schools move")

    def __repr__(self) -> str:
        m = self.metrics

        def row(k: str) -> str:
            return " vs ".join(str(v) for v in m.loc[k]) if k in m.index else "-"

        return (
            f"Comparison({self.a!r} vs {self.b!r}): {self.words()}\n"
            f"  clusters {row('clusters')}; districts crossed {row('district_splits')}; "
            f"schools moved from current {row('schools_moved')}"
        )

    def _repr_html_(self) -> str:
        import html

        moves = self.moves.head(50).to_html(index=False, na_rep="-") if len(self.moves) else ""
        return (
            f"<b>{html.escape(self.a)}</b> vs <b>{html.escape(self.b)}</b>: {self.words()}"
            f"{self.metrics.to_html(na_rep='-', float_format=lambda v: f'{v:,.1f}')}{moves}"
        )


def compare(a: Plan, b: Plan, out: str | Path | None = None) -> Comparison:
    """Moves and metrics of two plans; with ``out``, write ``moves.csv``, ``metrics.csv`` and ``diff.png``.

    Examples
    --------
    >>> c = compare(plan_a, plan_b)  # doctest: +SKIP
    >>> c.words()  # doctest: +SKIP
    'no school moves'

    Raises
    ------
    DataError
        When the two plans share no school (plans of two different authorities, say).
    """
    _same_schools(a, b)
    name_a, name_b = a.name or "A", b.name or "B"
    if name_a == name_b:  # an edited plan keeps its name: the columns must still differ
        name_a, name_b = f"{name_a} (A)", f"{name_b} (B)"
    result = Comparison(name_a, name_b, moves(a, b), metrics_table({name_a: a, name_b: b}))
    if out is not None:
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        result.moves.to_csv(out / "moves.csv", index=False)
        result.metrics.to_csv(out / "metrics.csv")
        _diff_map(a, b, result.moves, out / "diff.png")
    return result


def _same_schools(a: Plan, b: Plan) -> None:
    """Plans of different schools cannot be compared school by school: say so, with counts."""
    ids_a, ids_b = set(a.schools["school_id"].astype(str)), set(b.schools["school_id"].astype(str))
    if ids_a and ids_b and not ids_a & ids_b:
        from .errors import DataError

        raise DataError(
            f"the two plans share no school ({a.name!r}: {len(ids_a)} schools, {b.name!r}: {len(ids_b)}): "
            "they are plans of different areas or different school tables; compare two plans of the same schools"
        )
    only = len(ids_a ^ ids_b)
    if only:
        import warnings

        warnings.warn(
            f"{only} schools are in only one of the two plans ({a.name!r}, {b.name!r}); they count as moves",
            UserWarning,
            stacklevel=3,
        )


def _diff_map(a: Plan, b: Plan, moved: pd.DataFrame, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(11.69, 8.27))
    a.clusters[a.clusters.geometry.notna()].boundary.plot(ax=ax, color="tab:blue", linewidth=1.5, label=a.name)
    b.clusters[b.clusters.geometry.notna()].boundary.plot(
        ax=ax, color="tab:orange", linewidth=1, linestyle="--", label=b.name
    )
    s = b.schools
    s.plot(ax=ax, color="lightgrey", markersize=5)
    moved_pts = s[s["school_id"].isin(moved["school_id"])]
    if len(moved_pts):
        moved_pts.plot(ax=ax, color="red", markersize=25, label="moved")
    ax.legend(loc="lower left", fontsize=8)
    n = len(moved)
    words = "no school moves" if n == 0 else ("1 school moves" if n == 1 else f"{n} schools move")
    import textwrap

    fig.suptitle("\n".join(textwrap.wrap(f"{a.name} (blue) vs {b.name} (orange dashed): {words}", 90)), fontsize=11)
    ax.set_axis_off()
    ax.set_aspect("equal")
    fig.savefig(path, dpi=150, bbox_inches="tight")
    plt.close(fig)
