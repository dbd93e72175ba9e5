"""The optimiser: exact contiguous partitioning (Hess model, separator cuts, fixing, warm starts)."""

from .backends.solvers import available as available_solvers
from .partition import PartitionResult, partition

__all__ = ["PartitionResult", "available_solvers", "partition"]
