"""The 0.1.0.dev0 path of the stopping state, named by models saved then (kept for one release)."""

from .maths.stopping import Progress  # noqa: F401
