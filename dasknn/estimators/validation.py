"""Declarative checks of estimator parameters and of in-memory inputs.

Parameters are checked once, when a fit starts, against a table of constraints,
and every failure reads the same way::

    The 'alpha' parameter of MLPClassifier must be a float in the range [0, inf).
    Got -1 instead.
"""

import math
import numbers

import numpy as np
from sklearn.utils import check_array


class InvalidParameterError(ValueError, TypeError):
    """A parameter has a value or type outside its constraints.

    Subclasses both ``ValueError`` and ``TypeError``, as scikit-learn's does.
    """


class Interval:
    """A number of ``kind`` (``numbers.Integral`` or ``numbers.Real``) in a range."""

    def __init__(self, kind, left, right, closed):
        self.kind, self.left, self.right, self.closed = kind, left, right, closed

    def accepts(self, value):
        if isinstance(value, bool) or not isinstance(value, self.kind):
            return False
        if isinstance(value, float) and math.isnan(value):
            return False
        left_ok = self.left is None or (
            value >= self.left if self.closed in ("left", "both") else value > self.left
        )
        right_ok = self.right is None or (
            value <= self.right if self.closed in ("right", "both") else value < self.right
        )
        return left_ok and right_ok

    def __str__(self):
        kind = "an int" if self.kind is numbers.Integral else "a float"
        lo = "-inf" if self.left is None else self.left
        hi = "inf" if self.right is None else self.right
        lb = "[" if self.closed in ("left", "both") and self.left is not None else "("
        rb = "]" if self.closed in ("right", "both") and self.right is not None else ")"
        return f"{kind} in the range {lb}{lo}, {hi}{rb}"


class OneOf:
    """One of a fixed set of values."""

    def __init__(self, *options, kind="str"):
        self.options, self.kind = options, kind

    def accepts(self, value):
        # numpy scalars count as their Python kind: np.str_('sgd') from a numpy
        # param_grid is 'sgd', as scikit-learn takes it
        return any(value is o or (isinstance(value, type(o)) and value == o)
                   for o in self.options)

    def __str__(self):
        return f"a {self.kind} among {{{', '.join(repr(o) for o in self.options)}}}"


class Boolean:
    def accepts(self, value):
        return isinstance(value, (bool, np.bool_))

    def __str__(self):
        return "a bool"


class RandomState:
    def accepts(self, value):
        if value is None or isinstance(value, np.random.RandomState):
            return True
        return Interval(numbers.Integral, 0, 2**32 - 1, "both").accepts(value)

    def __str__(self):
        return "an int in the range [0, 4294967295], a numpy.random.RandomState or None"


class OneOrMany:
    """A number an :class:`Interval` accepts, or a sequence of such numbers."""

    def __init__(self, each):
        self.each = each

    def accepts(self, value):
        if self.each.accepts(value):
            return True
        try:
            return not isinstance(value, str) and all(self.each.accepts(v) for v in value)
        except TypeError:
            return False

    def __str__(self):
        return f"{self.each} or a sequence of such {str(self.each).split()[1]}s"


def LayerSizes():  # noqa: N802 (a constraint, named as the others are)
    """An int >= 1, or a sequence of them (possibly empty: no hidden layer)."""
    return OneOrMany(Interval(numbers.Integral, 1, None, "left"))


def Rates():  # noqa: N802
    """A rate in [0, 1), or a sequence of them (one per hidden layer)."""
    return OneOrMany(Interval(numbers.Real, 0, 1, "left"))


def dropout_rates(dropout, solver, n_hidden):
    """One dropout rate per hidden layer, from a rate or a sequence of them.

    Examples
    --------
    >>> dropout_rates(0.5, "adam", 2), dropout_rates([0.5, 0.0], "sgd", 2)
    ((0.5, 0.5), (0.5, 0.0))
    """
    rates = ((float(dropout),) * n_hidden if isinstance(dropout, numbers.Real)
             else tuple(float(r) for r in dropout))
    if len(rates) != n_hidden:
        raise ValueError(
            f"dropout={dropout!r} gives {len(rates)} rate(s) for {n_hidden} hidden "
            "layer(s): give one rate for every hidden layer, or a single rate.")
    if any(rates) and solver == "lbfgs":
        raise ValueError(
            "dropout needs a stochastic solver: solver='lbfgs' minimises one fixed loss, "
            "which dropping units at random would change at every evaluation. Use "
            "solver='adam' or 'sgd', or dropout=0.")
    return rates


class Verbose:
    def accepts(self, value):
        return isinstance(value, (bool, np.bool_)) or Interval(
            numbers.Integral, 0, None, "left"
        ).accepts(value)

    def __str__(self):
        return "a bool or an int in the range [0, inf)"


def _describe(constraints):
    parts = [str(c) for c in constraints]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1]


def validate_params(params, constraints, owner):
    """Raise :class:`InvalidParameterError` for the first parameter out of bounds.

    Examples
    --------
    >>> validate_params({"alpha": -1}, {"alpha": [Interval(float, 0, None, "left")]}, "X")
    Traceback (most recent call last):
    ...
    dasknn.estimators.validation.InvalidParameterError: The 'alpha' parameter of X must be a \
float in the range [0, inf). Got -1 instead.
    """
    for name, allowed in constraints.items():
        value = params[name]
        if not any(c.accepts(value) for c in allowed):
            raise InvalidParameterError(
                f"The {name!r} parameter of {owner} must be {_describe(allowed)}. "
                f"Got {value!r} instead."
            )


def check_sample_weight(sample_weight, n_samples, dtype):
    """Return sample weights as a 1-D array of ``dtype`` and length ``n_samples``, or None
    (``dtype=None``: float32 and float64 weights keep their dtype, others become float64).

    A scalar weights every row alike. Weights must be finite and not all zero.
    """
    if sample_weight is None:
        return None
    if dtype is None:  # scikit-learn's rule: float32 or float64 weights keep their dtype
        given = getattr(sample_weight, "dtype", None)
        dtype = given if given in (np.float32, np.float64) else np.float64
    if np.isscalar(sample_weight):
        sw = np.full(n_samples, sample_weight, dtype=dtype)
    else:
        sw = check_array(sample_weight, ensure_2d=False, dtype=dtype, order="C",
                         input_name="sample_weight")
    if sw.ndim != 1 or sw.shape[0] != n_samples:
        raise ValueError(
            f"sample_weight has shape {sw.shape} but X has {n_samples} samples: pass "
            f"one weight per row of X, as a 1-D array of shape ({n_samples},)."
        )
    refuse_zero_weights(bool(np.any(sw != 0)))
    return sw


def refuse_zero_weights(any_nonzero):
    """Raise scikit-learn's error unless some sample weight is non-zero."""
    if not any_nonzero:
        raise ValueError(
            "Sample weights must contain at least one non-zero number: "
            "every row of sample_weight is zero."
        )
