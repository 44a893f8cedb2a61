"""Targets as the network sees them, and its outputs as the user sees them.

:class:`Targets` is plain data (the kind of target, the class labels, the output
width), made once by an estimator and used everywhere targets are encoded or
outputs decoded: in-process fits, Dask blocks on the workers, lazy prediction.
Encoding is numpy on the host; decoding runs in the outputs' namespace.
"""

from typing import NamedTuple

import numpy as np

from .namespace import is_numpy_namespace, namespace_of, to_host, to_namespace

CLASS_KINDS = ("binary", "multiclass", "multilabel-indicator")


class Targets(NamedTuple):
    """What a model predicts.

    Examples
    --------
    >>> t = Targets("multiclass", np.array(["a", "b", "c"]), 3)
    >>> t.encode(np.array(["c", "a"]), np.float32)
    array([[0., 0., 1.],
           [1., 0., 0.]], dtype=float32)
    >>> t.decode(np.array([[0.1, 0.7, 0.2]]), "predict")
    array(['b'], dtype='<U1')
    >>> Targets("binary", np.array(["only"]), 1).decode(np.array([[0.9]]), "predict")
    array(['only'], dtype='<U4')
    """

    kind: str  # 'binary', 'multiclass', 'multilabel-indicator', or 'continuous'
    classes: object  # host array of class labels (None for regression)
    n_outputs: int  # width of the network's output layer
    nonnegative: bool = False  # loss='poisson'

    @property
    def is_classification(self):
        return self.kind in CLASS_KINDS

    @property
    def multilabel(self):
        return self.kind == "multilabel-indicator"

    def encode(self, y, dtype=None):
        """Host targets -> 2-D float columns of ``dtype`` (one-hot or indicator columns
        for classes; ``dtype=None`` keeps a regression target's own dtype)."""
        if not self.is_classification:
            y = np.asarray(y) if dtype is None else np.asarray(y, dtype=dtype)
            if self.nonnegative:
                refuse_negative_targets(y)
            return y.reshape(y.shape[0], -1)
        y = np.asarray(y)
        if self.multilabel:
            if y.ndim != 2 or y.shape[1] != len(self.classes):
                raise ValueError(f"y has shape {y.shape} but the model was fitted on a "
                                 f"multilabel indicator matrix of {len(self.classes)} columns.")
            return y.astype(dtype)
        index = self._class_index(y)
        if self.kind == "binary":
            return (index == 1).astype(dtype)[:, None]
        out = np.zeros((y.shape[0], len(self.classes)), dtype)
        out[np.arange(y.shape[0]), index] = 1
        return out

    def _class_index(self, y):
        """Position of each label of 1-D ``y`` in the sorted ``classes``."""
        if y.ndim != 1:
            raise ValueError(f"y has shape {y.shape}: class labels must be 1-D.")
        classes = self.classes
        try:
            index = np.minimum(np.searchsorted(classes, y), len(classes) - 1)
            known = classes[index] == y
        except TypeError:  # labels that do not compare with the classes
            known = np.zeros(y.shape[0], dtype=bool)
        if not np.all(known):
            unknown = sorted(set(y[~known].tolist()), key=str)[:5]
            raise ValueError(f"y has labels {unknown} that are not among the classes "
                             f"{classes.tolist()} the model was fitted with.")
        return index

    def decode(self, out, method):
        """Output activations -> what ``method`` returns ('predict', 'predict_proba'
        or 'predict_log_proba'), in the namespace of ``out``."""
        xp = namespace_of(out)
        if not self.is_classification:
            return xp.reshape(out, (-1,)) if out.shape[1] == 1 else out
        if method == "predict":
            return self._labels(out, xp)
        if self.n_outputs == 1:
            out = xp.concat([1 - out, out], axis=1)
        return xp.log(out) if method == "predict_log_proba" else out

    def _labels(self, out, xp):
        if self.multilabel:
            return xp.astype(out > 0.5, xp.int64)
        if self.n_outputs == 1:  # one class (fitted on a single label) predicts it
            index = xp.astype(out[:, 0] > 0.5, xp.int64) * int(len(self.classes) > 1)
        else:
            index = xp.argmax(out, axis=1)
        if is_numpy_namespace(xp) or self.classes.dtype.kind not in "biuf":
            return self.classes[to_host(index)]  # text labels stay on the host
        return xp.take(to_namespace(self.classes, xp, like=out), index)

    def output_meta(self, method, values_dtype):
        """``(width, dtype)`` of what ``method`` returns (width None: 1-D), for outputs
        of ``values_dtype``."""
        if not self.is_classification:
            return (None if self.n_outputs == 1 else self.n_outputs), values_dtype
        if method == "predict":
            return (self.n_outputs if self.multilabel else None), self.classes.dtype
        return max(2, self.n_outputs), values_dtype


def refuse_negative_targets(y):
    """The Poisson loss needs ``y >= 0`` (numpy ``y``, a block or all of it)."""
    if bool(np.any(y < 0)):
        raise ValueError(
            "loss='poisson' needs non-negative targets, but y has negative values: "
            "use loss='squared_error' or shift the targets."
        )


def union_of_labels(uniques):
    """The sorted distinct labels of the blocks whose ``numpy.unique`` are ``uniques``
    (the last task of a Dask fit's labels pass).

    Examples
    --------
    >>> union_of_labels([np.array([0, 2]), np.array([1, 2])])
    array([0, 1, 2])
    """
    return np.unique(np.concatenate(uniques))
