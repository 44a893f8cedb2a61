"""Train on the GPU with CuPy: in memory, and as CuPy chunks on a Dask cluster.

Needs CuPy and an NVIDIA GPU (``pip install "dasknn[gpu]"``). Run with
``python examples/gpu.py``.
"""

import warnings

import numpy as np
from sklearn.datasets import make_classification

from dasknn import MLPClassifier


def main(n_samples=100_000):
    import cupy as cp
    import dask.array as da
    from distributed import Client, LocalCluster

    warnings.filterwarnings("ignore", category=UserWarning)
    X, y = make_classification(n_samples=n_samples, n_features=50, n_informative=30,
                               n_classes=5, random_state=0)
    X = X.astype(np.float32)
    clf = MLPClassifier(hidden_layer_sizes=(128,), max_iter=5, random_state=0)
    clf.fit(cp.asarray(X), cp.asarray(y))
    pred = clf.predict(cp.asarray(X))
    print(f"in memory on the GPU: predictions are {type(pred).__module__}.ndarray, "
          f"accuracy {float((pred.get() == y).mean()):.4f}")
    with LocalCluster(n_workers=1, threads_per_worker=1) as cluster, Client(cluster):
        dX = da.from_array(X, chunks=(n_samples // 4, -1)).map_blocks(cp.asarray)
        dy = da.from_array(y, chunks=n_samples // 4)
        clf.fit(dX, dy)
        accuracy = clf.score(dX, dy)
    print(f"CuPy chunks on a cluster: accuracy {accuracy:.4f}")
    return accuracy


if __name__ == "__main__":
    main()
