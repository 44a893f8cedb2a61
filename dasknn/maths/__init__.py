"""Pure functions on arrays: the network, activations, losses, optimizers, stopping.

Nothing here knows of scikit-learn's estimators, Dask or printing: arrays and their
namespace ``xp`` go in, arrays come out, so the same code runs on numpy, CuPy and
any array-API library, in a worker task or in-process.
"""
