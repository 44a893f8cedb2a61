"""Standardised features for the ``dasknn`` command: the columns' means and deviations
computed on the cluster in one pass, kept as a scikit-learn ``StandardScaler`` saved in
front of the model (so the file predicts anywhere, through a plain ``Pipeline``), and
applied lazily to Dask data.

Examples
--------
>>> import dask.array as da, numpy as np
>>> X = da.from_array(np.array([[1.0, 10.0], [3.0, 10.0]]), chunks=1)
>>> scaler = fit(X)
>>> scaler.mean_, scaler.scale_
(array([ 2., 10.]), array([1., 1.]))
>>> apply(scaler, X).compute()
array([[-1.,  0.],
       [ 1.,  0.]])
"""

import numpy as np


def fit(X):
    """A fitted ``sklearn.preprocessing.StandardScaler`` for Dask ``X`` (array or
    DataFrame), as scikit-learn would fit it in memory (population variance; a constant
    column scaled by 1)."""
    import dask
    from sklearn.preprocessing import StandardScaler

    frame = hasattr(X, "columns")
    var = X.var(axis=0, ddof=0) if frame else X.var(axis=0)
    rows = X.map_partitions(len).sum() if frame else X.shape[0]
    mean, var, rows = dask.compute(X.mean(axis=0), var, rows)
    scaler = StandardScaler()
    scaler.mean_ = np.asarray(mean, dtype=np.float64)
    scaler.var_ = np.asarray(var, dtype=np.float64)
    scaler.scale_ = np.where(scaler.var_ > 0, np.sqrt(scaler.var_), 1.0)
    scaler.n_samples_seen_ = int(rows)
    scaler.n_features_in_ = int(X.shape[1])
    if frame:  # the network after it was fitted with the column names: keep them
        scaler.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        scaler.set_output(transform="pandas")
    return scaler


def apply(scaler, X):
    """``X`` (a Dask array or DataFrame) standardised by a fitted ``scaler``, lazily;
    a DataFrame keeps its columns."""
    if hasattr(X, "columns"):  # partition by partition: each a pandas DataFrame
        return X.map_partitions(_standardise, scaler.mean_, scaler.scale_)
    return _standardise(X, scaler.mean_, scaler.scale_)


def _standardise(X, mean, scale):
    return (X - mean) / scale
