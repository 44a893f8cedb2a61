"""dasknn: scikit-learn's multi-layer perceptrons, trained data-parallel on Dask."""

import sys

from . import dashboard as _dashboard  # registers the dashboard page  # noqa: F401
from .estimators import MLPClassifier, MLPRegressor
from .maths import optimizers as _optimizers
from .maths import stopping as _stopping
from .persist import load, save

__all__ = ["MLPClassifier", "MLPRegressor", "load", "save"]
__version__ = "0.1.0.dev0"

# Module paths of 0.1.0.dev0 that saved models (pickle, skops) name, kept for one
# release so that those models still load: the old path is the new module.
_LEGACY = {"_mlp": "dasknn.estimators",
           "_optimizers": _optimizers.__name__, "_stopping": _stopping.__name__}
for _old, _new in _LEGACY.items():
    sys.modules.setdefault(f"{__name__}.{_old}", sys.modules[_new])
