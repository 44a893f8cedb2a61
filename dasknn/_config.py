"""The plain training configuration the estimators hand to a training loop.

The loops (in-process and distributed) read this object, never an estimator, so
they know nothing of scikit-learn's parameter handling.
"""

from typing import NamedTuple

from ._network import Network
from ._optimizers import Hyper


class Config(NamedTuple):
    """Everything a training loop needs besides data, parameters and randomness."""

    net: Network
    hyper: Hyper
    max_iter: int
    batch_size: object  # "auto" or int
    shuffle: bool
    tol: float
    n_iter_no_change: float
    early_stopping: bool
    validation_fraction: float
    stratify: bool  # stratify the early-stopping split (binary classification)
    verbose: int
    max_fun: int = 15000
    progress: bool = False  # show a progress bar over epochs
