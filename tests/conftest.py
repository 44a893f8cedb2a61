"""Shared fixtures: a real multi-process Dask cluster (never a mock)."""

import pytest


@pytest.fixture(scope="session")
def client():
    """A 2-worker, 1-thread-each LocalCluster with worker processes (nannies)."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=":0")
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()
