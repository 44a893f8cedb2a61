"""The 0.1.0.dev0 path of the optimizer states, named by models saved then (kept for one release)."""

from .maths.optimizers import AdamState, SGDState  # noqa: F401
