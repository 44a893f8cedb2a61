"""Lazy prediction and cluster-side scoring on Dask collections.

Predictions are built block by block with ``map_blocks`` / ``map_partitions`` under
keys named ``dasknn-predict-...``; the fitted :class:`~dasknn.maths.model.Model`
(plain arrays, no estimator) enters the graph once. Scores are reduced on the
cluster, so only scalars reach the client.
"""

import dask
import dask.array as da
import numpy as np
import pandas as pd

from ..maths.namespace import to_host
from ..maths.scores import r2
from .data import align, is_frame
from .tasks import predict_block


def lazy(model, X, dX, method):
    """``method`` ('predict', 'predict_proba', ...) of ``model`` on the Dask collection
    ``X`` (``dX``: it as a prepared Dask array), as a lazy collection."""
    width, dtype = model.output_meta(method, dX.dtype)
    graph_model = dask.delayed(model, pure=True)
    names = tuple(str(c) for c in X.columns) if is_frame(X) else None
    if names is not None and method == "predict" and width is None:
        return X.map_partitions(_predict_frame, graph_model, method, names,
                                meta=pd.Series([], dtype=dtype), token="dasknn-predict")
    return _lazy_array(graph_model, dX, method, width, dtype, names)


def _lazy_array(model, dX, method, width, dtype, names=None):
    like = dX._meta if dtype.kind in "biuf" else np.empty(0)
    if width is None:
        return dX.map_blocks(predict_block, model, method, names, drop_axis=1, dtype=dtype,
                             meta=np.empty((0,), dtype=dtype, like=like),
                             token=f"dasknn-{method}")
    return dX.map_blocks(predict_block, model, method, names,
                         chunks=(dX.chunks[0], (width,)),
                         dtype=dtype, meta=np.empty((0, 0), dtype=dtype, like=like),
                         token=f"dasknn-{method}")


def _predict_frame(frame, model, method, names):
    return pd.Series(predict_block(frame.to_numpy(), model, method, names),
                     index=frame.index)


def score(model, dX, y, sample_weight, classifier):
    """Accuracy (classifiers) or R^2 (regressors) of ``model`` on prepared ``dX``,
    reduced on the cluster."""
    width, dtype = model.output_meta("predict", dX.dtype)
    pred = _lazy_array(dask.delayed(model, pure=True), dX, "predict", width, dtype)
    if not isinstance(pred._meta, np.ndarray):  # device predictions: compare on the host
        pred = pred.map_blocks(to_host, dtype=pred.dtype, meta=np.empty((0,) * pred.ndim,
                                                                        dtype=pred.dtype))
    y = align(y, dX, "y")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    w = align(sample_weight, dX, "sample_weight")
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
    return r2(sst, sse)
