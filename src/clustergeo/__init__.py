"""clustergeo: school cluster boundaries by integer programming.

The flow of data: schools in -> units and graph -> problem -> solver -> plan -> outputs.
"""

from . import datasets, graph, travel, units
from .errors import (ClusterGeoError, DataError, GraphError, InfeasibleError, Problem,
                     RulesError, SolverError)
from .schools import read_schools, summary
from .settings import settings

__version__ = "0.1.0"

__all__ = [
    "ClusterGeoError", "DataError", "GraphError", "InfeasibleError", "Problem", "RulesError",
    "SolverError", "datasets", "graph", "travel", "units", "read_schools", "settings", "summary",
]
