"""The 0.1.0.dev0 path of the estimators, named by models saved then (kept for one release)."""

from .estimators import MLPClassifier, MLPRegressor  # noqa: F401
