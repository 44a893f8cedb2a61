"""The watchdog: a fit waiting on its tasks never waits forever, and the watchdog
only looks.

Every wait of the engine on a cluster goes through :func:`wait`. While tasks finish,
it just waits. When none of the awaited tasks has finished for a while (the setting
``dasknn.watchdog-timeout``, 30 s unless set: the *bound*), it looks at where the work
stands (:func:`inspect`) and then:

- raises :class:`Stalled` naming a hung task when one of the fit's own tasks (keys
  ``dasknn-...``, which take seconds) has executed for :data:`HUNG` bounds, with its
  worker (the user's tasks, reading the data say, are waited for however long they
  run);
- waits on while a worker that holds the fit's work has gone silent (no heartbeat
  for the bound), and raises :class:`Stalled` naming that worker and the fix once it
  has been silent for :data:`HUNG` bounds (below);
- waits on while a task of the fit runs on a live worker (a slow round, a slow read of
  the data), or is queued behind other work;
- otherwise raises :class:`Stalled` saying which tasks are stuck, in what state, and
  where (restrictions, resources).

A silent worker is not removed: the cluster may not be the fit's, and Dask has its own
rule for it. A worker can fall silent and come back (a long garbage collection, a task
holding the GIL, a short network outage); the scheduler tolerates that for its
``distributed.scheduler.worker-ttl`` (5 minutes by default, looked at once every
worker-ttl), then removes (or, through its nanny, restarts) the worker and runs its
tasks elsewhere, and the fit goes on. So a user expects the fit to ride out a pause as
Dask does, warned once that it is waiting and on what, rather than to fail after one
bound. But the worker-ttl may be off, or longer than the fit should wait: a worker
silent for :data:`HUNG` bounds (5 minutes by default) is taken as hung, like a task,
and the fit stops with an error naming it, saying to restart it or to give the
scheduler a worker-ttl under half that (with both defaults, the watchdog usually
stops the fit before the scheduler acts).

The watchdog changes nothing on the cluster: it neither rewrites the scheduler's
task state nor closes workers. (Nothing needs releasing: the engine pins tasks to
workers loosely, ``allow_other_workers=True``, so the scheduler runs a task whose
worker left on another.) What it needs that the client's public API does not give
(the states of tasks not in memory and of what they wait on, their restrictions, how
long each has executed, the workers' last heartbeats on the scheduler's clock) is read
by :func:`inspect`, run on the scheduler, in one consistent snapshot, read only.

A client that has lost its scheduler cancels every future and, for a while, tries to
reconnect; a call to the scheduler meanwhile waits for that. :func:`in_contact` is
asked before each such call, so that the fit stops at once with
:class:`SchedulerLost` instead.

Examples
--------
>>> import dask
>>> with dask.config.set({"dasknn.watchdog-timeout": "2 minutes"}):
...     patience()
120
"""

import warnings
from collections import Counter

import dask.config
from dask.utils import parse_timedelta

SETTING = "dasknn.watchdog-timeout"
DEFAULT = "30s"
EXAMPLES = 3  # stuck tasks named in an error
HUNG = 10  # one of the fit's own tasks running, or a worker silent, this many bounds is hung
HEARTBEATS = 5  # a worker is silent only once it has also missed this many heartbeats


def patience():
    """Seconds without a finished task before the watchdog looks (the Dask setting
    ``dasknn.watchdog-timeout``)."""
    return parse_timedelta(dask.config.get(SETTING, DEFAULT), default="s")


class SchedulerLost(ConnectionError):
    """The client lost contact with the Dask scheduler during a fit: the cluster's copy
    of the data and the fit's tasks went with it."""

    @classmethod
    def of(cls, client, what):
        """The error for ``client``, having seen ``what`` (an exception's name)."""
        address = getattr(client.scheduler, "address", None) or "its address"
        return cls(
            f"dasknn: lost contact with the Dask scheduler at {address} during the fit "
            f"({what}); the cluster's copy of the data and the fit's tasks went with it. "
            "Check that the scheduler is running and reachable, then fit again.")

    def keeping(self, n_iter):
        """This error, saying that the estimator keeps the model of epoch ``n_iter``
        (0: no epoch had finished)."""
        self.args = (self.args[0] + (
            f" The model of the last finished epoch is kept (n_iter_ = {n_iter}): fit "
            "again with warm_start=True to go on from it." if n_iter else
            " No epoch had finished."),)
        return self


def connected(client):
    """Whether ``client`` is in contact with its scheduler (after losing it, a client
    cancels every future and tries to reconnect for a while)."""
    return client.status == "running"


def in_contact(client):
    """``client``, once it is known to be in contact with its scheduler; else
    :class:`SchedulerLost` at once."""
    if not connected(client):
        raise SchedulerLost.of(client, f"client {client.status}")
    return client


class Stalled(RuntimeError):
    """The fit's tasks made no progress and will not: they cannot run, one of the fit's
    own has hung, or the worker holding them has been silent for too long."""


def wait(client, futures):
    """Wait until every future in ``futures`` (nested lists allowed) is finished (done,
    failed or cancelled); raise :class:`Stalled` when the fit cannot go on. Changes
    nothing on the cluster."""
    from distributed import futures_of
    from distributed import wait as wait_all

    pending = [f for f in futures_of(futures) if not f.done()]
    bound, warned = patience(), set()
    while pending:
        try:  # until a future finishes: a failed one ends the wait (its error is raised)
            wait_all(pending, timeout=bound, return_when="FIRST_COMPLETED")
            progressed = True
        except TimeoutError as exc:
            uncycle(exc)
            progressed = False
        if any(f.status == "error" for f in pending):
            return
        pending = [f for f in pending if not f.done()]
        if pending and not progressed:
            _look(client, pending, bound, warned)


def uncycle(exc):
    """Drop ``exc``'s traceback (a re-raise starts a new one at the caller).

    Dask's client raises errors from a frame that holds the error itself (in a closure
    cell of a function that frame references): error, traceback and frame form a
    reference cycle that keeps the frames' futures, and with them the fit's tasks and
    every task they depend on, on the cluster until Python's garbage collector happens
    to run (a stall of 30 s left 58 tasks behind for over a minute)."""
    exc.__traceback__ = None


def _look(client, pending, bound, warned):
    """Look at the scheduler after ``bound`` seconds without progress: return to wait
    on, or raise :class:`Stalled`. ``warned``: the silent workers already warned of."""
    report = in_contact(client).run_on_scheduler(inspect, keys=[f.key for f in pending],
                                                 silent=bound)
    if not report["states"]:
        return  # the work finished while the scheduler was being asked
    hung = report["hung"]
    if hung is not None and hung[2] > HUNG * bound:
        raise Stalled(_hung(hung, bound))
    if report["silent"]:
        worst = max(report["silent"], key=lambda worker: worker["seconds"])
        if worst["seconds"] > HUNG * bound:
            raise Stalled(_silent(worst, report["worker_ttl"], bound))
        new = [w for w in report["silent"] if w["address"] not in warned]
        if new:
            warned.update(w["address"] for w in new)
            warnings.warn(_waiting(new, report["worker_ttl"], bound), stacklevel=4)
        return  # the worker may come back, or the scheduler remove it (its worker-ttl)
    if report["running"]:
        return  # a task of the fit is working on a live worker
    raise Stalled(_stalled(report, bound))


def _hung(task, bound):
    key, address, seconds = task
    return (
        f"dasknn: the fit's task {key} has run for {seconds:.0f} s on {address}, over "
        f"{HUNG} times the watchdog's bound of {bound:g} s, and is taken as hung. Look at "
        "that worker (its log; `py-spy dump` on its process); if the task is only slow, "
        f"raise the bound: dask.config.set({{'{SETTING}': '5 minutes'}}).")


def _ttl(worker_ttl):
    """The scheduler's ``distributed.scheduler.worker-ttl``, in words."""
    if not worker_ttl:
        return "its distributed.scheduler.worker-ttl is off"
    return f"its distributed.scheduler.worker-ttl is {worker_ttl:g} s"


def _holds(worker):
    address, examples = worker["address"], ", ".join(worker["examples"])
    return f"worker {address} holds {worker['tasks']} of the fit's task(s) ({examples})"


def _waiting(workers, worker_ttl, bound):
    silent = "; ".join(f"{_holds(w)} and has not been heard from for {w['seconds']:.0f} s"
                       for w in workers)
    limit = HUNG * bound
    if not worker_ttl:
        waits = ("for it to come back (the scheduler will not remove it: its "
                 "distributed.scheduler.worker-ttl is off)")
    elif 2 * worker_ttl < limit:
        waits = ("for it to come back, or for the scheduler to remove it and run its tasks "
                 f"elsewhere ({_ttl(worker_ttl)})")
    else:
        waits = (f"for it to come back, or for the scheduler to remove it ({_ttl(worker_ttl)}"
                 ", and it looks once every worker-ttl: it may not act in time)")
    return (f"dasknn: no task of the fit finished for {bound:g} s: {silent}. The fit waits "
            f"{waits}, and stops if it stays silent for {limit:g} s.")


def _silent(worker, worker_ttl, bound):
    address, limit = worker["address"], HUNG * bound
    return (
        f"dasknn: {_holds(worker)} and has not been heard from for "
        f"{worker['seconds']:.0f} s, over {HUNG} times the watchdog's bound of {bound:g} "
        f"s, yet the scheduler still lists it ({_ttl(worker_ttl)}). Restart that worker "
        f"(client.restart_workers(['{address}'])) and fit again, or have the scheduler "
        "remove silent workers itself: start it with the Dask setting "
        f"distributed.scheduler.worker-ttl under {limit / 2:g} s (it looks once every "
        "worker-ttl, so removes a silent worker within twice that). If the worker is only "
        "busy (a task holding the GIL), raise the watchdog's bound: "
        f"dask.config.set({{'{SETTING}': '10 minutes'}}).")


def _stalled(report, bound):
    states = ", ".join(f"{n} {state}" for state, n in sorted(report["states"].items()))
    examples = "; ".join(f"{key} is {state}{' (' + why + ')' if why else ''}"
                         for key, state, why in report["examples"])
    workers = report["workers"]
    where = (f"none of it is running on the cluster's {workers} worker(s)" if workers
             else "the cluster has no workers")
    return (
        f"dasknn: the fit made no progress for {bound:g} s and {where}. Its unfinished "
        f"tasks: {states}. For example: {examples}. Start workers that can run them "
        "(memory, resources, the restrictions shown), or, if the tasks are only slow to "
        f"start, raise the watchdog's patience: dask.config.set({{'{SETTING}': '5 minutes'}}).")


def inspect(dask_scheduler, keys, silent):
    """On the scheduler, reading only: the state of the tasks behind ``keys`` (those
    not in memory, and what they wait on), and the workers holding them that have not
    been heard from for ``silent`` seconds (nor for :data:`HEARTBEATS` heartbeats)."""
    from distributed.metrics import time
    from distributed.scheduler import heartbeat_interval

    scheduler, now = dask_scheduler, time()
    tasks = _unfinished(scheduler, keys)
    quiet = max(silent, HEARTBEATS * heartbeat_interval(len(scheduler.workers)))
    return {
        "silent": _silent_workers(tasks, now, quiet),
        "worker_ttl": scheduler.worker_ttl,
        "running": sum(ts.state == "processing" for ts in tasks) + _busy(scheduler, tasks),
        "hung": _longest_own(tasks),
        "workers": len(scheduler.workers),
        "states": dict(Counter(ts.state for ts in tasks)),
        "examples": [(str(ts.key), ts.state, _why(scheduler, ts))
                     for ts in tasks if ts.state != "waiting"][:EXAMPLES],
    }


def _unfinished(scheduler, keys):
    """The TaskStates of ``keys`` not in memory, and of every task they still wait on."""
    seen, todo, found = set(), [scheduler.tasks.get(k) for k in keys], []
    while todo:
        ts = todo.pop()
        if ts is None or ts.key in seen or ts.state in ("memory", "erred", "forgotten"):
            continue
        seen.add(ts.key)
        found.append(ts)
        todo.extend(ts.dependencies)
    return found


def _silent_workers(tasks, now, quiet):
    """The workers processing some of ``tasks`` whose last heartbeat is over ``quiet``
    seconds old: address, seconds since, how many of the tasks, a few of their keys."""
    held = {}
    for ts in tasks:
        ws = ts.processing_on
        if ws is not None and now - ws.last_seen > quiet:
            held.setdefault(ws, []).append(str(ts.key))
    return [{"address": ws.address, "seconds": now - ws.last_seen, "tasks": len(keys),
             "examples": sorted(keys)[:EXAMPLES]} for ws, keys in held.items()]


def _longest_own(tasks):
    """(key, worker, seconds) of the fit's own task that has been executing longest
    (as of the workers' last heartbeats), or None."""
    running = [(str(ts.key), ts.processing_on.address, ts.processing_on.executing.get(ts, 0.0))
               for ts in tasks if ts.state == "processing" and ts.processing_on is not None
               and str(ts.key).startswith("dasknn-") and not _exchanging(ts.key)]
    return max(running, key=lambda task: task[2], default=None)


def _exchanging(key):
    """An exchange's epoch task (``dasknn-rounds-...``) runs an epoch, however long the
    epoch; it bounds its own waits on its peers (see :mod:`.exchange`)."""
    return str(key).startswith("dasknn-rounds-")


def _busy(scheduler, tasks):
    """1 when the fit's queued tasks wait behind other work the workers are doing."""
    queued = any(ts.state == "queued" for ts in tasks)
    return int(queued and any(ws.processing for ws in scheduler.workers.values()))


def _why(scheduler, ts):
    """What keeps a task from running, as far as the scheduler says."""
    if ts.worker_restrictions:
        where = ", ".join(sorted(ts.worker_restrictions))
        gone = not set(ts.worker_restrictions) & set(scheduler.workers)
        return f"restricted to {where}" + (", not in the cluster" if gone else "")
    if ts.resource_restrictions:
        return f"needs resources {dict(ts.resource_restrictions)}"
    if ts.processing_on is not None:
        return f"running on {ts.processing_on.address}"
    return ""
