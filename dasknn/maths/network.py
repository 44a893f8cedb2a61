"""The network as pure functions: layout, initialisation, forward pass, loss and gradient.

Parameters travel as one flat vector: every layer's weights (row-major), then every
layer's biases. :class:`Layout` knows where each piece lives; :func:`unpack` gives
per-layer arrays. Nothing here knows about scikit-learn, Dask or devices: arrays and
their namespace ``xp`` go in, arrays come out.
"""

from typing import NamedTuple

import numpy as np

from .activations import ACTIVATIONS, DERIVATIVES, LOSSES
from .namespace import is_numpy_namespace, to_namespace


class Layout(NamedTuple):
    """Shapes of a fully connected network, from input width to output width."""

    units: tuple

    @property
    def shapes(self):
        return list(zip(self.units[:-1], self.units[1:]))

    @property
    def n_params(self):
        return sum(i * o + o for i, o in self.shapes)


class Network(NamedTuple):
    """What the maths needs to know about a network besides its parameters."""

    layout: Layout
    activation: str
    out_activation: str
    loss: str
    alpha: float
    dropout: tuple = ()  # per hidden layer: the rate at which training drops its units

    @property
    def drops(self):
        """Whether training drops hidden units (some ``dropout`` rate above 0)."""
        return any(self.dropout)


def unpack(flat, layout, xp):
    """Split a flat parameter vector into per-layer weights and biases.

    Examples
    --------
    >>> import numpy as np
    >>> from array_api_compat import numpy as xp
    >>> coefs, intercepts = unpack(np.arange(9.0), Layout((2, 2, 1)), xp)
    >>> [c.shape for c in coefs], [b.shape for b in intercepts]
    ([(2, 2), (2, 1)], [(2,), (1,)])
    """
    coefs, intercepts, start = [], [], 0
    for fan_in, fan_out in layout.shapes:
        coefs.append(xp.reshape(flat[start : start + fan_in * fan_out], (fan_in, fan_out)))
        start += fan_in * fan_out
    for _, fan_out in layout.shapes:
        intercepts.append(flat[start : start + fan_out])
        start += fan_out
    return coefs, intercepts


def pack(coefs, intercepts, xp):
    """Inverse of :func:`unpack`: one flat vector of weights then biases."""
    return xp.concat([xp.reshape(a, (-1,)) for a in list(coefs) + list(intercepts)])


def init_params(layout, activation, rng, dtype):
    """Draw initial weights with Glorot's uniform rule, on the host.

    The draws are made in float64 in the order weights-then-bias for each layer,
    so that a given ``numpy.random.RandomState`` gives scikit-learn's initial model.
    Returns host numpy ``(coefs, intercepts)`` of ``dtype``.
    """
    factor = 2.0 if activation == "logistic" else 6.0
    coefs, intercepts = [], []
    for fan_in, fan_out in layout.shapes:
        bound = np.sqrt(factor / (fan_in + fan_out))
        coefs.append(rng.uniform(-bound, bound, (fan_in, fan_out)).astype(dtype, copy=False))
        intercepts.append(rng.uniform(-bound, bound, fan_out).astype(dtype, copy=False))
    return coefs, intercepts


def forward(coefs, intercepts, X, net, xp, masks=None):
    """Return the activations of every layer, input first and output last.

    ``X`` may be a scipy.sparse matrix when ``xp`` is numpy. With ``masks`` (see
    :func:`dropout_masks`) hidden activations are returned as ``(output, mask, fed)``:
    ``fed``, their product, feeds the next layer and the weights' gradient; the
    derivative needs the unmasked output.
    """
    hidden = ACTIVATIONS[net.activation]
    activations = [X]
    last = len(coefs) - 1
    for i, (w, b) in enumerate(zip(coefs, intercepts)):
        z = _fed(activations[-1]) @ w + b
        act = ACTIVATIONS[net.out_activation] if i == last else hidden
        a = act(z, xp)
        mask = _mask(masks, i) if i < last else None
        activations.append(a if mask is None else (a, mask, a * mask))
    return activations


def _mask(masks, i):
    return None if masks is None else masks[i]


def _fed(a):
    """What a layer's activation feeds forward: the output, times its dropout mask."""
    return a[2] if isinstance(a, tuple) else a


def dropout_masks(net, n_rows, rng, xp, like):
    """Inverted-dropout masks of a batch, one per hidden layer: 0 for a dropped unit,
    ``1 / (1 - rate)`` for a kept one (so a unit's expected output is unchanged and
    prediction needs no rescaling); None for a layer whose rate is 0.

    Drawn on the host from the numpy Generator ``rng`` (the same draws on any device),
    returned in the namespace, device and dtype of the array ``like``.

    Examples
    --------
    >>> from array_api_compat import numpy as xp
    >>> net = Network(Layout((3, 4, 2, 1)), "relu", "logistic", "binary_log_loss", 0.0,
    ...               (0.5, 0.0))
    >>> masks = dropout_masks(net, 2, np.random.default_rng(0), xp, np.zeros(1))
    >>> sorted(set(masks[0].ravel().tolist())), masks[1]
    ([0.0, 2.0], None)
    """
    masks = []
    for rate, (_, units) in zip(net.dropout, net.layout.shapes):
        if not rate:
            masks.append(None)
            continue
        keep = (rng.random((n_rows, units)) >= rate) / (1.0 - rate)
        masks.append(xp.astype(to_namespace(keep, xp, like=like), like.dtype))
    return masks


def predict_raw(coefs, intercepts, X, net, xp):
    """Output-layer activations (probabilities or regression values)."""
    return forward(coefs, intercepts, X, net, xp)[-1]


def loss_and_grad(coefs, intercepts, X, Y, sample_weight, net, xp, rng=None):
    """Regularised loss of a batch and its gradient as one flat vector.

    Parameters
    ----------
    coefs, intercepts : lists of arrays
        Per-layer parameters (see :func:`unpack`).
    X : array of shape (n_samples, n_features)
        The batch; a scipy.sparse matrix is accepted when ``xp`` is numpy.
    Y : array of shape (n_samples, n_outputs)
        Targets, one-hot or indicator columns for classification.
    sample_weight : array of shape (n_samples,) or None
    net : Network
    xp : array namespace
    rng : numpy.random.Generator or None
        Draws the dropout masks when ``net`` drops units (see :func:`dropout_masks`);
        without it, or with every rate 0, no unit is dropped.

    Returns
    -------
    loss : 0-d array
        Mean loss per unit of sample weight plus ``alpha / 2 * ||W||^2 / sum(w)``.
    grad : array of shape (n_params,)
        Gradient in the layout of :func:`pack`.
    """
    masks = None
    if rng is not None and net.drops:
        masks = dropout_masks(net, X.shape[0], rng, xp, like=coefs[0])
    activations = forward(coefs, intercepts, X, net, xp, masks)
    n = X.shape[0] if sample_weight is None else xp.sum(sample_weight)
    loss = LOSSES[net.loss](Y, activations[-1], sample_weight, xp)
    squares = sum(squared_norm(w, xp) for w in coefs)
    loss = loss + (0.5 * net.alpha) * squares / n

    delta = activations[-1] - Y  # canonical link: d loss / d z at the output
    if sample_weight is not None:
        delta = delta * xp.reshape(sample_weight, (-1, 1))
    backward = DERIVATIVES[net.activation]
    coef_grads, intercept_grads = [None] * len(coefs), [None] * len(coefs)
    for i in range(len(coefs) - 1, -1, -1):
        coef_grads[i] = (_fed(activations[i]).T @ delta + net.alpha * coefs[i]) / n
        intercept_grads[i] = xp.sum(delta, axis=0) / n
        if i > 0:
            a = activations[i]
            if isinstance(a, tuple):  # dropped units pass no error back
                delta = backward(a[0], delta @ coefs[i].T, xp) * a[1]
            else:
                delta = backward(a, delta @ coefs[i].T, xp)
    return loss, pack(coef_grads, intercept_grads, xp)


def squared_norm(w, xp):
    """Sum of the squares of ``w``'s entries, in ``w``'s dtype: on numpy a BLAS dot
    product, whose rounding scikit-learn's penalty has (in float32 a pairwise sum
    differs in the last bits)."""
    if is_numpy_namespace(xp):
        flat = np.reshape(w, -1)
        return np.dot(flat, flat)
    return xp.sum(w * w)


def penalty(flat, layout, alpha, weight):
    """The L2 term on host numpy ``flat`` parameters for ``weight`` samples (or their
    total sample weight): ``(loss, gradient)``, the gradient in the layout of :func:`pack`.

    Used where the data terms are summed over shards and the penalty is added once.

    Examples
    --------
    >>> loss, grad = penalty(np.ones(9), Layout((2, 2, 1)), alpha=2.0, weight=4.0)
    >>> float(loss), grad.tolist()
    (1.5, [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.0, 0.0, 0.0])
    """
    n_weights = sum(i * o for i, o in layout.shapes)
    w = flat[:n_weights]
    grad = np.zeros_like(flat)
    grad[:n_weights] = alpha * w / weight
    return 0.5 * alpha * float(w @ w) / weight, grad


def flat_loss_and_grad(flat, X, Y, sample_weight, net, xp, rng=None):
    """:func:`loss_and_grad` on a flat parameter vector."""
    coefs, intercepts = unpack(flat, net.layout, xp)
    return loss_and_grad(coefs, intercepts, X, Y, sample_weight, net, xp, rng)
