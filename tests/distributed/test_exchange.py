"""Model averaging worker to worker (:mod:`dasknn.distributed.exchange`), on real
clusters: the collectives give every rank the same sum, a fit gives the model of the
scheduler's rounds, and a worker killed in the middle of an exchange fails it on every
worker, the fit replays and finishes, and nothing of it stays behind."""

import os
import signal
import threading
import time
import warnings

import dask
import dask.array as da
import numpy as np
import pytest
from distributed import Client, LocalCluster
from sklearn.datasets import make_classification

from dasknn import MLPClassifier
from dasknn.distributed import exchange


def _rank_sums(client, size, attempt):
    """Each worker, as one rank, all-reduces a vector of ``size`` made from its rank;
    returns the sums, the gathered scalars and the bytes each rank sent."""
    workers = tuple(sorted(client.scheduler_info()["workers"]))

    def rank_task(rank):
        link = exchange._Link(exchange.Group(attempt, rank, workers, 30.0))
        vector = np.random.RandomState(rank).standard_normal(size)
        total, known = exchange.allreduce(link, vector, {rank: (float(rank),) * 5}, 0)
        return total, known, link.sent

    futures = [client.submit(rank_task, r, workers=[w], pure=False)
               for r, w in enumerate(workers)]
    return client.gather(futures)


@pytest.mark.parametrize("n_workers", [2, 3, 5])
@pytest.mark.parametrize("size", [1000, exchange.CHUNKED_FROM // 8 + 3])  # doubling, ring
def test_every_rank_gets_the_same_sum(n_workers, size):
    exchange_plugin = exchange.Exchange()
    with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=False,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        client.register_plugin(exchange_plugin, name=exchange.PLUGIN)
        out = _rank_sums(client, size, f"test-{n_workers}-{size}")
    expected = sum(np.random.RandomState(r).standard_normal(size) for r in range(n_workers))
    for total, known, sent in out:
        np.testing.assert_array_equal(total, out[0][0])  # the same bits on every rank
        np.testing.assert_allclose(total, expected, rtol=1e-12, atol=1e-12)
        assert sorted(known) == list(range(n_workers))
        assert 0 < sent <= 2 * size * 8 * np.log2(2 * n_workers)


def _fit(dX, dy, use_exchange, **params):
    with dask.config.set({"dasknn.exchange": use_exchange}), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return MLPClassifier(hidden_layer_sizes=(16,), max_iter=4, random_state=0,
                             **params).fit(dX, dy)


def test_the_exchange_gives_the_model_of_the_scheduler_rounds():
    """Two workers: the sum is a + b either way, bit for bit; with four the order of
    the sums differs (not the model beyond rounding), and the same seed gives the same
    model again."""
    X, y = make_classification(n_samples=8000, n_features=10, n_informative=6, n_classes=3,
                               random_state=0)
    dX, dy = da.from_array(X, chunks=(1000, -1)), da.from_array(y, chunks=1000)
    with LocalCluster(n_workers=2, threads_per_worker=2, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        two = [_fit(dX, dy, flag, sync_steps=2).coefs_ for flag in (True, False)]
        for a, b in zip(*two):
            np.testing.assert_array_equal(a, b)
        cluster.scale(4)
        client.wait_for_workers(4)
        again = [_fit(dX, dy, True).coefs_ for _ in range(2)] + [_fit(dX, dy, False).coefs_]
    for a, b, c in zip(*again):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(a, c, rtol=1e-6, atol=1e-9)


def _stall_in_exchange(marker):
    """Patch this worker's exchange: from epoch 3's second round, announce itself in
    ``marker`` and wait there (the test kills the process meanwhile)."""
    real = exchange.allreduce

    def stalling(link, vector, known, tag):
        if tag == 1 and "-2-" in link.group.attempt:  # attempts are <token>-<epoch>-<id>
            with open(marker, "w") as f:
                f.write(str(os.getpid()))
            time.sleep(30)
        return real(link, vector, known, tag)

    exchange.allreduce = stalling


def test_worker_killed_during_an_exchange(tmp_path):
    """Rank 0 waits in an exchange for a peer that is killed there: the exchange fails
    on every worker within seconds, the fit replays the epoch and finishes with the
    undisturbed accuracy; no task of the fit and no message is left behind."""
    from cluster_utils import scheduler_task_count

    X, y = make_classification(n_samples=24000, n_features=20, n_informative=12,
                               n_classes=3, random_state=0)
    dX, dy = da.from_array(X, chunks=(2000, -1)), da.from_array(y, chunks=2000)
    params = dict(hidden_layer_sizes=(32,), max_iter=6, sync_steps=2, random_state=0)
    marker = tmp_path / "in-exchange"
    with LocalCluster(n_workers=3, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        undisturbed = MLPClassifier(**params).fit(dX, dy)
        victim = sorted(client.scheduler_info()["workers"])[-1]
        client.run(_stall_in_exchange, str(marker), workers=[victim])
        killed = []

        def kill():
            deadline = time.monotonic() + 60
            while not marker.exists() and time.monotonic() < deadline:
                time.sleep(0.01)
            if marker.exists():
                time.sleep(0.2)  # the file is written; the victim sleeps in the exchange
                os.kill(int(marker.read_text()), signal.SIGKILL)
                killed.append(time.monotonic())

        thread = threading.Thread(target=kill)
        thread.start()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            tic = time.monotonic()
            disturbed = MLPClassifier(**params).fit(dX, dy)
            seconds = time.monotonic() - tic
        thread.join()
        time.sleep(0.5)  # releases reach the scheduler asynchronously
        left = scheduler_task_count(client)
        boxes = client.run(lambda dask_worker: len(exchange.mailbox_of(dask_worker).inbox))
    assert killed, "the victim never reached the exchange"
    replays = [str(w.message) for w in caught if "replaying from epoch" in str(w.message)]
    assert replays and "ExchangeFailed" in replays[0], [str(w.message) for w in caught]
    assert seconds < 60  # well under the exchange's bound (5 minutes): the peers did not wait it out
    assert disturbed.n_iter_ == undisturbed.n_iter_ == 6
    assert abs(disturbed.score(X, y) - undisturbed.score(X, y)) <= 0.02
    assert left == 0
    assert not any(boxes.values()), boxes


def _fail_in_training(dask_worker):
    """Patch this worker's round training to raise at its third call (and keep the real
    one on the worker, to put back)."""
    from dasknn.distributed import tasks

    real, calls = tasks.train_run, []
    dask_worker.real_train_run = real

    def failing(*args):
        calls.append(1)
        if len(calls) == 3:
            raise ValueError("a round failed on purpose")
        return real(*args)

    tasks.train_run = failing


def _restore_training(dask_worker):
    from dasknn.distributed import tasks

    tasks.train_run = dask_worker.real_train_run


def test_a_rank_that_fails_tells_its_peers(client):
    """A rank whose training raises gives the attempt up on every peer (they would
    otherwise wait for its sums until the exchange's bound, 5 minutes): the fit raises
    that rank's own error at once, not the peers' ExchangeFailed, and replays nothing."""
    X, y = make_classification(n_samples=8000, n_features=10, n_informative=6,
                               n_classes=3, random_state=0)
    dX, dy = da.from_array(X, chunks=(1000, -1)), da.from_array(y, chunks=1000)
    victim = sorted(client.scheduler_info()["workers"])[-1]
    client.run(_fail_in_training, workers=[victim])
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            tic = time.monotonic()
            with pytest.raises(ValueError, match="a round failed on purpose"):
                MLPClassifier(hidden_layer_sizes=(16,), max_iter=4, sync_steps=4,
                              random_state=0).fit(dX, dy)
            seconds = time.monotonic() - tic
    finally:
        client.run(_restore_training, workers=[victim])
    assert seconds < 20
    assert not [w for w in caught if "replaying from epoch" in str(w.message)]
    boxes = client.run(lambda dask_worker: len(exchange.mailbox_of(dask_worker).inbox))
    assert not any(boxes.values()), boxes


def test_an_epoch_dropped_by_the_client_is_given_up_on_its_workers(client):
    """A rank waits for a peer whose task will never run (the client dropped the epoch:
    a replay, new workers): abandoning the attempt ends its wait at once, not after the
    exchange's bound."""
    from dasknn.distributed.runner import ClusterRunner

    client.register_plugin(exchange.Exchange(), name=exchange.PLUGIN)
    workers = tuple(sorted(client.scheduler_info()["workers"]))
    attempt = "test-dropped"

    def waiting_rank():
        link = exchange._Link(exchange.Group(attempt, 0, workers, 120.0))
        return link.receive("0/in", 1)  # rank 1 is never submitted

    future = client.submit(waiting_rank, workers=[workers[0]], pure=False)
    while not client.run(lambda dask_worker: len(dask_worker.state.executing),
                         workers=[workers[0]])[workers[0]]:
        time.sleep(0.05)
    tic = time.monotonic()
    ClusterRunner(client).abandon([future], attempt, workers)
    with pytest.raises(exchange.ExchangeFailed, match="dropped epoch attempt test-dropped"):
        future.result(timeout=30)
    assert time.monotonic() - tic < 5
