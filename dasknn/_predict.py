"""Lazy prediction and cluster-side scoring on Dask collections.

Predictions are built block by block with ``map_blocks`` / ``map_partitions`` under
keys named ``dasknn-predict-...``; the fitted model enters the graph once. Scores
are reduced on the cluster, so only scalars reach the client.
"""

import copy
import warnings

import dask
import dask.array as da
import numpy as np
import pandas as pd

from ._device import is_array_api_input, namespace_of, to_host
from ._heap import roomy_heap
from ._dask_data import _align, _is_frame, feature_names, prepare_X


def check_features(est, X, dX):
    """Refuse data whose width or column names differ from those seen in fit."""
    if dX.shape[1] != est.n_features_in_:
        raise ValueError(
            f"X has {dX.shape[1]} features, but {type(est).__name__} is expecting "
            f"{est.n_features_in_} features as input."
        )
    names, fitted = feature_names(X), getattr(est, "feature_names_in_", None)
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


BLOCK_CHUNK = 1024  # rows a block's forward pass takes at a time (cache-sized)


def _apply(block, est, method):
    """Run ``method`` of ``est`` on one in-memory block (already validated), in the
    block's own namespace (numpy or CuPy)."""
    if is_array_api_input(block):
        xp = namespace_of(block)
        if not xp.isdtype(block.dtype, "real floating"):
            block = xp.astype(block, xp.float64)
    else:
        block = np.asarray(block)
        if block.dtype not in (np.float32, np.float64):
            block = block.astype(np.float64)
    with roomy_heap():
        return est._from_raw(est._forward(block, chunk=BLOCK_CHUNK), method)


def _output_shape(est, method, input_dtype):
    """Width of the output (None for 1-D) and its dtype (as in-memory prediction
    gives: float32 only when both the data and the model are float32)."""
    values = np.result_type(input_dtype if input_dtype in (np.float32, np.float64)
                            else np.float64, est.coefs_[-1].dtype)
    if method == "predict":
        if hasattr(est, "classes_"):
            multilabel = est._label_binarizer.y_type_.startswith("multilabel")
            return (est.n_outputs_ if multilabel else None), est.classes_.dtype
        return (None if est.n_outputs_ == 1 else est.n_outputs_), values
    return max(2, est.n_outputs_), values


def lazy(est, X, method):
    """``method`` ('predict', 'predict_proba', ...) of ``est`` as a lazy collection."""
    dX = prepare_X(X, lengths=False)
    check_features(est, X, dX)
    width, dtype = _output_shape(est, method, dX.dtype)
    model = _snapshot(est)
    if _is_frame(X) and method == "predict" and width is None:
        return X.map_partitions(_apply_frame, model, method, meta=pd.Series([], dtype=dtype),
                                token="dasknn-predict")
    return _lazy_array(model, dX, method, width, dtype)


def _snapshot(est):
    """The fitted model as it is now, for the graph: a later ``partial_fit`` or
    ``fit`` must not change what an already built prediction computes."""
    return dask.delayed(copy.deepcopy(est), pure=True)


def _lazy_array(model, dX, method, width, dtype):
    like = dX._meta if dtype.kind in "biuf" else np.empty(0)
    if width is None:
        return dX.map_blocks(_apply, model, method, drop_axis=1, dtype=dtype,
                             meta=np.empty((0,), dtype=dtype, like=like),
                             token=f"dasknn-{method}")
    return dX.map_blocks(_apply, model, method, chunks=(dX.chunks[0], (width,)), dtype=dtype,
                         meta=np.empty((0, 0), dtype=dtype, like=like),
                         token=f"dasknn-{method}")


def _apply_frame(frame, est, method):
    return pd.Series(_apply(frame.to_numpy(), est, method), index=frame.index)


def score(est, X, y, sample_weight, classifier):
    """Accuracy (classifiers) or R^2 (regressors), reduced on the cluster."""
    dX = prepare_X(X)
    check_features(est, X, dX)
    width, dtype = _output_shape(est, "predict", dX.dtype)
    pred = _lazy_array(_snapshot(est), dX, "predict", width, dtype)
    if not isinstance(pred._meta, np.ndarray):  # device predictions: compare on the host
        pred = pred.map_blocks(to_host, dtype=pred.dtype, meta=np.empty((0,) * pred.ndim,
                                                                        dtype=pred.dtype))
    y = _align(y, dX, "y")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    w = _align(sample_weight, dX, "sample_weight")
    if w is None:
        w = da.ones(dX.shape[0], chunks=dX.chunks[0])
    if classifier:
        correct = pred == y if pred.ndim == 1 else (pred == y).all(axis=1)
        return float(da.average(correct, weights=w).compute())
    y = y.reshape(y.shape[0], -1).astype(np.float64)
    pred = pred.reshape(pred.shape[0], -1)
    if y.shape[1] != pred.shape[1]:
        raise ValueError(f"y has {y.shape[1]} output(s) but the model predicts "
                         f"{pred.shape[1]}: score with targets of the shape fit saw.")
    wc = w[:, None]
    ybar = (wc * y).sum(axis=0) / w.sum()
    sst, sse = dask.compute(((y - ybar) ** 2 * wc).sum(axis=0), ((y - pred) ** 2 * wc).sum(axis=0))
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(sst > 0, 1 - sse / sst, np.where(sse > 0, 0.0, 1.0))
    return float(np.mean(r2))
