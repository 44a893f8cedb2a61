"""Data-parallel training: dasknn on a Dask cluster against dask-ml, scikit-learn and
PyTorch, with the goals' ratios, the scaling model, the GEMM ceiling and the cold start.

Usage, from the repository root on an otherwise idle machine (about 8 minutes on
2 cores)::

    python benchmarks/bench_distributed.py --json benchmarks/results/distributed.json

The report of a saved run again, measuring nothing::

    python benchmarks/bench_distributed.py --report benchmarks/results/distributed.json

Where a training step's time goes, in a plain process and in Dask workers::

    python benchmarks/bench_distributed.py --step

Quick checks of the mechanics::

    python benchmarks/bench_distributed.py --n-samples 20000 --epochs 1 --repeat 0 \
        --tta-epochs 0
    python benchmarks/bench_distributed.py --step --steps 50

Contenders (``--only``), on the benchmark data and MLP of ``common`` in float32
-----------------------------------------------------------------------------------
dasknn, dasknn-1w, dasknn-3w, dasknn-1w2t
    ``dasknn.MLPClassifier().fit(dX, dy)`` with its defaults on a
    ``LocalCluster(processes=True)`` of 2, 1 and 3 workers of one thread, and of one
    worker of 2 threads (a shard per thread, trained side by side).
dask-ml
    ``Incremental(sklearn MLPClassifier, shuffle_blocks=False)`` on a 2-worker cluster:
    ``fit`` once, then ``partial_fit`` for each further pass.
sklearn
    scikit-learn on the numpy rows, BLAS threads as they are.
torch, torch-glorot
    PyTorch on CPU with 2 threads: the same layers, cross-entropy, Adam, scikit-learn's
    L2 term, batches reshuffled every epoch; from PyTorch's own initialisation
    (``torch``) or from scikit-learn's initial model (``torch-glorot``).
gemm, cold-start
    One thread's float32 GEMM ceiling (square products and the MLP's own step), and
    the seconds a fresh process spends on ``import dasknn``, ``from dasknn import
    MLPClassifier``, a worker's imports for its first task and ``dasknn --help``.

Every Dask contender gets a cluster started for it, nothing imported or warmed on its
workers: its first fit is the headline (what a user feels); ``--repeat`` warm fits on
the same cluster follow and are reported beside it (their median). The training rows
become ``--blocks`` row blocks persisted on the cluster before timing. Each group runs
in its own fresh subprocess, one after the other; a group that fails is reported as
FAILED with its traceback while the others still run. ``dasknn x`` is dasknn's
samples/s on 2 workers over the contender's. The 2-worker dasknn also times
``predict`` of the training rows on the cluster, scikit-learn of the same rows.

Below the table: dasknn's ratios against each goal (judged at the default size only),
the share of the GEMM ceiling it reaches, and the scaling model ``T(W) = N c / min(W,
cores) + R(W) (a + b W)`` (docs/benchmarks.md), fitted on the 1- and 2-worker runs and
checked against the 1-, 2- and 3-worker runs.

Time to accuracy: after its timed fits, each contender (on the same cluster, in the
same process) trains once more for ``--tta-epochs`` epochs (default twice
``--epochs``; 0: none), its model copied at each epoch's end and scored on the test
rows after the fit, so evaluation takes no training time. Its time to accuracy is the
seconds from the start of that fit until the end of the first epoch whose model reaches
scikit-learn's test accuracy of its first fit in the same run (the target), or "not
reached". dasknn's models come from a hook of its epoch driver (the seconds until an
epoch's model reached the client), scikit-learn's from its per-epoch bookkeeping in a
subclass (the fit unchanged: its epochs' models are ``fit``'s), dask-ml's after each
pass, PyTorch's after each epoch of the same loop.
"""

import argparse
import contextlib
import json
import math
import os
import statistics
import subprocess
import sys
import time
import traceback

import numpy as np

import common
from common import BATCH, UNITS

CONTENDERS = ("dasknn", "dasknn-1w", "dasknn-1w2t", "dasknn-3w", "dask-ml", "sklearn",
              "torch", "torch-glorot")
PARTS = ("gemm", "cold-start")
GROUPS = (  # (subprocess group, contenders it runs), in run order
    ("cluster-2", ("dasknn", "dask-ml")),
    ("cluster-1", ("dasknn-1w",)),
    ("cluster-1x2", ("dasknn-1w2t",)),
    ("cluster-3", ("dasknn-3w",)),
    ("sklearn", ("sklearn",)),
    ("torch", ("torch",)),
    ("torch-glorot", ("torch-glorot",)),
)
SETUPS = {
    "dasknn": "2 workers x 1 thread",
    "dasknn-1w": "1 worker x 1 thread",
    "dasknn-1w2t": "1 worker x 2 threads",
    "dasknn-3w": "3 workers x 1 thread",
    "dask-ml": "2 workers x 1 thread",
    "sklearn": "numpy, BLAS threads {blas_threads}",
    "torch": "CPU, {torch_threads} threads",
    "torch-glorot": "CPU, {torch_threads} threads, sklearn init",
}
GOALS = {
    "2 workers vs sklearn (2 threads)": 1.5,
    "2 workers vs PyTorch (2 threads)": 1.2,
    "2 workers, warm fit / first fit": 1 / 1.3,
    "2 workers vs dask-ml Incremental": 6.0,
    "GEMM ceiling share, epoch wall time": 0.60,
    "dask predict vs sklearn predict": 1.5,
}


# -------------------------------------------------------------- contenders (workers)
def result(name, seconds, n_train, epochs, accuracy, **extra):
    """The result record of one fit."""
    return {"name": name, "fit_s": seconds, "s_per_epoch": seconds / epochs,
            "samples_per_s": n_train * epochs / seconds, "accuracy": accuracy, **extra}


def run_dasknn(name, dX, dy, test, epochs):
    """Fit dasknn on the Dask arrays (and time the 2-worker contender's predict)."""
    from dasknn import MLPClassifier

    clf = MLPClassifier(**common.mlp_params(epochs))
    _, seconds = common.timed(lambda: clf.fit(dX, dy))
    history = list(clf.history_)
    shares = [h["sync_share"] for h in history if h.get("sync_share") is not None]
    extra = {"predict_s": common.best_time(lambda: clf.predict(dX).compute()),
             "predict_rows": int(dX.shape[0])} if name == "dasknn" else {}
    return result(name, seconds, dX.shape[0], epochs, float(clf.score(*test)),
                  sync_share=float(np.mean(shares)) if shares else None,
                  rounds=history[-1]["rounds"] if history else None, history=history,
                  **extra)


def run_daskml(name, dX, dy, test, epochs):
    """Train dask-ml's ``Incremental`` for ``epochs`` passes."""
    from sklearn.neural_network import MLPClassifier

    classes = np.unique(dy.compute())  # before timing, as dasknn finds them itself
    inc, passes = common.daskml_passes(MLPClassifier(**common.mlp_params(epochs)), dX, dy,
                                       epochs, classes=classes)
    return result(name, sum(passes), dX.shape[0], epochs, float(inc.estimator_.score(*test)),
                  pass_s=passes)


def guarded(name, run, *args, **extra):
    """``run(*args)`` with ``extra`` added, or an error record if it raised."""
    try:
        return {**run(*args), **extra}
    except Exception:
        return {"name": name, "error": traceback.format_exc(limit=8), **extra}


def with_warm(first, warm):
    """``first`` with the warm fits' times and accuracies beside it (or the first
    error record of either)."""
    failed = [r for r in [first, *warm] if "error" in r]
    if failed:
        return failed[0]
    return {**first, "warm_fit_s": [w["fit_s"] for w in warm],
            "warm_accuracy": [w["accuracy"] for w in warm]}


def fresh_cluster_fits(name, n_workers, threads, args):
    """Start a cluster for ``name``, place the data, fit once on the fresh cluster and
    ``args.repeat`` times warm on the same cluster."""
    X_train, X_test, y_train, y_test = common.make_data(args.n_samples)
    run = run_daskml if name == "dask-ml" else run_dasknn
    (cluster, client), cluster_s = common.timed(lambda: start_cluster(n_workers, threads))
    with cluster, client:
        common.quiet_workers(client)  # imports nothing: the workers stay as started
        (dX, dy), data_s = common.timed(
            lambda: common.to_dask(X_train, y_train, args.blocks, client))
        fit = [name, run, name, dX, dy, (X_test, y_test), args.epochs]
        first = guarded(*fit, cluster_start_s=cluster_s, data_placement_s=data_s,
                        blocks_per_worker=blocks_per_worker(client, dX))
        warm = [guarded(*fit) for _ in range(args.repeat)]
        first["blas_threads"] = sorted({tuple(t or ()) for t in
                                        client.run(common.blas_threads).values()})
        curve = daskml_curve if name == "dask-ml" else dasknn_curve
        return with_curve(with_warm(first, warm), curve, dX, dy, (X_test, y_test),
                          args.tta_epochs)


def start_cluster(n_workers, threads):
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=threads, processes=True,
                           dashboard_address=":0")
    return cluster, Client(cluster)


def blocks_per_worker(client, dX):
    """How many blocks of ``dX`` each worker holds, most first."""
    from collections import Counter

    held = Counter(w for ws in client.who_has(dX).values() for w in ws)
    return sorted(held.values(), reverse=True)


def sklearn_fit(args):
    """scikit-learn on the numpy rows in this process, BLAS warmed."""
    from sklearn.neural_network import MLPClassifier

    X_train, X_test, y_train, y_test = common.make_data(args.n_samples)
    clf = MLPClassifier(**common.mlp_params(args.epochs))
    common.warm_blas()
    _, seconds = common.timed(lambda: clf.fit(X_train, y_train))
    return result("sklearn", seconds, X_train.shape[0], args.epochs,
                  float(clf.score(X_test, y_test)), blas_threads=common.blas_threads(),
                  predict_s=common.best_time(lambda: clf.predict(X_train)),
                  predict_rows=int(X_train.shape[0]))


def torch_setup(args, name):
    """PyTorch on CPU with 2 threads: ``(torch, model, fit, test, n_train)``, the model
    from PyTorch's initialisation ('torch') or scikit-learn's ('torch-glorot');
    ``fit(epochs, after_epoch=None)`` trains it on the training rows (their tensors
    made inside)."""
    import torch

    torch.set_num_threads(2)
    X_train, X_test, y_train, y_test = common.make_data(args.n_samples)
    model = common.torch_mlp(torch, glorot=name == "torch-glorot")
    train = common.torch_trainer(torch, model)

    def fit(epochs, after_epoch=None):
        train(torch.from_numpy(X_train), torch.from_numpy(y_train).long(), epochs,
              after_epoch)

    return torch, model, fit, (X_test, y_test), X_train.shape[0]


def torch_accuracy(torch, model, test):
    """The model's accuracy on the ``test`` rows and labels."""
    with torch.no_grad():
        pred = model(torch.from_numpy(test[0])).argmax(1).numpy()
    return float((pred == test[1]).mean())


def torch_fit(args, name):
    """PyTorch on CPU with 2 threads ('torch-glorot': from scikit-learn's initial model)."""
    torch, model, fit, test, n_train = torch_setup(args, name)
    _, seconds = common.timed(lambda: fit(args.epochs))
    return result(name, seconds, n_train, args.epochs, torch_accuracy(torch, model, test),
                  torch_threads=torch.get_num_threads())


def worker(group, names, args):
    """Run one subprocess group; return its results."""
    common.quiet()
    if group == "gemm":
        return gemm_rates()
    if group.startswith("cluster-"):  # cluster-<workers>[x<threads>]
        n_workers, _, threads = group.split("-")[1].partition("x")
        return [fresh_cluster_fits(name, int(n_workers), int(threads or 1), args)
                for name in names]
    run, curve, extra = ((sklearn_fit, sklearn_curve, ()) if group == "sklearn" else
                         (torch_fit, torch_curve, (group,)))
    first = guarded(group, run, args, *extra)
    fits = with_warm(first, [guarded(group, run, args, *extra) for _ in range(args.repeat)])
    return [with_curve(fits, curve, args, *extra, args.tta_epochs)]


# ------------------------------------------------------ time to accuracy (workers)
class EpochModels:
    """Each epoch's model of one fit, copied with ``copy(*model)`` as the epoch ends
    (``take``), and the seconds of training from ``start`` until then, its own copying
    excluded."""

    def __init__(self, copy):
        self.copy, self.models, self.seconds, self.setup_s = copy, [], [], None
        self.start()

    def start(self):
        self.t0, self.spent = time.perf_counter(), 0.0

    def take(self, *model):
        now = time.perf_counter()
        self.models.append(self.copy(*model))
        self.seconds.append(now - self.t0 - self.spent)
        self.spent += time.perf_counter() - now

    def curve(self, score, **extra):
        """The time-to-accuracy record: each epoch's seconds of training and test
        accuracy (``score(model)``, evaluated now, after the fit), ``extra`` added."""
        return {"seconds": self.seconds, "accuracy": [float(score(m)) for m in self.models],
                **extra}


def with_curve(r, run, *args):
    """``r`` with ``run(*args)``'s time-to-accuracy record (or its error) as its
    ``curve``; unchanged when ``r`` failed or the last argument, the epochs, is 0."""
    if args[-1] and "error" not in r:
        r["curve"] = guarded(r["name"], run, *args)
    return r


def weights(est):
    """Copies of a fitted MLP's weights and biases."""
    return [c.copy() for c in est.coefs_], [b.copy() for b in est.intercepts_]


def scored_as(est, model, test):
    """The accuracy on ``test`` of the fitted MLP ``est`` given ``model``'s weights and
    biases."""
    est.coefs_, est.intercepts_ = model
    return est.score(*test)


class DriverHook:
    """A hook of dasknn's epoch driver (``begin``, ``epoch_end``, ``end``): hands
    ``models`` the training state at each epoch's end, notes the seconds before the
    first epoch."""

    def __init__(self, models, state):
        self.models, self.state = models, state

    def begin(self, fit):
        if self.models.setup_s is None:
            self.models.setup_s = time.perf_counter() - self.models.t0

    def epoch_end(self, record):
        self.models.take(self.state)

    def end(self):
        pass


@contextlib.contextmanager
def driver_hooked(models):
    """Within: every dasknn fit's epoch driver also runs a ``DriverHook`` of ``models``
    (wrapped in: the estimator takes no hooks, and ``history_`` holds no models)."""
    from dasknn.training import driver

    run = driver.run

    def hooked(state, source, cfg, fit, hooks=(), incremental=False):
        return run(state, source, cfg, fit, [*hooks, DriverHook(models, state)], incremental)

    driver.run = hooked
    try:
        yield
    finally:
        driver.run = run


def dasknn_curve(dX, dy, test, epochs):
    """dasknn for ``epochs`` epochs on the cluster, each epoch's model as it reached the
    client; with the seconds before the first epoch and ``history_``'s epoch seconds."""
    from dasknn import MLPClassifier
    from dasknn.maths.network import Layout, unpack

    clf = MLPClassifier(**common.mlp_params(epochs))
    models = EpochModels(lambda state: np.array(state.params))
    with driver_hooked(models):
        models.start()
        clf.fit(dX, dy)
    layout = Layout(UNITS)
    return models.curve(lambda p: scored_as(clf, unpack(p, layout, np), test),
                        setup_s=models.setup_s, epoch_s=[h["seconds"] for h in clf.history_])


def daskml_curve(dX, dy, test, epochs):
    """dask-ml's ``Incremental`` for ``epochs`` passes, the model copied after each;
    the seconds are the passes' own."""
    from sklearn.neural_network import MLPClassifier

    classes = np.unique(dy.compute())
    models = EpochModels(lambda inc: weights(inc.estimator_))
    inc, passes = common.daskml_passes(MLPClassifier(**common.mlp_params(epochs)), dX, dy,
                                       epochs, after_pass=models.take, classes=classes)
    return models.curve(lambda m: scored_as(inc.estimator_, m, test),
                        seconds=np.cumsum(passes).tolist())


def watched_mlp(models):
    """scikit-learn's MLPClassifier handing ``models`` itself at each epoch's end, from
    its per-epoch bookkeeping (``_update_no_improvement_count``, after the epoch's last
    step): its epochs stay ``fit``'s (``partial_fit`` reshuffles the identity each call
    and ``warm_start`` restarts Adam, so neither repeats them)."""
    from sklearn.neural_network import MLPClassifier

    class Watched(MLPClassifier):
        def _update_no_improvement_count(self, *args):
            super()._update_no_improvement_count(*args)
            models.take(self)

    return Watched


def sklearn_curve(args, epochs):
    """scikit-learn for ``epochs`` epochs on the numpy rows, each epoch's model copied."""
    X_train, X_test, y_train, y_test = common.make_data(args.n_samples)
    models = EpochModels(weights)
    clf = watched_mlp(models)(**common.mlp_params(epochs))
    models.start()
    clf.fit(X_train, y_train)
    return models.curve(lambda m: scored_as(clf, m, (X_test, y_test)))


def torch_curve(args, name, epochs):
    """PyTorch (as ``torch_fit``) for ``epochs`` epochs, each epoch's model copied."""
    torch, model, fit, test, _ = torch_setup(args, name)
    models = EpochModels(lambda: {k: v.clone() for k, v in model.state_dict().items()})
    models.start()
    fit(epochs, models.take)

    def score(state):
        model.load_state_dict(state)
        return torch_accuracy(torch, model, test)

    return models.curve(score)


# ----------------------------------------------------------- GEMM ceiling and a step
def step_flops(batch=BATCH, units=UNITS):
    """GEMM flops of one training step: forward, weight gradients, errors below."""
    pairs = list(zip(units[:-1], units[1:]))
    return 2 * batch * (2 * sum(i * o for i, o in pairs) + sum(i * o for i, o in pairs[1:]))


def gemm_step(rng):
    """A function running the eight GEMMs of one step of the benchmark MLP (three
    forward, three weight gradients, two errors to the layer below) into buffers."""
    W = [rng.standard_normal((i, o), dtype=np.float32) for i, o in zip(UNITS, UNITS[1:])]
    X = rng.standard_normal((BATCH, UNITS[0]), dtype=np.float32)
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

    return step


def gemm_rates(seconds=0.5):
    """One thread's warmed float32 GEMM throughput (FLOP/s): the best of square
    products (1024 and 2048), and the MLP's own step (``gemm_step``)."""
    from threadpoolctl import threadpool_limits

    def rate(call, flops):
        for _ in range(3):
            call()
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            call()
            n += 1
        return flops * n / (time.perf_counter() - start)

    rng = np.random.default_rng(0)
    with threadpool_limits(1, user_api="blas"):
        squares = [rng.standard_normal((n, n), dtype=np.float32) for n in (1024, 2048)]
        peak = max(rate(lambda a=a: a @ a, 2 * a.shape[0] ** 3)
                   for a in squares for _ in range(3))
        mlp = max(rate(gemm_step(rng), step_flops()) for _ in range(3))
    return {"peak": peak, "mlp_shapes": mlp}


def kernel_ms(steps, repeat=5, exact=False, threads=1):
    """Median milliseconds of a step of dasknn's training kernel over ``steps`` batches
    of random rows (``exact=False``: the kernel workers run)."""
    from array_api_compat import numpy as xp
    from threadpoolctl import threadpool_limits

    from dasknn.distributed.heap import roomy_heap
    from dasknn.maths.kernel import Kernel
    from dasknn.maths.network import Layout, Network
    from dasknn.maths.optimizers import Hyper, init

    rng = np.random.RandomState(0)
    X = rng.standard_normal((steps * BATCH, UNITS[0])).astype(np.float32)
    Y = np.eye(UNITS[-1], dtype=np.float32)[rng.randint(0, UNITS[-1], steps * BATCH)]
    net = Network(Layout(UNITS), "relu", "softmax", "log_loss", 1e-4)
    hyper = Hyper("adam", 1e-3)
    params = rng.uniform(-0.05, 0.05, net.layout.n_params).astype(np.float32)
    order = rng.permutation(X.shape[0])
    batches = [order[i:i + BATCH] for i in range(0, X.shape[0], BATCH)]
    times = []
    with threadpool_limits(threads, user_api="blas"), roomy_heap():  # as a round task
        warm = np.ones((1024, 1024), np.float32)
        warm @ warm
        kernel = Kernel(net, hyper, BATCH, UNITS[-1], np.float32, exact=exact)
        state = init(params, hyper, xp)
        for _ in range(repeat):  # no helper of common: this also runs on Dask workers
            start = time.perf_counter()
            kernel.run(params, state, X, Y, None, batches)
            times.append((time.perf_counter() - start) / len(batches) * 1e3)
    return statistics.median(times)


def side_by_side(steps):
    """The kernel in two plain processes at once: their medians."""
    code = (f"import sys; sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r});"
            f" import bench_distributed as b; print(b.kernel_ms({steps}))")
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                              text=True) for _ in range(2)]
    return [float(p.communicate()[0].split()[-1]) for p in procs]


def in_workers(steps, profile):
    """The kernel in each worker of a 2-worker LocalCluster at once, with the workers'
    sampling profiler on or off."""
    import dask
    from distributed import Client, LocalCluster

    with dask.config.set({"distributed.worker.profile.enabled": profile}), \
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                         dashboard_address=None) as cluster, Client(cluster) as client:
        client.run(kernel_ms, 20, 1)  # imports and a warm BLAS
        futures = [client.submit(kernel_ms, steps, workers=[w], pure=False)
                   for w in sorted(client.nthreads())]
        return client.gather(futures)


def step_probe(steps):
    """Milliseconds a step of the benchmark MLP takes, piece by piece."""
    gemm = gemm_rates()
    return {
        "GEMMs alone, 1 thread": step_flops() / gemm["mlp_shapes"] * 1e3,
        "kernel exact (in-process fits)": kernel_ms(steps, exact=True),
        "kernel fast (workers)": kernel_ms(steps),
        "kernel fast, 2 BLAS threads": kernel_ms(max(1, steps // 10), threads=2),
        "kernel fast, 2 processes side by side": side_by_side(steps),
        "kernel fast, in 2 Dask workers, profiler on": in_workers(steps, True),
        "kernel fast, in 2 Dask workers, profiler off": in_workers(steps, False),
    }, gemm


def format_step(times, gemm):
    lines = [f"{name:<46} {', '.join(f'{v:.3f}' for v in np.atleast_1d(ms))} ms"
             for name, ms in times.items()]
    return lines + [f"GEMM, 1 thread, float32: {gemm['peak'] / 1e9:.1f} GFLOP/s (square), "
                    f"{gemm['mlp_shapes'] / 1e9:.1f} on the MLP's step"]


# ---------------------------------------------------------------------- cold start
IMPORTS = {  # what a fresh process pays before its first line of work
    "client: import dasknn": "import dasknn",
    "client: from dasknn import MLPClassifier": "from dasknn import MLPClassifier",
    "worker: its first task's imports": "import dasknn.distributed.tasks",
}


def cold_start():
    """Seconds of each import of ``IMPORTS`` in a fresh process (timed inside it), and
    the wall time of ``dasknn --help``."""
    out = {}
    for name, statement in IMPORTS.items():
        code = (f"import time; t = time.perf_counter(); {statement}; "
                "print(time.perf_counter() - t)")
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              check=True, cwd=common.ROOT)
        out[name] = float(proc.stdout.split()[-1])
    _, out["dasknn --help (process wall time)"] = common.timed(lambda: subprocess.run(
        [sys.executable, "-m", "dasknn.cli", "--help"], capture_output=True, check=True,
        cwd=common.ROOT))
    return out


# --------------------------------------------------------------------------- driver
def run_group(group, names, args):
    """Run one group in a fresh subprocess; its results, or error records."""
    argv = [os.path.abspath(__file__), "--worker", group, "--only", ",".join(names),
            "--epochs", str(args.epochs), "--n-samples", str(args.n_samples),
            "--blocks", str(args.blocks), "--repeat", str(args.repeat),
            "--tta-epochs", str(args.tta_epochs)]
    try:
        return common.run_json(argv)
    except RuntimeError as err:
        return [{"name": n, "error": str(err)} for n in names]


def measure(args):
    """Every selected part, one after the other: the saved run's dict."""
    run = {"results": [], "gemm": None, "cold_start": None}
    if "gemm" in args.only:
        print("running gemm", file=sys.stderr, flush=True)
        run["gemm"] = common.run_json([os.path.abspath(__file__), "--worker", "gemm"])
    if "cold-start" in args.only:
        print("running cold-start", file=sys.stderr, flush=True)
        run["cold_start"] = cold_start()
    for group, members in GROUPS:
        names = [n for n in members if n in args.only]
        if names:
            print(f"running {group}: {', '.join(names)}", file=sys.stderr, flush=True)
            run["results"] += run_group(group, names, args)
    return run


# --------------------------------------------------------------------------- report
def by_name(results):
    """The successful results keyed by contender."""
    return {r["name"]: r for r in results if "error" not in r}


def warm_seconds(r):
    """The median of a result's warm fits (None without any)."""
    warm = sorted(r.get("warm_fit_s") or [])
    return warm[len(warm) // 2] if warm else None


def epoch_seconds(r):
    """The mean epoch wall time from ``history_``."""
    return sum(h["seconds"] for h in r["history"]) / len(r["history"])


def format_table(results):
    """The first fits (on fresh clusters) with the warm fits' median beside them."""
    ref = by_name(results).get("dasknn", {}).get("samples_per_s")
    head = ("contender", "setup", "first fit s", "warm fit s", "samples/s", "test acc",
            "dasknn x")
    widths = (12, 30, 11, 10, 10, 8, 8)
    out = [" | ".join(f"{h:>{w}}" for h, w in zip(head, widths))]
    out.append("-" * len(out[0]))
    for r in results:
        if "error" in r:
            out.append(f"{r['name']:>12} | FAILED (see below)")
            continue
        cells = (r["name"], SETUPS[r["name"]].format(**r), common.fmt(r["fit_s"], ".2f"),
                 common.fmt(warm_seconds(r), ".2f"), f"{r['samples_per_s']:.0f}",
                 f"{r['accuracy']:.4f}",
                 common.fmt(ref and ref / r["samples_per_s"], ".2f"))
        out.append(" | ".join(f"{c:>{w}}" for c, w in zip(cells, widths)))
    return out


def format_notes(results):
    """Scaling, sync share, dask-ml's passes and the errors."""
    ok = by_name(results)
    out = ["dasknn x = dasknn (2 workers) samples/s / contender samples/s, first fits "
           "(> 1 means dasknn is faster)"]
    two, one = ok.get("dasknn"), ok.get("dasknn-1w")
    if two and one:
        scale = two["samples_per_s"] / one["samples_per_s"]
        out.append(f"dasknn 1 -> 2 workers: {scale:.2f}x (parallel efficiency {scale / 2:.0%})")
    for r in (two, one):
        if r:
            out.append(f"{r['name']}: mean sync share {common.fmt(r['sync_share'], '.1%')}, "
                       f"{r['rounds']} rounds/epoch, X blocks per worker "
                       f"{r['blocks_per_worker']}, worker BLAS threads {r['blas_threads']}")
    if "dask-ml" in ok:
        out.append("dask-ml seconds per pass: "
                   + ", ".join(f"{s:.2f}" for s in ok["dask-ml"]["pass_s"]))
    return out + [f"--- {r['name']} failed:\n{r['error'].rstrip()}"
                  for r in results if "error" in r]


def ratios(results, gemm, n_train):
    """dasknn's ratios against each goal: ``name: (value, detail)``."""
    ok, out = by_name(results), {}
    d = ok.get("dasknn")
    if d is None:
        return out
    tta = time_to_accuracy(results)
    head, beside = ("torch-glorot", "torch") if "torch-glorot" in ok else ("torch", None)
    for key, name, alt in (("sklearn", "sklearn (2 threads)", None),
                           (head, "PyTorch (2 threads)", beside),
                           ("dask-ml", "dask-ml Incremental", None)):
        if key in ok:
            out.update(versus(d, ok[key], name, ok.get(alt), tta))
    if warm_seconds(d):
        out["2 workers, warm fit / first fit"] = (
            warm_seconds(d) / d["fit_s"],
            f"first fit {d['fit_s']:.2f} s, warm fits "
            f"{', '.join(f'{w:.2f}' for w in d['warm_fit_s'])} s; before the first round "
            f"{d['fit_s'] - sum(h['seconds'] for h in d['history']):.2f} s")
    if "dasknn-1w" in ok and "dasknn-1w2t" in ok:
        one, two = ok["dasknn-1w"], ok["dasknn-1w2t"]
        out["1 worker x 2 threads vs x 1 thread"] = (
            one["s_per_epoch"] / two["s_per_epoch"],
            f"{two['s_per_epoch']:.2f} vs {one['s_per_epoch']:.2f} s/epoch")
    if gemm:
        flops, ceiling, wall = step_flops() * n_train / BATCH, 2 * gemm["peak"], epoch_seconds(d)
        out["GEMM ceiling share, epoch wall time"] = (
            flops / wall / ceiling,
            f"{flops / 1e9:.1f} GFLOP an epoch in {wall:.3f} s, of 2 x "
            f"{gemm['peak'] / 1e9:.1f} GFLOP/s")
        out["GEMM ceiling share, whole fit"] = (
            flops / d["s_per_epoch"] / ceiling, f"fit / epochs = {d['s_per_epoch']:.3f} s")
    if "sklearn" in ok and "predict_s" in d:
        sk = ok["sklearn"]
        out["dask predict vs sklearn predict"] = (
            sk["predict_s"] / d["predict_s"],
            f"{d['predict_rows']:,} rows: dasknn {d['predict_s']:.3f} s (2 workers), "
            f"sklearn {sk['predict_s']:.3f} s")
    return out


def versus(d, r, name, alt, tta):
    """dasknn's (``d``) first-fit and warm-fit ratios against ``r``, each detail with
    the times to scikit-learn's accuracy; ``alt`` (PyTorch from its own initialisation,
    ``r`` being from scikit-learn's) beside them."""
    init = "from sklearn's initial weights: " if r["name"] == "torch-glorot" else ""
    first = (f"{init}first fits {d['fit_s']:.2f} vs {r['fit_s']:.2f} s; accuracy "
             f"{d['accuracy']:.4f} vs {r['accuracy']:.4f}{reach(tta, d, r)}")
    if alt:
        first += (f" | PyTorch's own init: {d['samples_per_s'] / alt['samples_per_s']:.2f}x,"
                  f" {alt['fit_s']:.2f} s, accuracy {alt['accuracy']:.4f}{reach(tta, alt)}")
    out = {f"2 workers vs {name}": (d["samples_per_s"] / r["samples_per_s"], first)}
    if warm_seconds(d) and warm_seconds(r):
        warm = f"medians {warm_seconds(d):.2f} vs {warm_seconds(r):.2f} s"
        if alt and warm_seconds(alt):
            warm += (f" | PyTorch's own init: {warm_seconds(alt) / warm_seconds(d):.2f}x, "
                     f"{warm_seconds(alt):.2f} s")
        out[f"2 workers vs {name}, warm fits"] = (warm_seconds(r) / warm_seconds(d), warm)
    return out


def reach(tta, *results):
    """'; to sklearn's accuracy A vs B' for the results' times to accuracy ('' unless
    each has one)."""
    texts = [reached(tta, r["name"]) for r in results]
    return "; to sklearn's accuracy " + " vs ".join(texts) if all(texts) else ""


def reached(tta, name):
    """A contender's time to accuracy as text ('1.23 s (epoch 2)', 'not reached in 6
    epochs'), or None without one."""
    t = (tta or {}).get("contenders", {}).get(name)
    if t is None:
        return None
    if t["epoch"] is None:
        return f"not reached in {len(t['accuracy'])} epochs"
    return f"{t['seconds']:.2f} s (epoch {t['epoch']})"


def time_to_accuracy(results):
    """The target, scikit-learn's test accuracy (its first fit's), and for each
    contender with a time-to-accuracy fit: the first epoch whose model reaches it and
    the seconds of training until then (None: not reached), with every epoch's
    accuracy; dasknn's also as the seconds before its first epoch plus ``history_``'s
    epoch seconds. None without scikit-learn's result."""
    ok = by_name(results)
    if "sklearn" not in ok:
        return None
    target, out = ok["sklearn"]["accuracy"], {}
    for name, r in ok.items():
        c = r.get("curve")
        if c and "error" not in c:
            hit = next((i for i, a in enumerate(c["accuracy"]) if a >= target), None)
            out[name] = {"epoch": None if hit is None else hit + 1,
                         "seconds": None if hit is None else c["seconds"][hit],
                         "accuracy": c["accuracy"]}
            if hit is not None and c.get("epoch_s"):
                out[name]["history_s"] = c["setup_s"] + sum(c["epoch_s"][:hit + 1])
    return {"target": target, "contenders": out}


def format_tta(results, epochs):
    """The time-to-accuracy table, and the errors of its fits (nothing without them)."""
    tta = time_to_accuracy(results)
    out = [f"--- {r['name']} time-to-accuracy fit failed:\n{r['curve']['error'].rstrip()}"
           for r in by_name(results).values() if "error" in r.get("curve", {})]
    if not tta or not tta["contenders"]:
        return out
    rows = tta["contenders"]
    ref = rows.get("dasknn", {}).get("seconds")
    head, widths = ("contender", "epoch", "seconds", "dasknn x"), (12, 11, 8, 8)
    table = [f"time to accuracy: seconds of training until the test accuracy first reaches "
             f"{tta['target']:.4f} (scikit-learn's after {epochs} epochs, this run), in "
             "fits after the timed ones, evaluation excluded",
             " | ".join(f"{h:>{w}}" for h, w in zip(head, widths)) + " | accuracy by epoch"]
    for name, t in rows.items():
        cells = (name, "not reached" if t["epoch"] is None else t["epoch"],
                 common.fmt(t["seconds"], ".2f"),
                 common.fmt(ref and t["seconds"] and t["seconds"] / ref, ".2f"))
        table.append(" | ".join(f"{c:>{w}}" for c, w in zip(cells, widths)) + " | "
                     + " ".join(f"{a:.4f}" for a in t["accuracy"]))
    notes = [f"{n}: before the first epoch + history_'s epoch seconds {t['history_s']:.2f} s"
             for n, t in rows.items() if "history_s" in t]
    return table + ["dasknn x = contender's seconds / dasknn's (> 1 means dasknn is "
                    "faster)"] + notes + out


def format_ratios(values, judge):
    lines = [f"{'ratio':<46} {'measured':>9} {'goal':>6}  verdict  detail", "-" * 100]
    for name, (value, detail) in values.items():
        goal, share = GOALS.get(name), "share" in name
        verdict = "-" if goal is None or not judge else ("met" if value >= goal else "NOT MET")
        shown = f"{value:.0%}" if share else f"{value:.2f}x"
        goal_s = "" if goal is None else (f"{goal:.0%}" if share else f"{goal:.2f}x")
        lines.append(f"{name:<46} {shown:>9} {goal_s:>6}  {verdict:<7}  {detail}")
    return lines


def scaling(results, n_train, cores):
    """The model ``T(W) = N c / min(W, cores) + R(W) (a + b W)`` of an epoch on W
    workers: ``c``, seconds a sample on one core, from the 1-worker run's compute time;
    ``a`` (a round's fixed cost) and ``b`` (its cost per worker) by non-negative least
    squares on the measured synchronisation time (``history_``'s sync share) of the
    runs with a core per worker; ``R(W)``, the rounds an epoch ``sync_steps='auto'``
    gives. The runs with more workers than cores only check it."""
    from scipy.optimize import nnls

    from dasknn.distributed.planning import auto_sync_steps
    from dasknn.maths.network import Layout

    steps = auto_sync_steps(Layout(UNITS), BATCH, "float32")
    ok, runs = by_name(results), {}  # workers: (epoch wall time, synchronisation time)
    for name, w in (("dasknn-1w", 1), ("dasknn", 2), ("dasknn-3w", 3)):
        if name in ok:
            wall = epoch_seconds(ok[name])
            runs[w] = (wall, wall * ok[name]["sync_share"])
    fitted = [w for w in runs if w <= cores]
    if 1 not in runs or len(fitted) < 2:
        return None

    def rounds(w):
        return math.ceil(math.ceil(n_train / w / BATCH) / steps)

    (a, b), _ = nnls(np.array([[rounds(w), rounds(w) * w] for w in fitted], dtype=float),
                     np.array([runs[w][1] for w in fitted]))
    c = (runs[1][0] - runs[1][1]) / n_train
    model = {w: n_train * c / min(w, cores) + rounds(w) * (a + b * w) for w in runs}
    return {"c": c, "a": float(a), "b": float(b), "steps": steps, "cores": cores,
            "check": {str(w): (runs[w][0], model[w]) for w in sorted(runs)}}


def format_scaling(model):
    if model is None:
        return ["scaling model: needs the 1-worker run and another with a core per worker"]
    lines = [f"scaling model: c = {model['c'] * 1e6:.2f} us/sample, a = {model['a'] * 1e3:.1f}"
             f" ms, b = {model['b'] * 1e3:.1f} ms, R(W) = ceil(steps per worker / "
             f"{model['steps']})"]
    return lines + [f"  {w} worker(s) on {model['cores']} cores: measured {m:.3f} s/epoch, "
                    f"model {p:.3f} s ({p / m - 1:+.0%})"
                    for w, (m, p) in model["check"].items()]


def report(run):
    """The lines printed below the header for a measured or saved run."""
    settings = run["machine"]["settings"]
    n_train = int(round(settings["n_samples"] * 0.9))  # train_test_split(test_size=0.1)
    results, gemm, cold = run["results"], run["gemm"], run["cold_start"]
    lines = (format_table(results) + format_notes(results)
             + format_tta(results, settings["epochs"]))
    if gemm:
        lines.append(f"GEMM, 1 thread, float32: {gemm['peak'] / 1e9:.1f} GFLOP/s (square, "
                     f"warmed), {gemm['mlp_shapes'] / 1e9:.1f} on the MLP's step")
    if cold:
        lines.append("cold start: " + "; ".join(f"{k} {v:.2f} s" for k, v in cold.items()))
    judge = (settings["n_samples"], settings["epochs"]) == (200_000, 3)
    lines += format_ratios(ratios(results, gemm, n_train), judge)
    return lines + format_scaling(scaling(results, n_train, run["machine"]["nproc"] or 2))


# ------------------------------------------------------------------------------ main
def selection(text):
    """Parse the ``--only`` comma list."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    bad = sorted(set(names) - set(CONTENDERS + PARTS))
    if bad:
        raise argparse.ArgumentTypeError(f"unknown {bad}; pick from {CONTENDERS + PARTS}")
    return names


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--n-samples", type=common.positive, default=200_000)
    p.add_argument("--epochs", type=common.positive, default=3, help="epochs / passes")
    p.add_argument("--blocks", type=common.positive, default=20,
                   help="row blocks of the Dask array")
    p.add_argument("--repeat", type=int, default=2,
                   help="warm fits after each contender's first (default 2)")
    p.add_argument("--tta-epochs", type=int, default=None,
                   help="epochs of the time-to-accuracy fits (default 2 x --epochs; 0: "
                        "none)")
    p.add_argument("--only", type=selection, default=list(CONTENDERS + PARTS),
                   help="comma list of: " + ",".join(CONTENDERS + PARTS))
    p.add_argument("--json", metavar="PATH", help="also write the run to PATH")
    p.add_argument("--report", metavar="PATH",
                   help="print the report of a run saved with --json, measuring nothing")
    p.add_argument("--step", action="store_true",
                   help="time a training step piece by piece instead")
    p.add_argument("--steps", type=common.positive, default=700,
                   help="steps per timing of --step (default 700)")
    args = p.parse_args(argv)
    if args.tta_epochs is None:
        args.tta_epochs = 2 * args.epochs
    if args.tta_epochs < 0:
        p.error(f"--tta-epochs must be at least 0, got {args.tta_epochs}")
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        common.emit(worker(args.worker, args.only, args))
        return
    if args.report:
        with open(args.report) as f:
            run = json.load(f)
        lines = (format_step(run["step_ms"], run["gemm"]) if "step_ms" in run
                 else report(run))
        print("\n".join(common.format_header(run["machine"]) + lines))
        return
    settings = (dict(step=True, steps=args.steps) if args.step else
                dict(n_samples=args.n_samples, epochs=args.epochs, blocks=args.blocks,
                     repeat=args.repeat, tta_epochs=args.tta_epochs,
                     only=",".join(args.only)))
    info = common.print_header(common.MODULES + ("torch",), **settings)
    if args.step:
        times, gemm = step_probe(args.steps)
        print("\n".join(format_step(times, gemm)))
        run = {"machine": info, "step_ms": times, "gemm": gemm}
    else:
        run = {"machine": info, **measure(args)}
        run["time_to_accuracy"] = time_to_accuracy(run["results"])
        info["loadavg_end"] = common.load_average()
        print("\n".join(report(run)))
        print(f"load average at end: {info['loadavg_end']}")
    if args.json:
        common.write_json(args.json, run)


if __name__ == "__main__":
    main()
