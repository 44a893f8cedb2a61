"""Data-parallel training on Dask data: the entry points of the distributed engine.

Each training slot trains on the rows it holds (its *shard*) for a round of local
minibatch steps, then the models are averaged, weighted by the rows trained; the
next round starts from the average. The data is held on the workers
(:mod:`.held`) or streamed through them (:mod:`.streamed`); either way the epochs
run in the one driver of :mod:`dasknn.training.driver`. ``sync='gradient'``
averages gradients every step instead, and L-BFGS sums the full-batch loss and
gradient over shards.

A fit is one :class:`DaskFit`: one flat loop that trains and, on the three ways a
fit can be interrupted, regroups over new workers, replays lost work from the last
finished epoch, or backs off a learning rate that diverged.

The engine reads a :class:`~.data.DaskData`, a
:class:`~dasknn.training.config.Config` and a
:class:`~dasknn.distributed.planning.Distribution`, never an estimator, calls the
hooks it is given, and runs the same code on a cluster or in-process
(:mod:`.runner`).
"""

import contextlib
import copy
import math
import uuid
import warnings

import numpy as np

from ..maths import optimizers as optim
from ..maths.network import penalty
from ..maths.scores import constant_loss
from ..training import driver
from ..training.hooks import Fit, Hook
from ..training.local import finish_lbfgs, minimize_lbfgs
from . import held, shards, streamed, tasks
from .checks import BadValues
from .memory import largest_block_bytes, should_stream, stream_ahead
from .planning import RoundRate, Seeds, lr_factor, small_shards, warmup_epochs
from .runner import LostTooOften, Regroup, current_runner, lost_work_errors, publish

MAX_REPLAYS = 2


def fit_stochastic(state, data, cfg, distribution, targets, rng, incremental=False):
    """Train with 'sgd' or 'adam' on Dask data (a :class:`~.data.DaskData`), updating
    ``state`` (a FitState) and returning it. Workers that join mid-fit are used from
    the next epoch; lost work is replayed from the last finished epoch."""
    with _columns_named(data):
        return DaskFit(state, data, cfg, distribution, targets, Seeds(rng), incremental).run()


class DaskFit:
    """One fit with 'sgd' or 'adam' on Dask data, and its recovery loop."""

    def __init__(self, state, data, cfg, distribution, targets, seeds, incremental):
        self.state, self.data, self.cfg = state, data, cfg
        self.distribution, self.targets, self.seeds = distribution, targets, seeds
        self.incremental = incremental
        self.runner, self.n_shards, self.ahead = None, 0, True

    def run(self):
        """Train until the driver stops; regroup, replay or back off on the way."""
        with current_runner() as runner:
            self.runner = runner
            return self._recover()

    def _recover(self):
        """The loop of :meth:`run`."""
        runner = self.runner
        stream = self._stream()
        start = copy.deepcopy(self.state)  # where a diverged fit starts again
        resume, replays, cap = False, 0, math.inf
        while True:
            try:
                return self._attempt(stream, resume, cap)
            except Regroup:  # workers joined: re-plan the shards over all of them
                resume = True
            except lost_work_errors() as exc:
                if not runner.connected():
                    raise  # the scheduler is gone, not a worker: nothing to replay on
                replays += 1
                _replay_or_raise(exc, replays, self.state)
                runner.refresh()  # a restarted worker has a new address
                resume = True
            except Diverged as exc:
                cap = _back_off(exc, self.n_shards)
                _restore(self.state, start)
                resume = False

    def _stream(self):
        """Whether to stream the blocks, and whether a round may compute the next
        round's blocks meanwhile."""
        if not hasattr(self.runner, "client"):
            return False
        stream = should_stream(self.distribution.persist, _nbytes(self.data),
                               self.runner.free_memory())
        if stream:
            self.ahead = stream_ahead(largest_block_bytes(self.data.X, self.data.y),
                                      self.runner.room_per_slot(below_pause=True))
        return stream

    def _attempt(self, stream, resume, cap):
        """Train from the state (from its last finished epoch when ``resume``) with the
        learning rate's scaling at most ``cap``."""
        self._start_optimizer(resume)
        if stream:
            return self._streamed(cap)
        return self._held(cap, resume)

    def _start_optimizer(self, resume):
        """The optimizer state the epochs start from, in the user's units: the fit's
        own when resuming, the stored one in ``partial_fit``, else a fresh one."""
        state = self.state
        kept = state.optimizer is not None and (resume or self.incremental)
        if not kept:
            state.optimizer = optim.init(state.params, self.cfg.hyper, np)
        if not resume:
            state.n_iter = 0

    def _rate(self, n_shards, cap):
        """How the rounds scale the learning rate for ``n_shards`` averaged models (or,
        with ``sync='gradient'``, a batch ``n_shards`` times larger)."""
        self.n_shards = n_shards
        scale = min(cap, lr_factor(self.distribution.lr_scaling, n_shards))
        warm = not self.state.loss_curve  # a model that trained before starts at speed
        return RoundRate(scale, warmup_epochs(self.distribution.warmup, scale) if warm else 0.0)

    def _held(self, cap, resume):
        built = shards.build(self.runner, self.data, self.targets, self.cfg, self.seeds,
                             self.distribution.device)
        try:
            rate = self._rate(len(built.futures), cap)
            plan = held.schedule(built, self.cfg, self.distribution, self.seeds, rate,
                                 self.targets.is_classification)
        except BaseException:
            self.runner.release(built.futures)
            raise
        note = small_shards(built.rows, plan.batch_size)
        if note and not resume:
            warnings.warn(note)
        chance = _chance_loss(built, self.cfg) if rate.scale > 1 and not self.incremental else None
        return self._epochs(held.HeldEpochs(plan, self.incremental), _Guard(chance, rate.scale))

    def _streamed(self, cap):
        streamed.check_supported(self.cfg, self.distribution)
        token = uuid.uuid4().hex[:12]
        parts = shards.part_tasks(self.data, self.targets, self.cfg, self.seeds, token,
                                  self.distribution.device)
        rows = [r for r in self.data.X.chunks[0] if r > 0]
        rate = self._rate(shards.n_shards(self.runner, len(parts)), cap)
        source = streamed.StreamedEpochs(self.runner, streamed.Blocks(parts, rows, token),
                                         self.cfg, self.seeds, rate, self.ahead)
        return self._epochs(source, _Guard(None, rate.scale))

    def _epochs(self, source, guard):
        """Run ``source``'s epochs in the driver; keep the shards' optimizer state as one
        (unless interrupted); release what the source holds."""
        state, runner = self.state, self.runner
        fit = Fit(source.token, self.cfg.max_iter, getattr(runner, "client", None))
        hooks = [guard]
        if hasattr(runner, "client"):
            hooks.extend(factory() for factory in CLUSTER_HOOKS)
        try:
            if driver.run(state, source, self.cfg, fit, hooks, self.incremental):
                _keep_optimizer(state, runner, source)
        finally:
            source.release()
        return state


@contextlib.contextmanager
def _columns_named(data):
    """Re-raise a worker's :class:`~.checks.BadValues` on the client, with the
    DataFrame's column names, without the worker's traceback."""
    try:
        yield
    except BadValues as exc:
        raise exc.named(data.feature_names if exc.what == "X" else None) from None


class _Events(Hook):
    """Publishes each epoch's record as a Dask event (topic ``"dasknn"``)."""

    def begin(self, fit):
        self.fit = fit

    def epoch_end(self, record):
        publish(self.fit, record)


CLUSTER_HOOKS = (_Events,)  # each makes a hook of every fit on a cluster


def _nbytes(data):
    return data.X.nbytes + (data.y.nbytes if data.y is not None else 0)


def _replay_or_raise(exc, replays, state):
    if replays > MAX_REPLAYS:
        raise LostTooOften(
            f"dasknn: the fit lost work on a worker {replays} times "
            f"({type(exc).__name__}); a task may be killing its worker (memory?). "
            "Check the workers' logs, give them more memory, or use "
            "persist=False to stream the data."
        ) from exc
    warnings.warn(
        f"dasknn: a worker lost work ({type(exc).__name__}); rebuilding the "
        f"shards and replaying from epoch {state.n_iter + 1}, the checkpoint "
        "of the last finished epoch."
    )


class Diverged(Exception):
    """The averaged model stopped learning; raised by :class:`_Guard`."""


USELESS = 0.98  # a loss within 2% of a constant prediction's after 3 epochs


STALLED = 0.99  # ... and less than 1% lower than the epoch before
BLOWN_UP = 2.0  # or twice a constant prediction's loss, falling or not


class _Guard(Hook):
    """Stops a fit whose learning rate is scaled for averaging (``scale`` > 1) when its
    loss is not finite or, from its third epoch on, twice the loss of the best constant
    prediction (``chance``) or more, or within 2% of it or above and no longer falling:
    the scaled rate has then made the model useless, and training on would not mend it.
    (A model that starts slowly, its loss a little above a constant's but falling,
    trains on.) An unscaled fit trains on as scikit-learn's would (a non-finite model is
    then refused when it is stored)."""

    def __init__(self, chance, scale):
        self.chance, self.scale, self.epochs, self.last = chance, scale, 0, math.inf

    def epoch_end(self, record):
        self.epochs += 1
        loss, last, self.last = record["loss"], self.last, record["loss"]
        useless = (self.chance is not None and self.chance > 0 and self.epochs >= 3
                   and (loss >= BLOWN_UP * self.chance  # 0: a constant is perfect
                        or loss >= USELESS * self.chance and loss > STALLED * last))
        if self.scale > 1 and (not math.isfinite(loss) or useless):
            raise Diverged(record["epoch"], loss, self.chance, self.scale)


def _back_off(exc, n_shards):
    """The smaller learning-rate scaling to try after ``exc``, with a warning; or the
    error that says which parameter to change."""
    epoch, loss, chance, scale = exc.args
    what = (f"its loss is {loss:.4g} at epoch {epoch}" if chance is None or loss != loss
            or loss == float("inf") else
            f"its loss is {loss:.4g} at epoch {epoch}, no better than predicting a constant "
            f"({chance:.4g}) would give")
    smaller = max(1, scale / 2)
    warnings.warn(
        f"dasknn: the averaged model of {n_shards} shards diverged ({what}) with the "
        f"learning rate scaled {scale:g}x; starting again at {smaller:g}x. Set "
        "lr_scaling (None, 'sqrt') or learning_rate_init to choose the rate yourself.")
    return smaller


def _restore(state, start):
    """Put ``state`` back as it was when the fit began (a deep copy, ``start``)."""
    for name, value in vars(copy.deepcopy(start)).items():
        setattr(state, name, value)


def _chance_loss(built, cfg):
    """The training loss of the best constant prediction on the shards' rows (the
    class frequencies, or the mean target), or None for losses without one here."""
    if cfg.net.loss not in ("log_loss", "binary_log_loss", "squared_error"):
        return None
    stats = built.runner.gather([built.submit(tasks.target_stats, s, key=f"dasknn-chance-{k}",
                                              k=k)
                                 for k, s in enumerate(built.futures)])
    weight = sum(s[0] for s in stats)
    mean = sum(s[1] for s in stats) / weight
    return constant_loss(cfg.net.loss, mean, sum(s[2] for s in stats) / weight)


def _keep_optimizer(state, runner, source):
    """The shards' optimizer states as one, for ``partial_fit`` and warm starts: their
    moments averaged on the cluster, with the client's SGD rate (the schedule has moved
    it on since the last round)."""
    results = source.last_results()
    if not results:
        return
    try:
        averaged = runner.result(runner.submit(tasks.average_states, *results,
                                               key=f"dasknn-optstate-{source.token}"))
    except lost_work_errors():  # the model is complete: a replay would train past the stop
        warnings.warn("dasknn: a worker was lost while the optimizer state was gathered; "
                      "a later partial_fit or warm start restarts its moments.")
        return
    state.optimizer = optim.with_rate(averaged, optim.schedule_rate(state.optimizer))


# --------------------------------------------------------------------------- L-BFGS
def fit_lbfgs(state, data, cfg, targets, rng, device="auto"):
    """Full-batch L-BFGS-B on Dask data: loss and gradient tree-summed over shards."""
    seeds = Seeds(rng)
    with _columns_named(data), current_runner() as runner:
        built = shards.build(runner, data, targets, cfg._replace(early_stopping=False), seeds,
                             device)
        try:
            _run_lbfgs(state, built, cfg)
        finally:
            runner.release(built.futures)
    return state


def _run_lbfgs(state, built, cfg):
    calls = iter(range(10**9))
    layout, alpha = cfg.net.layout, cfg.net.alpha

    def fun(flat):
        i = next(calls)
        sums = [built.submit(tasks.loss_grad_sums, flat, s, cfg.net,
                             key=f"dasknn-lossgrad-{i}-{k}", k=k)
                for k, s in enumerate(built.futures)]
        try:
            loss, grad, weight = built.runner.result(
                built.submit(tasks.add, *sums, key=f"dasknn-sum-{i}"))
        finally:
            built.runner.release(sums)
        pen, pen_grad = penalty(flat, layout, alpha, weight)
        return loss / weight + pen, (grad / weight + pen_grad).astype(np.float64)

    result = minimize_lbfgs(fun, state.params, cfg)
    finish_lbfgs(state, result, cfg)
    state.params = result.x.astype(state.params.dtype)
