"""Train on a Zarr array bigger than the workers' memory: blocks stream through.

Writes a Zarr array of generated data (about three times the two workers' memory
limit), then trains on it with ``persist='auto'``, which streams it block by block.
Needs the ``zarr`` package. Run with ``python examples/out_of_core.py``.
"""

import tempfile
import time
import warnings

import dask.array as da
import numpy as np
from distributed import Client, LocalCluster

from dasknn import MLPClassifier


def main(memory_limit="500MiB", n_rows=3_000_000, n_features=250):
    warnings.filterwarnings("ignore", category=UserWarning)
    with tempfile.TemporaryDirectory() as tmp, \
            LocalCluster(n_workers=2, threads_per_worker=1,
                         memory_limit=memory_limit) as cluster, Client(cluster):
        X = da.random.default_rng(0).random((n_rows, n_features), dtype=np.float32,
                                            chunks=(10_000, n_features))
        X.to_zarr(f"{tmp}/X.zarr")
        (X[:, 0] + X[:, 1] > 1).astype(np.int64).to_zarr(f"{tmp}/y.zarr")
        X, y = da.from_zarr(f"{tmp}/X.zarr"), da.from_zarr(f"{tmp}/y.zarr")
        print(f"data: {X.nbytes / 2**30:.2f} GiB on disk; workers: 2 x {memory_limit}")
        start = time.perf_counter()
        clf = MLPClassifier(hidden_layer_sizes=(16,), max_iter=1, random_state=0).fit(X, y)
        print(f"one epoch in {time.perf_counter() - start:.1f} s, "
              f"{clf.history_[0]['rounds']} rounds of one block per worker")
        accuracy = clf.score(X[:20_000].compute(), y[:20_000].compute())
        print(f"accuracy on 20,000 rows: {accuracy:.4f}")
    return accuracy


if __name__ == "__main__":
    main()
