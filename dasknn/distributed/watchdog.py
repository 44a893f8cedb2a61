"""The watchdog: a fit waiting on its tasks never waits forever.

Every wait of the engine on a cluster goes through :func:`wait`. While tasks finish,
it just waits. When none of the awaited tasks has finished for a while (the setting
``dasknn.watchdog-timeout``, 30 s unless set), it asks the scheduler where the work
stands (:func:`inspect`, run on the scheduler) and then:

- re-plans work stuck on workers that are gone: a task restricted to absent workers
  is released to the workers that remain, and a worker that has not been heard from
  for the whole timeout while it holds the fit's work is removed, so that its tasks
  run elsewhere (the scheduler itself would wait minutes, its ``worker-ttl``);
- waits on while a task of the fit runs on a live worker (a slow round, a slow read
  of the data), unless one of the fit's own tasks (keys ``dasknn-...``, which take
  seconds) has run for :data:`HUNG` times the timeout: that one is hung, and the fit
  stops with an error naming it and its worker (the user's tasks, reading the data
  say, are waited for however long they run);
- otherwise raises an error saying which tasks are stuck, in what state, and where.

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

import time
import warnings
from collections import Counter

import dask.config
from dask.utils import parse_timedelta

SETTING = "dasknn.watchdog-timeout"
DEFAULT = "30s"
EXAMPLES = 3  # stuck tasks named in an error
HUNG = 10  # one of the fit's own tasks running this many timeouts is hung


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
    """The fit's tasks made no progress and the watchdog found nothing to re-plan."""


def wait(client, futures):
    """Wait until every future in ``futures`` (nested lists allowed) is finished (done,
    failed or cancelled), re-planning stuck work; raise :class:`Stalled` when the fit
    cannot go on."""
    from distributed import futures_of
    from distributed import wait as wait_all

    pending = [f for f in futures_of(futures) if not f.done()]
    bound = patience()
    while pending:
        try:
            wait_all(pending, timeout=bound)
            return
        except TimeoutError as exc:
            uncycle(exc)
            still = [f for f in pending if not f.done()]
            progressed, pending = len(still) < len(pending), still
        if pending and not progressed:
            _look(client, pending, bound)


def uncycle(exc):
    """Drop ``exc``'s traceback (a re-raise starts a new one at the caller).

    Dask's client raises errors from a frame that holds the error itself (in a closure
    cell of a function that frame references): error, traceback and frame form a
    reference cycle that keeps the frames' futures, and with them the fit's tasks and
    every task they depend on, on the cluster until Python's garbage collector happens
    to run (a stall of 30 s left 58 tasks behind for over a minute)."""
    exc.__traceback__ = None


def _look(client, pending, bound):
    """Inspect the scheduler after ``bound`` seconds without progress; re-plan, wait
    on, or raise."""
    report = in_contact(client).run_on_scheduler(inspect, keys=[f.key for f in pending],
                                                 silent=bound)
    if not report["states"]:
        return  # the work finished while the scheduler was being asked
    if report["replanned"] or report["removed"]:
        warnings.warn(
            f"dasknn: no task of the fit finished for {bound:g} s; "
            + _replanned(report) + "; the fit goes on with the workers that remain.",
            stacklevel=4)
        return
    hung = report["hung"]
    if hung is not None and hung[2] > HUNG * bound:
        raise Stalled(_hung(hung, bound))
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


def _replanned(report):
    parts = []
    if report["removed"]:
        parts.append(f"removed the silent worker(s) {', '.join(report['removed'])}, "
                     "which held its work")
    if report["replanned"]:
        parts.append(f"released {len(report['replanned'])} task(s) pinned to workers that "
                     "are gone")
    return " and ".join(parts)


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


async def inspect(dask_scheduler, keys, silent):
    """On the scheduler: the state of the tasks behind ``keys`` (those not in memory,
    and what they wait on), after re-planning what absent or silent workers hold."""
    scheduler, now = dask_scheduler, time.time()
    tasks = _unfinished(scheduler, keys)
    removed = sorted({ts.processing_on.address for ts in tasks
                      if ts.processing_on is not None
                      and now - ts.processing_on.last_seen > silent})
    for address in removed:
        await scheduler.remove_worker(address, stimulus_id=f"dasknn-watchdog-{now}",
                                      close=True)
    tasks = _unfinished(scheduler, keys)
    replanned = _release_pinned(scheduler, tasks, now)
    return {
        "removed": removed,
        "replanned": replanned,
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


def _release_pinned(scheduler, tasks, now):
    """Drop the worker restrictions of unrunnable tasks pinned to absent workers and
    send them to the workers that remain; return their keys."""
    present = set(scheduler.workers)
    pinned = [ts for ts in tasks if ts.state == "no-worker" and ts.worker_restrictions
              and not set(ts.worker_restrictions) & present]
    for ts in pinned:
        ts.worker_restrictions = None
        ts.loose_restrictions = False
    if pinned and scheduler.workers:
        scheduler.transitions({ts.key: "processing" for ts in pinned},
                              stimulus_id=f"dasknn-watchdog-{now}")
    return [str(ts.key) for ts in pinned]


def _longest_own(tasks):
    """(key, worker, seconds) of the fit's own task that has been executing longest
    (as of the workers' last heartbeats), or None."""
    running = [(str(ts.key), ts.processing_on.address, ts.processing_on.executing.get(ts, 0.0))
               for ts in tasks if ts.state == "processing" and ts.processing_on is not None
               and str(ts.key).startswith("dasknn-")]
    return max(running, key=lambda task: task[2], default=None)


def _busy(scheduler, tasks):
    """1 when the fit's queued tasks wait behind other work the workers are doing."""
    queued = any(ts.state == "queued" for ts in tasks)
    return int(queued and any(ws.processing for ws in scheduler.workers.values()))


def _why(scheduler, ts):
    """What keeps a task from running, as far as the scheduler says."""
    if ts.worker_restrictions:
        return "restricted to " + ", ".join(sorted(ts.worker_restrictions))
    if ts.resource_restrictions:
        return f"needs resources {dict(ts.resource_restrictions)}"
    if ts.processing_on is not None:
        return f"running on {ts.processing_on.address}"
    return ""
