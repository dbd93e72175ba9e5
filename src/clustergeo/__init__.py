"""clustergeo: school cluster boundaries by integer programming.

The flow of data: schools in -> units and graph -> problem -> solver -> plan -> outputs.
"""

from . import datasets, edit, graph, read, travel, units
from .allocate import Allocation, allocate, apportion
from .check import check_partition, verify_plan
from .compare import compare, metrics_table, moves
from .edit import polish, repropose
from .errors import (
    ClusterGeoError,
    DataError,
    GraphError,
    InfeasibleError,
    NoPlanInTimeError,
    Problem,
    RulesError,
    SolverError,
)
from .groups import PeerGroups, peer_groups
from .outputs import write_plan
from .plan import Plan
from .proposal import alternatives, propose
from .read import read_assignment, read_plan
from .rules import Rules
from .scenario import read_scenario
from .schools import read_schools, schools_summary, summary
from .settings import settings
from .solve import PartitionResult, partition
from .sweep import SweepResult, iter_sweep, read_sweep, sweep
from .version import __version__

__all__ = [
    "ClusterGeoError",
    "DataError",
    "GraphError",
    "InfeasibleError",
    "NoPlanInTimeError",
    "Problem",
    "RulesError",
    "SolverError",
    "datasets",
    "graph",
    "travel",
    "units",
    "Plan",
    "PartitionResult",
    "Rules",
    "check_partition",
    "compare",
    "metrics_table",
    "moves",
    "partition",
    "propose",
    "alternatives",
    "read_plan",
    "read_scenario",
    "verify_plan",
    "write_plan",
    "read_schools",
    "settings",
    "schools_summary",
    "summary",
    "__version__",
    "edit",
    "read",
    "polish",
    "read_assignment",
    "repropose",
    "Allocation",
    "allocate",
    "apportion",
    "PeerGroups",
    "peer_groups",
    "sweep",
    "iter_sweep",
    "read_sweep",
    "SweepResult",
]
