"""Workers that join mid-fit train from the next epoch (held and streamed data)."""

import time
import warnings

import dask.array as da
import numpy as np
import pytest
from distributed import Client, LocalCluster
from sklearn.datasets import make_classification

from dasknn import MLPClassifier
from dasknn.distributed import engine
from dasknn.training import hooks


class _GrowAfterFirstEpoch(hooks.Hook):
    """At the end of a fit's first epoch, scale the cluster and wait for the worker:
    the join then falls between epochs 1 and 2 whatever the machine's speed."""

    cluster, n_workers = None, 0

    def begin(self, fit):
        self.client = fit.client

    def epoch_end(self, record):
        if record["epoch"] == 1 and self.cluster is not None:
            type(self).cluster.scale(self.n_workers)
            self.client.wait_for_workers(self.n_workers, timeout=60)
            type(self).cluster = None


@pytest.fixture
def grow_after_first_epoch(monkeypatch):
    monkeypatch.setattr(engine, "CLUSTER_HOOKS", (*engine.CLUSTER_HOOKS, _GrowAfterFirstEpoch))

    def arm(cluster, n_workers):
        _GrowAfterFirstEpoch.cluster, _GrowAfterFirstEpoch.n_workers = cluster, n_workers

    yield arm
    _GrowAfterFirstEpoch.cluster = None


@pytest.mark.parametrize("persist", [True, False], ids=["held", "streamed"])
def test_a_worker_joining_mid_fit_trains_from_the_next_epoch(persist, grow_after_first_epoch):
    X, y = make_classification(n_samples=36000, n_features=20, n_informative=12, n_classes=3,
                               random_state=0)
    params = dict(hidden_layer_sizes=(32,), max_iter=14, n_iter_no_change=100,
                  persist=persist, random_state=0)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as client, \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dX, dy = da.from_array(X, chunks=(3000, -1)), da.from_array(y, chunks=3000)
        undisturbed = MLPClassifier(**params).fit(dX, dy)
        grow_after_first_epoch(cluster, 3)
        grown = MLPClassifier(**params).fit(dX, dy)
        time.sleep(0.5)
        tasks_left = client.run_on_scheduler(lambda dask_scheduler: sorted({str(k).rsplit("-", 2)[0] for k in dask_scheduler.tasks}))
    workers = [record["workers"] for record in grown.history_]
    assert workers == [2] + [3] * 13  # the third worker trains from the second epoch
    assert grown.n_iter_ == undisturbed.n_iter_ == 14
    assert np.isfinite(grown.loss_curve_).all()
    assert abs(grown.score(X, y) - undisturbed.score(X, y)) <= 0.02
    assert tasks_left == []
