"""Minibatch steps on dense numpy data, in place, in buffers allocated once.

:func:`dasknn.maths.network.loss_and_grad` and :mod:`dasknn.maths.optimizers` say *what* a step
computes, as pure functions that run on any array namespace. This module computes
the same step on the CPU with numpy's ``out=`` arguments: activations, errors,
gradients and optimizer moments live in buffers made once per call of
:meth:`Kernel.run`, so a step allocates almost nothing and makes fewer passes over
memory (measured: 1.69 -> 1.4 ms a step of the benchmark MLP on one core, whose six
GEMMs alone take 0.94 ms).

Two levels of exactness:

``exact=True``
    Every operation is the one the pure functions make, in the same order and
    precision (Adam's step in float64, biases' gradients by ``sum``), so in-process
    fits stay equal to scikit-learn's to the last bit.
``exact=False``
    For data-parallel training, where averaging already departs from scikit-learn's
    arithmetic: Adam in the parameters' dtype, biases' gradients as a GEMV, the
    batch mean applied once to the output errors instead of to every gradient,
    softmax's row sums as a GEMV, the logistic function and the log-losses in numpy's
    own functions. This path loads no scipy for the classifier's and the squared-error
    regressor's losses (a worker training on dense chunks imports numpy and the maths
    only; ``loss='poisson'`` uses scipy's ``xlogy``); the exact path calls scipy's
    ``expit`` and ``xlogy``, as scikit-learn does.
"""

import numpy as np
from array_api_compat import is_numpy_namespace
from array_api_compat import numpy as xp_numpy
from .activations import LOSSES, special
from .namespace import namespace_of
from .network import predict_raw, squared_norm, unpack
from .optimizers import adam_rate

# In-place forward activations: ``z`` is overwritten by ``f(z)``; ``zeros`` is an
# array of zeros shaped like ``z`` or one row of them (numpy's maximum against an
# array is ~3x faster than against the scalar 0 in float32).
_FORWARD = {
    "identity": lambda z, zeros: None,
    "relu": lambda z, zeros: np.maximum(z, zeros, out=z),
    "tanh": lambda z, zeros: np.tanh(z, out=z),
    "logistic": lambda z, zeros: special().expit(z, out=z),
    "exp": lambda z, zeros: np.exp(z, out=z),
    "softmax": lambda z, zeros: _softmax(z),
}


def _softmax(z):
    z -= z.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)


def _expit_numpy(z):
    """The logistic function in place as ``1 / (1 + exp(-z))`` (not ``exact``: scipy's
    ``expit`` may differ in the last bit)."""
    with np.errstate(over="ignore"):  # exp(-z) = inf for z < -709: the output is 0
        np.negative(z, out=z)
        np.exp(z, out=z)
    z += 1.0
    np.reciprocal(z, out=z)


# not ``exact``: hidden logistic layers in numpy too (no scipy on the workers)
_FORWARD_FAST = {**_FORWARD, "logistic": lambda z, zeros: _expit_numpy(z)}


def _softmax_narrow(z, ones, row):
    """Softmax in place for few columns, as when not ``exact``: the row maxima taken
    column by column and the row sums as a GEMV (reductions along a row of 10 take
    8-12 us each on 256 rows; measured: the whole softmax 30 -> 21 us)."""
    top = row[: z.shape[0]]
    if z.shape[1] <= 16:
        np.copyto(top, z[:, 0])
        for j in range(1, z.shape[1]):
            np.maximum(top, z[:, j], out=top)
    else:
        np.max(z, axis=1, out=top)
    z -= top[:, None]
    np.exp(z, out=z)
    np.matmul(z, ones, out=top)
    z /= top[:, None]


def _backward(name, a, delta, tmp):
    """``delta *= f'(z)`` written with the activation's output ``a``."""
    if name == "relu":  # multiply by the 0/1 mask: 15x faster than a masked copy
        np.greater(a, 0.0, out=tmp)
        np.multiply(delta, tmp, out=delta)
    elif name == "logistic":
        np.subtract(1.0, a, out=tmp)
        delta *= a
        delta *= tmp
    elif name == "tanh":
        np.multiply(a, a, out=tmp)
        np.subtract(1.0, tmp, out=tmp)
        delta *= tmp


def supports(X, Y, xp, sw=None):
    """Whether :class:`Kernel` can train on ``X``, ``Y`` and ``sw`` (dense numpy arrays
    of one floating dtype; other mixes take the pure functions, whose dtype promotion
    is scikit-learn's)."""
    return (
        is_numpy_namespace(xp)
        and isinstance(X, np.ndarray)
        and isinstance(Y, np.ndarray)
        and X.dtype in (np.float32, np.float64)
        and Y.dtype == X.dtype
        and (sw is None or sw.dtype == X.dtype)
    )


class Kernel:
    """Buffers and in-place steps for one network, batch size and dtype.

    Examples
    --------
    >>> import numpy as np
    >>> from dasknn.maths.network import Layout, Network
    >>> from dasknn.maths.optimizers import Hyper, init
    >>> from array_api_compat import numpy as xp
    >>> net = Network(Layout((3, 4, 2)), "relu", "softmax", "log_loss", 1e-4)
    >>> hyper = Hyper("adam", 1e-3)
    >>> X = np.random.RandomState(0).rand(8, 3)
    >>> Y = np.eye(2)[[0, 1] * 4]
    >>> params = np.full(net.layout.n_params, 0.1)
    >>> kernel = Kernel(net, hyper, batch_size=4, n_outputs=2, dtype=X.dtype)
    >>> new, state, loss_sum = kernel.run(params, init(params, hyper, xp), X, Y, None,
    ...                                   [slice(0, 4), slice(4, 8)])
    >>> state.t, bool(loss_sum > 0), new is params
    (2, True, False)
    """

    def __init__(self, net, hyper, batch_size, n_outputs, dtype, exact=True):
        self.net, self.hyper, self.exact = net, hyper, exact
        fast_out = {"softmax": self._softmax_fast, "logistic": _expit_numpy}
        self.out_fn = None if exact else fast_out.get(net.out_activation)
        self.forward = _FORWARD if exact else _FORWARD_FAST
        self.dtype = np.dtype(dtype)
        shapes = net.layout.shapes
        self.acts = [np.empty((batch_size, o), self.dtype) for _, o in shapes]
        self.deltas = [np.empty((batch_size, o), self.dtype) for _, o in shapes]
        self.masks = [np.empty((batch_size, o), bool if net.activation == "relu"
                               else self.dtype) for _, o in shapes[:-1]]
        self.zeros = [np.zeros((batch_size, o), self.dtype) for _, o in shapes[:-1]]
        self.X = np.empty((batch_size, net.layout.units[0]), self.dtype)
        self.Y = np.empty((batch_size, n_outputs), self.dtype)
        self.sw = np.empty(batch_size, self.dtype)
        self.ones = np.ones(batch_size, self.dtype)
        self.ones_out, self.row = np.ones(n_outputs, self.dtype), np.empty(batch_size, self.dtype)
        n = net.layout.n_params
        self.grad = np.empty(n, self.dtype)
        self.tmp = np.empty(n, self.dtype)
        self.tmp64 = np.empty(n, np.float64) if exact and self.dtype != np.float64 else None
        self.probs = np.empty((batch_size, n_outputs), self.dtype)
        self.probs_not = (np.empty((batch_size, n_outputs), self.dtype)
                          if net.loss == "binary_log_loss" and not exact else None)

    def run(self, params, opt_state, X, Y, sw, batches):
        """One step per batch of rows; return ``(params, opt_state, loss_sum)`` as
        :func:`dasknn.training.batches.run_batches` does. The inputs are not modified."""
        params = params.copy()
        opt_state = opt_state._replace(**{
            k: getattr(opt_state, k).copy() for k in ("m", "v", "velocity")
            if hasattr(opt_state, k)})
        coefs, intercepts = unpack(params, self.net.layout, xp_numpy)  # views
        grads = unpack(self.grad, self.net.layout, xp_numpy)
        loss_sum = 0.0
        for rows in batches:
            Xb, Yb, swb = self._batch(X, Y, sw, rows)
            loss = self._loss_and_grad(coefs, intercepts, grads, Xb, Yb, swb)
            opt_state = self._update(params, opt_state)
            loss_sum += float(loss) * Xb.shape[0]
        return params, opt_state, np.float64(loss_sum)

    def _batch(self, X, Y, sw, rows):
        if isinstance(rows, slice):
            return X[rows], Y[rows], None if sw is None else sw[rows]
        k = rows.shape[0]
        # mode='clip': with the default mode numpy gathers through a hidden buffer
        # (measured: 48 -> 4 us for 256 rows of 100 float32); ``rows`` are in range.
        take = lambda a, buf: np.take(a, rows, axis=0, out=buf[:k], mode="clip")  # noqa: E731
        return take(X, self.X), take(Y, self.Y), None if sw is None else take(sw, self.sw)

    def _forward(self, coefs, intercepts, X):
        k = X.shape[0]
        return _layers(coefs, intercepts, X, self.net, [a[:k] for a in self.acts],
                       [z[:k] for z in self.zeros], self.out_fn, self.forward)

    def _softmax_fast(self, z):
        _softmax_narrow(z, self.ones_out, self.row)

    def _loss_and_grad(self, coefs, intercepts, grads, X, Y, sw):
        out = self._forward(coefs, intercepts, X)
        k, net = X.shape[0], self.net
        n = k if sw is None else np.sum(sw)
        loss = self._data_loss(Y, out, sw)
        loss = loss + (0.5 * net.alpha) * self._squares(coefs) / n

        delta = np.subtract(out, Y, out=self.deltas[-1][:k])
        if sw is not None:
            delta *= sw.reshape(-1, 1)
        if not self.exact:  # the mean taken here, on the output errors, not on each gradient
            delta *= 1.0 / n
        for i in range(len(coefs) - 1, -1, -1):
            self._layer_grads(i, coefs[i], grads, X if i == 0 else self.acts[i - 1][:k],
                              delta, n)
            if i > 0:
                below = np.matmul(delta, coefs[i].T, out=self.deltas[i - 1][:k])
                _backward(net.activation, self.acts[i - 1][:k], below, self.masks[i - 1][:k])
                delta = below
        return loss

    def _data_loss(self, Y, out, sw):
        """The batch's loss before the penalty; a log-loss in buffers when not
        ``exact`` (measured: 33 -> 13 us for 256 rows of 10 classes)."""
        if self.exact or self.net.loss not in ("log_loss", "binary_log_loss"):
            return LOSSES[self.net.loss](Y, out, sw, xp_numpy)
        terms = self._log_terms(Y, out)
        if sw is None:
            return -np.sum(terms) / out.shape[0]
        return -np.dot(sw, np.sum(terms, axis=1)) / np.sum(sw)

    def _log_terms(self, Y, out):
        """``Y log p`` (softmax) or ``Y log p + (1 - Y) log(1 - p)`` (logistic) of the
        clipped probabilities ``p = out``, in buffers."""
        k, eps = out.shape[0], float(np.finfo(self.dtype).eps)
        logp = np.maximum(out, eps, out=self.probs[:k])
        np.minimum(logp, 1.0 - eps, out=logp)
        if self.probs_not is None:
            np.log(logp, out=logp)
            logp *= Y
            return logp
        logq = np.subtract(1.0, logp, out=self.probs_not[:k])
        np.log(logq, out=logq)
        np.log(logp, out=logp)
        logp -= logq  # Y (log p - log q) + log q
        logp *= Y
        logp += logq
        return logp

    def _squares(self, coefs):
        """Sum of the squared weights, layer by layer as BLAS dot products."""
        return sum(squared_norm(w, xp_numpy) for w in coefs)

    def _layer_grads(self, i, w, grads, a, delta, n):
        gw, gb = grads[0][i], grads[1][i]
        np.matmul(a.T, delta, out=gw)
        decay = self.tmp[: w.size].reshape(w.shape)
        if not self.exact:  # ``delta`` already holds the 1/n
            if self.net.alpha:
                gw += np.multiply(w, self.net.alpha / n, out=decay)
            np.matmul(self.ones[: delta.shape[0]], delta, out=gb)
            return
        gw += np.multiply(w, self.net.alpha, out=decay)
        gw /= n
        np.sum(delta, axis=0, out=gb)
        gb /= n

    def _update(self, params, state):
        if self.hyper.solver == "sgd":
            return self._sgd(params, state)
        return self._adam(params, state)

    def _sgd(self, params, state):
        lr, mu, v, tmp = state.learning_rate, self.hyper.momentum, state.velocity, self.tmp
        v *= mu
        v -= np.multiply(self.grad, lr, out=tmp)
        if self.hyper.nesterov:
            step = np.multiply(v, mu, out=self.grad)  # the gradient is spent
            step -= tmp
            params += step
        else:
            params += v
        return state

    def _adam(self, params, state):
        """Adam's step in place; not ``exact``, all of it in the parameters' dtype
        (measured: 80 -> 74 us for 59,146 float32 parameters, against BLAS ``scal``
        and ``axpy``)."""
        h, g, m, v, tmp = self.hyper, self.grad, state.m, state.v, self.tmp
        t = state.t + 1
        m *= h.beta_1
        m += np.multiply(g, 1 - h.beta_1, out=tmp)
        np.multiply(g, g, out=tmp)
        tmp *= 1 - h.beta_2
        v *= h.beta_2
        v += tmp
        lr = adam_rate(h, t)
        denom = np.sqrt(v, out=tmp)
        denom += h.epsilon
        if self.tmp64 is None:  # float64 or not exact: (-lr * m) / denom, as the pure update
            step = np.multiply(m, -lr, out=self.grad)
            step /= denom
            params += step
        else:  # scikit-learn forms the step in float64, then rounds the sum
            step = np.multiply(m, -lr, out=self.tmp64, dtype=np.float64)
            step /= denom
            step += params
            np.copyto(params, step, casting="same_kind")
        return state._replace(t=t, learning_rate=lr)


_ZEROS_ROWS = 4096  # tallest chunk given a full block of zeros for ReLU


def predict_rows(coefs, intercepts, X, net, chunk=None):
    """Output activations of dense numpy ``X``, ``chunk`` rows at a time, in place.

    Each operation writes into buffers reused for every chunk, instead of a new
    full-height temporary per operation and layer. ``chunk=None`` (all rows at
    once) gives scikit-learn's numbers to the last bit; chunks of about 1024 rows
    keep a chunk's activations in the caches (measured: 30 -> 17.5 ms for 9,000
    rows of the benchmark MLP on one core), but OpenBLAS may then round float32
    products differently in the last bit.

    Examples
    --------
    >>> import numpy as np
    >>> from dasknn.maths.network import Layout, Network, predict_raw, unpack
    >>> from array_api_compat import numpy as xp
    >>> net = Network(Layout((3, 5, 2)), "relu", "softmax", "log_loss", 0.0)
    >>> coefs, intercepts = unpack(np.linspace(-1, 1, net.layout.n_params), net.layout, xp)
    >>> X = np.random.RandomState(0).rand(7, 3)
    >>> bool(np.array_equal(predict_rows(coefs, intercepts, X, net, chunk=3),
    ...                     predict_raw(coefs, intercepts, X, net, xp)))
    True
    """
    dtype = np.result_type(X.dtype, *coefs, *intercepts)
    n = X.shape[0]
    out = np.empty((n, coefs[-1].shape[1]), dtype)
    chunk = max(1, n if chunk is None else min(chunk, n))
    buffers = [np.empty((chunk, w.shape[1]), dtype) for w in coefs[:-1]]
    # ReLU's zeros: a cache-sized block of them, or one broadcast row for taller chunks
    # (a full-height array of zeros costs a page fault per 4 KiB on first read)
    height = chunk if chunk <= _ZEROS_ROWS else 1
    zeros = ([np.zeros((height, b.shape[1]), dtype) for b in buffers]
             if net.activation == "relu" else buffers)
    for start in range(0, n, chunk):
        rows = X[start : start + chunk]
        k = rows.shape[0]
        _layers(coefs, intercepts, rows, net,
                [b[:k] for b in buffers] + [out[start : start + k]], [z[:k] for z in zeros])
    return out


def outputs(coefs, intercepts, X, net, chunk=None):
    """Output activations of ``X`` in its own namespace: dense numpy float data through
    :func:`predict_rows` (``chunk`` rows at a time, None: all at once), anything else
    (sparse, CuPy, other array-API arrays) through the pure forward pass."""
    if isinstance(X, np.ndarray) and X.dtype in (np.float32, np.float64):
        return predict_rows(coefs, intercepts, X, net, chunk)
    return predict_raw(coefs, intercepts, X, net, namespace_of(X))


def _layers(coefs, intercepts, X, net, outs, zeros, out_activation=None, forward=_FORWARD):
    """Forward pass of ``X`` writing layer ``i``'s activations into ``outs[i]``;
    ``zeros[i]`` is an array of zeros shaped like each hidden ``outs[i]``, or one row;
    ``out_activation`` replaces the network's own on the last layer, ``forward`` holds
    the hidden layers' in-place functions."""
    a, last = X, len(coefs) - 1
    for i, (w, b) in enumerate(zip(coefs, intercepts)):
        z = np.matmul(a, w, out=outs[i])
        z += b
        if i == last:
            (out_activation or (lambda z: _FORWARD[net.out_activation](z, None)))(z)
        else:
            forward[net.activation](z, zeros[i])
        a = z
    return a
