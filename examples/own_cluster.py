"""Train on a Dask cluster you started yourself, from the command line.

On the scheduler's machine (the preload serves dasknn's page in the Dask dashboard)::

    dask scheduler --preload dasknn.dashboard

On every worker machine (dasknn installed there too: ``pip install dasknn``)::

    dask worker tcp://SCHEDULER:8786

Then, from any machine that can reach the scheduler::

    python examples/own_cluster.py tcp://SCHEDULER:8786
"""

import sys

import dask.array as da
import numpy as np
from distributed import Client
from sklearn.datasets import make_classification

from dasknn import MLPClassifier


def main(address, n_samples=100_000, max_iter=10):
    """Fit on the cluster at ``address``; return the test accuracy."""
    with Client(address) as client:
        workers = len(client.nthreads())
        print(f"connected to {address}: {workers} worker(s); dashboard {client.dashboard_link}")
        X, y = make_classification(n_samples=n_samples, n_features=20, n_informative=12,
                                   n_classes=3, random_state=0)
        X, n_test = X.astype(np.float32), n_samples // 10
        rows = -(-(n_samples - n_test) // (4 * workers))  # a few blocks a worker
        dX, dy = client.persist([da.from_array(X[n_test:], chunks=(rows, -1)),
                                 da.from_array(y[n_test:], chunks=rows)])
        clf = MLPClassifier(hidden_layer_sizes=(64,), max_iter=max_iter, random_state=0)
        clf.fit(dX, dy)  # data-parallel on the cluster's workers
        accuracy = clf.score(X[:n_test], y[:n_test])
        print(f"{clf.n_iter_} epochs on {clf.history_[-1]['workers']} training slots; "
              f"test accuracy {accuracy:.4f}")
        return accuracy


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tcp://127.0.0.1:8786")
