"""The training protocol without Dask: configuration, fit state, batches, the one
epoch driver with its hooks, and the in-process loops (stochastic and L-BFGS-B)."""
