"""The watchdog on a real process cluster: it only looks. Work nobody can run, a hung
task of the fit, or a worker silent for too long is an error within the watchdog's
bounds, never an endless wait; a silent worker is waited for (the scheduler's own
worker-ttl deals with it), never removed; and the scheduler's state and workers are as
they were."""

import contextlib
import gc
import os
import signal
import threading
import time
import warnings
import weakref

import dask
import pytest
from distributed import Client, LocalCluster

from dasknn.distributed import watchdog
from dasknn.distributed.runner import ClusterRunner, lost_work_errors


@pytest.fixture(scope="module")
def cluster_client():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        yield cluster, client


def _patient(seconds):
    return dask.config.set({watchdog.SETTING: seconds})


def test_work_pinned_loosely_to_a_departed_worker_runs_elsewhere_on_its_own(cluster_client):
    # how the engine pins its tasks: the scheduler itself runs them elsewhere
    _, client = cluster_client
    future = client.submit(sum, [1, 2, 3], workers=["tcp://127.0.0.1:1"],
                           allow_other_workers=True, pure=False)
    with _patient(0.5), warnings.catch_warnings():
        warnings.simplefilter("error")
        watchdog.wait(client, future)
    assert future.result() == 6


def test_work_pinned_strictly_to_a_departed_worker_is_an_error_and_left_as_it_is(
        cluster_client):
    _, client = cluster_client
    workers = client.run(os.getpid)
    future = client.submit(sum, [1], workers=["tcp://127.0.0.1:1"], pure=False,
                           key="dasknn-pinned-gone")
    while _task(client, future.key)[0] != "no-worker":
        time.sleep(0.01)
    before = _task(client, future.key)
    with _patient(0.5), pytest.raises(watchdog.Stalled) as caught:
        watchdog.wait(client, future)
    assert ("dasknn-pinned-gone is no-worker (restricted to tcp://127.0.0.1:1, not in the "
            "cluster)") in str(caught.value)
    assert _task(client, future.key) == before  # no transition, the restriction kept
    assert client.run(os.getpid) == workers
    future.release()


def _task(client, key):
    """A task's state, restrictions, and how many transitions the scheduler logged for it."""
    def look(dask_scheduler):
        ts = dask_scheduler.tasks.get(key)
        if ts is None:  # not submitted yet
            return (None,)
        return (ts.state, sorted(ts.worker_restrictions or ()), ts.loose_restrictions,
                len(dask_scheduler.story(key)))

    return client.run_on_scheduler(look)


def test_work_nobody_can_run_is_an_error_naming_it(cluster_client):
    _, client = cluster_client
    future = client.submit(sum, [1], resources={"GPU": 1}, pure=False, key="dasknn-needs-gpu")
    start = time.monotonic()
    with _patient(1), pytest.raises(watchdog.Stalled) as caught:
        watchdog.wait(client, future)
    assert time.monotonic() - start < 10
    message = str(caught.value)
    assert "no progress for 1 s" in message and "dasknn-needs-gpu is no-worker" in message
    assert "needs resources {'GPU': 1}" in message and watchdog.SETTING in message
    future.release()


def test_a_slow_task_on_a_live_worker_is_waited_for(cluster_client):
    # not one of the fit's own tasks (a read of the data, say): however long it runs
    _, client = cluster_client
    future = client.submit(time.sleep, 6, pure=False)
    with _patient(0.5):  # 12 times the bound, over a heartbeat (0.5 s here)
        assert ClusterRunner(client).gather(future) is None


def test_a_hung_task_of_the_fit_is_an_error_naming_it_and_its_worker(cluster_client):
    _, client = cluster_client
    future = client.submit(time.sleep, 10, pure=False, key="dasknn-round-hangs")
    start = time.monotonic()
    with _patient(0.5), pytest.raises(watchdog.Stalled) as caught:
        ClusterRunner(client).gather(future)
    assert time.monotonic() - start < 8  # hung after 10 x 0.5 s, seen at a heartbeat
    message = str(caught.value)
    assert "task dasknn-round-hangs has run for" in message and "tcp://127.0.0.1:" in message
    assert "taken as hung" in message and watchdog.SETTING in message
    future.result()  # let it end: the other tests share the workers


def test_futures_waited_past_the_bound_are_released_when_dropped(cluster_client):
    # Dask's timeout error and its own frame form a reference cycle that held the
    # futures of a round waited past the bound (and, through their dependencies, every
    # earlier epoch's tasks) on the cluster until the garbage collector ran
    _, client = cluster_client
    future = client.submit(time.sleep, 2.5, pure=False, key="dasknn-round-slow")
    gc.disable()
    try:
        with _patient(1):
            assert ClusterRunner(client).gather(future) is None
        del future
        deadline = time.monotonic() + 10
        while _held(client, "dasknn-round-slow") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _held(client, "dasknn-round-slow")
    finally:
        gc.enable()


def test_a_future_lost_with_its_worker_is_not_kept_by_its_error(cluster_client):
    # the same cycle through the error of a future cancelled (its worker lost), which
    # the engine catches to replay the epoch
    _, client = cluster_client
    future = client.submit(time.sleep, 5, pure=False, key="dasknn-round-lost")
    gone = weakref.ref(future)
    time.sleep(0.5)
    client.cancel(future)
    gc.disable()
    try:
        with pytest.raises(lost_work_errors()):
            ClusterRunner(client).gather([future])
        del future
        assert gone() is None
    finally:
        gc.enable()


def _held(client, key):
    return client.run_on_scheduler(lambda dask_scheduler: key in dask_scheduler.tasks)


def test_work_that_finishes_while_the_scheduler_is_asked_is_no_stall(cluster_client):
    # The race CI met: the bound passes, the task finishes, then the scheduler is
    # inspected and finds nothing unfinished. That is progress, not a stall.
    _, client = cluster_client
    future = client.submit(sum, [1, 2], pure=False)
    assert future.result() == 3
    watchdog._look(client, [future], 0.5, set())  # returns: nothing is stuck


@contextlib.contextmanager
def _silenced(client, seconds=None):
    """A worker SIGSTOPped (alive, but no longer heard from) while it runs a task: yields
    its address, its pid and the task's future; SIGCONT after ``seconds`` (or at the end)."""
    pids = client.run(os.getpid)
    silent = sorted(pids)[0]
    future = client.submit(time.sleep, 1.5, workers=[silent], allow_other_workers=True,
                           pure=False, key="dasknn-round-silent")
    while not client.processing().get(silent):
        time.sleep(0.01)
    os.kill(pids[silent], signal.SIGSTOP)
    resume = threading.Timer(seconds or 0, os.kill, (pids[silent], signal.SIGCONT))
    if seconds:
        resume.start()
    try:
        yield silent, pids[silent], future
    finally:
        resume.cancel()
        with contextlib.suppress(ProcessLookupError):
            os.kill(pids[silent], signal.SIGCONT)


def test_a_worker_silent_for_a_while_is_waited_for_and_kept(cluster_client):
    _, client = cluster_client
    pids = client.run(os.getpid)
    with _patient(1), _silenced(client, seconds=4) as (silent, _, future), \
            pytest.warns(UserWarning, match="has not been heard from") as caught:
        watchdog.wait(client, future)  # silent from 2.5 s (5 heartbeats), stops at 10 s
    assert future.result() is None
    warned = [w for w in caught if "heard from" in str(w.message)]
    assert len(warned) == 1 and silent in str(warned[0].message)  # once, not every bound
    assert "distributed.scheduler.worker-ttl is 300 s" in str(warned[0].message)
    assert client.run(os.getpid) == pids  # the same workers, the same processes


def test_a_worker_silent_for_hung_bounds_is_an_error_and_the_cluster_is_left_alone(
        cluster_client):
    _, client = cluster_client
    pids = client.run(os.getpid)
    with _silenced(client) as (silent, pid, future):
        start = time.monotonic()
        with _patient(0.5), warnings.catch_warnings(), \
                pytest.raises(watchdog.Stalled) as caught:
            warnings.simplefilter("ignore")
            watchdog.wait(client, future)
        assert 4 < time.monotonic() - start < 10  # silent for 10 x 0.5 s
        assert silent in client.scheduler_info()["workers"]  # not removed
        os.kill(pid, signal.SIGCONT)
        assert future.result() is None  # it comes back and finishes its task
    message = str(caught.value)
    assert f"worker {silent} holds 1 of the fit's task(s) (dasknn-round-silent)" in message
    assert "has not been heard from" in message and "over 10 times" in message
    assert f"client.restart_workers(['{silent}'])" in message
    assert "distributed.scheduler.worker-ttl under 2.5 s" in message
    assert client.run(os.getpid) == pids


@pytest.mark.slow
def test_a_silent_worker_is_removed_by_the_schedulers_worker_ttl_and_the_work_goes_on():
    # what the watchdog waits for: Dask's own rule (a worker-ttl of 2 s is taken as
    # 10 heartbeats, 5 s; the nanny then restarts the worker)
    with dask.config.set({"distributed.scheduler.worker-ttl": "2s"}), \
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                         dashboard_address=":0") as cluster, Client(cluster) as client:
        with _patient(2), _silenced(client) as (silent, pid, future), \
                pytest.warns(UserWarning, match="has not been heard from"):
            watchdog.wait(client, future)  # would stop after 20 s of silence
            assert future.result() is None
        assert pid not in client.run(os.getpid).values()
        removed = [event for _, event in client.get_events("scheduler")
                   if event.get("action") == "worker-ttl-timed-out"]
        assert removed and silent in removed[0]["workers"]
