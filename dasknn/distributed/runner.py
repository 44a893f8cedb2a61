"""Where engine tasks run: on a ``dask.distributed`` cluster, or in this process.

The engine writes ``runner.submit(fn, *args, key=..., worker=...)`` once; a
:class:`ClusterRunner` turns that into a future on the cluster, an
:class:`InlineRunner` (no distributed Client) calls ``fn`` at once. Both expose the
same few verbs, so the training algorithm is written a single time.
"""

import contextlib
import contextvars
import time
import uuid

import dask

from ..training.hooks import TOPIC
from . import memory, watchdog
from .planning import plan_homes
from .watchdog import SchedulerLost, in_contact


class Regroup(Exception):
    """Workers joined the cluster: the fit re-plans its shards over every slot and
    goes on from its last finished epoch (raised by an epoch source)."""


class InlineRunner:
    """Runs every task immediately in this process (dask's local scheduler for data),
    for ``n_slots`` training slots (1 without a Client; more to simulate a cluster,
    see :func:`simulated_slots`)."""

    def __init__(self, n_slots=1):
        self.n_slots = n_slots
        self.slots = [None] * n_slots

    def parts(self, delayed_parts, source=None, keys=()):
        return list(dask.compute(*delayed_parts)), [None] * len(delayed_parts)

    def homes(self, where, groups):
        return [None] * len(groups)

    def joined(self, n_shards, max_shards):
        return False

    def refresh(self):
        pass

    def connected(self):
        return True

    def settle(self, futures):
        pass

    def submit(self, fn, *args, key=None, worker=None):
        return fn(*args)

    def gather(self, items):
        return items

    def result(self, item):
        return item

    def release(self, *items):
        pass

    def abandon(self, futures, attempt, addresses):
        pass  # in-process, nothing is exchanged


def training_slots(nthreads):
    """One training slot per worker thread: worker addresses, each repeated as many
    times as it has threads, first slots of every worker before second ones.

    A slot gets its own shard and runs its rounds in one of the worker's threads, so
    a worker of several threads trains on all of them (its BLAS keeps the one thread
    the nanny gives it).

    Examples
    --------
    >>> training_slots({"tcp://b:1": 1, "tcp://a:1": 2})
    ['tcp://a:1', 'tcp://b:1', 'tcp://a:1']
    """
    workers = sorted(nthreads)  # client.nthreads() lists every worker
    most = max(nthreads.values(), default=0)
    return [w for i in range(most) for w in workers if nthreads[w] > i]


WORKER_WAIT = 60.0  # seconds a fit waits for a cluster that has no worker yet


def _wait_for_workers(client):
    """The workers' thread counts, once at least one worker has joined (an adaptive
    cluster scaled to zero, or workers still starting)."""
    nthreads = in_contact(client).nthreads()
    if nthreads:
        return nthreads
    try:
        client.wait_for_workers(1, timeout=WORKER_WAIT)
    except TimeoutError:
        raise RuntimeError(
            f"The Dask cluster has no workers (waited {WORKER_WAIT:.0f} s): start some "
            "(cluster.scale(n), or `dask worker <scheduler address>`) and fit again."
        ) from None
    return client.nthreads()


class ClusterRunner:
    """Runs tasks on the workers of a ``distributed.Client``."""

    def __init__(self, client):
        self.client = client
        self.refresh()

    def refresh(self):
        """Read the cluster's training slots again (workers that joined, restarted or
        left since)."""
        self.slots = training_slots(_wait_for_workers(self.client))
        self.n_slots = len(self.slots)

    def connected(self):
        return watchdog.connected(self.client)

    def joined(self, n_shards, max_shards):
        """Whether slots beyond the ``n_shards`` a fit trains on have joined and its
        data could make more shards (up to ``max_shards``); if so, this runner now plans
        with them."""
        if max_shards <= n_shards:
            return False
        if len(training_slots(in_contact(self.client).nthreads())) <= n_shards:
            return False
        self.refresh()
        return True

    def parts(self, delayed_parts, source=None, keys=()):
        """Start computing the parts; return their futures and the workers of each.

        When the row blocks of ``source`` they are built from (``keys``, one per part)
        all sit in the cluster's memory, the scheduler runs each part where its X block
        lies (unless its other inputs or work stealing move it: that costs a transfer,
        never a different model), so the workers are taken from the blocks at once and
        the parts compute while the driver submits the shards (a part's error, e.g. NaN
        in X, then surfaces in :meth:`settle`). Otherwise this waits for the parts,
        raising a part's own error, and asks where they landed.
        """
        futures = self.client.compute(delayed_parts)
        try:
            where = self._holders(source, keys) if source is not None else None
            if where is None:
                self.settle(futures)
                where = (self._holders(futures, [f.key for f in futures])
                         or [set()] * len(futures))
        except BaseException:
            self.release(futures)
            raise
        return futures, where

    def settle(self, futures):
        """Wait for ``futures``; raise the first failed task's own exception (or the
        cancellation of a future whose worker was lost)."""
        watchdog.wait(self.client, futures)
        for f in futures:
            if f.status in ("error", "cancelled"):
                f.result()  # raises the task's own exception (e.g. NaN in X)

    def _holders(self, collection, keys):
        """The workers holding each of ``keys`` (futures of ``collection``), or None
        when one of them is not in memory."""
        from distributed import futures_of

        held = {f.key: f for f in futures_of(collection)}
        if not keys or any(k not in held for k in keys):
            return None
        who_has = in_contact(self.client).who_has([held[k] for k in keys])
        if any(not who_has.get(k) for k in keys):
            return None
        return [set(who_has[k]) for k in keys]

    def homes(self, where, groups):
        """The worker each group of parts trains on (see
        :func:`~dasknn.distributed.planning.plan_homes`)."""
        return plan_homes(self.slots, where, groups)

    def free_memory(self):
        """Bytes the workers may still use under their memory limits (None when a
        worker has no limit)."""
        return in_contact(self.client).run_on_scheduler(_free_memory)

    def room_per_slot(self, below_pause=False):
        """See :func:`~.memory.room_per_slot`."""
        return memory.room_per_slot(in_contact(self.client), below_pause)

    def compute(self, delayed):
        """Start computing a delayed object; return its future.

        No placement restriction goes with it: restrictions given to ``compute`` reach
        every task of the graph, the user's upstream data tasks too, and a restart of
        every worker left those pinned to addresses that no longer exist (the fit
        waited forever). The scheduler places the block; the round task that trains
        on it is the one pinned (loosely) to its shard's worker."""
        return self.client.compute(delayed)

    def submit(self, fn, *args, key=None, worker=None):
        kwargs = {"pure": False}
        if key is not None:
            kwargs["key"] = key
        if worker is not None:
            kwargs.update(workers=[worker], allow_other_workers=True)
        return self.client.submit(fn, *args, **kwargs)

    def gather(self, items):
        """The results of ``items`` (futures, possibly nested in lists), waited for
        under the :mod:`.watchdog`."""
        watchdog.wait(self.client, items)
        try:
            _raise_failure(items)  # at once, not after the futures gathered before it
            return self.client.gather(items)
        except lost_work_errors() as exc:  # replayed: the traceback is Dask's own, and a cycle
            watchdog.uncycle(exc)
            raise

    def result(self, future):
        """Gather one future and release it, failed or not: a failed future that its
        traceback keeps alive would pin its inputs (the training data) on the cluster."""
        try:
            return self.gather(future)
        finally:
            self.release(future)

    def abandon(self, futures, attempt, addresses):
        """Give up the exchange ``attempt`` on the live workers among ``addresses``
        unless all its ``futures`` (its ranks' tasks) are done (see
        :func:`~.exchange.give_up_here`)."""
        from .exchange import give_up_here

        if all(f.done() for f in _flatten(futures)) or not self.connected():
            return
        live = [a for a in addresses if a in self.client.nthreads()]
        if live:
            self.client.run(give_up_here, attempt, workers=live, on_error="ignore")

    def release(self, *items):
        """Drop our references so the scheduler can forget these results (their
        dependents, already computed or still queued, are left alone)."""
        for f in _flatten(items):
            if hasattr(f, "release"):
                f.release()


def publish(fit, record):
    """Log an epoch's ``record`` of ``fit`` (a :class:`~dasknn.training.hooks.Fit` on a
    cluster) as a Dask event on the topic :data:`~dasknn.training.hooks.TOPIC`."""
    in_contact(fit.client).log_event(TOPIC, {"fit": fit.id, "max_iter": fit.max_iter,
                                             "time": time.time(), **record})


def _raise_failure(items):
    """Raise the error of a failed future among ``items``, if any: a task's own error
    before a lost worker's, and the error of the rank that caused an
    :class:`~.exchange.ExchangeFailed` on its peers before that failure."""
    from distributed import futures_of

    failed = [f for f in futures_of(items) if f.status == "error"]
    own = [f for f in failed if not isinstance(f.exception(), lost_work_errors())]
    for future in own[:1]:
        future.result()
    for future in failed:
        cause = getattr(future.exception(), "cause", None)
        if cause is not None:
            cause.add_note(f"dasknn: raised in a worker's epoch task ({future.exception()})")
            raise cause
    for future in failed[:1]:
        future.result()


class LostTooOften(RuntimeError):
    """The fit lost work on a worker more times than it replays."""


def lost_work_errors():
    """Exceptions meaning a worker died with our work: replay from the checkpoint
    (``wait`` on several futures raises the plural ``FuturesCancelledError``; a peer
    lost during an exchange fails it on every worker with ``ExchangeFailed``)."""
    from distributed import KilledWorker, client

    from .exchange import ExchangeFailed

    return (KilledWorker, client.FutureCancelledError,
            getattr(client, "FuturesCancelledError", client.FutureCancelledError),
            ExchangeFailed)


def _free_memory(dask_scheduler):
    workers = list(dask_scheduler.workers.values())
    if not workers or any(not ws.memory_limit for ws in workers):
        return None
    return sum(max(0, ws.memory_limit - ws.memory.process) for ws in workers)


def _flatten(items):
    for item in items:
        if isinstance(item, (list, tuple)):
            yield from _flatten(item)
        else:
            yield item


_SIMULATED = contextvars.ContextVar("dasknn_simulated_slots", default=None)


@contextlib.contextmanager
def simulated_slots(n_slots):
    """Within this context, fits on Dask data run in this process as on a cluster of
    ``n_slots`` training slots (worker threads): the same shards, rounds, averages
    and seeds, run one after another. A model never depends on where its shards run,
    so this gives the model such a cluster gives, without the cluster: what the scale
    benchmark and tests use to study accuracy at many workers on one machine. BLAS
    runs on one thread meanwhile, as in a worker started by Dask's nanny.

    Examples
    --------
    >>> import dask.array as da, numpy as np
    >>> from dasknn import MLPRegressor
    >>> X = da.from_array(np.random.RandomState(0).rand(400, 3), chunks=(50, 3))
    >>> with simulated_slots(8):
    ...     reg = MLPRegressor(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    ...     reg = reg.fit(X, X.sum(axis=1))
    >>> reg.history_[-1]["workers"]
    8
    """
    from threadpoolctl import threadpool_limits

    token = _SIMULATED.set(int(n_slots))
    try:
        with threadpool_limits(limits=1, user_api="blas"):  # one BLAS thread, as a worker's
            yield
    finally:
        _SIMULATED.reset(token)


@contextlib.contextmanager
def workers_warming(dtype):
    """Within this context, every worker of the default client runs
    :func:`~.tasks.warm_up` (the engine's imports and a first large product) while the
    client goes on: discovering the labels and planning the fit, instead of the first
    round paying for it. The warm-up tasks are released on leaving. Nothing without a
    client, inside a task or :func:`simulated_slots`."""
    futures = _submit_warm_ups(dtype)
    try:
        yield
    finally:
        for future in futures:
            future.release()


def _submit_warm_ups(dtype):
    where, client = _scope()
    if where != "client":  # in-process, or inside a task whose workers are busy already
        return []
    from .tasks import warm_up

    dtype = str(dtype) if dtype is not None else "float64"
    return [client.submit(warm_up, dtype, workers=[worker], pure=False,
                          key=f"dasknn-warmup-{uuid.uuid4().hex[:12]}")
            for worker in client.nthreads()]


def _scope():
    """Where a fit starts: ``("simulated", None)`` inside :func:`simulated_slots`,
    ``("task", None)`` inside a Dask task, ``("client", client)`` with a default
    client, ``("local", None)`` without one."""
    if _SIMULATED.get() is not None:
        return "simulated", None
    from distributed import default_client, get_worker

    try:
        get_worker()
        return "task", None
    except ValueError:
        pass
    try:
        return "client", default_client()
    except ValueError:
        return "local", None


@contextlib.contextmanager
def current_runner():
    """The runner for the Client in scope: a worker's client inside a task, the
    default client otherwise, or in-process execution when there is none (or inside
    :func:`simulated_slots`)."""
    where, client = _scope()
    if where in ("simulated", "local"):
        yield InlineRunner(_SIMULATED.get() or 1)
        return
    from distributed import span, worker_client

    if where == "task":
        with worker_client() as client, _reporting_lost_scheduler(client), span("dasknn-fit"):
            yield ClusterRunner(client)
        return
    with _reporting_lost_scheduler(client), span("dasknn-fit"):
        yield ClusterRunner(client)


@contextlib.contextmanager
def _reporting_lost_scheduler(client):
    """Raise :class:`~.watchdog.SchedulerLost`, in one line, in place of whatever Dask
    raised (a closed connection, futures cancelled) once ``client`` has lost its
    scheduler."""
    try:
        yield
    except SchedulerLost:
        raise
    except Exception as exc:
        if watchdog.connected(client):
            raise
        raise SchedulerLost.of(client, type(exc).__name__) from exc
