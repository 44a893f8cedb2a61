"""What the estimators accept, made ready for a training loop: in-memory arrays
(numpy, pandas, scipy.sparse, array-API arrays) checked as scikit-learn checks them,
Dask collections checked lazily, and the features a fitted model expects."""

import warnings

import numpy as np
from sklearn.utils.validation import validate_data

from ..distributed import data as dask_data
from ..distributed.shards import Data
from ..maths.namespace import (
    host_dtype,
    is_array_api_input,
    is_numpy_namespace,
    namespace_of,
    to_host,
    to_namespace,
)
from .validation import check_sample_weight, refuse_zero_weights


def in_memory(est, X, y, sample_weight, incremental, reset):
    """``(X, Y, sample_weight, targets)`` for an in-process fit, in X's namespace."""
    if is_array_api_input(X):
        X = check_array_api_X(est, X, reset)
        y = to_host(y)
        n_y = y.shape[0] if hasattr(y, "shape") else len(y)
        if n_y != X.shape[0]:
            raise ValueError("Found input variables with inconsistent numbers of "
                             f"samples: [{X.shape[0]}, {n_y}]")
        y_dtype = host_dtype(X)
    else:
        X, y = validate_data(est, X, _host_if_array(y), accept_sparse=["csr", "csc"],
                             multi_output=True, y_numeric=est._y_numeric,
                             dtype=(np.float64, np.float32), reset=reset)
        y_dtype = est._target_dtype(X.dtype)
    y = est._prepare_y(y)
    targets = est._learn_targets(y, incremental)
    xp = namespace_of(X)
    Y = to_namespace(targets.encode(y, y_dtype), xp, like=X)
    # numpy: float weights keep their dtype, as in scikit-learn; a device: X's dtype
    sw = check_sample_weight(_host_if_array(sample_weight), X.shape[0],
                             None if is_numpy_namespace(xp) else host_dtype(X))
    sw = None if sw is None else to_namespace(sw, xp, like=X)
    return X, Y, sw, targets


def _host_if_array(a):
    return to_host(a) if is_array_api_input(a) else a


def dask(est, X, y, sample_weight, incremental, reset):
    """``(Data, targets)`` for a distributed fit; only chunk sizes, the label set and
    whether any weight is non-zero are computed."""
    data = Data(*dask_data.prepare(X, y, sample_weight))
    if data.sample_weight is not None:
        refuse_zero_weights(bool((data.sample_weight != 0).any().compute()))
    if reset:
        set_features(est, data.X.shape[1], dask_data.feature_names(X))
    else:
        check_features(est, X, data.X)
    return data, est._learn_targets(est._dask_targets(data.y), incremental)


def set_features(est, n_features, names):
    """Remember the width (and column names, if any) of the training data."""
    est.n_features_in_ = int(n_features)
    if names is not None:
        est.feature_names_in_ = names
    elif hasattr(est, "feature_names_in_"):
        del est.feature_names_in_


def check_n_features(est, n_features):
    if n_features != est.n_features_in_:
        raise ValueError(
            f"X has {n_features} features, but {type(est).__name__} is expecting "
            f"{est.n_features_in_} features as input."
        )


def check_features(est, X, dX):
    """Refuse Dask data whose width or column names differ from those seen in fit."""
    check_n_features(est, dX.shape[1])
    names, fitted = dask_data.feature_names(X), getattr(est, "feature_names_in_", None)
    if fitted is not None and names is not None and list(names) != list(fitted):
        raise ValueError(
            "The feature names should match those that were passed during fit: "
            f"got {list(names)}, expected {list(fitted)}."
        )
    if (fitted is None) != (names is None):  # the warnings scikit-learn gives in memory
        warnings.warn(
            f"X has feature names, but {type(est).__name__} was fitted without feature names"
            if fitted is None else
            f"X does not have valid feature names, but {type(est).__name__} was fitted "
            "with feature names", UserWarning)


def check_array_api_X(est, X, reset):
    """Validate a non-numpy array like scikit-learn validates numpy input, without
    leaving its namespace or device."""
    xp = namespace_of(X)
    if X.ndim != 2:
        raise ValueError(
            f"Expected a 2-D array for X, got {X.ndim} dimension(s) with shape "
            f"{tuple(X.shape)}. Reshape it to (n_samples, n_features)."
        )
    if X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(f"X has shape {tuple(X.shape)}: at least one sample and one "
                         "feature are required.")
    if not xp.isdtype(X.dtype, "real floating"):
        if not xp.isdtype(X.dtype, ("integral", "bool")):
            raise ValueError(f"X has dtype {X.dtype}: an MLP needs real numbers.")
        X = xp.astype(X, xp.float64)
    if not bool(xp.all(xp.isfinite(X))):
        raise ValueError(
            "Input X contains NaN or infinity. Remove or impute those rows first."
        )
    if reset:
        set_features(est, X.shape[1], None)
    else:
        check_n_features(est, X.shape[1])
    return X


def for_prediction(est, X):
    """In-memory ``X`` checked against the fitted model, in its own namespace."""
    if is_array_api_input(X):
        return check_array_api_X(est, X, reset=False)
    return validate_data(est, X, accept_sparse=["csr", "csc"], reset=False)
