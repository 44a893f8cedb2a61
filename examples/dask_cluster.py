"""Train on a Dask array spread over a local two-worker cluster.

Each worker trains on the blocks it holds; their models are averaged after rounds of
local steps. Prediction on Dask data stays lazy and scoring runs on the cluster. The
scheduler preloads ``dasknn.dashboard``, so its dashboard serves the dasknn page
(loss, validation score and samples per second of the latest fit).
Run with ``python examples/dask_cluster.py``.
"""

import time

import dask.array as da
from distributed import Client, LocalCluster
from sklearn.datasets import make_classification

from dasknn import MLPClassifier


def main(n_samples=100_000, max_iter=5):
    X, y = make_classification(n_samples=n_samples, n_features=50, n_informative=30,
                               n_classes=5, random_state=0)
    with LocalCluster(n_workers=2, threads_per_worker=1,
                      scheduler_kwargs={"preload": ["dasknn.dashboard"]}) as cluster, \
            Client(cluster) as client:
        print(f"dashboard: {client.dashboard_link}")
        print(f"dasknn page: {client.dashboard_link.rsplit('/', 1)[0]}/individual-dasknn")
        dX = da.from_array(X.astype("float32"), chunks=(n_samples // 10, -1))
        dy = da.from_array(y, chunks=n_samples // 10)
        dX, dy = client.persist([dX, dy])
        clf = MLPClassifier(hidden_layer_sizes=(128, 64), max_iter=max_iter, random_state=0)
        start = time.perf_counter()
        clf.fit(dX, dy)
        print(f"fit: {time.perf_counter() - start:.1f} s, {clf.n_iter_} epochs")
        for record in clf.history_:
            print(f"  epoch {record['epoch']}: loss {record['loss']:.4f}, "
                  f"{record['samples_per_second']:,.0f} samples/s")
        predictions = clf.predict(dX)  # lazy
        print(f"lazy predictions: {predictions}")
        accuracy = clf.score(dX, dy)
        print(f"training accuracy (computed on the cluster): {accuracy:.4f}")
    return accuracy


if __name__ == "__main__":
    main()
