"""A worker process killed mid-fit does not lose the fit."""

import os
import signal
import threading
import time

import dask.array as da
import numpy as np
import pytest
from distributed import Client, LocalCluster
from sklearn.datasets import make_classification

from dasknn import MLPClassifier

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def test_fit_survives_a_killed_worker():
    X, y = make_classification(n_samples=60000, n_features=20, n_informative=12, n_classes=3,
                               random_state=0)
    params = dict(hidden_layer_sizes=(64,), max_iter=12, random_state=0)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        dX, dy = da.from_array(X, chunks=(6000, -1)), da.from_array(y, chunks=6000)
        undisturbed = MLPClassifier(**params).fit(dX, dy)
        pids = client.run(os.getpid)
        killed = []

        def kill_during_epoch_6():
            """Kill the worker that is running a round of epoch 6 (index 5)."""
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                for worker, keys in client.processing().items():
                    if any("dasknn-round-5-" in str(k) for k in keys):
                        os.kill(pids[worker], signal.SIGKILL)
                        killed.append(worker)
                        return
                time.sleep(0.005)

        killer = threading.Thread(target=kill_during_epoch_6)
        killer.start()
        disturbed = MLPClassifier(**params).fit(dX, dy)
        killer.join()
        assert killed, "no worker was killed during the fit"
        assert pids[killed[0]] not in client.run(os.getpid).values()  # that process is gone
    assert disturbed.n_iter_ == undisturbed.n_iter_
    assert abs(disturbed.score(X, y) - undisturbed.score(X, y)) <= 0.01
    assert np.isfinite(disturbed.loss_curve_).all()
