"""What a fit carries from epoch to epoch, and from one fit to the next."""

from dataclasses import dataclass, field

from ..maths import stopping


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
    history: list = field(default_factory=list)  # one plain dict per epoch
