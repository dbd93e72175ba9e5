"""The exact models: the Hess (p-median) model with its contiguity constraints, the labelling
model for cut edges, and the column (set-partitioning) method."""
