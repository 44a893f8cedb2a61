"""The distributed engine: Dask input checks, where tasks run, planning, worker
tasks, the held and streamed data strategies, lazy prediction and cluster scores.

It knows nothing of scikit-learn's estimators nor of the dashboard: it reads a
:class:`~dasknn.training.config.Config` and calls the hooks it is given.
"""
