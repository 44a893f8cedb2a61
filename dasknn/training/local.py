"""In-process training on in-memory arrays: scikit-learn's MLP algorithm, step for step.

Same batches, same shuffling, same random-number order, same optimizer maths and
stopping rules as ``sklearn.neural_network``, so that a fixed ``random_state`` gives
the same model. Arrays may be numpy (dense or scipy.sparse) or any array-API array;
parameters live in the data's namespace.
"""

import uuid
import warnings

import numpy as np
import scipy.optimize
import scipy.sparse as sp
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import shuffle

from ..maths.namespace import is_numpy_namespace, to_host, to_namespace
from ..maths.network import flat_loss_and_grad
from . import driver
from .batches import batch_size_for, dropout_noise, epoch_batches, run_batches, take_rows
from .config import check_validation_size
from .hooks import Fit


def validation_split(n_samples, Y, cfg, rng):
    """Row indices ``(train, validation)`` of the early-stopping split."""
    from sklearn.model_selection import train_test_split

    check_validation_size(int(np.ceil(cfg.validation_fraction * n_samples)), cfg, n_samples)
    stratify = to_host(Y) != 0 if cfg.stratify else None
    return train_test_split(
        np.arange(n_samples),
        random_state=rng,
        test_size=cfg.validation_fraction,
        stratify=stratify,
    )


class _InMemory:
    """Epoch source of an in-process fit: a shuffle, then minibatch steps over all rows."""

    def __init__(self, X, Y, sw, cfg, rng, val_score, xp):
        self.X, self.Y, self.sw, self.cfg, self.rng, self.xp = X, Y, sw, cfg, rng, xp
        self.val_score = val_score
        # dropout's masks come from their own stream, seeded by the fit's random state
        # (drawn only when units are dropped: without dropout, scikit-learn's draws)
        self.noise = dropout_noise(cfg.net, rng.randint(np.iinfo(np.int32).max)
                                   if cfg.net.drops else None)
        self.batch_size = batch_size_for(cfg.batch_size, X.shape[0])
        self.order = np.arange(X.shape[0]) if cfg.shuffle else None

    def epoch(self, epoch, state):
        if self.cfg.shuffle:
            self.order = shuffle(self.order, random_state=self.rng)
        order, n = self.order, self.X.shape[0]
        if order is not None and not is_numpy_namespace(self.xp):
            order = to_namespace(order, self.xp, like=self.X)  # one upload an epoch
        state.params, state.optimizer, loss_sum = run_batches(
            state.params, state.optimizer, self.X, self.Y, self.sw,
            epoch_batches(n, self.batch_size, order), self.cfg, self.xp, noise=self.noise,
        )
        return driver.EpochResult(float(loss_sum) / n, n, self.val_score)


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
    state.n_iter = 0
    source = _InMemory(X, Y, sw, cfg, rng, val_score, xp)
    driver.run(state, source, cfg, Fit(uuid.uuid4().hex[:12], cfg.max_iter), (), incremental)
    return state


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

    result = minimize_lbfgs(fun, to_host(state.params), cfg)
    state.params = xp.astype(to_namespace(result.x, xp, like=state.params), dtype)
    finish_lbfgs(state, result, cfg)
    return state


def minimize_lbfgs(fun, params, cfg):
    """scipy's L-BFGS-B from host ``params`` in float64, with scikit-learn's options."""
    return scipy.optimize.minimize(
        fun,
        np.asarray(params, dtype=np.float64),
        method="L-BFGS-B",
        jac=True,
        options={"maxfun": cfg.max_fun, "maxiter": cfg.max_iter, "gtol": cfg.tol},
    )


def finish_lbfgs(state, result, cfg):
    """Record an L-BFGS-B result (iterations, loss) and warn if it stopped early."""
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
