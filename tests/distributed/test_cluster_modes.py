"""The engine without a distributed Client, and on a cluster started from the
``dask scheduler`` / ``dask worker`` command lines."""

import json
import subprocess
import sys
import time

import numpy as np
import pytest

from cluster_utils import wait_for as _wait_for

from dasknn.distributed import engine
from dasknn.training import hooks

NO_CLIENT_SCRIPT = """
import json, sys, warnings
warnings.simplefilter("ignore")
import dask.array as da
from distributed import default_client
from sklearn.datasets import make_classification
from dasknn import MLPClassifier
try:
    default_client()
    sys.exit("a default client exists")
except ValueError:
    pass
X, y = make_classification(n_samples=4000, n_features=10, n_informative=6, random_state=0)
dX, dy = da.from_array(X, chunks=(500, -1)), da.from_array(y, chunks=500)
clf = MLPClassifier(hidden_layer_sizes=(16,), max_iter=5, random_state=0,
                    learning_rate_init=0.01).fit(dX, dy)
if len(sys.argv) > 1:
    from distributed import Client, LocalCluster
    with LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=":0") as cluster, \\
            Client(cluster):
        one = MLPClassifier(hidden_layer_sizes=(16,), max_iter=5, random_state=0,
                    learning_rate_init=0.01).fit(dX, dy)
    same = all((a == b).all() for a, b in zip(clf.coefs_, one.coefs_))
else:
    same = None
pred = clf.predict(dX)
print(json.dumps({"n_iter": clf.n_iter_, "score": clf.score(X, y), "same_as_one_worker": same,
                  "lazy": type(pred).__name__, "workers": clf.history_[-1]["workers"]}))
"""


def _run(code, *args, timeout=240):
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                         timeout=timeout)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_dask_input_without_client_matches_one_worker_cluster():
    result = _run(NO_CLIENT_SCRIPT, "compare")
    assert result["n_iter"] == 5 and result["score"] > 0.8
    assert result["lazy"] == "Array" and result["workers"] == 1
    assert result["same_as_one_worker"] is True


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_command_line_cluster(cli_cluster):
    import dask.array as da
    from distributed import Client, get_task_stream
    from sklearn.datasets import make_classification

    from dasknn import MLPClassifier

    X, y = make_classification(n_samples=6000, n_features=10, n_informative=6, random_state=0)
    with Client(scheduler_file=cli_cluster.scheduler_file) as client:
        client.wait_for_workers(2, timeout=60)
        dX = da.from_array(X, chunks=(600, -1))
        dy = da.from_array(y, chunks=600)
        with get_task_stream(client) as ts:
            clf = MLPClassifier(hidden_layer_sizes=(16,), max_iter=5, random_state=0,
                    learning_rate_init=0.01).fit(dX, dy)
        score = clf.score(dX, dy)
        workers = set(client.scheduler_info()["workers"])
    trained_on = {t["worker"] for t in ts.data if "dasknn-round" in str(t["key"])}
    assert trained_on == workers and len(workers) == 2
    assert clf.history_[-1]["workers"] == 2
    assert score > 0.8
    np.testing.assert_array_equal(clf.predict(X[:50]), clf.predict(dX[:50]).compute())


def test_worker_with_two_threads_trains_two_shards_at_once(monkeypatch):
    """A worker of two threads gets a shard per thread; one task an epoch trains both
    side by side, round after round (the worker's exchange: no averaging task)."""
    import threading

    import dask.array as da
    from distributed import Client, LocalCluster, get_task_stream
    from sklearn.datasets import make_classification
    from sklearn.neural_network import MLPClassifier as SkMLPClassifier

    from dasknn import MLPClassifier
    from dasknn.distributed import tasks

    real, spans = tasks.train_round, []

    def timed(*args):  # threads: the worker runs this process's (patched) module
        start = time.perf_counter()
        result = real(*args)
        spans.append((start, time.perf_counter(), threading.get_ident()))
        return result

    monkeypatch.setattr(tasks, "train_round", timed)
    X, y = make_classification(n_samples=12000, n_features=20, n_informative=12,
                               n_classes=3, random_state=0)
    # rounds long enough (tens of ms) that a thread holding the GIL between numpy
    # calls cannot finish a round before the other thread starts its own
    params = dict(hidden_layer_sizes=(256,), max_iter=6, random_state=0)
    dX, dy = da.from_array(X[:10000], chunks=(1000, -1)), da.from_array(y[:10000], chunks=1000)
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        with get_task_stream(client) as ts:
            clf = MLPClassifier(**params).fit(dX, dy)
    assert clf.history_[-1]["workers"] == 2
    rounds = sum(r["rounds"] for r in clf.history_)
    epoch_tasks = [t for t in ts.data if "dasknn-rounds-" in str(t["key"])]
    averages = [t for t in ts.data if "dasknn-average" in str(t["key"])]
    assert len(epoch_tasks) == clf.n_iter_ and rounds >= clf.n_iter_  # one task a worker an epoch
    assert not averages
    pairs = [sorted(spans[i:i + 2]) for i in range(0, len(spans), 2)]
    overlapped = [a[2] != b[2] and b[0] < a[1] for a, b in pairs]
    assert len(overlapped) >= 6 and sum(overlapped) >= len(overlapped) // 2, overlapped
    theirs = SkMLPClassifier(**params).fit(X[:10000], y[:10000])
    assert clf.score(X[10000:], y[10000:]) >= theirs.score(X[10000:], y[10000:]) - 0.02


def test_fit_waits_for_a_cluster_without_workers(monkeypatch):
    # an adaptive cluster scaled to zero, or workers still starting
    import threading

    import dask.array as da
    from distributed import Client, LocalCluster
    from sklearn.datasets import make_regression

    from dasknn import MLPRegressor
    from dasknn.distributed import runner as _runner

    X, y = make_regression(n_samples=200, n_features=4, random_state=0)
    dX, dy = da.from_array(X, chunks=(100, -1)), da.from_array(y, chunks=100)
    monkeypatch.setattr(_runner, "WORKER_WAIT", 1.0)
    with LocalCluster(n_workers=0, threads_per_worker=1, processes=False,
                      dashboard_address=":0") as cluster, \
            Client(cluster):
        with pytest.raises(RuntimeError, match="has no workers"):
            MLPRegressor(hidden_layer_sizes=(4,), max_iter=1).fit(dX, dy)
        monkeypatch.setattr(_runner, "WORKER_WAIT", 60.0)
        threading.Timer(1.0, cluster.scale, args=(1,)).start()
        reg = MLPRegressor(hidden_layer_sizes=(4,), max_iter=1).fit(dX, dy)
        assert reg.history_[-1]["workers"] == 1


class _KillSchedulerAfterEpoch2(hooks.Hook):
    """At the end of a fit's second epoch, kill the scheduler's process and wait until
    the client has noticed (a call made in between waits for the client's reconnection
    timeout: bounded, but not what this test is about)."""

    scheduler = None

    def begin(self, fit):
        self.client = fit.client

    def epoch_end(self, record):
        if record["epoch"] == 2 and self.scheduler is not None:
            self.scheduler.kill()
            self.scheduler.wait()
            type(self).killed_at = time.monotonic()
            _wait_for(lambda: self.client.status != "running", timeout=10)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("path", [dict(persist=True), dict(persist=False),
                                  dict(sync="gradient", max_iter=6)],
                         ids=["held", "streamed", "gradient"])
def test_losing_the_scheduler_is_one_clear_error_keeping_the_finished_epochs(
        cli_cluster, path, monkeypatch):
    import dask.array as da
    from distributed import Client, LocalCluster
    from sklearn.datasets import make_classification

    from dasknn import MLPClassifier

    monkeypatch.setattr(engine, "CLUSTER_HOOKS", (*engine.CLUSTER_HOOKS, _KillSchedulerAfterEpoch2))
    monkeypatch.setattr(_KillSchedulerAfterEpoch2, "scheduler", cli_cluster.scheduler)
    X, y = make_classification(n_samples=24000, n_features=20, n_informative=12, n_classes=3,
                               random_state=0)
    clf = MLPClassifier(**{**dict(hidden_layer_sizes=(32,), max_iter=200, n_iter_no_change=1000,
                                  random_state=0), **path})
    with Client(scheduler_file=cli_cluster.scheduler_file) as client:
        client.wait_for_workers(2, timeout=60)
        dX, dy = da.from_array(X, chunks=(3000, -1)), da.from_array(y, chunks=3000)
        with pytest.raises(ConnectionError, match="lost contact with the Dask scheduler at "
                           "tcp://127.0.0.1") as raised:
            clf.fit(dX, dy)
        waited = time.monotonic() - _KillSchedulerAfterEpoch2.killed_at
    assert waited < 10  # not the client's 30 s of reconnecting, nor the watchdog's bound
    assert "The model of the last finished epoch is kept (n_iter_ = " in str(raised.value)
    assert clf.n_iter_ >= 2 and len(clf.loss_curve_) == len(clf.history_) == clf.n_iter_
    assert clf.score(X, y) > 0.7  # 3 classes; the kept model predicts in memory
    kept = clf.n_iter_
    with LocalCluster(n_workers=1, processes=False, dashboard_address=":0") as cluster, \
            Client(cluster):  # a scheduler again: warm_start goes on from the kept epochs
        clf.set_params(warm_start=True, max_iter=2).fit(dX, dy)
    assert len(clf.loss_curve_) == kept + 2  # two more epochs, after the kept ones


def test_losing_the_scheduler_during_lbfgs_is_one_clear_error(cli_cluster):
    import threading

    import dask.array as da
    from distributed import Client
    from sklearn.datasets import make_classification

    from dasknn import MLPClassifier

    X, y = make_classification(n_samples=24000, n_features=20, random_state=0)
    with Client(scheduler_file=cli_cluster.scheduler_file) as client:
        client.wait_for_workers(2, timeout=60)
        killed = []

        def kill_while_evaluating():
            _wait_for(lambda: any("dasknn-lossgrad" in str(k)
                                  for keys in client.processing().values() for k in keys),
                      timeout=120)
            cli_cluster.scheduler.kill()
            killed.append(time.monotonic())

        threading.Thread(target=kill_while_evaluating, daemon=True).start()
        dX, dy = da.from_array(X, chunks=(3000, -1)), da.from_array(y, chunks=3000)
        with pytest.raises(ConnectionError, match="lost contact with the Dask scheduler.*"
                           "No epoch had finished"):
            MLPClassifier(hidden_layer_sizes=(32,), solver="lbfgs", max_iter=10_000,
                          tol=0, random_state=0).fit(dX, dy)
        waited = time.monotonic() - killed[0]
    assert waited < 35  # at worst a call made as it died waits for the connect timeout
