"""``MLPClassifier``: scikit-learn's, also on Dask data."""

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target, unique_labels
from sklearn.utils.validation import column_or_1d

from ..distributed.data import label_sample
from ..maths.targets import Targets
from .base import BaseMLP
from .docs import (
    CLASSIFIER_DOC,
    PARTIAL_FIT_CLASSIFIER,
    PREDICT_LABELS,
    PREDICT_LOG_PROBA,
    PREDICT_PROBA,
    SCORE_ACCURACY,
    documented,
)


class MLPClassifier(ClassifierMixin, BaseMLP):
    __doc__ = CLASSIFIER_DOC

    _y_numeric = False

    @staticmethod
    def _sklearn_class():
        from sklearn.neural_network import MLPClassifier as SkMLPClassifier

        return SkMLPClassifier

    def _output_activation(self):
        if self._label_binarizer.y_type_ == "multiclass":
            return "softmax"
        return "logistic"

    # ---------------------------------------------------------------- targets
    @staticmethod
    def _target_dtype(x_dtype):
        return x_dtype

    @staticmethod
    def _prepare_y(y):
        return column_or_1d(y, warn=True) if y.ndim == 2 and y.shape[1] == 1 else y

    @staticmethod
    def _dask_targets(y):
        return label_sample(y)

    def _learn_targets(self, y, incremental):
        """(Re)fit the label binarizer on labels ``y``, or check them against it."""
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = _fit_binarizer(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            self._check_known_classes(y)
        return self._targets()

    def _targets(self):
        lb = self._label_binarizer
        n_outputs = 1 if lb.y_type_ == "binary" else len(lb.classes_)
        return Targets(lb.y_type_, lb.classes_, n_outputs)

    def _check_known_classes(self, y):
        classes = unique_labels(y)
        if self.warm_start:
            if set(classes) != set(self.classes_):
                raise ValueError(
                    "warm_start can only be used where `y` has the same classes as in "
                    f"the previous call to fit. Previously got {self.classes_}, `y` "
                    f"has {classes}. Set warm_start=False to train a new model."
                )
        elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
            raise ValueError(
                f"`y` has classes not in `self.classes_`. `self.classes_` has "
                f"{self.classes_}. 'y' has {classes}. Pass every class in `classes` "
                "on the first call to partial_fit."
            )

    def _first_partial_fit_call(self, classes):
        """Set ``classes_`` on the first call of partial_fit; True if it was the first."""
        if getattr(self, "classes_", None) is None and classes is None:
            raise ValueError(
                "classes must be passed on the first call to partial_fit: give every "
                "class label of the whole dataset, e.g. classes=np.unique(y_all)."
            )
        if classes is None:
            return False
        classes = unique_labels(classes)
        if getattr(self, "classes_", None) is not None:
            if not np.array_equal(self.classes_, classes):
                raise ValueError(
                    f"`classes={classes!r}` is not the same as on the first call to "
                    f"partial_fit, which was {self.classes_!r}."
                )
            return False
        self.classes_ = classes
        return True

    @available_if(lambda est: est._check_solver())
    @documented(PARTIAL_FIT_CLASSIFIER)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        self._start_partial_fit()
        if self._first_partial_fit_call(classes):
            self._label_binarizer = LabelBinarizer()
            if type_of_target(y).startswith("multilabel"):
                self._label_binarizer.fit(y)
            else:
                self._label_binarizer.fit(self.classes_)
        return self._fit(X, y, sample_weight, incremental=True)

    def _score_encoded(self, Y, pred, sw):
        decode = self._label_binarizer.inverse_transform
        labels = decode(pred.ravel() if self.n_outputs_ == 1 else pred)
        return accuracy_score(decode(Y), labels, sample_weight=sw)

    # ------------------------------------------------------------- prediction
    @documented(PREDICT_LABELS)
    def predict(self, X):
        return self._predict_any(X, "predict")

    @documented(PREDICT_PROBA)
    def predict_proba(self, X):
        return self._predict_any(X, "predict_proba")

    @documented(PREDICT_LOG_PROBA)
    def predict_log_proba(self, X):
        return self._predict_any(X, "predict_log_proba")

    @documented(SCORE_ACCURACY)
    def score(self, X, y, sample_weight=None):
        return self._score_any(X, y, sample_weight, super().score)

    def _export_extra(self, sk):
        sk._label_binarizer = self._label_binarizer

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


def _fit_binarizer(y):
    """A LabelBinarizer for the labels of ``y``. A single class is kept, as scikit-learn
    keeps it: one output unit trained towards 0, which predicts that class."""
    return LabelBinarizer().fit(y)
