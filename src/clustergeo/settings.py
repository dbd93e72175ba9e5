"""One settings object for the whole library (in the spirit of ``osmnx.settings``).

Change a value once and every function that does not get an explicit argument uses it::

    import clustergeo as cg
    cg.settings.default_solver = "cbc"
    cg.settings.cache_folder = "/tmp/cg-cache"
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

#: The share of the machine's memory a model may take by default (the rest: Python, the
#: solver's working space and everything else running).
MEMORY_SHARE = 0.75


def _default_max_memory() -> int | None:
    """Three quarters of the physical memory in bytes (None where it cannot be read)."""
    try:
        return int(MEMORY_SHARE * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return None


def _default_cache() -> Path:
    env = os.environ.get("CLUSTERGEO_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "clustergeo"


@dataclass
class Settings:
    """Library-wide defaults. Units are in the attribute names.

    Attributes
    ----------
    cache_folder : Path
        Where travel-time matrices are cached on disk (keyed by a hash of their inputs).
    use_cache : bool
        Read and write the cache. Set ``False`` to always recompute.
    default_solver : str
        ``"highs"`` (HiGHS through highspy, the default), ``"cbc"`` (PuLP's bundled CBC),
        ``"gurobi"`` (gurobipy, the ``gurobi`` extra; needs a Gurobi licence beyond 2,000
        variables or rows) or ``"scip"`` (pyscipopt, the ``scip`` extra: contiguity by cuts
        inside one branch-and-bound tree).
    threads : int
        Solver threads. 1 (the default) makes runs bit-for-bit repeatable. With 2 or more,
        HiGHS searches its branch-and-bound tree with that many workers (its parallel search,
        new in HiGHS 1.16): faster proofs on two cores, but the plan among equal-cost optima
        and the node counts may differ from run to run. ``0`` lets HiGHS choose.
    seed : int
        Random seed handed to the solver and to the heuristics.
    detour_factor : float
        Road distance divided by straight-line distance, for the straight-line travel-time
        estimate. Calibrated on Norfolk's IoD 2019 road distances (see ``clustergeo.travel``).
    speed_kmh : float
        Average door-to-door driving speed for the estimate, km/h. Calibrated on North
        Lanarkshire's SIMD 2020 drive times.
    snap_tolerance_m : float
        Two areas closer than this (metres) count as neighbours: closes slivers between
        polygons that should touch (Norfolk's district polygons are ~12 m apart along rivers).
    close_gaps_m : float
        When clipping Voronoi cells to an authority outline, water gaps narrower than twice this
        (metres) are closed first, so a river with a bridge does not cut the graph.
    progress : bool
        Show how a long solve stands: :func:`clustergeo.partition` (and so :func:`propose`)
        keeps a one-line status on stderr (what it is doing; in a round the best plan, bound,
        gap and nodes; elapsed time) once a solve has run for 2 s, when no ``progress``
        callback is given and stderr is a terminal or a Jupyter notebook. Progress also goes to
        the ``clustergeo.solve`` logger at INFO level.
    progress_interval : float
        Seconds between progress reports from inside one HiGHS solve (incumbent, bound, gap,
        nodes so far). CBC and Gurobi report at the end of each round only.
    max_memory : int or None
        Bytes a model may take: :func:`clustergeo.partition` estimates a model's memory from
        its unit-hub pairs before building it and stops with a ``TooLargeError`` above this.
        Default: three quarters of the machine's memory; ``None``: no limit.
    """

    cache_folder: Path = field(default_factory=_default_cache)
    use_cache: bool = True
    default_solver: str = "highs"
    threads: int = 1
    seed: int = 0
    detour_factor: float = 1.42
    speed_kmh: float = 29.4
    snap_tolerance_m: float = 50.0
    close_gaps_m: float = 250.0
    progress: bool = True
    progress_interval: float = 5.0
    max_memory: int | None = field(default_factory=_default_max_memory)


settings = Settings()
