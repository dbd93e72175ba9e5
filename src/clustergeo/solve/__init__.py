"""The optimiser: exact contiguous partitioning (Hess model, separator cuts, fixing, warm starts)."""

from .partition import PartitionResult, partition
from .solvers import available as available_solvers

__all__ = ["PartitionResult", "available_solvers", "partition"]
