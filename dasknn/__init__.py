"""dasknn: scikit-learn's multi-layer perceptrons, trained data-parallel on Dask.

Importing the package costs next to nothing: the estimators, :func:`save` and
:func:`load` load on first use, so a Dask worker that unpickles one of the engine's
tasks loads numpy and the kernels (scipy only for sparse data or the Poisson loss),
not scikit-learn's estimators or the dashboard. It changes no setting of Dask: a scheduler serves the training page of
:mod:`dasknn.dashboard` when it is preloaded there.
"""

import importlib

__all__ = ["MLPClassifier", "MLPRegressor", "load", "save"]
__version__ = "0.1.0.dev0"

_HOMES = {"MLPClassifier": ".estimators", "MLPRegressor": ".estimators",
          "load": ".persist", "save": ".persist"}


def __getattr__(name):
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOMES[name], __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted([*globals(), *_HOMES])

