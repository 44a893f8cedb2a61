"""Scores from sufficient statistics, so that parts of the data can be scored apart
and combined: accuracy from correct counts, R^2 from weight, mean, M2 and squared
error per output (merged with the parallel variance formula)."""

import numpy as np

from .activations import special


def statistics(pred, Y, w, classifier, thresholded):
    """Statistics of predictions ``pred`` (output activations, host) against encoded
    targets ``Y`` with weights ``w``
    (``thresholded``: logistic outputs compared with 0.5, else the largest output wins).

    Classifiers: ``(weighted correct, total weight)``; regressors, per output:
    ``(weight, mean, M2, weighted squared error)``; the string ``"nan"`` when a
    prediction is not finite.

    Examples
    --------
    >>> Y = np.array([[1.0], [2.0], [3.0]])
    >>> combine([statistics(Y + 1, Y, np.ones(3), False, False)], False)
    -0.5
    """
    if not np.isfinite(pred).all():
        return "nan"
    if classifier:
        if thresholded:  # binary or multilabel: one logistic output per label
            correct = ((pred > 0.5) == (Y > 0.5)).all(axis=1)
        else:
            correct = pred.argmax(axis=1) == Y.argmax(axis=1)
        return np.array([np.dot(w, correct), w.sum()])
    total = w.sum()
    mean = (w @ Y) / total
    m2 = w @ (Y - mean) ** 2
    sse = w @ (Y - pred) ** 2
    return np.stack([np.full_like(mean, total), mean, m2, sse])


def _merge(a, b):
    wa, ma, m2a, sa = a
    wb, mb, m2b, sb = b
    w = wa + wb
    delta = mb - ma
    return np.stack([w, ma + delta * wb / w, m2a + m2b + delta**2 * wa * wb / w, sa + sb])


def combine(stats, classifier):
    """The score from the statistics of several parts (None entries: parts without rows)."""
    stats = [s for s in stats if s is not None]
    if any(isinstance(s, str) for s in stats):
        return np.nan
    if classifier:
        correct, total = np.sum(stats, axis=0)
        return float(correct / total)
    merged = stats[0]
    for s in stats[1:]:
        merged = _merge(merged, s)
    _, _, sst, sse = merged
    return r2(sst, sse)


def r2(sst, sse):
    """R^2 averaged over outputs from total and residual sums of squares per output;
    an output without variance scores 1 when predicted exactly, else 0 (scikit-learn's
    convention).

    Examples
    --------
    >>> r2(np.array([4.0, 0.0]), np.array([1.0, 0.0]))
    0.875
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        per_output = np.where(sst > 0, 1 - sse / sst, np.where(sse > 0, 0.0, 1.0))
    return float(np.mean(per_output))


def constant_loss(loss, mean, mean_square):
    """The training loss of the best constant prediction, from the targets' (encoded,
    weighted) column means and mean squares: the entropy of the class frequencies for
    the log-losses, half the variance (averaged over outputs) for the squared error.

    Examples
    --------
    >>> round(constant_loss("log_loss", np.array([0.5, 0.5]), None), 4)
    0.6931
    >>> constant_loss("squared_error", np.array([1.0]), np.array([5.0]))
    2.0
    """
    mean = np.asarray(mean, dtype=np.float64)
    if loss == "squared_error":
        return float(0.5 * np.mean(np.asarray(mean_square) - mean**2))
    xlogy = special().xlogy
    terms = -xlogy(mean, mean)
    if loss == "binary_log_loss":
        terms = terms - xlogy(1 - mean, 1 - mean)
    return float(np.sum(terms))
