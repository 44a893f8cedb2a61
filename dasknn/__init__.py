"""dasknn: scikit-learn's multi-layer perceptrons, trained data-parallel on Dask."""

from ._mlp import MLPClassifier, MLPRegressor
from .persist import load, save
from . import dashboard as _dashboard  # registers the dashboard page  # noqa: E402,F401

__all__ = ["MLPClassifier", "MLPRegressor", "load", "save"]
__version__ = "0.1.0.dev0"
