"""Dask input, made ready for a fit once: nothing here loads a whole collection.

:func:`prepare_fit` is the one way in for a fit on Dask data: Dask DataFrames and
Series become Dask arrays with known row chunks; y and sample_weight are chunked like
X's rows; X gets a single column block; the column names, the labels a classifier
learns and the check that some sample weight is non-zero come with it, in one
compute. Prediction takes :func:`prepare_X`.
"""

from typing import NamedTuple

import dask
import dask.array as da
import numpy as np
import pandas as pd

from ..maths.targets import union_of_labels
from . import checks, memory

__all__ = ["DaskData", "is_dask", "is_frame", "align", "prepare_fit", "prepare_X",
           "feature_names"]


class DaskData(NamedTuple):
    """A fit's Dask input, prepared once (:func:`prepare_fit`)."""

    X: object  # 2-D floating Dask array, known row chunks, one column block
    y: object  # Dask array chunked like X's rows
    sample_weight: object  # likewise, or None
    feature_names: object  # X's column names (an array of str), or None
    y_sample: object  # a classifier's labels (see label_sample); a regressor's y


def prepare_fit(X, y, sample_weight, classifier):
    """Everything a fit on Dask data needs, as one :class:`DaskData`: only the chunk
    sizes, the labels (``classifier``) and whether any sample weight is non-zero are
    computed, in one pass, before which blocks too big for the workers' memory are
    warned about (:func:`~.memory.warn_if_blocks_too_big`).

    Examples
    --------
    >>> X = da.ones((6, 2), chunks=3)
    >>> data = prepare_fit(X, da.from_array(np.array([0, 1, 0, 2, 1, 0]), chunks=2), None, True)
    >>> data.y.chunks, data.y_sample
    (((3, 3),), array([0, 1, 2]))
    """
    names = feature_names(X)
    X, y, sample_weight = _align_all(X, y, sample_weight)
    if not classifier:
        _check_numeric_targets(y)
    memory.warn_if_blocks_too_big(X, y)
    lazy = {"labels": _labels_graph(y) if classifier else None,
            "weighted": None if sample_weight is None else _any_nonzero(sample_weight)}
    (found,) = dask.compute(lazy)
    if sample_weight is not None and not found["weighted"]:
        raise ValueError(checks.ZERO_WEIGHTS)
    y_sample = _label_sample(y, found["labels"]) if classifier else y
    return DaskData(X, y, sample_weight, names, y_sample)


def _check_numeric_targets(y):
    if not np.issubdtype(y.dtype, np.number) or np.issubdtype(y.dtype, np.complexfloating):
        raise ValueError(f"y has dtype {y.dtype}: MLPRegressor needs numeric targets. For "
                         "class labels use MLPClassifier.")


def is_dask(obj):
    """True for Dask arrays, DataFrames and Series."""
    return obj is not None and dask.is_dask_collection(obj)


def is_frame(obj):
    return hasattr(obj, "columns") and hasattr(obj, "map_partitions")


def feature_names(X):
    """Column names of a Dask DataFrame when they are all strings, else None."""
    if not is_frame(X):
        return None
    names = list(X.columns)
    if names and all(isinstance(c, str) for c in names):
        return np.asarray(names, dtype=object)
    return None


def _frame_to_array(X, lengths=True):
    """A DataFrame of numbers as a Dask array; columns without numbers (text, categories
    of text, dates) are refused from the metadata alone, naming them and the fix."""
    bad = [c for c, t in X.dtypes.items() if not pd.api.types.is_numeric_dtype(t)]
    if bad:
        raise ValueError(checks.non_numeric_message(bad, on_dask=True))
    return X.to_dask_array(lengths=True if lengths else None)


def _as_float(t, features):
    """Whether a column of dtype ``t`` is read as float64 (with NA as NaN), as
    scikit-learn reads it: pandas' nullable numbers (``Int64``, ``Float64``...) and,
    among features, booleans (``dd.get_dummies`` makes them) and categories whose
    values are numbers (labels keep their type)."""
    if isinstance(t, pd.CategoricalDtype):
        return features and len(t.categories) > 0 and t.categories.dtype.kind in "iuf"
    if pd.api.types.is_bool_dtype(t):
        return features
    return pd.api.types.is_extension_array_dtype(t) and pd.api.types.is_numeric_dtype(t)


def _nullable_as_float(obj, features=False):
    """``obj`` (a Dask DataFrame or Series) with the columns :func:`_as_float` names
    cast to float64; other dtypes unchanged."""
    if obj.ndim == 2:
        cast = {c: "float64" for c, t in obj.dtypes.items() if _as_float(t, features)}
        return obj.astype(cast) if cast else obj
    return obj.astype("float64") if _as_float(obj.dtype, features) else obj


def _as_array(obj, name, lengths=True):
    if not hasattr(obj, "to_dask_array"):  # not a Dask DataFrame or Series
        return obj
    obj = _nullable_as_float(obj, features=name == "X")
    if name == "X" and is_frame(obj):
        return _frame_to_array(obj, lengths)
    return obj.to_dask_array(lengths=True)


def prepare_X(X, lengths=True):
    """``X`` as a 2-D floating Dask array with one column block, and with known row
    chunks unless ``lengths=False`` (prediction needs none: finding them would read
    every partition before the prediction is even computed)."""
    X = _as_array(X, "X", lengths)
    if not isinstance(X, da.Array):
        raise TypeError(f"Expected a Dask array or DataFrame for X, got {type(X).__name__}.")
    if X.ndim != 2:
        raise ValueError(
            f"Expected a 2-D Dask array for X, got {X.ndim} dimension(s) with shape "
            f"{X.shape}. Reshape it to (n_samples, n_features), e.g. X.reshape(-1, 1) "
            "for a single feature."
        )
    text = _text_columns(X) if X.dtype == object else []
    if text:
        raise ValueError(checks.non_numeric_message(text, on_dask=True))
    if not (np.issubdtype(X.dtype, np.number) and not np.issubdtype(X.dtype, np.complexfloating)):
        raise ValueError(
            f"X has dtype {X.dtype}: an MLP needs real numbers. Convert or encode "
            "the data first (X.astype(float) for numbers stored as text)."
        )
    if lengths and any(np.isnan(c) for c in X.chunks[0]):
        X = X.compute_chunk_sizes()
    if len(X.chunks[1]) > 1:
        X = X.rechunk({1: -1})
    if X.dtype not in (np.float32, np.float64):
        X = X.astype(np.float64)
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"X has shape {X.shape}: at least one sample and one feature are "
                         "required.")
    return X


def _text_columns(X):
    """Indices of the columns of an object-dtype Dask array that hold values that are
    not numbers, read from its first row block (only when X is being refused)."""
    head = np.asarray(X.blocks[0].compute())
    bad = []
    for j in range(head.shape[1]):
        try:
            head[:, j].astype(np.float64)
        except (TypeError, ValueError):
            bad.append(j)
    return bad


def align(v, X, name):
    """Chunk the rows of ``v`` (Dask, numpy or pandas) like the rows of ``X``."""
    if v is None:
        return None
    if not is_dask(v):
        v = np.asarray(v)
        if v.ndim == 0 and name == "sample_weight":  # one weight for every row
            v = np.full(X.shape[0], v, dtype=np.float64)
        elif v.ndim == 0:
            raise ValueError(f"{name} is a scalar: pass one entry per row of X.")
        _check_length(v, X, name)
        return da.from_array(v, chunks=(X.chunks[0],) + v.shape[1:])
    v = _as_array(v, name)
    if any(np.isnan(c) for c in v.chunks[0]):
        v = v.compute_chunk_sizes()
    _check_length(v, X, name)
    if v.chunks[0] != X.chunks[0] or any(len(c) > 1 for c in v.chunks[1:]):
        # one block per row block of X: split columns would pair blocks wrongly
        v = v.rechunk((X.chunks[0],) + tuple((s,) for s in v.shape[1:]))
    return v


def _check_length(v, X, name):
    if v.shape[0] != X.shape[0]:
        raise ValueError(
            f"X has {X.shape[0]} rows but {name} has {v.shape[0]}: pass one {name} "
            "entry per row of X."
        )


def _align_all(X, y, sample_weight):
    """``(X, y, sample_weight)`` as Dask arrays sharing ``X``'s row chunks."""
    X = prepare_X(X)
    if y is None:
        raise ValueError("fit requires y to be passed, but the target y is None: pass the "
                         "targets as a Dask array or Series chunked like X.")
    y = align(y, X, "y")
    if y is not None and y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    sw = align(sample_weight, X, "sample_weight")
    if sw is not None and sw.ndim != 1:
        raise ValueError(f"sample_weight must be 1-D, got shape {sw.shape}.")
    return X, y, sw


def _labels_graph(y):
    """What :func:`_label_sample` needs from ``y``, lazily: its distinct values, and for
    a 2-D ``y`` its first rows."""
    if y.ndim == 2:
        return y[: min(y.shape[0], 100)], _distinct(y)
    return _distinct(y)


def _distinct(a):
    """The distinct values of Dask array ``a``, lazily: numpy's ``unique`` of each block,
    then of their union. Its tasks call numpy and :mod:`dasknn.maths.targets` only, so a
    worker need not import dask.array (and scipy with it) to run them."""
    return dask.delayed(union_of_labels)(
        [dask.delayed(np.unique)(block) for block in a.to_delayed().ravel()])


def _any_nonzero(a):
    """Whether Dask array ``a`` holds a non-zero value, lazily, as :func:`_distinct`."""
    return dask.delayed(any)(
        [dask.delayed(np.count_nonzero)(block) for block in a.to_delayed().ravel()])


def _label_sample(y, found):
    """What a classifier learns its classes from: the sorted labels of a 1-D ``y``;
    for a 2-D ``y``, its first rows, with a row of its largest value added when ``y``
    holds values other than 0 and 1 (so that the target type is that of all of ``y``:
    a multilabel indicator matrix only when every value is 0 or 1)."""
    if y.ndim == 2:
        head, values = found
        if np.isin(values, (0, 1)).all():
            return head
        return np.vstack([head, np.full((1, y.shape[1]), values.max(), dtype=head.dtype)])
    labels = np.unique(found)
    if labels.dtype.kind == "f" and np.isnan(labels).any():
        raise ValueError("Input y contains NaN: drop or label those rows first.")
    return labels
