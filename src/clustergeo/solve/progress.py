"""How a solve stands, for planners watching it and for logs.

Every solve reports a :class:`RoundLog` at the end of each round (one MIP solve, then the
separator cuts it needed) and, from inside a HiGHS solve, one with ``status="running"`` about
every ``settings.progress_interval`` seconds. :func:`clustergeo.partition` hands them to the
``progress`` callback it is given or, without one, to a :class:`StatusLine` on stderr (when
``settings.progress`` is on); every report also goes to the ``clustergeo.solve`` logger.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("clustergeo.solve")


@dataclass
class RoundLog:
    """One progress report.

    ``status`` is the round's outcome ("optimal", "feasible", "infeasible", "no solution", or
    "stopped early": at a plan near the bound with a cluster in pieces, to be cut off) or
    ``"running"`` for a report from inside the round's solve; ``objective`` is then the best
    plan so far (None before there is one) and ``nodes`` the branch-and-bound nodes so far.
    ``seconds`` counts from the start of the model's solve."""

    round: int
    status: str
    objective: float | None
    bound: float | None
    cuts_added: int
    seconds: float
    nodes: int | None = None

    @property
    def gap(self) -> float | None:
        """Relative gap between the plan and the bound (0.1 = 10%), None without both."""
        if self.objective is None or self.bound is None:
            return None
        return abs(self.objective - self.bound) / max(abs(self.objective), 1e-9)


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def describe(r: RoundLog, *, clock: bool = True) -> str:
    """One line in plain words, e.g. ``round 1 solving: best plan 33.0, bound 24.5, gap 25.8%,
    3,200 nodes, 45.0 s`` (``clock=False``: without the seconds)."""
    gap = "" if r.gap is None else f", gap {100 * r.gap:.1f}%"
    secs = f", {r.seconds:.1f} s" if clock else ""
    if r.status == "running":
        nodes = "" if r.nodes is None else f", {r.nodes:,} nodes"
        return f"round {r.round} solving: best plan {_num(r.objective)}, bound {_num(r.bound)}{gap}{nodes}{secs}"
    if r.status == "stopped early":
        return (
            f"round {r.round}: stopped at a plan near the bound with clusters in pieces, objective "
            f"{_num(r.objective)}, {r.cuts_added:,} cuts added{secs}"
        )
    if r.cuts_added:  # the round's plan had a cluster in pieces: cut off, solve again
        return (
            f"round {r.round}: {r.status} but with clusters in pieces, objective {_num(r.objective)}, "
            f"{r.cuts_added:,} cuts added{secs}"
        )
    return f"round {r.round}: {r.status}, objective {_num(r.objective)}, bound {_num(r.bound)}{gap}{secs}"


def ticker(progress: Callable[[RoundLog], Any] | None, round_: int, t0: float) -> Callable:
    """What a solver calls with a :class:`~clustergeo.solve.backends.solvers.Tick` during round
    ``round_`` of a solve that started at ``t0`` (``time.perf_counter``): logs it and passes it
    on to ``progress`` as a running :class:`RoundLog`."""

    def report(tick) -> None:
        r = RoundLog(round_, "running", tick.incumbent, tick.bound, 0, time.perf_counter() - t0, tick.nodes)
        log.info(describe(r))
        if progress is not None:
            progress(r)

    return report


def interactive(stream: Any) -> bool:
    """Whether ``stream`` is watched live: a terminal, or a Jupyter notebook's output (where a
    line rewritten in place makes sense; in a log file it would be clutter)."""
    if type(stream).__module__.startswith("ipykernel"):
        return True
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def stage(progress: Any, text: str) -> None:
    """Say what a solve is doing between rounds (finding a start, fixing pairs ...): to the
    log, and to ``progress`` when it has a ``stage`` method (a :class:`StatusLine` does)."""
    log.info(text)
    say = getattr(progress, "stage", None)
    if callable(say):
        say(text)


class StatusLine:
    """A status line on stderr that follows a solve, rewritten in place (tqdm) every second.

    It appears only once the solve has run ``delay`` seconds, so quick solves print nothing.
    Use it as a ``progress`` callback: it shows the last report (:func:`describe`) or the last
    :func:`stage`, with the time since it was made and ``part`` (e.g. "part 2 of 7 (district
    Breckland)") when set. :meth:`close` leaves the last line on screen."""

    def __init__(self, label: str = "clustergeo", *, delay: float = 2.0, file=None, every: float = 1.0):
        self.label = label
        self.part: str | None = None
        self.delay = delay
        self.file = file
        self._t0 = time.perf_counter()
        self._text = "starting"
        self._bar: Any = None
        self._lock = threading.Lock()
        self._closed = threading.Event()
        self._clock = threading.Thread(target=self._tick, args=(every,), daemon=True, name="clustergeo-status")
        self._clock.start()

    def _tick(self, every: float) -> None:
        while not self._closed.wait(every):
            self._show()

    def _show(self) -> None:
        with self._lock:
            elapsed = time.perf_counter() - self._t0
            if self._bar is None:
                if elapsed < self.delay or self._closed.is_set():
                    return
                from tqdm import tqdm

                self._bar = tqdm(
                    total=None, bar_format="{desc}", file=self.file or sys.stderr, leave=True, dynamic_ncols=True
                )
            where = f", {self.part}" if self.part else ""
            self._bar.set_description_str(f"{self.label} {elapsed:.0f} s{where}: {self._text}")

    def __call__(self, r: RoundLog) -> None:
        self._text = describe(r, clock=False)
        self._show()

    def stage(self, text: str) -> None:
        self._text = text
        self._show()

    def close(self) -> None:
        self._closed.set()
        self._clock.join()
        with self._lock:
            if self._bar is not None:
                self._bar.close()
                self._bar = None

    def __enter__(self) -> StatusLine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


__all__ = ["RoundLog", "StatusLine", "describe", "interactive", "stage", "ticker"]
