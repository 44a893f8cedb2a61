"""The scikit-learn facade: :class:`MLPClassifier` and :class:`MLPRegressor`."""

from .classifier import MLPClassifier
from .regressor import MLPRegressor

__all__ = ["MLPClassifier", "MLPRegressor"]
