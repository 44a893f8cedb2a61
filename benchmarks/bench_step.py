"""Where a minibatch step's time goes: GEMMs alone, the kernel in a plain process,
and the same kernel inside Dask workers.

Usage
-----
From the repository root, on an otherwise idle machine::

    python benchmarks/bench_step.py

Quick check of the mechanics::

    python benchmarks/bench_step.py --steps 50 --repeat 2

What it measures (benchmark MLP 100-256-128-10, ReLU, softmax, adam, batch 256,
float32, one BLAS thread unless said otherwise), each as the median over
``--repeat`` timings of ``--steps`` steps on random rows:

gemms
    The eight products of one step (three forward, three weight gradients, two
    error propagations) alone, with their GFLOP/s.
kernel exact / fast
    ``dasknn.maths.kernel.Kernel.run`` in this process, ``exact=True`` (in-process
    fits) and ``exact=False`` (what workers run).
kernel fast, 2 BLAS threads
    The same with two BLAS threads (why workers keep one).
kernel fast, 2 processes side by side
    Two plain processes at once, to separate core contention from Dask.
kernel fast, in 2 Dask workers side by side
    The same loop submitted to a 2-worker ``LocalCluster`` (one thread each), once
    with the workers' sampling profiler on (Dask's default) and once off.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

UNITS = (100, 256, 128, 10)
BATCH = 256


def _problem(steps, seed=0):
    from array_api_compat import numpy as xp

    from dasknn.maths.network import Layout, Network
    from dasknn.maths.optimizers import Hyper, init

    rng = np.random.RandomState(seed)
    X = rng.standard_normal((steps * BATCH, UNITS[0])).astype(np.float32)
    Y = np.eye(UNITS[-1], dtype=np.float32)[rng.randint(0, UNITS[-1], steps * BATCH)]
    net = Network(Layout(UNITS), "relu", "softmax", "log_loss", 1e-4)
    hyper = Hyper("adam", 1e-3)
    params = rng.uniform(-0.05, 0.05, net.layout.n_params).astype(np.float32)
    order = rng.permutation(X.shape[0])
    batches = [order[i : i + BATCH] for i in range(0, X.shape[0], BATCH)]
    return X, Y, net, hyper, params, init(params, hyper, xp), batches


def kernel_ms(steps=700, repeat=5, exact=False, threads=1):
    """Median milliseconds a step of ``Kernel.run`` over ``steps`` batches."""
    from threadpoolctl import threadpool_limits

    from dasknn.maths import kernel as _kernel
    from dasknn.distributed.heap import roomy_heap

    X, Y, net, hyper, params, state, batches = _problem(steps)
    times = []
    with threadpool_limits(threads, user_api="blas"), roomy_heap():  # as a round task
        warm = np.ones((1024, 1024), np.float32)
        warm @ warm
        kernel = _kernel.Kernel(net, hyper, BATCH, UNITS[-1], np.float32, exact=exact)
        for _ in range(repeat):
            tic = time.perf_counter()
            kernel.run(params, state, X, Y, None, batches)
            times.append((time.perf_counter() - tic) / len(batches) * 1e3)
    return statistics.median(times)


def gemm_ms(repeat=5, n=500):
    """Median milliseconds of one step's eight GEMMs, and their GFLOP/s."""
    from threadpoolctl import threadpool_limits

    rng = np.random.RandomState(0)
    W = [rng.standard_normal((i, o)).astype(np.float32) for i, o in zip(UNITS, UNITS[1:])]
    X = rng.standard_normal((BATCH, UNITS[0])).astype(np.float32)
    acts = [np.empty((BATCH, o), np.float32) for o in UNITS[1:]]
    grads = [np.empty_like(w) for w in W]

    def step():
        a = X
        for w, out in zip(W, acts):
            a = np.matmul(a, w, out=out)
        delta = acts[-1]
        for i in range(len(W) - 1, -1, -1):
            np.matmul((X if i == 0 else acts[i - 1]).T, delta, out=grads[i])
            if i:
                delta = delta @ W[i].T

    flops = 2 * BATCH * (2 * sum(i * o for i, o in zip(UNITS, UNITS[1:]))
                         + sum(i * o for i, o in zip(UNITS[1:], UNITS[2:])))
    times = []
    with threadpool_limits(1, user_api="blas"):
        warm = np.ones((1024, 1024), np.float32)
        warm @ warm
        for _ in range(repeat):
            tic = time.perf_counter()
            for _ in range(n):
                step()
            times.append((time.perf_counter() - tic) / n * 1e3)
    ms = statistics.median(times)
    return ms, flops / ms / 1e6


def side_by_side(steps, repeat):
    """Two plain processes running the fast kernel at once; their medians."""
    code = (f"import sys; sys.path.insert(0, {os.path.dirname(__file__)!r}); "
            f"import bench_step; print(bench_step.kernel_ms({steps}, {repeat}))")
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
             for _ in range(2)]
    return [float(p.communicate()[0].split()[-1]) for p in procs]


def in_workers(steps, repeat, profile):
    """The fast kernel in each worker of a 2-worker LocalCluster, at once."""
    import dask
    from distributed import Client, LocalCluster

    with dask.config.set({"distributed.worker.profile.enabled": profile}), \
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                         dashboard_address=None) as cluster, Client(cluster) as client:
        workers = sorted(client.nthreads())
        client.run(kernel_ms, 20, 1)  # imports and a warm BLAS
        futures = [client.submit(kernel_ms, steps, repeat, workers=[w], pure=False)
                   for w in workers]
        return client.gather(futures)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=700)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--json", metavar="PATH")
    args = p.parse_args(argv)
    s, r = args.steps, args.repeat
    gemm, gflops = gemm_ms(r)
    out = {
        "gemms alone (ms)": gemm,
        "gemms GFLOP/s": gflops,
        "kernel exact (ms)": kernel_ms(s, r, exact=True),
        "kernel fast (ms)": kernel_ms(s, r),
        "kernel fast, 2 BLAS threads (ms)": kernel_ms(max(1, s // 10), r, threads=2),
        "kernel fast, 2 processes side by side (ms)": side_by_side(s, r),
        "kernel fast, in 2 Dask workers, profiler on (ms)": in_workers(s, r, True),
        "kernel fast, in 2 Dask workers, profiler off (ms)": in_workers(s, r, False),
    }
    for name, value in out.items():
        shown = ", ".join(f"{v:.3f}" for v in value) if isinstance(value, list) else f"{value:.3f}"
        print(f"{name:<52} {shown}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)


if __name__ == "__main__":
    main()
