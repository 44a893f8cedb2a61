"""A worker process killed mid-fit does not lose the fit."""

import os
import signal
import threading
import time
import warnings

import dask.array as da
import numpy as np
import pytest
from distributed import Client, LocalCluster
from sklearn.datasets import make_classification

from dasknn import MLPClassifier
from dasknn.distributed import memory

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _kill_during_epoch_6(client, pids):
    """Start a thread that SIGKILLs a worker running epoch 6 (index 5: its epoch task,
    which trains and exchanges round after round); return the thread and the list it
    fills with the killed worker's address."""
    killed = []

    def kill():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for worker, keys in client.processing().items():
                if any("dasknn-rounds-5-" in str(k) for k in keys):
                    os.kill(pids[worker], signal.SIGKILL)
                    killed.append(worker)
                    return
            time.sleep(0.005)

    thread = threading.Thread(target=kill)
    thread.start()
    return thread, killed


def test_fit_survives_a_killed_worker():
    X, y = make_classification(n_samples=60000, n_features=20, n_informative=12, n_classes=3,
                               random_state=0)
    params = dict(hidden_layer_sizes=(64,), max_iter=12, random_state=0)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        dX, dy = da.from_array(X, chunks=(6000, -1)), da.from_array(y, chunks=6000)
        undisturbed = MLPClassifier(**params).fit(dX, dy)
        pids = client.run(os.getpid)
        killer, killed = _kill_during_epoch_6(client, pids)
        with pytest.warns(UserWarning, match="a worker lost work .* replaying from epoch"):
            disturbed = MLPClassifier(**params).fit(dX, dy)
        killer.join()
        assert killed, "no worker was killed during the fit"
        assert pids[killed[0]] not in client.run(os.getpid).values()  # that process is gone
    assert disturbed.n_iter_ == undisturbed.n_iter_
    assert abs(disturbed.score(X, y) - undisturbed.score(X, y)) <= 0.01
    assert np.isfinite(disturbed.loss_curve_).all()


def _epochs_by_fit(client):
    """Epochs each fit has reported, read from the scheduler's event log."""
    counts = {}
    for _, msg in client.get_events("dasknn"):
        if isinstance(msg, dict) and "fit" in msg:
            counts[msg["fit"]] = counts.get(msg["fit"], 0) + 1
    return counts


def _fit_ids(client):
    return list(_epochs_by_fit(client))


def _epochs_of_new_fit(client, known):
    """Epochs reported so far by the newest fit not in ``known`` (0 before it starts)."""
    return next((n for fit, n in reversed(_epochs_by_fit(client).items()) if fit not in known),
                0)


@pytest.mark.parametrize("persist", [True, False])
def test_ctrl_c_keeps_the_last_epoch_and_a_clean_cluster(client, persist):
    import _thread
    import warnings

    from cluster_utils import scheduler_task_count, wait_for_task_count

    X, y = make_classification(n_samples=20000, n_features=20, n_informative=10,
                               random_state=0)
    dX, dy = da.from_array(X, chunks=(2000, -1)), da.from_array(y, chunks=2000)
    before = scheduler_task_count(client)
    clf = MLPClassifier(hidden_layer_sizes=(64,), max_iter=200, n_iter_no_change=200,
                        random_state=0, persist=persist)

    known = set(_fit_ids(client))

    def interrupt_after_3_epochs():
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if _epochs_of_new_fit(client, known) >= 3:
                _thread.interrupt_main()
                return
            time.sleep(0.05)

    interrupter = threading.Thread(target=interrupt_after_3_epochs)
    interrupter.start()
    # the fit must run on this cluster, whatever clients earlier tests made the default
    with warnings.catch_warnings(record=True) as caught, client.as_current():
        warnings.simplefilter("always")
        clf.fit(dX, dy)
    interrupter.join()
    assert hasattr(clf, "history_"), "the fit ran in-process, not on the cluster"
    assert any("interrupted by user" in str(w.message) for w in caught)
    assert 3 <= clf.n_iter_ < 200
    assert np.isfinite(clf.coefs_[0]).all() and clf.score(X, y) > 0.7
    assert wait_for_task_count(client, before), client.run_on_scheduler(
        lambda dask_scheduler: {str(k): (ts.state, sorted(str(c) for c in ts.who_wants))
                                for k, ts in dask_scheduler.tasks.items()})


def test_worker_memory_does_not_grow_across_epochs(client):
    import psutil

    X, y = make_classification(n_samples=40000, n_features=50, n_informative=20,
                               random_state=0)
    dX, dy = da.from_array(X, chunks=(4000, -1)), da.from_array(y, chunks=4000)
    clf = MLPClassifier(hidden_layer_sizes=(128,), max_iter=40, n_iter_no_change=40,
                        random_state=0)
    samples, known = {}, set(_fit_ids(client))

    def rss():
        return psutil.Process().memory_info().rss

    def sample_memory():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(samples) < 2:
            seen = _epochs_of_new_fit(client, known)
            for mark in (5, 35):
                if seen >= mark and mark not in samples:
                    samples[mark] = client.run(rss)
            time.sleep(0.05)

    sampler = threading.Thread(target=sample_memory)
    sampler.start()
    clf.fit(dX, dy)
    sampler.join()
    assert set(samples) == {5, 35}
    for worker, early in samples[5].items():
        growth = samples[35][worker] - early
        assert growth < 32 * 2**20, f"{worker} grew by {growth / 2**20:.1f} MiB over 30 epochs"


def test_data_three_times_the_cluster_memory_trains_an_epoch():
    import psutil

    limit = 320 * 2**20  # a few hundred MiB a worker; blocks of 20 MB
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, memory_limit=limit,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        n_rows, n_features = -(-3 * 2 * limit // (4 * 250)), 250  # float32: 3x the total limit
        X = da.random.default_rng(0).random((n_rows, n_features), dtype=np.float32,
                                            chunks=(20_000, n_features))
        y = (X[:, 0] + X[:, 1] > 1).astype(np.int64)
        assert X.nbytes >= 3 * 2 * limit
        pids = client.run(os.getpid)
        peaks, done = {}, threading.Event()

        def watch_memory():
            while not done.is_set():
                for worker, rss in client.run(lambda: psutil.Process().memory_info().rss).items():
                    peaks[worker] = max(peaks.get(worker, 0), rss)
                time.sleep(0.1)

        watcher = threading.Thread(target=watch_memory)
        watcher.start()
        start = time.monotonic()
        try:
            clf = MLPClassifier(hidden_layer_sizes=(16,), max_iter=1,
                                random_state=0).fit(X, y)  # persist='auto'
        finally:
            done.set()
            watcher.join()
        seconds = time.monotonic() - start
        assert client.run(os.getpid) == pids  # no worker was restarted
        sample = X[:20_000].compute(), y[:20_000].compute()
    assert clf.n_iter_ == 1 and clf.history_[0]["rounds"] > 45  # streamed, block by block
    assert max(peaks.values()) < limit, {w: p / 2**20 for w, p in peaks.items()}
    assert clf.score(*sample) > 0.9
    print(f"\nout-of-core epoch: {n_rows:,} rows ({X.nbytes / 2**30:.2f} GiB), {seconds:.1f} s, "
          f"peak worker RSS {max(peaks.values()) / 2**20:.0f} MiB of {limit / 2**20:.0f}")


def test_killed_worker_error_replays_from_the_last_epoch():
    """With allowed-failures=0 the scheduler raises KilledWorker at the first worker
    death; the fit rebuilds its shards and replays from the last finished epoch."""
    import warnings

    import dask

    X, y = make_classification(n_samples=60000, n_features=20, n_informative=12, n_classes=3,
                               random_state=0)
    params = dict(hidden_layer_sizes=(64,), max_iter=12, random_state=0)
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}), \
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                         dashboard_address=":0") as cluster, Client(cluster) as client:
        dX, dy = da.from_array(X, chunks=(6000, -1)), da.from_array(y, chunks=6000)
        undisturbed = MLPClassifier(**params).fit(dX, dy)
        pids = client.run(os.getpid)
        killer, killed = _kill_during_epoch_6(client, pids)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            disturbed = MLPClassifier(**params).fit(dX, dy)
        killer.join()
    assert killed
    replays = [w for w in caught if "replaying from epoch" in str(w.message)]
    assert replays, [str(w.message) for w in caught]
    assert disturbed.n_iter_ == undisturbed.n_iter_ == 12
    assert abs(disturbed.score(X, y) - undisturbed.score(X, y)) <= 0.01


def _sleep_then(x, seconds):
    time.sleep(seconds)
    return x


def test_cancelled_shards_count_as_lost_work(client):
    """Waiting on several futures raises distributed's plural FuturesCancelledError
    when one is cancelled (a worker lost while shards are built); the fit replays on
    it like on a single cancelled future."""
    from dasknn.distributed.runner import lost_work_errors
    from dasknn.distributed.runner import ClusterRunner

    done = client.submit(_sleep_then, 1, 0.0, pure=False)
    lost = client.submit(_sleep_then, 2, 30.0, pure=False)
    lost.cancel()
    with pytest.raises(lost_work_errors()):
        ClusterRunner(client).settle([done, lost])


def test_failing_lbfgs_evaluation_leaves_no_tasks(monkeypatch):
    # threads, so that the patched evaluation is the one the workers run
    import dask.array as da
    from cluster_utils import scheduler_task_count, wait_for_task_count
    from distributed import Client, LocalCluster
    from sklearn.datasets import make_classification

    from dasknn import MLPClassifier
    from dasknn.distributed import tasks as _shard

    real = _shard.loss_grad_sums

    def failing(*args):  # tasks are pickled: count in the (shared) module, not a closure
        _shard.test_calls.append(1)
        if len(_shard.test_calls) == 5:
            raise MemoryError("a worker ran out of memory")
        return real(*args)

    monkeypatch.setattr(_shard, "test_calls", [], raising=False)
    monkeypatch.setattr(_shard, "loss_grad_sums", failing)
    X, y = make_classification(n_samples=400, n_features=5, random_state=0)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        dX, dy = da.from_array(X, chunks=(100, -1)), da.from_array(y, chunks=100)
        before = scheduler_task_count(client)
        with pytest.raises(MemoryError, match="ran out of memory"):
            MLPClassifier(hidden_layer_sizes=(4,), solver="lbfgs", max_iter=20).fit(dX, dy)
        assert wait_for_task_count(client, before)


@pytest.mark.parametrize("where", ["_build_shards", "optstate"])
def test_lost_work_before_and_after_the_epochs(client, monkeypatch, where):
    # lost while the shards are built: the replay starts the optimizer itself; lost
    # while the final optimizer state is gathered: the finished model is kept, not
    # trained past its stop by a replay
    from distributed import KilledWorker

    from dasknn.distributed import shards

    X, y = make_classification(n_samples=2000, n_features=10, random_state=0)
    dX, dy = da.from_array(X, chunks=(500, -1)), da.from_array(y, chunks=500)
    params = dict(hidden_layer_sizes=(8,), max_iter=10, tol=10.0, n_iter_no_change=2,
                  random_state=0)  # the stopping rule ends the fit early
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = MLPClassifier(**params).fit(dX, dy)
    assert reference.n_iter_ < 10
    failures = []
    if where == "_build_shards":
        real = shards.build

        def fail_once(*args, **kwargs):
            if not failures:
                failures.append(1)
                raise KilledWorker("dasknn-shard-0", "tcp://lost", None)
            return real(*args, **kwargs)

        monkeypatch.setattr(shards, "build", fail_once)
    else:
        from dasknn.distributed import runner as _runner

        real_result = _runner.ClusterRunner.result

        def lose_optstate(self, future):
            if not failures:
                failures.append(1)
                self.release(future)
                raise KilledWorker(future.key, "tcp://lost", None)
            return real_result(self, future)

        monkeypatch.setattr(_runner.ClusterRunner, "result", lose_optstate)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = MLPClassifier(**params).fit(dX, dy)
    assert failures and clf.n_iter_ == reference.n_iter_ == len(clf.loss_curve_)
    np.testing.assert_allclose(clf.loss_curve_, reference.loss_curve_, rtol=1e-6)


RESTART_ALL = '''
import threading, time, warnings
import numpy as np, dask, dask.array as da
from distributed import Client, LocalCluster
from dasknn import MLPClassifier
from dasknn.distributed import memory

def block(i):
    return np.random.RandomState(i).standard_normal((20000, 20)).astype(np.float32)

if __name__ == "__main__":
    warnings.simplefilter("ignore")
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        X = da.concatenate([da.from_delayed(dask.delayed(block)(i), shape=(20000, 20),
                                            dtype=np.float32) for i in range(24)])
        y = (X[:, 0] + X[:, 1] > 0).astype(int)  # computed from X, lazily
        def restart():
            time.sleep(3)
            client.restart_workers(list(client.scheduler_info()["workers"]))
            print("restarted", flush=True)
        threading.Thread(target=restart, daemon=True).start()
        clf = MLPClassifier(hidden_layer_sizes=(16,), max_iter=6, persist=False,
                            random_state=0).fit(X, y)
        print("finished", clf.n_iter_, round(clf.score(X[:20000].compute(),
                                                       y[:20000].compute()), 3), flush=True)
'''


def test_streamed_fit_of_lazy_data_survives_every_worker_restarted(tmp_path):
    # in a subprocess with a time limit: the failure this guards against is a fit that
    # waits forever (the upstream data tasks were pinned to the dead workers)
    import subprocess
    import sys

    script = tmp_path / "restart_all.py"
    script.write_text(RESTART_ALL)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=240)
    assert "restarted" in done.stdout, done.stderr[-2000:]
    finished = [line for line in done.stdout.splitlines() if line.startswith("finished")]
    assert finished, done.stderr[-2000:]
    _, n_iter, accuracy = finished[0].split()
    assert int(n_iter) == 6 and float(accuracy) > 0.9


@pytest.mark.parametrize("rows, note", [(50_000, None), (200_000, "154 MiB")])
def test_blocks_too_big_for_the_workers_memory_are_warned_about_before_any_pass(
        monkeypatch, rows, note):
    """A worker of 320 MiB and blocks of 40 MB (an eighth of it): no warning; blocks of
    160 MB: a warning naming their size and the fix, given before the labels pass (the
    first pass over the data, in which such blocks had the worker restarted 4 times)."""
    from dasknn.distributed import data

    class Stop(Exception):
        """The fit stopped where its first pass would start."""

    def stop(*args):
        raise Stop([str(w.message) for w in caught if "row blocks hold" in str(w.message)])

    monkeypatch.setattr(data, "_labels_graph", stop)
    X = da.random.RandomState(0).standard_normal((400_000, 100), chunks=(rows, 100))
    y = (X[:, 0] > 0).astype(int)
    with LocalCluster(n_workers=1, threads_per_worker=1, memory_limit="320MiB",
                      processes=True, dashboard_address=":0") as cluster, \
            Client(cluster), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(Stop) as stopped:
            MLPClassifier(hidden_layer_sizes=(8,), max_iter=1).fit(X, y)
    (notes,) = stopped.value.args
    if note is None:
        assert notes == []
        return
    assert len(notes) == 1 and f"row blocks hold up to {note}; a pass" in notes[0]
    assert "X.rechunk({0: rows})" in notes[0]


def test_streaming_blocks_of_an_eighth_of_a_workers_memory(monkeypatch):
    """Workers of 320 MiB streaming float64 blocks of 40 MB (an eighth of their limit)
    generated lazily, y computed from X: the engine measures the room and does not
    compute the next round's blocks ahead (which had the workers restarted for memory,
    16 times in a 2.4 million-row fit), and the fit ends with no worker restarted."""
    from dasknn.distributed import engine

    decided = []
    monkeypatch.setattr(engine, "stream_ahead", lambda block, room: decided.append(
        (block, room, memory.stream_ahead(block, room))) or decided[-1][-1])
    # generated by Dask's own tasks: a function of this module would load it, and
    # scikit-learn and pytest with it, on the workers
    X = da.random.RandomState(0).standard_normal((1_200_000, 100), chunks=(50_000, 100))
    y = (X @ np.random.RandomState(0).standard_normal(100) > 0).astype(int)
    with LocalCluster(n_workers=2, threads_per_worker=1, memory_limit="320MiB",
                      processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as client, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        since = time.time()
        clf = MLPClassifier(hidden_layer_sizes=(32,), max_iter=1, persist=False,
                            random_state=0).fit(X, y)
        restarts = [m for t, m in client.get_events("worker-restart-memory") if t >= since]
        score = clf.score(X[:100_000].compute(), y[:100_000].compute())
    assert [ahead for _, _, ahead in decided] == [False], decided
    block, room = decided[0][:2]
    assert block == 50_000 * 100 * 8 + 50_000 * 8 and 0 < room < 320 * 2**20
    assert restarts == [] and score > 0.8


def test_a_fit_failing_after_memory_restarts_says_so(client):
    """A fit that fails (here: Dask gives a task up, KilledWorker) after the nannies
    restarted workers for memory (their events on the scheduler) raises a MemoryError
    naming the restarts, the limit, X's block size and the fix; restarts before the
    fit do not count."""
    from distributed import KilledWorker

    from dasknn.distributed.memory import memory_explained

    client.log_event("worker-restart-memory", {"worker": "tcp://gone", "pid": 1,
                                               "rss": 999 * 2**20})  # before: ignored
    time.sleep(0.05)
    with pytest.raises(KilledWorker):
        with memory_explained(None):
            raise KilledWorker("a-task", "tcp://gone", 3)
    worker = sorted(client.scheduler_info()["workers"])[0]
    limit = min(w["memory_limit"] for w in client.scheduler_info()["workers"].values())
    with pytest.raises(MemoryError, match=rf"restarted workers 1 time\(s\) for passing "
                       rf"their memory limit of {limit / 2**20:.0f} MiB \(at up to 310 "
                       r"MiB\)\. X's row blocks hold up to 0.39 MiB\. Rechunk X") as info:
        X, y = da.ones((4000, 50), chunks=(1000, -1)), da.ones(4000, chunks=1000)
        with memory_explained(X, y):  # blocks of 1000 rows of 50 float64 and a label
            since = time.time()
            client.log_event("worker-restart-memory", {"worker": worker, "pid": 1,
                                                       "rss": 310 * 2**20})
            restarts = memory.memory_restarts(client, since)
            raise KilledWorker("a-task", worker, 3)
    assert [r["rss"] for r in restarts] == [310 * 2**20]
    assert isinstance(info.value.__cause__, KilledWorker)
