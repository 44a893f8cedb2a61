"""Search hyperparameters with dask-ml's HyperbandSearchCV and dasknn's partial_fit,
on Dask arrays (data that need not fit in memory).

Needs dask-ml. ``patch_dask_ml()`` lets dask-ml 2025.1.0's incremental searches run on
dask >= 2025.3 (it does nothing where no patch is needed). Run with
``python examples/hyperband.py``.
"""

import warnings

import dask.array as da
import numpy as np
from distributed import Client, LocalCluster
from sklearn.datasets import make_classification

from dasknn import MLPClassifier
from dasknn.compat import patch_dask_ml


def main(n_samples=20_000, max_iter=9):
    from dask_ml.model_selection import HyperbandSearchCV

    warnings.filterwarnings("ignore")
    patch_dask_ml()
    X, y = make_classification(n_samples=n_samples, n_features=20, n_informative=10,
                               random_state=0)
    with LocalCluster(n_workers=2, threads_per_worker=1) as cluster, Client(cluster):
        dX = da.from_array(X, chunks=(n_samples // 10, -1))
        dy = da.from_array(y, chunks=n_samples // 10)
        search = HyperbandSearchCV(
            MLPClassifier(hidden_layer_sizes=(32,), random_state=0),
            {"alpha": np.logspace(-5, -1, 5), "learning_rate_init": [1e-3, 1e-2]},
            max_iter=max_iter, random_state=0)
        search.fit(dX, dy, classes=[0, 1])
    print(f"best parameters {search.best_params_}, score {search.best_score_:.4f}")
    return search.best_score_


if __name__ == "__main__":
    main()
