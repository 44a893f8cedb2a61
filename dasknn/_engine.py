"""Data-parallel training on Dask data: shards, rounds, model averaging.

Each worker trains on the rows it holds (its *shard*) for a round of local minibatch
steps, then the models are averaged, weighted by the rows trained; the next round
starts from the average. A whole epoch of rounds is submitted at once, so the
scheduler pipelines it; the client collects a few scalars and one checkpoint of the
parameters per epoch. ``sync='gradient'`` instead averages gradients every step
(synchronous SGD), and L-BFGS sums the full-batch loss and gradient over shards.

The engine reads a :class:`~dasknn._config.Config` and :class:`Options`, never an
estimator, and runs the same code on a cluster or in-process (:mod:`._runner`).
"""

import math
import time
import uuid
import warnings
from typing import NamedTuple

import dask
import numpy as np
import scipy.optimize

from . import _local
from . import _optimizers as optim
from . import _shard
from ._network import Layout
from ._progress import EpochBar


class Options(NamedTuple):
    """How to distribute: our keyword-only estimator parameters."""

    sync: str = "model"  # 'model' (local SGD + averaging) or 'gradient'
    sync_steps: object = "auto"  # local steps between averages, or 'auto'
    lr_scaling: str | None = "linear"  # learning-rate rule for W averaged workers
    persist: object = "auto"  # hold the data on the cluster (True) or stream it (False)
    device: str = "auto"  # 'auto' follows the chunks, 'cuda' / 'cpu' move them


class Data(NamedTuple):
    """Dask arrays of one fit, rows chunked alike."""

    X: object
    y: object
    sample_weight: object


def lr_factor(rule, n_shards):
    """Learning-rate multiplier for ``n_shards`` averaged models.

    Averaging W models makes 1/W as many sequential updates per epoch; 'linear'
    scales the rate by W, 'sqrt' by sqrt(W), None keeps it.

    Examples
    --------
    >>> lr_factor("linear", 4), lr_factor("sqrt", 4), lr_factor(None, 4)
    (4, 2.0, 1)
    """
    if rule == "linear":
        return n_shards
    if rule == "sqrt":
        return math.sqrt(n_shards)
    return 1


def auto_sync_steps(layout, batch_size, dtype, target_seconds=1.0):
    """Local steps per round so that a round computes for about ``target_seconds``.

    A deterministic estimate (the model must not depend on timing): 6 flops per
    weight and sample for a forward and backward pass, at 40 GFLOP/s per core in
    float32 and 20 in float64 (measured on a worker: 2.1 ms per float32 step of the
    100-256-128-10 benchmark MLP, batch 256), plus 0.1 ms of fixed cost a step. A
    synchronisation costs 20-30 ms, so rounds of a second keep it under 5%.

    Examples
    --------
    >>> auto_sync_steps(Layout((100, 256, 128, 10)), 256, "float32")
    419
    """
    weights = sum(i * o for i, o in layout.shapes)
    flops_per_second = 4e10 if np.dtype(dtype).itemsize <= 4 else 2e10
    step_seconds = 1e-4 + 6.0 * batch_size * weights / flops_per_second
    return max(8, math.ceil(target_seconds / step_seconds))


class _Seeds:
    """Deterministic seeds for every shard, epoch and part of a fit."""

    def __init__(self, rng):
        self.base = int(rng.randint(np.iinfo(np.int32).max))

    def __call__(self, *path):
        return int(np.random.SeedSequence([self.base, *path]).generate_state(1)[0])


def _val_fraction(cfg):
    return cfg.validation_fraction if cfg.early_stopping else 0.0


def contiguous_groups(n_parts, n_shards):
    """Part indices of each shard: ``n_shards`` contiguous runs of about equal length.

    Examples
    --------
    >>> [list(g) for g in contiguous_groups(5, 2)]
    [[0, 1], [2, 3, 4]]
    """
    bounds = [round(k * n_parts / n_shards) for k in range(n_shards + 1)]
    return [range(bounds[k], bounds[k + 1]) for k in range(n_shards)]


def _part_tasks(data, encode, cfg, seeds, token, device):
    """One delayed ``make_part`` per non-empty row block of X."""
    val_fraction = _val_fraction(cfg)
    blocks = [data.X.to_delayed().ravel(), data.y.to_delayed().ravel()]
    blocks.append(data.sample_weight.to_delayed().ravel() if data.sample_weight is not None
                  else [None] * len(blocks[0]))
    make = dask.delayed(_shard.make_part, pure=True)
    rows = data.X.chunks[0]
    delayed = [make(x, y, w, encode, val_fraction, seeds(0, i), device, rows[i],
                    dask_key_name=f"dasknn-part-{i}-{token}")
               for i, (x, y, w) in enumerate(zip(*blocks)) if rows[i] > 0]
    if not delayed:
        raise ValueError("X has no rows: every block is empty.")
    return delayed


def _part_rows(data, cfg):
    """``(training rows, validation rows)`` of each part, from X's chunk sizes."""
    held_out = [(r, _shard.n_validation(r, _val_fraction(cfg))) for r in data.X.chunks[0]
                if r > 0]
    return [(r - n_val, n_val) for r, n_val in held_out]


class _Cluster(NamedTuple):
    """The shards of a fit and the facts the driver needs about them."""

    runner: object
    shards: list
    homes: list
    rows: list  # training rows per shard
    val_rows: list
    token: str

    def submit(self, fn, *args, key, k=None):
        return self.runner.submit(fn, *args, key=f"{key}-{self.token}",
                                  worker=None if k is None else self.homes[k])


def _build_shards(runner, data, encode, cfg, seeds, device="auto"):
    """Build the shards. Only the shards are waited for when X's blocks are in the
    cluster's memory (see ``ClusterRunner.parts``); the row counts come from X's
    chunk sizes."""
    token = uuid.uuid4().hex[:12]
    tasks = _part_tasks(data, encode, cfg, seeds, token, device)  # refuses an empty X
    part_rows = _part_rows(data, cfg)
    n_shards = max(1, min(runner.n_workers, len(part_rows)))
    # contiguous groups: the model does not depend on where the scheduler put a part
    groups = contiguous_groups(len(part_rows), n_shards)
    sizes = [tuple(map(sum, zip(*(part_rows[i] for i in g)))) for g in groups]
    _check_shard_rows(sizes, cfg)
    keys = [k for k, r in zip(_row_block_keys(data.X), data.X.chunks[0]) if r > 0]
    parts, where = runner.parts(tasks, data.X, keys)
    shards = []
    try:
        homes = runner.homes(where, groups)
        shards.extend(runner.submit(_shard.make_shard, size, *(parts[i] for i in g),
                                    key=f"dasknn-shard-{k}-{token}", worker=h)
                      for k, (size, g, h) in enumerate(zip(sizes, groups, homes)))
        runner.release(parts)
        runner.settle(shards)  # the first epoch's timing starts from built shards
    except BaseException:
        runner.release(parts, shards)
        raise
    return _Cluster(runner, shards, homes, [s[0] for s in sizes], [s[1] for s in sizes],
                    token)


def _row_block_keys(X):
    """The key of each row block of ``X`` (one column block)."""
    return [row[0] for row in X.__dask_keys__()]


def _check_shard_rows(sizes, cfg):
    if min(s[0] for s in sizes) == 0:
        raise ValueError("A shard of X has no training rows after the validation split: "
                         "rechunk X into fewer, larger blocks.")
    val_rows = sum(s[1] for s in sizes)
    if cfg.early_stopping and val_rows < 2:
        raise ValueError(
            f"The validation set is too small: early_stopping=True with "
            f"validation_fraction={cfg.validation_fraction} keeps {val_rows} rows for "
            "validation. Increase 'validation_fraction' or set early_stopping=False.")


def _round_plan(cluster, batch_size, steps):
    """Batches per shard per round, so every shard ends its epoch in the same round."""
    batches = [math.ceil(n / min(batch_size, n)) for n in cluster.rows]
    n_rounds = max(1, math.ceil(max(batches) / steps))
    return n_rounds, [math.ceil(b / n_rounds) for b in batches]


def _epoch_model_sync(cluster, params, starts, cfg, plan_args, epoch):
    """Submit one epoch of rounds with model averaging; return futures."""
    n_rounds, per_round, batch_size, lr, seeds = plan_args
    summaries, results = [], starts
    for r in range(n_rounds):
        results = [
            cluster.submit(
                _shard.train_round, params, results[k], cluster.shards[k],
                _shard.Plan(seeds(1, epoch, k), r * per_round[k], per_round[k],
                            min(batch_size, cluster.rows[k]), cfg.shuffle, lr),
                cfg, key=f"dasknn-round-{epoch}-{r}-{k}", k=k)
            for k in range(len(cluster.shards))
        ]
        params = cluster.submit(_shard.average, *results, key=f"dasknn-average-{epoch}-{r}")
        summaries.append(cluster.submit(_shard.summarize, *results,
                                        key=f"dasknn-summary-{epoch}-{r}"))
    return params, results, summaries


def _validation_stats(cluster, params, cfg, classifier, epoch):
    """Submit the scoring of ``params`` on every shard's validation rows."""
    return [cluster.submit(_shard.score_stats, params, s, cfg.net, classifier,
                           key=f"dasknn-validate-{epoch}-{k}", k=k)
            for k, s in enumerate(cluster.shards)]


def _sgd_rate(state, hyper):
    return state.learning_rate if hyper.solver == "sgd" else None


def fit_stochastic(state, data, cfg, options, encode, rng, classifier, incremental):
    """Train with 'sgd' or 'adam' on Dask data, updating ``state`` (a FitState)."""
    from ._runner import current_runner

    seeds = _Seeds(rng)
    with current_runner() as runner:
        if _should_stream(options.persist, data, runner):
            from ._stream import train_streaming

            return train_streaming(state, runner, data, cfg, options, encode, seeds,
                                   incremental)
        for attempt in range(MAX_REPLAYS + 1):
            cluster = None
            try:
                cluster = _build_shards(runner, data, encode, cfg, seeds, options.device)
                _train(state, cluster, cfg, options, seeds, classifier, incremental,
                       resume=attempt > 0)
                return state
            except _lost_work() as exc:
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
            finally:
                if cluster is not None:
                    runner.release(cluster.shards)
    return state


MAX_REPLAYS = 2


def _lost_work():
    """Exceptions meaning a worker died with our work: replay from the checkpoint
    (``wait`` on several futures raises the plural ``FuturesCancelledError``)."""
    from distributed import KilledWorker, client

    return (KilledWorker, client.FutureCancelledError,
            getattr(client, "FuturesCancelledError", client.FutureCancelledError))


def _should_stream(persist, data, runner):
    """Stream blocks through the workers instead of holding them: persist=False, or
    'auto' when the data does not fit three times into the workers' free memory
    (building shards holds a block's part and the concatenated shard at once)."""
    if persist is True or not hasattr(runner, "client"):
        return False
    if persist is False:
        return True
    size = data.X.nbytes + (data.y.nbytes if data.y is not None else 0)
    free = runner.free_memory()
    return free is not None and 3 * size > free


class _Submitted(NamedTuple):
    """One epoch on the cluster: averaged parameters, per-shard results, summaries,
    and with early stopping the validation statistics of the averaged parameters
    (submitted with the epoch, so the client gathers everything at once)."""

    params: object
    results: list
    summaries: list
    validation: list


class _Schedule(NamedTuple):
    """Submits epochs: everything about an epoch that does not change between epochs."""

    cluster: _Cluster
    cfg: object
    sync: str
    n_rounds: int
    per_round: list
    batch_size: int
    seeds: _Seeds
    classifier: bool

    def submit(self, epoch, params, starts, learning_rate):
        plan = (self.n_rounds, self.per_round, self.batch_size, learning_rate, self.seeds)
        run = _epoch_gradient_sync if self.sync == "gradient" else _epoch_model_sync
        params, results, summaries = run(self.cluster, params, starts, self.cfg, plan, epoch)
        validation = (_validation_stats(self.cluster, params, self.cfg, self.classifier, epoch)
                      if self.cfg.early_stopping else [])
        return _Submitted(params, results, summaries, validation)


def _schedule(cluster, cfg, options, seeds, dtype, classifier):
    """Scale the learning rate for averaging and fix rounds and batches per epoch."""
    n_shards = len(cluster.shards)
    factor = lr_factor(options.lr_scaling, n_shards) if options.sync == "model" else 1
    cfg = cfg._replace(hyper=cfg.hyper._replace(
        learning_rate_init=cfg.hyper.learning_rate_init * factor))
    batch_size = _local.batch_size_for(cfg.batch_size, sum(cluster.rows))
    if options.sync == "gradient":
        steps = 1
    elif options.sync_steps == "auto":
        steps = auto_sync_steps(cfg.net.layout, batch_size, dtype)
    else:
        steps = int(options.sync_steps)
    n_rounds, per_round = _round_plan(cluster, batch_size, steps)
    return _Schedule(cluster, cfg, options.sync, n_rounds, per_round, batch_size, seeds,
                     classifier)


def rate_units(opt, factor):
    """``opt`` with its SGD rate multiplied by ``factor``: into the shards' scaled
    units at the start of a fit (``lr_factor``), back into the user's at its end (1 /
    factor), so ``partial_fit`` and an in-memory fit continue at the right rate."""
    return opt._replace(learning_rate=opt.learning_rate * factor) \
        if hasattr(opt, "velocity") else opt


def starting_optimizer(state, hyper, incremental, factor):
    """The optimizer state a fit starts from: a fresh one, or (``partial_fit``, warm
    start) the stored one with its SGD rate in the shards' scaled units."""
    if state.optimizer is None or not incremental:
        return optim.init(state.params, hyper, np)
    return rate_units(state.optimizer, factor)


def gather_optimizer(runner, results, client, key):
    """One optimizer state from the shards' last rounds (moments averaged, on the
    cluster) with the client's SGD rate, which the schedule (``invscaling``,
    ``adaptive``) has moved on since the last round."""
    averaged = runner.result(runner.submit(_shard.average_states, *results, key=key))
    return averaged._replace(learning_rate=client.learning_rate) \
        if hasattr(averaged, "velocity") else averaged


def _train(state, cluster, cfg, options, seeds, classifier, incremental, resume=False):
    """Run the epochs (all, or with ``resume`` those after ``state.n_iter``)."""
    schedule = _schedule(cluster, cfg, options, seeds, state.params.dtype, classifier)
    factor = schedule.cfg.hyper.learning_rate_init / cfg.hyper.learning_rate_init
    cfg = schedule.cfg
    if not resume or state.optimizer is None:  # None: a replay before any epoch ran
        state.optimizer = starting_optimizer(state, cfg.hyper, incremental, factor)
    n_train = sum(cluster.rows)
    if not resume:
        state.n_iter = 0
    current = [schedule.submit(state.n_iter, state.params,
                               [state.optimizer] * len(cluster.shards),
                               _sgd_rate(state.optimizer, cfg.hyper))]
    try:
        _run_epochs(state, cluster, schedule, current, classifier, incremental, n_train)
    finally:
        cluster.runner.release(current)
    state.optimizer = rate_units(state.optimizer, 1 / factor)
    if cfg.early_stopping:
        state.params = state.best_params
    return state


def _may_run_ahead(state, cfg, incremental, epoch):
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


def _next_rate(state, hyper, n_train):
    """The SGD rate the next epoch will have once this one has ended (no plateau)."""
    return _sgd_rate(optim.end_epoch(state.optimizer, hyper, state.t + n_train), hyper)


def _run_epochs(state, cluster, schedule, box, classifier, incremental, n_train):
    """The epoch loop. ``box`` holds the epoch being finished first, then the next
    one when it was submitted ahead, so the caller can release every future
    whatever happens here."""
    cfg = schedule.cfg
    bar = EpochBar(cfg.progress, cfg.max_iter)
    finished = state.params  # the model of the last finished epoch
    try:
        for epoch in range(state.n_iter, cfg.max_iter):
            tic = time.perf_counter()
            if _may_run_ahead(state, cfg, incremental, epoch):  # workers never wait for us
                box.append(schedule.submit(epoch + 1, box[0].params, box[0].results,
                                           _next_rate(state, cfg.hyper, n_train)))
            stop, rounds = _finish_epoch(state, cluster, box[0], cfg, classifier, n_train)
            state.history.append(_epoch_record(state, rounds, len(cluster.shards), tic, n_train))
            cluster.runner.publish(cluster.token, state.history[-1], cfg.max_iter)
            bar.update(state.loss, state.history[-1]["validation_score"])
            finished = state.params
            if stop or incremental:
                break
            _local.warn_max_iter(state, cfg)
            if epoch + 1 < cfg.max_iter:  # parameters stay on the cluster between epochs
                previous = box[0]
                if len(box) == 1:  # not submitted ahead
                    box.append(schedule.submit(epoch + 1, previous.params, previous.results,
                                               _sgd_rate(state.optimizer, cfg.hyper)))
                box.pop(0)  # only now: the caller releases whatever is still in box
                cluster.runner.release(previous)
    except KeyboardInterrupt:
        # Keep the last finished epoch's model; the caller releases the epoch in flight.
        warnings.warn("Training interrupted by user.")
        state.params = finished
        return
    except _lost_work():
        state.params = finished  # the checkpoint a replay starts from
        raise
    finally:
        bar.close()
    try:
        state.optimizer = gather_optimizer(cluster.runner, box[0].results, state.optimizer,
                                           f"dasknn-optstate-{cluster.token}")
    except _lost_work():  # the model is complete: a replay would train past the stop
        warnings.warn("dasknn: a worker was lost while the optimizer state was gathered; "
                      "a later partial_fit or warm start restarts its moments.")


def _finish_epoch(state, cluster, current, cfg, classifier, n_train):
    """Gather an epoch's scalars and checkpoint; apply the stopping rule.

    Returns ``(stop, per-round summaries)``.
    """
    rounds, params, stats = cluster.runner.gather(
        [current.summaries, current.params, current.validation])
    state.params = np.asarray(params)
    loss = sum(r[0] for r in rounds) / max(1, sum(r[1] for r in rounds))
    val = None
    if cfg.early_stopping:
        val = lambda _p: _shard.combine_scores(stats, classifier)  # noqa: E731
    return _local.end_epoch(state, loss, n_train, cfg, val), rounds


def _epoch_record(state, rounds, n_workers, tic, n_train):
    """Plain-data metrics of an epoch (JSON-able)."""
    seconds = time.perf_counter() - tic
    compute = sum(r[2] for r in rounds)
    return {
        "epoch": len(state.loss_curve),
        "loss": state.loss,
        "validation_score": state.validation_scores[-1] if state.validation_scores else None,
        "seconds": seconds,
        "samples_per_second": n_train / seconds if seconds else None,
        "sync_share": max(0.0, 1.0 - compute / seconds) if seconds else None,
        "rounds": len(rounds),
        "workers": n_workers,
        "learning_rate": float(state.optimizer.learning_rate),
    }


# ------------------------------------------------------------ synchronous gradients
def _epoch_gradient_sync(cluster, params, starts, cfg, plan_args, epoch):
    """One epoch of exact synchronous SGD: gradients averaged at every step."""
    n_rounds, per_round, batch_size, lr, seeds = plan_args
    state = cluster.submit(_start_step, params, starts[0], key=f"dasknn-step-{epoch}-start")
    summaries = []
    data_only = cfg.net._replace(alpha=0.0)  # the penalty is added once, not once a shard
    for r in range(n_rounds):
        grads = [
            cluster.submit(_grad_at, state, cluster.shards[k],
                           _shard.Plan(seeds(1, epoch, k), r, 1, min(batch_size, cluster.rows[k]),
                                       cfg.shuffle, lr),
                           data_only, key=f"dasknn-grad-{epoch}-{r}-{k}", k=k)
            for k in range(len(cluster.shards))
        ]
        summaries.append(cluster.submit(_step_summary, state, cfg, *grads,
                                        key=f"dasknn-summary-{epoch}-{r}"))
        state = cluster.submit(_apply_step, state, cfg, lr, *grads,
                               key=f"dasknn-average-{epoch}-{r}")
    params = cluster.submit(_params_of, state, key=f"dasknn-params-{epoch}")
    return params, [state] * len(cluster.shards), summaries


def _params_of(result):
    return result.params


def _start_step(params, start):
    """The step state of an epoch: given parameters, optimizer state carried over."""
    opt = start.opt_state if isinstance(start, _shard.RoundResult) else start
    return _shard.RoundResult(params, opt, 0.0, 1, 0.0, 1.0)


def _grad_at(state, shard, plan, net):
    return _shard.step_grad(state.params, shard, plan, net)


def _apply_step(state, cfg, lr, *grads):
    """One optimizer step with the gradient of the shards' batches taken together:
    their data terms weighted by rows (or sample weight), the penalty once."""
    n, weight = sum(g.n_rows for g in grads), sum(g.weight for g in grads)
    if n == 0:
        return state
    _, penalty = _penalty(state.params, cfg.net.layout, cfg.net.alpha, weight)
    grad = sum(g.grad_sum for g in grads) / weight + penalty
    opt = state.opt_state if lr is None else state.opt_state._replace(learning_rate=lr)
    params, opt = optim.update(state.params, grad, opt, cfg.hyper, np)
    return _shard.RoundResult(params, opt, 0.0, n, 0.0, weight)


def _step_summary(state, cfg, *grads):
    """Round summary of a step: the loss (penalty included once) summed by rows, as
    for model averaging."""
    weight = sum(g.weight for g in grads)
    n = sum(g.n_rows for g in grads)
    if not weight:
        return (0.0, n, 0.0, 0.0)
    penalty, _ = _penalty(state.params, cfg.net.layout, cfg.net.alpha, weight)
    return ((sum(g.loss_sum for g in grads) / weight + penalty) * n, n, 0.0, 0.0)


# --------------------------------------------------------------------------- L-BFGS
def fit_lbfgs(state, data, cfg, encode, rng, device="auto"):
    """Full-batch L-BFGS-B on Dask data: loss and gradient tree-summed over shards."""
    from ._runner import current_runner

    seeds = _Seeds(rng)
    with current_runner() as runner:
        cluster = _build_shards(runner, data, encode, cfg._replace(early_stopping=False), seeds,
                                device)
        try:
            _run_lbfgs(state, cluster, cfg)
        finally:
            runner.release(cluster.shards)
    return state


def _run_lbfgs(state, cluster, cfg):
    calls = iter(range(10**9))
    layout, alpha = cfg.net.layout, cfg.net.alpha

    def fun(flat):
        i = next(calls)
        sums = [cluster.submit(_shard.loss_grad_sums, flat, s, cfg.net,
                               key=f"dasknn-lossgrad-{i}-{k}", k=k)
                for k, s in enumerate(cluster.shards)]
        try:
            loss, grad, weight = cluster.runner.result(
                cluster.submit(_shard.add, *sums, key=f"dasknn-sum-{i}"))
        finally:
            cluster.runner.release(sums)
        pen, pen_grad = _penalty(flat, layout, alpha, weight)
        return loss / weight + pen, (grad / weight + pen_grad).astype(np.float64)

    result = scipy.optimize.minimize(
        fun, state.params.astype(np.float64), method="L-BFGS-B", jac=True,
        options={"maxfun": cfg.max_fun, "maxiter": cfg.max_iter, "gtol": cfg.tol},
    )
    _local.finish_lbfgs(state, result, cfg)
    state.params = result.x.astype(state.params.dtype)


def _penalty(flat, layout, alpha, weight):
    n_weights = sum(i * o for i, o in layout.shapes)
    w = flat[:n_weights]
    grad = np.zeros_like(flat)
    grad[:n_weights] = alpha * w / weight
    return 0.5 * alpha * float(w @ w) / weight, grad
