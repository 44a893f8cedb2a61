"""Minibatches: which rows a step takes, and the steps of an epoch or a round.

Shared by the in-process loop and the worker tasks: ``run_batches`` takes one
optimizer step per batch, through the in-place kernel on dense numpy data and the
pure functions elsewhere.
"""

import warnings

import numpy as np

from ..maths import kernel
from ..maths import optimizers as optim
from ..maths.namespace import issparse, to_namespace
from ..maths.network import flat_loss_and_grad


def take_rows(X, rows, xp):
    """Rows ``rows`` (a slice or host index array) of ``X``, in ``X``'s namespace."""
    if X is None:
        return None
    if isinstance(rows, slice) or issparse(X):
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


def epoch_batches(n_samples, batch_size, order, first=0, count=None):
    """Row selections of an epoch: slices in order, or chunks of a permutation
    ``order``; ``first`` and ``count`` pick the batches of one round.

    Examples
    --------
    >>> list(epoch_batches(5, 2, None))
    [slice(0, 2, None), slice(2, 4, None), slice(4, 5, None)]
    >>> [b.tolist() for b in epoch_batches(5, 2, np.arange(5)[::-1], first=1, count=1)]
    [[2, 1]]
    """
    starts = range(first * batch_size, n_samples, batch_size)
    for start in starts if count is None else starts[:count]:
        batch = slice(start, min(start + batch_size, n_samples))
        yield batch if order is None else order[batch]


def rows_in(rows):
    """Number of rows of a batch (a slice or an index array)."""
    return rows.stop - rows.start if isinstance(rows, slice) else rows.shape[0]


def dropout_noise(net, seed):
    """The Generator that draws a fit's (or a round's) dropout masks from ``seed``;
    None when the network drops no units, so that nothing is drawn."""
    return np.random.default_rng(seed) if net.drops else None


def run_batches(params, opt_state, X, Y, sw, batches, cfg, xp, exact=True, noise=None):
    """Take one optimizer step per batch of rows; return ``(params, opt_state, loss_sum)``.

    ``batches`` yields slices or host index arrays into ``X``; ``loss_sum`` is the
    batch losses weighted by batch sizes, as a float64 0-d array. Dense numpy data
    takes the in-place steps of :mod:`dasknn.maths.kernel` (``exact=False`` lets them
    depart from scikit-learn's arithmetic); other data, and networks that drop units
    (masks drawn from the Generator ``noise``), the pure functions.
    """
    if noise is None and kernel.supports(X, Y, xp, sw):
        batches = list(batches)
        size = max((rows_in(b) for b in batches), default=1)
        steps = kernel.Kernel(cfg.net, cfg.hyper, size, Y.shape[1], X.dtype, exact)
        return steps.run(params, opt_state, X, Y, sw, batches)
    loss_sum = 0.0
    for rows in batches:
        loss, grad = flat_loss_and_grad(
            params, take_rows(X, rows, xp), take_rows(Y, rows, xp),
            take_rows(sw, rows, xp), cfg.net, xp, noise,
        )
        params, opt_state = optim.update(params, grad, opt_state, cfg.hyper, xp)
        loss_sum = loss_sum + xp.astype(loss, xp.float64) * rows_in(rows)
    return params, opt_state, loss_sum
