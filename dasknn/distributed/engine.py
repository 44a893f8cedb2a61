"""Data-parallel training on Dask data: the entry points of the distributed engine.

Each training slot trains on the rows it holds (its *shard*) for a round of local
minibatch steps, then the models are averaged, weighted by the rows trained; the
next round starts from the average. The data is held on the workers
(:mod:`.held`) or streamed through them (:mod:`.streamed`); either way the epochs
run in the one driver of :mod:`dasknn.training.driver`. ``sync='gradient'``
averages gradients every step instead, and L-BFGS sums the full-batch loss and
gradient over shards.

The engine reads a :class:`~dasknn.training.config.Config` and a
:class:`~dasknn.distributed.planning.Distribution`, never an estimator, calls the
hooks it is given, and runs the same code on a cluster or in-process
(:mod:`.runner`).
"""

import copy
import math
import uuid
import warnings

import numpy as np

from ..maths import optimizers as optim
from ..maths.network import penalty
from ..maths.scores import constant_loss
from ..training import driver
from ..training.hooks import Fit, Hook, registered
from ..training.local import finish_lbfgs, minimize_lbfgs
from . import held, shards, streamed, tasks
from .planning import (
    Seeds,
    block_room_note,
    lr_factor,
    scaled,
    should_stream,
    small_shards,
    starting_optimizer,
    warmup_epochs,
)
from .runner import Regroup, current_runner, lost_work

MAX_REPLAYS = 2


class _Events(Hook):
    """Publishes each epoch's record as a Dask event (topic ``"dasknn"``)."""

    def __init__(self, runner):
        self.runner = runner

    def begin(self, fit):
        self.fit = fit

    def epoch_end(self, record):
        self.runner.publish(self.fit.id, record, self.fit.max_iter)


def _hooks(runner, hooks):
    """The hooks of a run: the caller's, and on a cluster the Dask events and the
    registered ones (the dashboard's)."""
    if not hasattr(runner, "client"):
        return list(hooks)
    return [*hooks, _Events(runner), *registered()]


def _run(state, source, cfg, runner, token, hooks, incremental):
    fit = Fit(token, cfg.max_iter, getattr(runner, "client", None))
    return driver.run(state, source, cfg, fit, _hooks(runner, hooks), incremental)


def fit_stochastic(state, data, cfg, distribution, targets, rng, classifier, incremental,
                   hooks=()):
    """Train with 'sgd' or 'adam' on Dask data (a :class:`~.shards.Data`), updating
    ``state`` (a FitState). Workers that join mid-fit are used from the next epoch
    (:class:`~.runner.Regroup`); lost work is replayed from the last finished epoch."""
    seeds = Seeds(rng)
    with current_runner() as runner:
        stream = hasattr(runner, "client") and should_stream(
            distribution.persist, _nbytes(data), runner.free_memory())
        note = stream and block_room_note(_block_bytes(data), runner.room_per_slot())
        if note:
            warnings.warn(note)
        resume = False
        while True:
            try:
                if stream:
                    return _train_streaming(state, runner, data, cfg, distribution, targets,
                                            seeds, incremental, resume, hooks)
                return _train_replaying(state, runner, data, cfg, distribution, targets,
                                        seeds, classifier, incremental, resume, hooks)
            except Regroup:
                resume = True


def _train_replaying(state, runner, data, cfg, distribution, targets, seeds, classifier,
                     incremental, resume, hooks):
    """The held strategy, replayed from the last finished epoch after lost work."""
    for attempt in range(MAX_REPLAYS + 1):
        built = None
        try:
            built = shards.build(runner, data, targets, cfg, seeds, distribution.device)
            _train_held(state, built, cfg, distribution, seeds, classifier, incremental,
                        resume or attempt > 0, hooks)
            return state
        except lost_work() as exc:
            if not runner.connected():
                raise  # the scheduler is gone, not a worker: nothing to replay on
            _replay_or_raise(exc, attempt, state)
            runner.refresh()  # a restarted worker has a new address
        finally:
            if built is not None:
                runner.release(built.futures)
    return state


def _nbytes(data):
    return data.X.nbytes + (data.y.nbytes if data.y is not None else 0)


def _block_bytes(data):
    """Bytes of X's largest row block with its targets (0 with unknown chunk sizes)."""
    rows = max(data.X.chunks[0], default=0)
    if not math.isfinite(rows) or not math.isfinite(data.X.shape[0]):
        return 0
    per_row = data.X.nbytes / max(1, data.X.shape[0])
    if data.y is not None:
        per_row += data.y.nbytes / max(1, data.y.shape[0])
    return rows * per_row


def _replay_or_raise(exc, attempt, state):
    if attempt == MAX_REPLAYS:
        raise RuntimeError(
            f"dasknn: the fit lost work on a worker {MAX_REPLAYS + 1} times "
            f"({type(exc).__name__}); a task may be killing its worker (memory?). "
            "Check the workers' logs, give them more memory, or use "
            "persist=False to stream the data."
        ) from exc
    warnings.warn(
        f"dasknn: a worker lost work ({type(exc).__name__}); rebuilding the "
        f"shards and replaying from epoch {state.n_iter + 1}, the checkpoint "
        "of the last finished epoch."
    )


def gather_optimizer(runner, results, current, key):
    """One optimizer state from the shards' last rounds (moments averaged, on the
    cluster) with the client's SGD rate (``current``'s), which the schedule
    (``invscaling``, ``adaptive``) has moved on since the last round."""
    averaged = runner.result(runner.submit(tasks.average_states, *results, key=key))
    return optim.with_rate(averaged, optim.schedule_rate(current))


def _train_held(state, built, cfg, distribution, seeds, classifier, incremental, resume,
                hooks):
    """Run the epochs on held shards (all, or with ``resume`` those after ``state.n_iter``)."""
    n_shards = len(built.futures)
    factor = lr_factor(distribution.lr_scaling, n_shards) if distribution.sync == "model" else 1
    chance = _chance_loss(built, cfg) if factor > 1 and not incremental else None

    def train_at(factor):
        scaled_cfg = scaled(cfg, factor)
        plan = held.schedule(built, scaled_cfg, distribution, seeds, state.params.dtype,
                             classifier, factor, warm=not state.loss_curve)
        note = small_shards(built.rows, plan.batch_size)
        if note and not resume:
            warnings.warn(note)
        _start_optimizer(state, scaled_cfg, incremental, factor, resume)
        if not resume:
            state.n_iter = 0
        return _epochs(state, held.HeldEpochs(plan, incremental), scaled_cfg, built.runner,
                       built.token, [*hooks, _Guard(chance, factor)], incremental, factor)

    return _with_back_off(state, factor, n_shards, train_at)


def _start_optimizer(state, cfg, incremental, factor, resume):
    """The optimizer state the epochs start from, its SGD rate in the shards' units:
    the fit's own when resuming (kept in the user's units between attempts), else
    :func:`~.planning.starting_optimizer`'s. None: a replay before any epoch ran."""
    if resume and state.optimizer is not None:
        state.optimizer = optim.scale_rate(state.optimizer, factor)
    else:
        state.optimizer = starting_optimizer(state, cfg.hyper, incremental, factor)


def _with_back_off(state, factor, n_shards, train_at):
    """``train_at(factor)``; a fit whose averaged model stops learning (see
    :class:`_Guard`) starts again from where it began at half the learning-rate
    scaling, with a warning."""
    start = copy.deepcopy(state)
    while True:
        try:
            return train_at(factor)
        except Diverged as exc:
            factor = _back_off(exc, factor, n_shards)
            _restore(state, start)


def _epochs(state, source, cfg, runner, token, hooks, incremental, factor):
    """Run ``source``'s epochs in the driver; keep the shards' optimizer state as one
    (unless interrupted); release what the source still holds. The optimizer state
    leaves in the user's units, whatever happens."""
    try:
        if _run(state, source, cfg, runner, token, hooks, incremental):
            _keep_optimizer(state, runner, source, token)
    finally:
        source.release()
        state.optimizer = optim.scale_rate(state.optimizer, 1 / factor)
    return state


class Diverged(Exception):
    """The averaged model stopped learning; raised by :class:`_Guard`."""


USELESS = 0.98  # a loss within 2% of a constant prediction's after 3 epochs


class _Guard(Hook):
    """Stops a fit whose learning rate is scaled for averaging (``factor`` > 1) when its
    loss is not finite or, from its third epoch on, within 2% of the loss of the best
    constant prediction (``chance``): the scaled rate has then made the model useless,
    and training on would not mend it. An unscaled fit trains on as scikit-learn's
    would (a non-finite model is then refused when it is stored)."""

    def __init__(self, chance, factor):
        self.chance, self.factor, self.epochs = chance, factor, 0

    def epoch_end(self, record):
        self.epochs += 1
        loss = record["loss"]
        useless = (self.chance is not None and self.chance > 0 and self.epochs >= 3
                   and loss >= USELESS * self.chance)  # 0: a constant is perfect
        if self.factor > 1 and (not math.isfinite(loss) or useless):
            raise Diverged(record["epoch"], loss, self.chance)


def _back_off(exc, factor, n_shards):
    """The smaller learning-rate scaling to try after ``exc``, with a warning; or the
    error that says which parameter to change."""
    epoch, loss, chance = exc.args
    what = (f"its loss is {loss:.4g} at epoch {epoch}" if chance is None or loss != loss
            or loss == float("inf") else
            f"its loss is {loss:.4g} at epoch {epoch}, no better than predicting a constant "
            f"({chance:.4g}) would give")
    if factor <= 1:
        raise ValueError(
            f"dasknn: training diverged: {what}, with the learning rate unscaled. Lower "
            "learning_rate_init, or scale the data (e.g. StandardScaler).") from None
    smaller = max(1, factor / 2)
    warnings.warn(
        f"dasknn: the averaged model of {n_shards} shards diverged ({what}) with the "
        f"learning rate scaled {factor:g}x; starting again at {smaller:g}x. Set "
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


def _keep_optimizer(state, runner, source, token):
    """The shards' optimizer states as one, for ``partial_fit`` and warm starts."""
    results = source.last_results()
    if not results:
        return
    try:
        state.optimizer = gather_optimizer(runner, results, state.optimizer,
                                           f"dasknn-optstate-{token}")
    except lost_work():  # the model is complete: a replay would train past the stop
        warnings.warn("dasknn: a worker was lost while the optimizer state was gathered; "
                      "a later partial_fit or warm start restarts its moments.")


def _train_streaming(state, runner, data, cfg, distribution, targets, seeds, incremental,
                     resume, hooks):
    """Fit with 'sgd' or 'adam', streaming X's blocks; updates ``state`` (from its last
    finished epoch when ``resume``)."""
    streamed.check_supported(cfg, distribution)
    token = uuid.uuid4().hex[:12]
    parts = shards.part_tasks(data, targets, cfg, seeds, token, distribution.device)
    rows = [r for r in data.X.chunks[0] if r > 0]
    n_shards = max(1, min(runner.n_workers, len(parts)))

    def train_at(factor):
        scaled_cfg = scaled(cfg, factor)
        warmup = warmup_epochs(distribution.warmup, factor) if not state.loss_curve else 0.0
        _start_optimizer(state, scaled_cfg, incremental, factor, resume)
        if not resume:
            state.n_iter = 0
        source = streamed.StreamedEpochs(runner, parts, rows, scaled_cfg, seeds, token,
                                         state.optimizer, factor, warmup)
        return _epochs(state, source, scaled_cfg, runner, token,
                       [*hooks, _Guard(None, factor)], incremental, factor)

    return _with_back_off(state, lr_factor(distribution.lr_scaling, n_shards), n_shards,
                          train_at)


# --------------------------------------------------------------------------- L-BFGS
def fit_lbfgs(state, data, cfg, targets, rng, device="auto"):
    """Full-batch L-BFGS-B on Dask data: loss and gradient tree-summed over shards."""
    seeds = Seeds(rng)
    with current_runner() as runner:
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
