"""What the estimators accept, made ready for a training loop: in-memory arrays
(numpy, pandas, scipy.sparse, array-API arrays) checked as scikit-learn checks them,
Dask collections checked lazily, and the features a fitted model expects."""

import contextlib
import warnings

import numpy as np
from sklearn.utils.validation import validate_data

from ..distributed import checks
from ..maths.namespace import (
    host_dtype,
    is_array_api_input,
    namespace_of,
    to_host,
    to_namespace,
)
from .validation import check_sample_weight


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
        # rows in C order: a DataFrame's values come column-major, where gathering the
        # rows of a minibatch made the fit 6-20x slower (same numbers either way)
        with columns_named(X):
            X, y = validate_data(est, X, _host_if_array(y), accept_sparse=["csr", "csc"],
                                 multi_output=True, y_numeric=est._y_numeric,
                                 dtype=(np.float64, np.float32), order="C", reset=reset)
        y_dtype = est._target_dtype(X.dtype)
    y = est._prepare_y(y)
    targets = est._learn_targets(y, incremental)
    xp = namespace_of(X)
    Y = to_namespace(targets.encode(y, y_dtype), xp, like=X)
    # weights take the dtype of the encoded targets: X's for a classifier (a float32
    # fit stays float32; scikit-learn's mixes in float64 by NumPy's promotion), their
    # own float dtype beside a numpy regressor's own targets, as in scikit-learn
    sw = check_sample_weight(_host_if_array(sample_weight), X.shape[0], y_dtype)
    sw = None if sw is None else to_namespace(sw, xp, like=X)
    return X, Y, sw, targets


def _host_if_array(a):
    return to_host(a) if is_array_api_input(a) else a


def dask_features(est, data, reset):
    """Remember (``reset``) or check the width and column names of Dask training data
    (a :class:`~dasknn.distributed.data.DaskData`)."""
    if reset:
        set_features(est, data.X.shape[1], data.feature_names)
    else:
        check_features(est, data.X.shape[1], data.feature_names)


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


def check_features(est, n_features, names):
    """Refuse Dask data whose width (``n_features``) or column ``names`` differ from
    those seen in fit."""
    check_n_features(est, n_features)
    fitted = getattr(est, "feature_names_in_", None)
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
    checks.refuse_nonfinite(X, "X", xp, on_dask=False)
    if reset:
        set_features(est, X.shape[1], None)
    else:
        check_n_features(est, X.shape[1])
    return X


def for_prediction(est, X):
    """In-memory ``X`` checked against the fitted model, in its own namespace."""
    if is_array_api_input(X):
        return check_array_api_X(est, X, reset=False)
    with columns_named(X):
        return validate_data(est, X, accept_sparse=["csr", "csc"], reset=False)


@contextlib.contextmanager
def columns_named(X):
    """Re-raise scikit-learn's refusal of ``X`` (text it cannot convert, NaN, infinity)
    naming the columns at fault and the fix; scikit-learn's own words come first.
    Only a failed check pays for finding the columns."""
    try:
        yield
    except ValueError as exc:
        text = str(exc)
        kind = ("NaN" if text.startswith("Input X contains NaN") else
                "infinity" if text.startswith("Input X contains infinity") else
                "text" if text.startswith("could not convert") else None)
        found = kind and _bad_columns(X, kind)
        if not found:
            raise
        if kind == "text":
            raise ValueError(f"{text.rstrip('.')}. "
                             f"{checks.non_numeric_message(found, on_dask=False)}") from None
        raise checks.BadValues("X", kind, found, on_dask=False) from None


def _bad_columns(X, kind):
    """Names (DataFrames) or indices (arrays) of the columns of in-memory ``X`` that
    hold text (``kind='text'``), NaN or infinity; empty when it cannot tell."""
    bad = []
    for name, column in _columns(X):
        try:
            values = (column.to_numpy(dtype=np.float64, na_value=np.nan)
                      if hasattr(column, "to_numpy") else np.asarray(column, dtype=np.float64))
        except (TypeError, ValueError):
            if kind == "text":
                bad.append(name)
            continue
        if kind != "text" and (np.isnan(values) if kind == "NaN" else np.isinf(values)).any():
            bad.append(name)
    return bad


def _columns(X):
    """``(name or index, values)`` of each column of a DataFrame, array or sparse matrix."""
    if hasattr(X, "columns") and hasattr(X, "iloc"):  # pandas
        return [(c, X.iloc[:, j]) for j, c in enumerate(X.columns)]
    if hasattr(X, "tocsc"):  # scipy.sparse: only the stored values can be bad
        X = X.tocsc()
        return [(j, X.data[X.indptr[j]:X.indptr[j + 1]]) for j in range(X.shape[1])]
    try:
        X = np.asarray(X)
    except (TypeError, ValueError):
        return []
    return [(j, X[:, j]) for j in range(X.shape[1])] if X.ndim == 2 else []
