"""dasknn: scikit-learn's multi-layer perceptrons, trained data-parallel on Dask."""

from ._mlp import MLPClassifier, MLPRegressor

__all__ = ["MLPClassifier", "MLPRegressor"]
__version__ = "0.1.0.dev0"
