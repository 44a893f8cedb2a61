"""When to stop: scikit-learn's no-improvement rule as pure functions on plain data.

Each epoch either the training loss (``best_loss``) or the validation score
(``best_validation_score``, with early stopping) is compared with the best so far;
``no_improvement_count`` counts the epochs in a row that did not improve by ``tol``.
"""

from typing import NamedTuple


class Progress(NamedTuple):
    """What the stopping rule remembers between epochs (and between fits)."""

    no_improvement_count: int
    best_loss: float | None
    best_validation_score: float | None


def start(early_stopping):
    """Progress before the first epoch."""
    if early_stopping:
        return Progress(0, None, -float("inf"))
    return Progress(0, float("inf"), None)


def after_loss(progress, loss, tol):
    """Update on a training loss; lower is better."""
    count = progress.no_improvement_count + 1 if loss > progress.best_loss - tol else 0
    best = loss if loss < progress.best_loss else progress.best_loss
    return progress._replace(no_improvement_count=count, best_loss=best)


def after_score(progress, score, tol):
    """Update on a validation score; return ``(progress, improved)``.

    A NaN score does not improve and resets the stall counter, as in scikit-learn.
    """
    best = progress.best_validation_score
    count = progress.no_improvement_count + 1 if score < best + tol else 0
    improved = score > best
    progress = progress._replace(
        no_improvement_count=count, best_validation_score=score if improved else best
    )
    return progress, improved


def stalled(progress, n_iter_no_change):
    """True once more than ``n_iter_no_change`` epochs in a row did not improve."""
    return progress.no_improvement_count > n_iter_no_change


def reset(progress):
    """Clear the stall counter (after the learning rate was lowered)."""
    return progress._replace(no_improvement_count=0)
