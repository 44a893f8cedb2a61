"""Model averaging worker to worker, around the scheduler.

On a cluster, a model-sync epoch is one long-lived task per worker process
(:func:`train_epoch`): it trains the worker's shards round after round and, after each
round, sums the workers' weighted models with its peers over Dask's own comm layer
(``worker.rpc``), the way Dask's P2P shuffle talks between workers. The scheduler sees
one task per worker an epoch instead of one per worker a round plus an averaging tree.

The handlers are registered on every worker by a worker plugin (:class:`Exchange`,
:func:`install`); a message is kept in its worker's :class:`Mailbox` until the task
that waits for it takes it.

How the sum travels, for W ranks (one per worker, in the order of their first shard):

- models under :data:`CHUNKED_FROM` bytes: *recursive doubling*, log2 W steps in which
  partners swap their sums (ranks beyond the largest power of two first hand theirs to a
  partner and get the result back);
- larger ones on three workers or more: a ring *reduce-scatter* then *all-gather*,
  2(W-1) steps of 1/W of the model each (two workers swap whole sums, one step).

Every rank ends with the same bits (a + b == b + a in floating point, and a ring chunk
is summed once and copied), so the same seed and layout give the same model. The
scalars of a round (rows, loss, weight, timings) travel beside the sums and are combined
in rank order.

A peer lost mid-exchange fails the exchange on every worker: a waiting rank pings the
peer it waits for every :data:`PING_EVERY` seconds, and a refused or unanswered ping
(:data:`PING_TIMEOUT`), a failed send or a wait past the bound (``dasknn.exchange-timeout``,
5 minutes unless set) raises :class:`ExchangeFailed` and tells every peer to give the
attempt up. The client then replays the epoch from its checkpoint under a new attempt
(:mod:`.engine`). A rank whose own training raises tells its peers too, handing them
its error: the client raises that error, not the peers' failure, and replays nothing.
"""

import asyncio
import threading
import time
from typing import NamedTuple

import numpy as np
from distributed.diagnostics.plugin import WorkerPlugin
from distributed.protocol import to_serialize

from . import tasks

PLUGIN = "dasknn-exchange"
CHUNKED_FROM = 2**20  # bytes of a model from which the ring is used
PING_EVERY = 1.0  # seconds between pings of the peer a rank waits for
PING_TIMEOUT = 10.0  # a peer that does not answer a ping within this is lost
KEEP_ABORTED = 64  # attempts given up that a mailbox remembers (late messages are refused)
SETTING = "dasknn.exchange-timeout"
DEFAULT_TIMEOUT = "5 minutes"


class ExchangeFailed(RuntimeError):
    """A peer was lost (or gave up) during an exchange: the epoch is replayed. When a
    peer's own training raised, ``cause`` is that error (the client raises it instead)."""

    def __init__(self, reason, cause=None):
        super().__init__(reason, cause)  # both travel when Dask pickles the error
        self.reason, self.cause = reason, cause

    def __str__(self):
        return self.reason


class Group(NamedTuple):
    """The ranks of one attempt at an epoch: who this task is, and every rank's worker."""

    attempt: str  # unique per submitted epoch: messages of an earlier try never mix in
    rank: int
    addresses: tuple  # the worker address of each rank
    timeout: float  # seconds a rank waits for one message at most


class EpochRun(NamedTuple):
    """What a worker's epoch task keeps: the averaged model (the same on every rank),
    its run's last :class:`~.tasks.RunResult` (the shards' optimizer states), each
    round's summary."""

    params: np.ndarray
    run: object
    summaries: list


# ------------------------------------------------------------------- worker side
class Mailbox:
    """Messages that reached this worker, until a task takes them; the attempts given up."""

    def __init__(self):
        self.cond = threading.Condition()
        self.inbox = {}
        self.aborted = {}

    async def receive(self, attempt=None, tag=None, sender=None, data=None, known=None):
        with self.cond:
            if attempt in self.aborted:
                return self.aborted[attempt][0]
            self.inbox[(attempt, tag, sender)] = (data, known)
            self.cond.notify_all()
        return "ok"

    async def ping(self, attempt=None):
        return self.aborted.get(attempt, ("ok",))[0]

    async def abort(self, attempt=None, reason=None, cause=None):
        self.give_up(attempt, reason, cause)
        return "ok"

    def give_up(self, attempt, reason, cause=None):
        with self.cond:
            self.aborted.setdefault(attempt, (reason, cause))
            while len(self.aborted) > KEEP_ABORTED:  # the oldest go first
                del self.aborted[next(iter(self.aborted))]
            for key in [k for k in self.inbox if k[0] == attempt]:
                del self.inbox[key]
            self.cond.notify_all()

    def take(self, attempt, tag, sender, seconds=0.0):
        """The message, waited for up to ``seconds`` (None if it did not come in that
        time); raise if the attempt was given up. The check and the wait hold the lock
        together, so a message stored between them cannot be missed."""
        key = (attempt, tag, sender)
        with self.cond:
            self.cond.wait_for(lambda: key in self.inbox or attempt in self.aborted, seconds)
            if attempt in self.aborted:
                raise ExchangeFailed(*self.aborted[attempt])
            return self.inbox.pop(key, None)

    def forget(self, attempt):
        """Drop an attempt's leftovers (its messages are all taken when it succeeds)."""
        with self.cond:
            for key in [k for k in self.inbox if k[0] == attempt]:
                del self.inbox[key]


_BOXES = {}  # worker address -> Mailbox (a process may hold several workers)
_BOXES_LOCK = threading.Lock()


def mailbox_of(worker):
    with _BOXES_LOCK:
        return _BOXES.setdefault(worker.address, Mailbox())


class Exchange(WorkerPlugin):
    """Worker plugin: registers the exchange's handlers on each worker (also on workers
    that join or restart later: the scheduler hands them its plugins). Registering it
    again keeps the mailbox, so fits running side by side do not disturb each other."""

    name = PLUGIN

    def setup(self, worker):
        box = mailbox_of(worker)
        worker.handlers.update(dasknn_exchange=box.receive, dasknn_exchange_ping=box.ping,
                               dasknn_exchange_abort=box.abort)

    def teardown(self, worker):
        pass  # the handlers stay: a fit may be exchanging while the plugin is replaced


class _Link:
    """One rank's connection to its peers, from inside its task's thread."""

    def __init__(self, group):
        from distributed import get_worker

        self.group, self.worker = group, get_worker()
        self.box = mailbox_of(self.worker)
        self.loop = self.worker.loop.asyncio_loop
        self.sent = 0
        if self.worker.address != group.addresses[group.rank]:
            # the scheduler ran this rank elsewhere: its worker left the cluster
            self.fail(f"the worker of rank {group.rank}, {group.addresses[group.rank]}, "
                      "left the cluster")

    def _call(self, address, op, **msg):
        rpc = self.worker.rpc(address)
        return asyncio.run_coroutine_threadsafe(getattr(rpc, op)(**msg), self.loop)

    def send(self, to, tag, data, known):
        """Start sending ``data`` (a float64 array) and ``known`` (rank -> scalars)."""
        self.sent += data.nbytes
        return self._call(self.group.addresses[to], "dasknn_exchange",
                          attempt=self.group.attempt, tag=tag, sender=self.group.rank,
                          data=to_serialize(data), known=[[r, *k] for r, k in known.items()])

    def sent_ok(self, pending, to):
        try:
            reply = pending.result(self.group.timeout)
        except Exception as exc:
            self.fail(f"sending to rank {to} at {self.group.addresses[to]} failed "
                      f"({type(exc).__name__})")
        if reply != "ok":
            raise ExchangeFailed(reply)

    def receive(self, tag, sender):
        """The message of ``sender`` for ``tag``, waited for under the bound, pinging
        the sender meanwhile."""
        deadline, pinged = time.monotonic() + self.group.timeout, time.monotonic()
        while True:
            now = time.monotonic()
            if now > deadline:
                self.fail(f"rank {sender} at {self.group.addresses[sender]} sent nothing "
                          f"for {self.group.timeout:g} s")
            if now - pinged > PING_EVERY:
                self._ping(sender)
                pinged = time.monotonic()
            message = self.box.take(self.group.attempt, tag, sender,
                                    min(PING_EVERY, max(0.0, deadline - now)))
            if message is not None:
                data, known = message
                return data, {int(k[0]): tuple(k[1:]) for k in known}

    def _ping(self, rank):
        address = self.group.addresses[rank]
        try:
            reply = self._call(address, "dasknn_exchange_ping",
                               attempt=self.group.attempt).result(PING_TIMEOUT)
        except Exception as exc:
            self.fail(f"rank {rank} at {address} was lost ({type(exc).__name__})")
        if reply != "ok":
            raise ExchangeFailed(reply)

    def fail(self, why):
        """Give the attempt up here and on every peer; raise :class:`ExchangeFailed`."""
        raise ExchangeFailed(self.give_up(why))

    def give_up(self, why, cause=None):
        """Give the attempt up here and tell every peer why (best effort: a lost peer
        does not answer), handing them ``cause``, this rank's own error, if any; return
        the reason."""
        reason = f"dasknn: the exchange of epoch attempt {self.group.attempt} failed: {why}"
        self.box.give_up(self.group.attempt, reason)
        cause = to_serialize(cause) if _picklable(cause) else None
        pending = [self._call(a, "dasknn_exchange_abort", attempt=self.group.attempt,
                              reason=reason, cause=cause)
                   for r, a in enumerate(self.group.addresses) if r != self.group.rank]
        for p in pending:
            try:
                p.result(PING_TIMEOUT)
            except Exception:
                pass
        return reason

    def swap(self, partner, tag, data, known):
        """Send ours to ``partner`` and take theirs."""
        pending = self.send(partner, tag, data, known)
        message = self.receive(tag, partner)
        self.sent_ok(pending, partner)
        return message


def _picklable(exc):
    import pickle

    try:
        return exc is not None and pickle.loads(pickle.dumps(exc)) is not None
    except Exception:
        return False


# --------------------------------------------------------------- the collectives
def allreduce(link, vector, known, tag):
    """The sum of every rank's ``vector``, the same bits on every rank, and every rank's
    scalars (``known``: rank -> scalars) gathered."""
    n = len(link.group.addresses)
    if n == 1:
        return vector, known
    if vector.nbytes >= CHUNKED_FROM and n > 2:
        return _ring(link, vector, known, tag)
    return _doubling(link, vector, known, tag)


def _doubling(link, vector, known, tag):
    n, rank = len(link.group.addresses), link.group.rank
    p = 1 << (n.bit_length() - 1)  # the largest power of two <= n
    known = dict(known)
    if rank >= p:  # hand ours to a partner, take the result back
        pending = link.send(rank - p, f"{tag}/in", vector, known)
        link.sent_ok(pending, rank - p)
        return link.receive(f"{tag}/out", rank - p)
    if rank + p < n:
        data, theirs = link.receive(f"{tag}/in", rank + p)
        vector, known = vector + data, {**known, **theirs}
    step = 1
    while step < p:
        partner = rank ^ step
        data, theirs = link.swap(partner, f"{tag}/{step}", vector, known)
        vector, known = vector + data, {**known, **theirs}
        step *= 2
    if rank + p < n:
        link.sent_ok(link.send(rank + p, f"{tag}/out", vector, known), rank + p)
    return vector, known


def _ring(link, vector, known, tag):
    n, rank = len(link.group.addresses), link.group.rank
    right, left = (rank + 1) % n, (rank - 1) % n
    bounds = np.linspace(0, vector.size, n + 1).astype(int)
    chunk = lambda c: slice(bounds[c % n], bounds[c % n + 1])  # noqa: E731
    known = dict(known)  # vector is the round's own sum: summed into in place
    for s in range(n - 1):  # reduce-scatter: rank r ends owning chunk r + 1
        pending = link.send(right, f"{tag}/rs{s}", vector[chunk(rank - s)], known)
        data, theirs = link.receive(f"{tag}/rs{s}", left)
        vector[chunk(rank - s - 1)] += data
        known.update(theirs)
        link.sent_ok(pending, right)
    for s in range(n - 1):  # all-gather: each owned chunk goes round
        pending = link.send(right, f"{tag}/ag{s}", vector[chunk(rank + 1 - s)], known)
        data, theirs = link.receive(f"{tag}/ag{s}", left)
        vector[chunk(rank - s)] = data
        known.update(theirs)
        link.sent_ok(pending, right)
    return vector, known


def _scalars(partial):
    """A :class:`~.tasks.Partial`'s scalars (weight, loss, rows, timings), as they travel."""
    return tuple(float(x) for x in partial[1:6])


def _combined(vector, known):
    """One :class:`~.tasks.Partial` of the summed vector and every rank's scalars,
    combined in rank order."""
    ranks = [tasks.Partial(0.0, w, loss, int(rows), slowest, seconds)
             for w, loss, rows, slowest, seconds in (known[r] for r in sorted(known))]
    return tasks.reduce_partials(*ranks)._replace(weighted=vector)


# ------------------------------------------------------------------- the task
def train_epoch(params, start, shards, plans, cfg, group):
    """Train this worker's ``shards`` for an epoch of rounds (``plans``: one list of
    :class:`~.tasks.Plan` per round, one plan per shard), averaging the workers' models
    with the ranks of ``group`` after each round. ``start`` is this rank's previous
    :class:`EpochRun` (its model and optimizer states go on; ``params`` is then None) or
    one initial optimizer state per shard."""
    if isinstance(start, EpochRun):
        params, start = start.params, start.run
    link = _Link(group)
    summaries = []
    try:
        for r, round_plans in enumerate(plans):
            run = tasks.train_run(params, start, shards, round_plans, cfg)
            vector, known = allreduce(link, run.partial.weighted,
                                      {group.rank: _scalars(run.partial)}, r)
            total = _combined(vector, known)
            params = tasks.averaged(total, params)
            summaries.append(tasks.summary(total))
            start = run._replace(partial=None)  # its sum is spent: keep the states only
    except ExchangeFailed:
        raise
    except BaseException as exc:  # the peers would wait for this rank's sums: tell them
        link.give_up(f"rank {group.rank} at {group.addresses[group.rank]} failed "
                     f"({type(exc).__name__}: {exc})", exc)
        raise
    finally:
        link.box.forget(group.attempt)
    return EpochRun(params, start, summaries)


def give_up_here(attempt, dask_worker=None):
    """Give ``attempt`` up on this worker: the client dropped its epoch unfinished (a
    replay, new workers, a diverged fit), so a rank waiting here for a peer that will
    never run raises :class:`ExchangeFailed` now (run by ``ClusterRunner.abandon``)."""
    mailbox_of(dask_worker).give_up(attempt, f"dasknn: the client dropped epoch attempt "
                                             f"{attempt}")


def params_of(epoch_run):
    return epoch_run.params


def summaries_of(epoch_run):
    """Each round's summary (see :func:`~.tasks.summary`)."""
    return epoch_run.summaries


# ------------------------------------------------------------------- client side
def timeout():
    """Seconds a rank waits for one message (the Dask setting ``dasknn.exchange-timeout``)."""
    import dask.config
    from dask.utils import parse_timedelta

    return parse_timedelta(dask.config.get(SETTING, DEFAULT_TIMEOUT), default="s")


_INSTALLED = {}  # id(client) -> the scheduler address the plugin was registered with


def install(client):
    """Register :class:`Exchange` on ``client``'s workers (once per client and scheduler)."""
    address = client.scheduler.address
    if _INSTALLED.get(id(client)) != address:
        client.register_plugin(Exchange(), name=PLUGIN)
        _INSTALLED[id(client)] = address
