"""Shared fixtures: a real multi-process Dask cluster (never a mock)."""

import os
import shutil
import subprocess
import sys
import types

import pytest
from cluster_utils import wait_for


@pytest.fixture(scope="session")
def client():
    """A 2-worker, 1-thread-each LocalCluster with worker processes (nannies)."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=":0")
    with distributed.Client(cluster) as c:
        yield c
    cluster.close()


@pytest.fixture
def cli_cluster(tmp_path):
    """A scheduler (preloading dasknn's dashboard page) and two 1-thread workers started
    from the command line on 127.0.0.1: its ``scheduler_file``, and the ``scheduler``'s
    process."""
    dask_cmd = shutil.which("dask", path=os.path.dirname(sys.executable)) or shutil.which("dask")
    if dask_cmd is None:
        pytest.skip("the `dask` command line is not installed")
    scheduler_file = tmp_path / "scheduler.json"
    env = dict(os.environ, DASK_DISTRIBUTED__WORKER__DAEMON="False")
    procs = [subprocess.Popen([dask_cmd, "scheduler", "--host", "127.0.0.1", "--port", "0",
                               "--dashboard-address", ":0", "--preload", "dasknn.dashboard",
                               "--scheduler-file", str(scheduler_file)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)]
    try:
        wait_for(scheduler_file.exists)
        procs.append(subprocess.Popen(
            [dask_cmd, "worker", "--scheduler-file", str(scheduler_file), "--nworkers", "2",
             "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env))
        yield types.SimpleNamespace(scheduler_file=str(scheduler_file), scheduler=procs[0])
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
