"""Progress on long solves: reports from inside a HiGHS solve, the status line, and Ctrl-C."""

import io
import os
import random
import signal
import threading
import time
from pathlib import Path

import networkx as nx
import pulp
import pytest

import clustergeo as cg
from clustergeo.solve.backends import solvers
from clustergeo.solve.progress import RoundLog, StatusLine, describe


def market_split(m: int = 4, n: int = 30, seed: int = 1) -> pulp.LpProblem:
    """Cornuejols & Dawande's market split: 30 binaries, and no solver proves it quickly."""
    rng = random.Random(seed)
    prob = pulp.LpProblem("market_split", pulp.LpMinimize)
    x = [pulp.LpVariable(f"x_{j}", cat=pulp.LpBinary) for j in range(n)]
    slack = [pulp.LpVariable(f"s_{i}", lowBound=0) for i in range(2 * m)]
    prob += pulp.lpSum(slack)
    for i in range(m):
        a = [rng.randint(0, 99) for _ in range(n)]
        prob += pulp.lpSum(a[j] * x[j] for j in range(n)) + slack[2 * i] - slack[2 * i + 1] == sum(a) // 2
    return prob


@pytest.fixture
def ctrl_c_raises():
    """Python's own Ctrl-C handler for the test: a shell starts a background job with Ctrl-C
    ignored, and every process it starts inherits that, so a suite run in the background would
    never see the Ctrl-C these tests send."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


@pytest.fixture
def every_check(monkeypatch):
    """Report at every one of HiGHS's interrupt checks instead of every few seconds."""
    monkeypatch.setattr(cg.settings, "progress_interval", 0.0)


def test_highs_reports_how_the_solve_stands(every_check):
    ticks = []
    s = solvers.make("highs", time_limit=3.0, gap=None, threads=1, seed=0, warm_start=False, report=ticks.append)
    info = solvers.run(market_split(), s)
    assert ticks, "no report from inside the solve"
    assert all(t.bound is None or t.bound >= -1e-9 for t in ticks)
    assert max(t.nodes for t in ticks) > 0
    with_plan = [t for t in ticks if t.incumbent is not None]
    assert with_plan and all(t.incumbent >= t.bound - 1e-6 for t in with_plan if t.bound is not None)
    assert info.nodes is not None and info.nodes >= max(t.nodes for t in ticks)


def test_a_maximum_reports_on_its_own_side(every_check):
    prob = market_split()
    prob.sense = pulp.LpMaximize
    prob.objective = -prob.objective + 7  # the same problem as a maximum, with a constant
    ticks = []
    s = solvers.make("highs", time_limit=2.0, gap=None, threads=1, seed=0, warm_start=False, report=ticks.append)
    solvers.run(prob, s)
    with_both = [t for t in ticks if t.incumbent is not None and t.bound is not None]
    assert with_both
    assert all(t.incumbent <= 7 + 1e-6 and t.bound <= 7 + 1e-6 and t.bound >= t.incumbent - 1e-6 for t in with_both)


def test_ctrl_c_stops_a_highs_solve_and_the_next_solve_still_runs(ctrl_c_raises):
    s = solvers.make("highs", time_limit=120.0, gap=None, threads=1, seed=0, warm_start=False)
    timer = threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt, match="HiGHS stopped cleanly"):
            solvers.run(market_split(), s)
    finally:
        timer.cancel()
    # HiGHS is ready for the next solve
    g = nx.grid_2d_graph(4, 4)
    nx.set_node_attributes(g, 1, "pupils")
    r = cg.partition(g, min_weight=8, max_weight=8, k=2, objective="cut_edges", progress=False)
    assert r.status == "optimal" and r.objective == 4


def test_partition_passes_running_reports_to_the_callback(every_check):
    g = nx.grid_2d_graph(6, 6)
    for v in g:
        g.nodes[v]["pupils"] = 1 + (v[0] * 7 + v[1] * 3) % 5
    total = sum(d["pupils"] for _, d in g.nodes(data=True))
    seen: list[RoundLog] = []
    stages: list[str] = []

    class Watch:  # a progress callback that also hears what happens between rounds
        def __call__(self, r):
            seen.append(r)

        def stage(self, text):
            stages.append(text)

    r = cg.partition(
        g,
        min_weight=total // 3 - 2,
        max_weight=total // 3 + 2,
        k=3,
        objective="cut_edges",
        contiguity="labeling",
        progress=Watch(),
    )
    assert r.status == "optimal"
    assert stages == [
        "finding the units every cluster must hold (root units)",
        "finding a good starting plan with 3 clusters",
    ]
    assert seen and seen[-1].status == "optimal" and seen[-1].objective == pytest.approx(r.objective)
    running = [e for e in seen if e.status == "running"]
    assert running and all(e.round == 1 and e.nodes is not None for e in running)
    assert all(e.objective is None or e.objective >= r.objective - 1e-6 for e in running)


def test_the_status_line_waits_then_shows_the_last_report():
    quiet, shown = io.StringIO(), io.StringIO()
    done = RoundLog(2, "optimal", 33.0, 33.0, 0, 4.0, 120)
    with StatusLine("clustergeo", delay=3600, file=quiet) as line:
        line(done)
    assert quiet.getvalue() == ""
    with StatusLine("clustergeo", delay=0, file=shown) as line:
        line.stage("finding a good starting plan")
        line.part = "part 2 of 7 (district Breckland)"
        line(RoundLog(2, "running", 35.0, 24.5, 0, 3.0, 3200))
        line(done)
    out = shown.getvalue()
    assert "clustergeo 0 s: finding a good starting plan" in out
    assert "clustergeo 0 s, part 2 of 7 (district Breckland): round 2 solving" in out
    assert "best plan 35.0, bound 24.5, gap 30.0%, 3,200 nodes" in out
    assert out.rstrip().endswith("round 2: optimal, objective 33.0, bound 33.0, gap 0.0%")


def test_describe_in_plain_words():
    assert (
        describe(RoundLog(1, "running", None, 12.5, 0, 5.0, 10))
        == "round 1 solving: best plan -, bound 12.5, 10 nodes, 5.0 s"
    )
    assert (
        describe(RoundLog(3, "feasible", 40.0, 30.0, 0, 61.0))
        == "round 3: feasible, objective 40.0, bound 30.0, gap 25.0%, 61.0 s"
    )
    assert (
        describe(RoundLog(1, "optimal", 300151.5, 300151.5, 1626, 27.0))
        == "round 1: optimal but with clusters in pieces, objective 300,151.5, 1,626 cuts added, 27.0 s"
    )
    assert (
        describe(RoundLog(2, "stopped early", 247505.4, 246368.2, 422, 8.0))
        == "round 2: stopped at a plan near the bound with clusters in pieces, objective 247,505.4, "
        "422 cuts added, 8.0 s"
    )


def test_ctrl_c_stops_a_gurobi_solve(ctrl_c_raises):
    pytest.importorskip("gurobipy")
    if "gurobi" not in solvers.available():
        pytest.skip("Gurobi is not usable here")
    s = solvers.make("gurobi", time_limit=120.0, gap=None, threads=1, seed=0, warm_start=False)
    timer = threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt, match="Gurobi stopped cleanly"):
            solvers.run(market_split(m=5, n=40), s)
    finally:
        timer.cancel()


def test_the_command_line_prints_rounds_and_a_running_line_every_30_s(capsys):
    from clustergeo import cli

    cli._last_running[0] = -cli._RUNNING_EVERY  # as at the start of a run
    events = [RoundLog(1, "running", None, 10.0, 0, s, 5 * s) for s in (5.0, 10.0, 36.0, 40.0, 70.0)]
    events += [RoundLog(1, "feasible", 40.0, 30.0, 3, 75.0), RoundLog(2, "running", 40.0, 31.0, 0, 80.0, 9)]
    for e in events:
        cli._progress(e)
    lines = capsys.readouterr().err.splitlines()
    assert [ln.split(":")[0].strip() for ln in lines] == ["round 1 solving"] * 3 + ["round 1", "round 2 solving"]
    assert "5.0 s" in lines[0] and "36.0 s" in lines[1] and "70.0 s" in lines[2]


#: Generous waits for a loaded machine: the kernel's start and imports, and the solve's reply.
KERNEL_START_S = 300
KERNEL_REPLY_S = 300


def test_a_notebook_interrupt_stops_a_solve_and_the_kernel_goes_on():
    """The planner's case: the interrupt button in Jupyter during a long solve.

    The interrupt comes only once HiGHS reports from inside its solve (its first progress
    tick), so a slow start on a loaded machine cannot make it land before the solve; the time
    limit is far beyond every wait, so only the interrupt can end the solve in time; replies
    are matched to their requests."""
    manager = pytest.importorskip("jupyter_client.manager")
    km, kc = manager.start_new_kernel(kernel_name="python3", startup_timeout=KERNEL_START_S)

    def reply_to(msg_id: str) -> dict:
        # a slow start leaves extra kernel_info replies on the shell channel: skip them
        while True:
            msg = kc.get_shell_msg(timeout=KERNEL_REPLY_S)
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg["content"]

    try:
        solve = kc.execute(
            f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
            "from test_progress import market_split\n"
            "import clustergeo as cg\n"
            "from clustergeo.solve.backends import solvers\n"
            "cg.settings.progress_interval = 0.0\n"
            "ticks = []\n"
            "def first_tick(t):\n"
            "    if not ticks:\n"
            "        print('inside the solve', flush=True)\n"
            "    ticks.append(t)\n"
            f"s = solvers.make('highs', time_limit={4 * KERNEL_REPLY_S}, gap=None, threads=1, seed=0,"
            " warm_start=False, report=first_tick)\n"
            "solvers.run(market_split(), s)"
        )
        while True:  # wait until HiGHS reports from inside the solve
            msg = kc.get_iopub_msg(timeout=KERNEL_START_S)
            if msg["msg_type"] == "stream" and "inside the solve" in msg["content"]["text"]:
                break
            assert msg["msg_type"] != "error", msg["content"]
        km.interrupt_kernel()
        reply = reply_to(solve)
        assert reply["status"] == "error" and reply["ename"] == "KeyboardInterrupt"
        assert "HiGHS stopped cleanly" in reply["evalue"]
        deadline = time.monotonic() + KERNEL_REPLY_S
        while True:  # the kernel aborts requests that arrive just after an error
            status = reply_to(kc.execute("1 + 1"))["status"]
            if status != "aborted" or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert status == "ok"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_the_status_line_is_for_terminals_and_notebooks_only():
    from clustergeo.solve.progress import interactive

    class OutStream(io.StringIO):  # what ipykernel puts in place of sys.stderr (isatty() is False)
        pass

    OutStream.__module__ = "ipykernel.iostream"
    assert not interactive(io.StringIO())
    assert interactive(OutStream())
