"""In-process training on in-memory arrays: scikit-learn's MLP algorithm, step for step.

Same batches, same shuffling, same random-number order, same optimizer maths and
stopping rules as ``sklearn.neural_network``, so that a fixed ``random_state`` gives
the same model. Arrays may be numpy (dense or scipy.sparse) or any array-API array;
parameters live in the data's namespace.
"""

import warnings
from dataclasses import dataclass, field

import numpy as np
import scipy.optimize
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import gen_batches, shuffle

from . import _kernel as kernel
from . import _optimizers as optim
from . import _stopping as stopping
from ._progress import EpochBar
from ._device import is_numpy_namespace, to_host, to_namespace
from ._network import flat_loss_and_grad


@dataclass
class FitState:
    """What a fit leaves for the next one (``warm_start`` and ``partial_fit``)."""

    params: object
    optimizer: object = None
    progress: stopping.Progress = None
    t: int = 0
    loss_curve: list = field(default_factory=list)
    validation_scores: list | None = None
    best_params: object = None
    n_iter: int = 0
    loss: float | None = None
    history: list = field(default_factory=list)  # one dict per epoch (distributed fits)


def take_rows(X, rows, xp):
    """Rows ``rows`` (a slice or host index array) of ``X``, in ``X``'s namespace."""
    if X is None:
        return None
    if isinstance(rows, slice) or sp.issparse(X):
        return X[rows]
    return xp.take(X, to_namespace(rows, xp, like=X), axis=0)


def batch_size_for(batch_size, n_samples):
    """scikit-learn's batch size rule: 'auto' is min(200, n); others are clipped."""
    if batch_size == "auto":
        return min(200, n_samples)
    if batch_size > n_samples:
        warnings.warn(
            "Got `batch_size` less than 1 or larger than sample size. "
            "It is going to be clipped"
        )
    return int(np.clip(batch_size, 1, n_samples))


def validation_split(n_samples, Y, cfg, rng):
    """Row indices ``(train, validation)`` of the early-stopping split."""
    n_val = int(np.ceil(cfg.validation_fraction * n_samples))
    if n_val < 2:
        raise ValueError(
            "The validation set is too small: early_stopping=True with "
            f"validation_fraction={cfg.validation_fraction} keeps {n_val} of "
            f"{n_samples} samples for validation. Increase 'validation_fraction' or "
            "the size of your dataset, or set early_stopping=False."
        )
    stratify = to_host(Y) != 0 if cfg.stratify else None
    return train_test_split(
        np.arange(n_samples),
        random_state=rng,
        test_size=cfg.validation_fraction,
        stratify=stratify,
    )


def run_batches(params, opt_state, X, Y, sw, batches, cfg, xp, exact=True):
    """Take one optimizer step per batch of rows; return ``(params, opt_state, loss_sum)``.

    ``batches`` yields slices or host index arrays into ``X``; ``loss_sum`` is the
    batch losses weighted by batch sizes, as a float64 0-d array. Dense numpy data
    takes the in-place steps of :mod:`dasknn._kernel` (``exact=False`` lets them
    depart from scikit-learn's arithmetic); other data the pure functions.
    """
    if kernel.supports(X, Y, xp, sw):
        batches = list(batches)
        size = max((_rows_in(b) for b in batches), default=1)
        steps = kernel.Kernel(cfg.net, cfg.hyper, size, Y.shape[1], X.dtype, exact)
        return steps.run(params, opt_state, X, Y, sw, batches)
    loss_sum = 0.0
    for rows in batches:
        loss, grad = flat_loss_and_grad(
            params, take_rows(X, rows, xp), take_rows(Y, rows, xp),
            take_rows(sw, rows, xp), cfg.net, xp,
        )
        params, opt_state = optim.update(params, grad, opt_state, cfg.hyper, xp)
        loss_sum = loss_sum + xp.astype(loss, xp.float64) * _rows_in(rows)
    return params, opt_state, loss_sum


def _rows_in(rows):
    return rows.stop - rows.start if isinstance(rows, slice) else rows.shape[0]


def epoch_batches(n_samples, batch_size, order):
    """Row selections of one epoch: slices in order, or chunks of a permutation."""
    for batch in gen_batches(n_samples, batch_size):
        yield batch if order is None else order[batch]


def run_epoch(state, X, Y, sw, order, batch_size, cfg, xp):
    """One pass of minibatch steps over the rows in ``order``; return the mean loss."""
    n = X.shape[0]
    if order is not None and not is_numpy_namespace(xp):
        order = to_namespace(order, xp, like=X)  # one upload an epoch, not one a step
    state.params, state.optimizer, loss_sum = run_batches(
        state.params, state.optimizer, X, Y, sw,
        epoch_batches(n, batch_size, order), cfg, xp,
    )
    return float(loss_sum) / n


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


def fit_stochastic(state, X, Y, sw, cfg, rng, score, incremental, xp):
    """Train with 'sgd' or 'adam', updating ``state`` in place.

    Parameters
    ----------
    state : FitState
    X, Y, sw : arrays
        Inputs, 2-D float targets and sample weights (or None).
    cfg : Config
    rng : numpy.random.RandomState
        Drawn from for the validation split and the shuffles, in scikit-learn's order.
    score : callable
        ``score(params, X, Y, sw) -> float``, the validation score (early stopping).
    incremental : bool
        Run a single epoch (``partial_fit``).
    xp : array namespace
    """
    val_score = None
    if cfg.early_stopping:
        train, val = validation_split(X.shape[0], Y, cfg, rng)
        X_val, Y_val, sw_val = (take_rows(a, val, xp) for a in (X, Y, sw))
        X, Y, sw = (take_rows(a, train, xp) for a in (X, Y, sw))
        val_score = lambda params: score(params, X_val, Y_val, sw_val)  # noqa: E731
    n = X.shape[0]
    batch_size = batch_size_for(cfg.batch_size, n)
    order = np.arange(n) if cfg.shuffle else None
    state.n_iter = 0
    bar = EpochBar(cfg.progress, cfg.max_iter)
    try:
        for _ in range(cfg.max_iter):
            if cfg.shuffle:
                order = shuffle(order, random_state=rng)
            loss = run_epoch(state, X, Y, sw, order, batch_size, cfg, xp)
            stop = end_epoch(state, loss, n, cfg, val_score)
            bar.update(loss, state.validation_scores[-1] if state.validation_scores else None)
            if stop or incremental:
                break
            warn_max_iter(state, cfg)
    except KeyboardInterrupt:
        warnings.warn("Training interrupted by user.")
    finally:
        bar.close()
    if cfg.early_stopping:
        state.params = state.best_params
    return state


def warn_max_iter(state, cfg):
    """scikit-learn's warning when the last allowed epoch has run."""
    if state.n_iter == cfg.max_iter:
        warnings.warn(
            "Stochastic Optimizer: Maximum iterations (%d) reached and the "
            "optimization hasn't converged yet." % cfg.max_iter,
            ConvergenceWarning,
        )


def fit_lbfgs(state, X, Y, sw, cfg, xp):
    """Full-batch L-BFGS-B (scipy) on the whole data, updating ``state`` in place.

    scipy optimises in float64, so the data is taken to float64 for the fit and the
    parameters are returned in their original dtype.
    """
    dtype = state.params.dtype
    X64, Y64, sw64 = (_as_float64(a, xp) for a in (X, Y, sw))

    def fun(flat):
        params = to_namespace(flat, xp, like=state.params)
        loss, grad = flat_loss_and_grad(params, X64, Y64, sw64, cfg.net, xp)
        return float(loss), to_host(grad)

    result = scipy.optimize.minimize(
        fun,
        np.asarray(to_host(state.params), dtype=np.float64),
        method="L-BFGS-B",
        jac=True,
        options={"maxfun": cfg.max_fun, "maxiter": cfg.max_iter, "gtol": cfg.tol},
    )
    finish_lbfgs(state, result, cfg)
    state.params = xp.astype(to_namespace(result.x, xp, like=state.params), dtype)
    return state


def finish_lbfgs(state, result, cfg):
    """Record an L-BFGS-B result (iterations, loss, parameters) and warn if it stopped early."""
    state.n_iter = min(result.nit, cfg.max_iter)
    if result.status != 0:
        warnings.warn(
            f"lbfgs failed to converge after {state.n_iter} iteration(s) "
            f"(status={result.status}): {result.message}. Increase max_iter "
            f"(now {cfg.max_iter}) or max_fun (now {cfg.max_fun}), or scale the data.",
            ConvergenceWarning,
        )
    state.loss = float(result.fun)


def _as_float64(a, xp):
    if a is None:
        return None
    if sp.issparse(a):
        return a.astype(np.float64)
    return xp.astype(a, xp.float64)
