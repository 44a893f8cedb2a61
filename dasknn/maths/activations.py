"""Activations, their derivatives and the output losses, as name -> function tables.

Every function takes arrays and their namespace ``xp`` and returns new arrays: no
state, no in-place writes, so the same code runs on numpy, CuPy and any array-API
library. On numpy, the logistic function and ``x log y`` use scipy's special
functions so that results match scikit-learn to the last bit; scipy is imported on
their first call, so a worker that never calls them never loads it.
"""

from .namespace import is_numpy_namespace


def special():
    """scipy's special functions (``scipy.special``), imported on first use."""
    from scipy import special

    return special


def identity(z, xp):
    return z


def logistic(z, xp):
    if is_numpy_namespace(xp):
        return special().expit(z)
    return 1.0 / (1.0 + xp.exp(-z))


def tanh(z, xp):
    return xp.tanh(z)


def relu(z, xp):
    return xp.maximum(z, 0.0)


def softmax(z, xp):
    e = xp.exp(z - xp.max(z, axis=1, keepdims=True))
    return e / xp.sum(e, axis=1, keepdims=True)


def exp(z, xp):
    return xp.exp(z)


ACTIVATIONS = {
    "identity": identity,
    "logistic": logistic,
    "tanh": tanh,
    "relu": relu,
    "softmax": softmax,
    "exp": exp,
}


# Derivatives are written in terms of the activation's *output* ``a``: they return
# ``delta * f'(z)``, the error signal passed back through the layer.
def identity_backward(a, delta, xp):
    return delta


def logistic_backward(a, delta, xp):
    return delta * a * (1.0 - a)


def tanh_backward(a, delta, xp):
    return delta * (1.0 - a * a)


def relu_backward(a, delta, xp):
    # A multiply by the 0/1 mask is ~10x faster in numpy than ``where`` with a
    # scalar; it can only turn a zeroed entry into -0.0, which sums the same.
    return delta * xp.astype(a > 0.0, delta.dtype)


DERIVATIVES = {
    "identity": identity_backward,
    "logistic": logistic_backward,
    "tanh": tanh_backward,
    "relu": relu_backward,
}


def _xlogy(x, y, xp):
    """``x * log(y)``, defined as 0 where ``x == 0``."""
    if is_numpy_namespace(xp):
        return special().xlogy(x, y)
    return xp.where(x == 0.0, 0.0, x * xp.log(xp.where(x == 0.0, 1.0, y)))


def _average(values, sample_weight, xp):
    """Column means of ``values``, weighted by ``sample_weight`` when given."""
    if sample_weight is None:
        return xp.mean(values, axis=0)
    weighted = values * xp.reshape(sample_weight, (-1, 1))
    return xp.sum(weighted, axis=0) / xp.sum(sample_weight)


def _clip_probability(p, xp):
    eps = float(xp.finfo(p.dtype).eps)
    # max-then-min is clip; array_api_compat's clip wrapper costs 0.6 ms a call on CuPy
    return xp.minimum(xp.maximum(p, eps), 1.0 - eps)


def squared_loss(y, pred, sample_weight, xp):
    """Half the mean squared error, averaged over outputs."""
    diff = y - pred
    return 0.5 * xp.mean(_average(diff * diff, sample_weight, xp))


def poisson_loss(y, pred, sample_weight, xp):
    """Half the Poisson deviance, summed over outputs."""
    terms = _xlogy(y, y / pred, xp) - y + pred
    return xp.sum(_average(terms, sample_weight, xp))


def log_loss(y, prob, sample_weight, xp):
    """Cross-entropy of a softmax output."""
    prob = _clip_probability(prob, xp)
    return -xp.sum(_average(_xlogy(y, prob, xp), sample_weight, xp))


def binary_log_loss(y, prob, sample_weight, xp):
    """Cross-entropy of independent logistic outputs (binary and multilabel)."""
    prob = _clip_probability(prob, xp)
    terms = _xlogy(y, prob, xp) + _xlogy(1.0 - y, 1.0 - prob, xp)
    return -xp.sum(_average(terms, sample_weight, xp))


LOSSES = {
    "squared_error": squared_loss,
    "poisson": poisson_loss,
    "log_loss": log_loss,
    "binary_log_loss": binary_log_loss,
}

# Every (output activation, loss) pair here is canonical: d loss / d z = output - y.
OUTPUT_LOSS = {
    "softmax": "log_loss",
    "logistic": "binary_log_loss",
    "identity": "squared_error",
    "exp": "poisson",
}
