"""Stochastic optimizers as ``(init, update)`` pure functions on plain-array state.

State is a NamedTuple of arrays and numbers: it pickles, travels to workers and
averages. Learning-rate schedules are functions of the state and the number of
samples seen. Nothing here prints or decides to stop a fit; :func:`on_plateau`
only says whether the schedule has anything left to try.
"""

import math
from typing import NamedTuple

import numpy as np
from array_api_compat import is_cupy_namespace

from .namespace import device, state_to_host


class SGDState(NamedTuple):
    velocity: object
    learning_rate: float


class AdamState(NamedTuple):
    m: object
    v: object
    t: int
    learning_rate: float


class Hyper(NamedTuple):
    """Optimizer settings (scikit-learn's parameter meanings)."""

    solver: str
    learning_rate_init: float
    schedule: str = "constant"
    momentum: float = 0.9
    nesterov: bool = True
    power_t: float = 0.5
    beta_1: float = 0.9
    beta_2: float = 0.999
    epsilon: float = 1e-8


def init(params, hyper, xp):
    """Fresh optimizer state for a flat parameter vector."""
    lr = float(hyper.learning_rate_init)
    if hyper.solver == "sgd":
        return SGDState(xp.zeros_like(params), lr)
    return AdamState(xp.zeros_like(params), xp.zeros_like(params), 0, lr)


def update(params, grad, state, hyper, xp):
    """One optimizer step: return ``(new_params, new_state)``."""
    if hyper.solver == "sgd":
        return _sgd_update(params, grad, state, hyper, xp)
    return _adam_update(params, grad, state, hyper, xp)


def _sgd_update(params, grad, state, hyper, xp):
    lr, mu = state.learning_rate, hyper.momentum
    velocity = mu * state.velocity - lr * grad
    step = mu * velocity - lr * grad if hyper.nesterov else velocity
    # rounded to the parameters' dtype, as scikit-learn's in-place update does
    return xp.astype(params + step, params.dtype), state._replace(velocity=velocity)


def _adam_update(params, grad, state, hyper, xp):
    if is_cupy_namespace(xp):
        return _adam_update_cupy(params, grad, state, hyper)
    b1, b2, t = hyper.beta_1, hyper.beta_2, state.t + 1
    m = b1 * state.m + (1 - b1) * grad
    v = b2 * state.v + (1 - b2) * (grad * grad)
    lr = adam_rate(hyper, t)
    # The step is formed in float64 whatever the dtype, as scikit-learn does (its
    # rate is a numpy float64), then added and rounded to the parameters' dtype.
    neg_lr = xp.asarray(-lr, dtype=xp.float64, device=device(m))
    step = (neg_lr * m) / (xp.sqrt(v) + hyper.epsilon)
    return xp.astype(params + step, params.dtype), AdamState(m, v, t, lr)


def _adam_update_cupy(params, grad, state, hyper):
    """The same update as one fused CuPy kernel (the GPU step is launch-bound)."""
    from .cupy_kernels import adam_step

    t = state.t + 1
    lr = adam_rate(hyper, t)
    params, m, v = adam_step(params, grad, state.m, state.v, hyper.beta_1, hyper.beta_2, lr,
                             hyper.epsilon)
    return params, AdamState(m, v, t, lr)


def adam_rate(hyper, t):
    """Adam's bias-corrected learning rate at step ``t`` (the one place it is written).

    Examples
    --------
    >>> round(adam_rate(Hyper("adam", 1e-3), 1), 6)
    0.000316
    """
    return hyper.learning_rate_init * math.sqrt(1 - hyper.beta_2**t) / (1 - hyper.beta_1**t)


def is_sgd(state):
    """True for the state of 'sgd', False for 'adam'."""
    return isinstance(state, SGDState)


def schedule_rate(state):
    """The rate a schedule sets from outside the steps: SGD's current learning rate,
    None for Adam (whose rate follows its step count)."""
    return state.learning_rate if is_sgd(state) else None


def with_rate(state, rate):
    """``state`` with SGD's learning rate set to ``rate`` (unchanged when None)."""
    return state if rate is None else state._replace(learning_rate=rate)


def scale_rate(state, factor):
    """``state`` with its SGD learning rate multiplied by ``factor`` (Adam's stored
    rate is derived from its step count and stays as it is)."""
    return state._replace(learning_rate=state.learning_rate * factor) if is_sgd(state) \
        else state


def average(states, weights):
    """One host state from several (one per shard): moments averaged with ``weights``,
    Adam's step count the largest."""
    states = [state_to_host(s) for s in states]
    weights = np.asarray(weights, dtype=np.float64)
    weights = weights / weights.sum()
    mean = lambda name: sum(w * getattr(s, name) for w, s in zip(weights, states))  # noqa: E731
    if is_sgd(states[0]):
        return states[0]._replace(velocity=mean("velocity"))
    return states[0]._replace(m=mean("m"), v=mean("v"), t=max(s.t for s in states))


def end_epoch(state, hyper, n_seen):
    """Apply the per-epoch schedule after ``n_seen`` samples in total."""
    if hyper.solver == "sgd" and hyper.schedule == "invscaling":
        lr = float(hyper.learning_rate_init) / (n_seen + 1) ** hyper.power_t
        return state._replace(learning_rate=lr)
    return state


def on_plateau(state, hyper):
    """React to a plateau: return ``(state, keep_going, note)``.

    Only the 'adaptive' SGD schedule keeps going, dividing the learning rate by 5
    until it falls to 1e-6.
    """
    if hyper.solver != "sgd" or hyper.schedule != "adaptive":
        return state, False, "Stopping."
    if state.learning_rate <= 1e-6:
        return state, False, "Learning rate too small. Stopping."
    lr = state.learning_rate / 5.0
    return state._replace(learning_rate=lr), True, "Setting learning rate to %f" % lr

