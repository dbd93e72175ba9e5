"""The MIP solvers behind PuLP (HiGHS, CBC, Gurobi), one backend class each."""
