"""The solver backends: one interface, the caller's solver object untouched, no HiGHS banner."""

import subprocess
import sys

import pulp
import pytest

from clustergeo.solve.backends import solvers


def knapsack() -> pulp.LpProblem:
    prob = pulp.LpProblem("knapsack", pulp.LpMaximize)
    x = [pulp.LpVariable(f"x{i}", cat="Binary") for i in range(6)]
    prob += pulp.lpSum((i + 1) * v for i, v in enumerate(x))
    prob += pulp.lpSum((2 * i + 1) * v for i, v in enumerate(x)) <= 12.5
    return prob


@pytest.mark.parametrize("name", [n for n in ("highs", "cbc") if n in solvers.available()])
def test_backends_agree_and_leave_the_solver_alone(name):
    s = solvers.make(name, time_limit=30, gap=None, threads=1, seed=0, warm_start=False)
    before = dict(vars(s))
    before_options = {
        k: list(v) if isinstance(v, list) else dict(v) if isinstance(v, dict) else v for k, v in before.items()
    }
    info = solvers.run(knapsack(), s)
    assert info.status == "optimal" and info.objective == pytest.approx(info.bound)
    assert isinstance(solvers.backend(knapsack(), s), solvers.Backend)
    after = {k: list(v) if isinstance(v, list) else dict(v) if isinstance(v, dict) else v for k, v in vars(s).items()}
    assert after == before_options


def test_no_highs_banner_on_stdout():
    code = (
        "from clustergeo.solve.backends import solvers\n"
        "import pulp\n"
        "p = pulp.LpProblem('p', pulp.LpMinimize); x = pulp.LpVariable('x', 0, 1, cat='Binary')\n"
        "p += x; p += x >= 1\n"
        "print(solvers.version('highs'))\n"
        "print(solvers.run(p, solvers.make('highs', time_limit=5, gap=None, threads=1, seed=0)).status)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "Copyright" not in out and out.splitlines()[-1] == "optimal"
