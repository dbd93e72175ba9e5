"""Heuristics that find good plans fast: greedy amalgamation, the spanning-tree (ReCom) search
and tabu search."""
