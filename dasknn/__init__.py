"""dasknn: scikit-learn's multi-layer perceptrons, trained data-parallel on Dask.

Importing the package costs next to nothing: the estimators, :func:`save` and
:func:`load` load on first use, so a Dask worker that unpickles one of the engine's
tasks loads numpy, scipy and the kernels, not scikit-learn's estimators or the
dashboard. Schedulers started in this process afterwards (a ``LocalCluster``)
preload :mod:`dasknn.dashboard`, which serves the training page.
"""

import importlib

__all__ = ["MLPClassifier", "MLPRegressor", "load", "save"]
__version__ = "0.1.0.dev0"

_HOMES = {"MLPClassifier": ".estimators", "MLPRegressor": ".estimators",
          "load": ".persist", "save": ".persist"}


def __getattr__(name):
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    if _HOMES[name] == ".estimators":
        importlib.import_module(".monitor", __name__)  # fits on a cluster install its plugin
    value = getattr(importlib.import_module(_HOMES[name], __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted([*globals(), *_HOMES])


def _preload_dashboard():
    """Add :mod:`dasknn.dashboard` to the preloads of schedulers this process starts."""
    import dask.config

    preloads = dask.config.get("distributed.scheduler.preload", default=None) or []
    preloads = [preloads] if isinstance(preloads, str) else list(preloads)
    if "dasknn.dashboard" not in preloads:
        dask.config.set({"distributed.scheduler.preload": [*preloads, "dasknn.dashboard"]})


_preload_dashboard()
