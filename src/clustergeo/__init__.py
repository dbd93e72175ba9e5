"""clustergeo: school cluster boundaries by integer programming.

The flow of data: schools in -> units and graph -> problem -> solver -> plan -> outputs.
"""

from . import datasets, graph, travel, units
from .errors import (ClusterGeoError, DataError, GraphError, InfeasibleError, NoPlanInTimeError, Problem,
                     RulesError, SolverError)
from .check import check_partition, verify_plan
from .compare import compare, metrics_table, moves
from .outputs import read_plan, write_plan
from .plan import Plan
from .proposal import alternatives, propose
from .rules import Rules
from .scenario import read_scenario
from .schools import read_schools, summary
from .solve import PartitionResult, partition
from .settings import settings
from .sweep import SweepResult, iter_sweep, read_sweep, sweep

__version__ = "0.1.0"

__all__ = [
    "ClusterGeoError", "DataError", "GraphError", "InfeasibleError", "NoPlanInTimeError", "Problem", "RulesError",
    "SolverError", "datasets", "graph", "travel", "units", "Plan", "PartitionResult", "Rules",
    "check_partition", "compare", "metrics_table", "moves", "partition", "propose", "alternatives", "read_plan", "read_scenario", "verify_plan",
    "write_plan", "read_schools", "settings", "summary", "sweep", "iter_sweep", "read_sweep", "SweepResult",
]
