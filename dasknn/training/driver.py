"""The one epoch driver every training path runs: in-process, held on the cluster,
streamed through it.

A path supplies an *epoch source*: ``source.epoch(epoch, state)`` trains one epoch
(its own way) and returns an :class:`EpochResult`. The driver owns everything
around it, once: the loss curve and stopping rule (scikit-learn's, with its
``verbose`` lines), learning-rate schedules, the per-epoch record (``history_``),
the hooks (progress bar, Dask events, the guard of a scaled rate), the maximum-iterations warning,
Ctrl-C, and early stopping's best model.
"""

import time
import warnings
from typing import NamedTuple

from sklearn.exceptions import ConvergenceWarning

from ..maths import optimizers as optim
from ..maths import stopping
from .hooks import ProgressBar, throughput


class EpochResult(NamedTuple):
    """What one epoch of a source reports."""

    loss: float  # mean training loss
    n_samples: int  # samples trained on (``t_`` grows by this)
    val_score: object = None  # callable(params) -> validation score, with early stopping
    rounds: list | None = None  # per-round (loss sum, rows, slowest s, total s, ...); None
    # in-process
    n_shards: int = 1  # shards trained side by side
    seconds: float | None = None  # the epoch's span as its own tasks timed it (an epoch
    # submitted ahead runs while the client handles the one before); None: the driver's clock
    rate_scale: float = 1.0  # what the rounds multiplied the user's learning rate by


def run(state, source, cfg, fit, hooks=(), incremental=False):
    """Train epochs ``state.n_iter``, ... until the stopping rule, ``max_iter`` or one
    epoch with ``incremental``; update ``state``. Return False when interrupted (Ctrl-C).

    On any other exception ``state.params`` is the last finished epoch's model (the
    checkpoint a replay starts from) and the exception propagates.
    """
    hooks = [ProgressBar(cfg.progress), *hooks]
    for hook in hooks:
        hook.begin(fit)
    finished, completed = state.params, True
    try:
        for epoch in range(state.n_iter, cfg.max_iter):
            tic = time.perf_counter()
            result = source.epoch(epoch, state)
            # the rate this epoch trained at (the state keeps the user's units)
            rate = float(state.optimizer.learning_rate) * result.rate_scale
            stop = end_epoch(state, result.loss, result.n_samples, cfg, result.val_score)
            seconds = time.perf_counter() - tic if result.seconds is None else result.seconds
            state.history.append(_record(state, result, seconds, rate))
            if cfg.verbose and result.rounds is not None:
                print(timing_line(state.history))
            for hook in hooks:
                hook.epoch_end(state.history[-1])
            finished = state.params
            if stop or incremental:
                break
            warn_max_iter(state, cfg)
    except KeyboardInterrupt:
        warnings.warn("Training interrupted by user.")
        state.params, completed = finished, False
    except BaseException:
        state.params = finished
        raise
    finally:
        for hook in hooks:
            hook.end()
    if cfg.early_stopping:
        state.params = state.best_params
    return completed


def end_epoch(state, loss, n_samples, cfg, val_score):
    """Record an epoch and apply the stopping rule; return True to stop.

    ``val_score`` is a callable giving the validation score of the current
    parameters, or None without early stopping.
    """
    state.n_iter += 1
    state.loss = loss
    state.t += n_samples
    state.loss_curve.append(loss)
    if cfg.verbose:
        print("Iteration %d, loss = %.8f" % (state.n_iter, loss))
    _update_progress(state, cfg, val_score)
    state.optimizer = optim.end_epoch(state.optimizer, cfg.hyper, state.t)
    if not stopping.stalled(state.progress, cfg.n_iter_no_change):
        return False
    state.optimizer, keep_going, note = optim.on_plateau(state.optimizer, cfg.hyper)
    if cfg.verbose:
        print(_stall_message(cfg) + " " + note)
    if keep_going:
        state.progress = stopping.reset(state.progress)
    return not keep_going


def _update_progress(state, cfg, val_score):
    if val_score is None:
        state.progress = stopping.after_loss(state.progress, state.loss, cfg.tol)
        return
    score = val_score(state.params)
    state.validation_scores.append(score)
    if cfg.verbose:
        print("Validation score: %f" % score)
    state.progress, improved = stopping.after_score(state.progress, score, cfg.tol)
    if improved:
        state.best_params = state.params


def _stall_message(cfg):
    what = (
        "Validation score did not improve" if cfg.early_stopping
        else "Training loss did not improve"
    )
    return "%s more than tol=%f for %d consecutive epochs." % (
        what, cfg.tol, cfg.n_iter_no_change,
    )


def warn_max_iter(state, cfg):
    """scikit-learn's warning when the last allowed epoch has run."""
    if state.n_iter == cfg.max_iter:
        warnings.warn(
            "Stochastic Optimizer: Maximum iterations (%d) reached and the "
            "optimization hasn't converged yet." % cfg.max_iter,
            ConvergenceWarning,
        )


def _record(state, result, seconds, learning_rate):
    """Plain-data metrics of an epoch (JSON-able): an entry of ``history_``."""
    compute = None if result.rounds is None else sum(r[2] for r in result.rounds)
    return {
        "epoch": len(state.loss_curve),
        "loss": state.loss,
        "validation_score": state.validation_scores[-1] if state.validation_scores else None,
        "seconds": seconds,
        "samples_per_second": result.n_samples / seconds if seconds else None,
        "sync_share": (max(0.0, 1.0 - compute / seconds)
                       if seconds and compute is not None else None),
        "rounds": 1 if result.rounds is None else len(result.rounds),
        "workers": result.n_shards,
        "learning_rate": learning_rate,
    }


def timing_line(records):
    """The ``verbose`` line of a distributed epoch: its time and throughput beside the
    fit's average, and its share of time not computing."""
    r, average = records[-1], throughput(records)
    if not r["samples_per_second"] or average is None:
        return f"Epoch {r['epoch']}: {r['seconds']:.2f} s"
    sync = "" if r["sync_share"] is None else f", {100 * r['sync_share']:.1f}% synchronising"
    return (f"Epoch {r['epoch']}: {r['seconds']:.2f} s, {r['samples_per_second']:,.0f} "
            f"samples/s (fit average {average:,.0f}){sync}")
