"""The held-data strategy: shards live in the workers' memory for the whole fit; an
epoch is a chain of rounds submitted at once, and the next epoch is submitted before
the client has gathered this one whenever nothing it learns can change the next.

``sync='model'``: each round runs local steps on every shard, then averages the
models. ``sync='gradient'``: each round is one step of synchronous SGD.
"""

import time
import uuid
from typing import NamedTuple

import numpy as np

from ..maths import optimizers as optim
from ..maths import scores
from ..training.batches import batch_size_for
from ..training.driver import EpochResult
from . import averaging, exchange, tasks
from .planning import round_plan, sync_steps
from .runner import Regroup


class Submitted(NamedTuple):
    """One epoch on the cluster: averaged parameters, per-shard results, summaries,
    and with early stopping the validation statistics of the averaged parameters
    (submitted with the epoch, so the client gathers everything at once)."""

    params: object
    results: list
    summaries: list
    validation: list
    at: float  # when the client submitted it (``time.time()``)
    attempt: object = None  # an exchanged epoch's (attempt id, rank addresses)


class Schedule(NamedTuple):
    """Submits epochs: everything about an epoch that does not change between epochs."""

    shards: object  # shards.Shards
    cfg: object  # the user's learning rate: ``rate`` scales it in the round tasks
    sync: str
    n_rounds: int
    per_round: list
    batch_size: int
    seeds: object
    classifier: bool
    rate: object  # planning.RoundRate
    runs: list  # the shards each model-sync task trains: one run of shards per worker
    exchange: bool  # model sync worker to worker (one task per worker an epoch)

    def submit(self, epoch, params, starts, learning_rate):
        run = (self._gradient_sync if self.sync == "gradient" else
               self._exchanged if self.exchange else self._model_sync)
        at = time.time()
        params, results, summaries, *attempt = run(epoch, params, starts, learning_rate)
        return Submitted(params, results, summaries, self._validation(epoch, params), at,
                         *attempt)

    def _plan(self, epoch, k, r, first, count, learning_rate):
        warm = self.rate.warm(epoch + r / self.n_rounds)
        return tasks.Plan(self.seeds.round(epoch, k), first, count,
                          min(self.batch_size, self.shards.rows[k]), self.cfg.shuffle,
                          learning_rate, self.rate.scale, warm)

    def first_starts(self, optimizer):
        """What the first epoch's rounds start from: ``optimizer`` for every shard."""
        if self.sync == "gradient":
            return [optimizer] * len(self.shards.futures)
        return [[optimizer] * len(run) for run in self.runs]

    def _model_sync(self, epoch, params, starts, lr):
        """Rounds of local steps on every shard, one task per worker's run of shards,
        each round followed by a tree of averages."""
        summaries, results, sh, count = [], starts, self.shards, self.per_round
        for r in range(self.n_rounds):
            results = [
                sh.submit(tasks.train_run, params, results[g], [sh.futures[k] for k in run],
                          [self._plan(epoch, k, r, r * count[k], count[k], lr) for k in run],
                          self.cfg, key=f"dasknn-round-{epoch}-{r}-{g}", k=run[0])
                for g, run in enumerate(self.runs)
            ]
            # a run of several shards hands on only its sum, from its worker
            sums = [result if len(run) == 1 else
                    sh.submit(tasks.partial_of, result, key=f"dasknn-average-{epoch}-{r}-run-{g}",
                              k=run[0]) for g, (result, run) in enumerate(zip(results, self.runs))]
            params, summary = averaging.submit(sh.submit, sums, params,
                                               f"dasknn-average-{epoch}-{r}", summed=True)
            summaries.append(summary)
        return params, results, summaries

    def _exchanged(self, epoch, params, starts, lr):
        """Model sync worker to worker: one task per worker for the whole epoch, its
        shards' models averaged with its peers' after each round (:mod:`.exchange`)."""
        sh = self.shards
        first = isinstance(starts[0], list)  # initial optimizer states, not epoch runs
        group = [sh.homes[run[0]] for run in self.runs]
        attempt, bound = f"{sh.token}-{epoch}-{uuid.uuid4().hex[:8]}", exchange.timeout()
        runs = [
            sh.submit(exchange.train_epoch, params if first else None, starts[g],
                      [sh.futures[k] for k in run],
                      [[self._plan(epoch, k, r, r * self.per_round[k], self.per_round[k], lr)
                        for k in run] for r in range(self.n_rounds)],
                      self.cfg, exchange.Group(attempt, g, tuple(group), bound),
                      key=f"dasknn-rounds-{epoch}-{g}", k=run[0])
            for g, run in enumerate(self.runs)
        ]
        k = self.runs[0][0]
        return (sh.submit(exchange.params_of, runs[0], key=f"dasknn-params-{epoch}", k=k),
                runs,
                sh.submit(exchange.summaries_of, runs[0], key=f"dasknn-summaries-{epoch}", k=k),
                (attempt, tuple(group)))

    def _gradient_sync(self, epoch, params, starts, lr):
        """Exact synchronous SGD: the shards' gradients combined at every step."""
        sh = self.shards
        state = sh.submit(tasks.start_step, params, starts[0], key=f"dasknn-step-{epoch}-start")
        summaries = []
        data_only = self.cfg.net._replace(alpha=0.0)  # the penalty is added once, not per shard
        for r in range(self.n_rounds):
            plans = [self._plan(epoch, k, r, r, 1, lr) for k in range(len(sh.futures))]
            grads = [sh.submit(tasks.grad_at, state, sh.futures[k], plans[k], data_only,
                               key=f"dasknn-grad-{epoch}-{r}-{k}", k=k)
                     for k in range(len(sh.futures))]
            summaries.append(sh.submit(tasks.step_summary, state, self.cfg, *grads,
                                       key=f"dasknn-summary-{epoch}-{r}"))
            state = sh.submit(tasks.apply_step, state, self.cfg, plans[0], *grads,
                              key=f"dasknn-average-{epoch}-{r}")
        params = sh.submit(tasks.params_of, state, key=f"dasknn-params-{epoch}")
        return params, [state] * len(sh.futures), summaries

    def _validation(self, epoch, params):
        """The scoring of ``params`` on every shard's validation rows (early stopping)."""
        if not self.cfg.early_stopping:
            return []
        sh = self.shards
        return [sh.submit(tasks.score_stats, params, s, self.cfg.net, self.classifier,
                          key=f"dasknn-validate-{epoch}-{k}", k=k)
                for k, s in enumerate(sh.futures)]


def schedule(shards, cfg, distribution, seeds, rate, classifier):
    """Fix rounds and batches per epoch for ``cfg``, at the learning rate's scaling and
    warm-up ``rate`` (a :class:`~.planning.RoundRate`)."""
    batch_size = batch_size_for(cfg.batch_size, sum(shards.rows))
    steps = sync_steps(distribution, cfg.net.layout, batch_size, shards.dtype,
                       len(shards.futures), -(-min(shards.rows) // batch_size))
    n_rounds, per_round = round_plan(shards.rows, batch_size, steps)
    runs = worker_runs(shards.homes)
    return Schedule(shards, cfg, distribution.sync, n_rounds, per_round, batch_size, seeds,
                    classifier, rate, runs, _exchanges(shards, distribution, runs))


def _exchanges(shards, distribution, runs):
    """Whether model sync runs worker to worker: on a cluster (with the Dask setting
    ``dasknn.exchange`` not False), each worker training one run of shards."""
    import dask.config

    if distribution.sync != "model" or not hasattr(shards.runner, "client"):
        return False
    homes = [shards.homes[run[0]] for run in runs]
    if len(set(homes)) != len(homes) or not dask.config.get("dasknn.exchange", True):
        return False
    exchange.install(shards.runner.client)
    return True


def worker_runs(homes):
    """Shard indices of each run of consecutive shards with the same worker (a shard
    without a worker, in-process, is a run of its own).

    Examples
    --------
    >>> worker_runs(["a", "a", "b", "b", "b"]), worker_runs([None, None])
    ([[0, 1], [2, 3, 4]], [[0], [1]])
    """
    runs = []
    for k, home in enumerate(homes):
        if runs and home is not None and homes[runs[-1][-1]] == home:
            runs[-1].append(k)
        else:
            runs.append([k])
    return runs


def may_run_ahead(state, cfg, incremental, epoch):
    """Whether epoch ``epoch + 1`` can be submitted before ``epoch``'s results are in.

    Only when nothing the client learns from ``epoch`` can change the next one: a
    stall counter (of training losses, or of validation scores with early stopping)
    at least one short of ``n_iter_no_change``, so ``epoch`` can neither stop the fit
    nor lower an 'adaptive' learning rate. The model is the same either way. An
    epoch's validation tasks are submitted with it, so the scheduler ranks them ahead
    of the next epoch's rounds.
    """
    return (not incremental and epoch + 1 < cfg.max_iter
            and state.progress.no_improvement_count + 1 <= cfg.n_iter_no_change)


class HeldEpochs:
    """Epoch source of the held strategy. ``in_flight`` holds the epoch being finished
    first, then the next one when it was submitted ahead; :meth:`release` frees
    whatever is still there, and the shards.

    An epoch submitted ahead runs while the client still handles the one before, so
    the client's clock cannot time it: it ends when its last average is complete, as
    the worker timed it (:attr:`ended`), and starts at the end of the previous epoch's,
    or at its submission when the client submitted it later than that (the workers
    then waited for the client, which is no epoch's work). Other epochs (the first, or
    one the client waited for) are timed by the driver, from submission to gather.
    """

    def __init__(self, schedule, incremental):
        self.schedule, self.incremental, self.in_flight = schedule, incremental, []
        self.shards = schedule.shards
        self.token = self.shards.token
        self.n_train = sum(self.shards.rows)
        self.ended = None  # when the last gathered epoch's last average was complete
        # in-process (no Client) a task runs when submitted: nothing to gain by running ahead
        self.concurrent = hasattr(self.shards.runner, "client")

    def epoch(self, epoch, state):
        ahead = self._advance(epoch, state)
        cfg = self.schedule.cfg
        if self.concurrent and may_run_ahead(state, cfg, self.incremental, epoch):
            # the workers go on to the next epoch without waiting for us
            next_rate = optim.schedule_rate(
                optim.end_epoch(state.optimizer, cfg.hyper, state.t + self.n_train))
            current = self.in_flight[0]
            self.in_flight.append(self.schedule.submit(epoch + 1, current.params,
                                                       current.results, next_rate))
        return self._finish(state, self.in_flight[0], ahead)

    def _advance(self, epoch, state):
        """Make ``in_flight[0]`` epoch ``epoch``: submit it from the state's model (the
        first epoch) or from the previous epoch, unless it was submitted ahead (then
        return True). Workers that joined since the shards were built stop the source
        first (:class:`Regroup`)."""
        rate = optim.schedule_rate(state.optimizer)
        if self.in_flight and self.shards.runner.joined(len(self.shards.futures),
                                                        self.shards.max_shards):
            raise Regroup
        if not self.in_flight:
            starts = self.schedule.first_starts(state.optimizer)
            self.in_flight.append(self.schedule.submit(epoch, state.params, starts, rate))
            return False
        previous, ahead = self.in_flight[0], len(self.in_flight) == 2
        if not ahead:
            self.in_flight.append(self.schedule.submit(epoch, previous.params,
                                                       previous.results, rate))
        self.in_flight.pop(0)
        self.shards.runner.release(previous)
        return ahead

    def _finish(self, state, current, ahead):
        """Gather an epoch's scalars, checkpoint and validation statistics; time it
        from the workers' clocks when it was submitted ahead."""
        rounds, params, stats = self.shards.runner.gather(
            [current.summaries, current.params, current.validation])
        state.params = np.asarray(params)
        loss = sum(r[0] for r in rounds) / max(1, sum(r[1] for r in rounds))
        val = None
        if self.schedule.cfg.early_stopping:
            val = lambda _p: scores.combine(stats, self.schedule.classifier)  # noqa: E731
        previous, self.ended = self.ended, max((r[4] for r in rounds), default=None)
        seconds = _span(previous, current.at, self.ended) if ahead else None
        return EpochResult(loss, self.n_train, val, rounds, len(self.shards.futures),
                           seconds, self.schedule.rate.scale)

    def last_results(self):
        """The shards' last round results of the last finished epoch."""
        return self.in_flight[0].results

    def release(self):
        """Drop the epochs in flight and the shards. An exchanged epoch dropped before
        it finished is given up on its workers too: a rank waiting there for a peer
        whose task will now never run stops at once, not after the exchange's timeout."""
        runner = self.shards.runner
        for submitted in self.in_flight:
            if submitted.attempt is not None:
                runner.abandon(submitted.results, *submitted.attempt)
        runner.release(self.in_flight, self.shards.futures)


def _span(previous_end, submitted, end):
    """Seconds of an epoch submitted ahead: from the previous epoch's end (or its own
    submission, if later) to its end; None when a clock is missing or disagrees (the
    driver then times it).

    Examples
    --------
    >>> _span(10.0, 9.5, 10.4)  # submitted while the previous epoch ran
    0.4...
    >>> _span(10.0, 11.0, 11.3)  # submitted after it had ended: the workers waited
    0.3...
    """
    if previous_end is None or end is None or end <= max(previous_end, submitted):
        return None
    return end - max(previous_end, submitted)
