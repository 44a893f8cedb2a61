"""The plain training configuration the estimators hand to a training loop.

The loops (in-process and distributed) read this object, never an estimator, so
they know nothing of scikit-learn's parameter handling.
"""

from typing import NamedTuple

from ..maths.network import Network
from ..maths.optimizers import Hyper


class Config(NamedTuple):
    """Everything a training loop needs besides data, parameters and randomness.

    Build it with keywords: many of its fields are numbers or flags that a positional
    call would swap without complaint.
    """

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


def check_validation_size(n_val, cfg, n_samples=None):
    """Refuse an early-stopping validation set of fewer than 2 rows."""
    if not cfg.early_stopping or n_val >= 2:
        return
    of = " rows" if n_samples is None else f" of {n_samples} samples"
    raise ValueError(
        "The validation set is too small: early_stopping=True with "
        f"validation_fraction={cfg.validation_fraction} keeps {n_val}{of} for "
        "validation. Increase 'validation_fraction' or the size of your dataset, or set "
        "early_stopping=False."
    )
