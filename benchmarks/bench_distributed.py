"""Data-parallel training: dasknn on a Dask cluster against dask-ml, sklearn, PyTorch.

One run times the same MLP (3 epochs) with five contenders and prints one
table: seconds per epoch, samples per second, test accuracy and how many times
faster dasknn on 2 workers is than each contender; plus dasknn's 1 -> 2
worker scaling and its sync share.

Usage
-----
From the repository root, on an otherwise idle machine::

    python benchmarks/bench_distributed.py --json benchmarks/results/distributed.json

Quick smoke test (small data, one epoch; checks the mechanics only)::

    python benchmarks/bench_distributed.py --n-samples 20000 --epochs 1

Options
-------
--n-samples N
    ``n_samples`` given to ``make_classification`` (default: 200000).
--epochs N
    Epochs (``max_iter``; passes for dask-ml) (default: 3).
--blocks N
    Row blocks of the Dask training array (default: 20).
--only LIST
    Comma list of contenders among
    ``dasknn,dasknn-1w,dasknn-1w2t,dasknn-3w,dask-ml,sklearn,torch``
    (default: all).
--repeat N
    Warm fits after each contender's first (default: 2). The first fit is the
    headline (``fit_s``): on the Dask side it runs on a cluster started for that
    contender, nothing imported or warmed on its workers beforehand; the warm fits
    (``warm_fit_s``) follow on the same cluster or in the same process.
--json PATH
    Also write the machine information and all results to PATH.

Contenders
----------
dasknn
    ``dasknn.MLPClassifier().fit(dX, dy)`` on ``LocalCluster(n_workers=2,
    threads_per_worker=1, processes=True)``; default ``sync='model'``,
    ``sync_steps='auto'``, ``lr_scaling='linear'``.
dasknn-1w, dasknn-3w
    The same on a 1-worker and a 3-worker cluster, for the scaling figures (the
    3 workers share the 2 cores).
dasknn-1w2t
    The same on one worker of 2 threads: a shard per thread, trained side by
    side (compare with dasknn-1w).
dask-ml
    ``dask_ml.wrappers.Incremental(sklearn MLPClassifier, shuffle_blocks=False)``
    on the same 2-worker cluster and the same persisted array: ``.fit`` once
    and ``.partial_fit`` ``epochs - 1`` times; each call is one pass that runs
    scikit-learn's ``partial_fit`` once per block, block after block.
sklearn
    ``sklearn.neural_network.MLPClassifier().fit(X, y)`` on numpy, with the
    BLAS threads as the user has them (2 on the reference machine).
torch
    PyTorch on CPU, ``torch.set_num_threads(2)``: Linear 100->256, ReLU,
    Linear 256->128, ReLU, Linear 128->10, cross-entropy, ``Adam(lr=1e-3)``,
    batches of 256 reshuffled every epoch, float32. scikit-learn's L2 term
    (``alpha / 2`` times the squared weights, biases excluded, divided by the
    batch rows) is added to the loss. Weights start from PyTorch's default
    initialisation, not scikit-learn's.

Notes
-----
The data is ``make_classification(n_samples=200_000, n_features=100,
n_informative=60, n_classes=10, random_state=0)`` in float32, split with
``train_test_split(test_size=0.1, random_state=0)``. The model is
``hidden_layer_sizes=(256, 128)``, ``solver="adam"``, ``batch_size=256``,
``max_iter=epochs``, ``random_state=0``, ``tol=0.0`` and a large
``n_iter_no_change``, so every epoch runs. Accuracy is on the numpy test rows.

Each group of contenders runs in its own fresh subprocess, one after the
other, never at the same time: the 2-worker cluster (dasknn then dask-ml),
the 1-worker cluster, sklearn, torch. Each cluster is closed before the next
one starts. The training data becomes a Dask array of ``--blocks`` row
blocks that is persisted on the cluster (``client.persist`` +
``distributed.wait``) before any timing. Only the training call is timed,
with ``time.perf_counter``. Before timing, the cluster workers import
dasknn, ``sklearn.neural_network`` and ``dask_ml.wrappers`` (over a second in
a fresh worker; the in-process contenders import before timing too), and
every process that computes (cluster workers, the sklearn process) runs one
1024x1024 float64 and float32 GEMM, because OpenBLAS in a fresh process runs MLP-sized float32
GEMMs slower until a large GEMM has run (see ``bench_local.py``); so the
order of dasknn and dask-ml on the shared cluster does not favour either.

Dask workers get one BLAS thread each (``distributed``'s default), so the
2-worker cluster, sklearn and torch all use 2 cores. ``sync share`` is the
mean over epochs of dasknn's ``history_[i]["sync_share"]``: the share of an
epoch's wall time not spent computing in the slowest worker's rounds.
"""

import argparse
import datetime
import json
import math
import os
import platform
import shlex
import subprocess
import sys
import time
import traceback
import warnings

import numpy as np

from _machine import cpu_model  # noqa: E402  (benchmarks/ is on sys.path)

CONTENDERS = ("dasknn", "dasknn-1w", "dasknn-1w2t", "dasknn-3w", "dask-ml", "sklearn",
              "torch", "torch-glorot")
# Subprocess groups, in run order: (group, contenders it can run).
GROUPS = (
    ("cluster-2", ("dasknn", "dask-ml")),
    ("cluster-1", ("dasknn-1w",)),
    ("cluster-1x2", ("dasknn-1w2t",)),
    ("cluster-3", ("dasknn-3w",)),
    ("sklearn", ("sklearn",)),
    ("torch", ("torch",)),
    ("torch-glorot", ("torch-glorot",)),
)
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Benchmark the checkout this script lives in, also when dasknn is not installed.
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)


# ---------------------------------------------------------------- worker side


def make_data(n_samples):
    """Return ``X_train, X_test, y_train, y_test`` with float32 ``X``."""
    from sklearn.datasets import make_classification
    from sklearn.model_selection import train_test_split

    X, y = make_classification(n_samples=n_samples, n_features=100, n_informative=60,
                               n_classes=10, random_state=0)
    X = X.astype(np.float32)
    return train_test_split(X, y, test_size=0.1, random_state=0)


def mlp_params(epochs):
    """Return the ``MLPClassifier`` parameters every contender shares."""
    return dict(hidden_layer_sizes=(256, 128), solver="adam", batch_size=256,
                max_iter=epochs, random_state=0, tol=0.0, n_iter_no_change=epochs + 10)


def warm_blas():
    """Run one 1024x1024 GEMM in float64 and in float32."""
    rng = np.random.default_rng(0)
    for dtype in ("float64", "float32"):
        a = rng.standard_normal((1024, 1024)).astype(dtype)
        a @ a


def blas_threads():
    """Return the thread count of each loaded BLAS, or None."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]


def quiet_workers():
    """Silence scikit-learn's ConvergenceWarning in a worker (dask-ml's partial_fit
    calls) by its message, importing nothing."""
    warnings.filterwarnings("ignore", message="Stochastic Optimizer: Maximum iterations")


def quiet():
    """Silence ConvergenceWarning (the loop stops at max_iter on purpose)."""
    from sklearn.exceptions import ConvergenceWarning

    warnings.simplefilter("ignore", ConvergenceWarning)


def result(name, seconds, n_train, epochs, accuracy, **extra):
    """Return the result dict of one contender."""
    return {"name": name, "fit_s": seconds, "s_per_epoch": seconds / epochs,
            "samples_per_s": n_train * epochs / seconds, "accuracy": accuracy, **extra}


def to_dask(client, X, y, blocks):
    """Return ``X, y`` as Dask arrays of ``blocks`` row blocks, persisted."""
    import dask.array as da
    from distributed import wait

    rows = math.ceil(X.shape[0] / blocks)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*[Ll]arge graph.*")
        dX, dy = client.persist([da.from_array(X, chunks=(rows, X.shape[1])),
                                 da.from_array(y, chunks=rows)])
        wait([dX, dy])
    return dX, dy


def blocks_per_worker(client, dX):
    """Return how many blocks of ``dX`` each worker holds, largest first."""
    from collections import Counter

    held = Counter(w for ws in client.who_has(dX).values() for w in ws)
    return sorted(held.values(), reverse=True)


def run_dasknn(name, dX, dy, test, epochs):
    """Fit ``dasknn.MLPClassifier`` on the Dask arrays; return its result (with the
    prediction throughput on ``dX`` for the 2-worker contender)."""
    from dasknn import MLPClassifier

    clf = MLPClassifier(**mlp_params(epochs))
    start = time.perf_counter()
    clf.fit(dX, dy)
    seconds = time.perf_counter() - start
    history = list(getattr(clf, "history_", []))
    shares = [h["sync_share"] for h in history if h.get("sync_share") is not None]
    extra = {}
    if name == "dasknn":
        extra["predict_s"] = best_time(lambda: clf.predict(dX).compute())
    return result(name, seconds, dX.shape[0], epochs, float(clf.score(*test)),
                  sync_share=float(np.mean(shares)) if shares else None,
                  workers=history[-1]["workers"] if history else None,
                  rounds=history[-1]["rounds"] if history else None,
                  n_iter=int(clf.n_iter_), history=history, predict_rows=int(dX.shape[0]),
                  **extra)


def best_time(call, repeat=3):
    """Best wall time of ``repeat`` calls of ``call`` after one untimed call."""
    call()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return min(times)


def run_daskml(name, dX, dy, test, epochs):
    """Train dask-ml ``Incremental`` for ``epochs`` passes; return its result."""
    from dask_ml.wrappers import Incremental
    from sklearn.neural_network import MLPClassifier

    inc = Incremental(MLPClassifier(**mlp_params(epochs)), shuffle_blocks=False)
    classes = np.unique(dy.compute())  # before timing, as dasknn finds them itself
    passes = []
    for epoch in range(epochs):
        train = inc.fit if epoch == 0 else inc.partial_fit
        start = time.perf_counter()
        train(dX, dy, classes=classes)
        passes.append(time.perf_counter() - start)
    return result(name, sum(passes), dX.shape[0], epochs,
                  float(inc.estimator_.score(*test)), pass_s=passes,
                  passes_seen=inc.estimator_.t_ / dX.shape[0])


def cluster_group(n_workers, names, args, threads=1):
    """Run each of ``names`` on a LocalCluster of ``n_workers`` x ``threads`` started
    for it: its first fit on the fresh cluster (the headline: what a user feels), then
    ``args.repeat`` warm fits of the same on the same cluster. Return their results."""
    out = []
    for name in names:
        out.append(fresh_cluster_fits(name, n_workers, threads, args))
    return out


def fresh_cluster_fits(name, n_workers, threads, args):
    """Start a cluster, place the data, fit ``name`` once cold and ``args.repeat``
    times warm; the result's ``fit_s`` is the first fit, ``warm_fit_s`` the others."""
    from distributed import Client, LocalCluster

    X_train, X_test, y_train, y_test = make_data(args.n_samples)
    run = run_daskml if name == "dask-ml" else run_dasknn
    start = time.perf_counter()
    with LocalCluster(n_workers=n_workers, threads_per_worker=threads, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        cluster_s = time.perf_counter() - start
        client.run(quiet_workers)  # imports nothing: the workers stay as started
        start = time.perf_counter()
        dX, dy = to_dask(client, X_train, y_train, args.blocks)
        data_s = time.perf_counter() - start
        placement = blocks_per_worker(client, dX)
        first = guarded(name, run, name, dX, dy, (X_test, y_test), args.epochs,
                        n_workers=n_workers, worker_threads=threads,
                        blocks_per_worker=placement, cluster_start_s=cluster_s,
                        data_placement_s=data_s)
        warm = [guarded(name, run, name, dX, dy, (X_test, y_test), args.epochs)
                for _ in range(args.repeat)]
        first["blas_threads"] = sorted({tuple(t or ()) for t in
                                        client.run(blas_threads).values()})
    if "error" not in first and all("error" not in w for w in warm):
        first["warm_fit_s"] = [w["fit_s"] for w in warm]
        first["warm_accuracy"] = [w["accuracy"] for w in warm]
        first["warm_history"] = [w.get("history") for w in warm]
    return first


def sklearn_group(args):
    """Fit scikit-learn on numpy in this process; return its result."""
    from sklearn.neural_network import MLPClassifier

    X_train, X_test, y_train, y_test = make_data(args.n_samples)
    clf = MLPClassifier(**mlp_params(args.epochs))
    warm_blas()
    start = time.perf_counter()
    clf.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    return result("sklearn", seconds, X_train.shape[0], args.epochs,
                  float(clf.score(X_test, y_test)), blas_threads=blas_threads(),
                  predict_s=best_time(lambda: clf.predict(X_train)),
                  predict_rows=int(X_train.shape[0]))


def torch_model(torch, glorot=False):
    """Return the PyTorch MLP and the list of its weight matrices. ``glorot``: start
    from scikit-learn's initial model (Glorot-uniform weights and biases, drawn with
    ``RandomState(0)``) instead of PyTorch's default initialisation."""
    nn = torch.nn
    layers = [nn.Linear(100, 256), nn.Linear(256, 128), nn.Linear(128, 10)]
    model = nn.Sequential(layers[0], nn.ReLU(), layers[1], nn.ReLU(), layers[2])
    if glorot:
        rng = np.random.RandomState(0)
        with torch.no_grad():
            for layer in layers:
                bound = np.sqrt(6.0 / (layer.in_features + layer.out_features))
                w = rng.uniform(-bound, bound, (layer.in_features, layer.out_features))
                b = rng.uniform(-bound, bound, layer.out_features)
                layer.weight.copy_(torch.from_numpy(w.T.astype(np.float32)))
                layer.bias.copy_(torch.from_numpy(b.astype(np.float32)))
    return model, [layer.weight for layer in layers]


def torch_train(torch, model, weights, X, y, epochs, alpha=1e-4, batch=256):
    """Train ``model`` with Adam for ``epochs``; return the seconds it took."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    loss_fn = torch.nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(X.shape[0], generator=gen)
        for i in range(0, X.shape[0], batch):
            idx = order[i:i + batch]
            penalty = sum((w * w).sum() for w in weights) * (0.5 * alpha / idx.shape[0])
            loss = loss_fn(model(X[idx]), y[idx]) + penalty
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return time.perf_counter() - start


def torch_group(args, name="torch"):
    """Train the PyTorch MLP on CPU with 2 threads; return its result ('torch-glorot':
    from scikit-learn's initial model)."""
    import torch

    torch.set_num_threads(2)
    torch.manual_seed(0)
    X_train, X_test, y_train, y_test = make_data(args.n_samples)
    model, weights = torch_model(torch, glorot=name == "torch-glorot")
    seconds = torch_train(torch, model, weights, torch.from_numpy(X_train),
                          torch.from_numpy(y_train).long(), args.epochs)
    with torch.no_grad():
        pred = model(torch.from_numpy(X_test)).argmax(1).numpy()
    return result(name, seconds, X_train.shape[0], args.epochs,
                  float((pred == y_test).mean()), torch_threads=torch.get_num_threads())


def first_and_warm(repeat, call, *args, **kwargs):
    """The first run of ``call(*args, **kwargs)``, with the fit times and accuracies of
    ``repeat`` more beside it (an error record if any run failed)."""
    runs = [call(*args, **kwargs) for _ in range(1 + repeat)]
    failed = [r for r in runs if "error" in r]
    if failed:
        return failed[0]
    return {**runs[0], "warm_fit_s": [r["fit_s"] for r in runs[1:]],
            "warm_accuracy": [r["accuracy"] for r in runs[1:]]}


def guarded(name, run, *args, **extra):
    """Return ``run(*args)`` with ``extra`` added, or an error record if it raised."""
    try:
        return {**run(*args), **extra}
    except Exception:
        return {"name": name, "error": traceback.format_exc(limit=8), **extra}


def worker(group, names, args):
    """Run one subprocess group; return the list of its results."""
    quiet()
    if group.startswith("cluster-"):  # cluster-<workers>[x<threads>]
        n_workers, _, threads = group.split("-")[1].partition("x")
        return cluster_group(int(n_workers), names, args, int(threads or 1))
    if group == "sklearn":
        return [first_and_warm(args.repeat, guarded, group, sklearn_group, args)]
    return [first_and_warm(args.repeat, guarded, group, torch_group, args, group)]


# ---------------------------------------------------------------- parent side


def worker_command(group, names, args):
    """Return the argv that runs one subprocess group."""
    return [sys.executable, os.path.abspath(__file__), "--worker", group,
            "--only", ",".join(names), "--epochs", str(args.epochs),
            "--n-samples", str(args.n_samples), "--blocks", str(args.blocks),
            "--repeat", str(args.repeat)]


def run_group(group, names, args):
    """Run one group in a fresh subprocess; return its results (errors included)."""
    proc = subprocess.run(worker_command(group, names, args), capture_output=True, text=True)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("[")]
    if proc.returncode == 0 and lines:
        return json.loads(lines[-1])
    tail = (proc.stdout + proc.stderr)[-3000:]
    return [{"name": n, "error": f"subprocess rc={proc.returncode}\n{tail}"} for n in names]


def run_all(args):
    """Run every selected group one after the other; return all results."""
    results = []
    for group, members in GROUPS:
        names = [n for n in members if n in args.only]
        if names:
            print(f"running {group}: {', '.join(names)}", file=sys.stderr, flush=True)
            results += run_group(group, names, args)
    return results


def version(module):
    """Return the version of ``module``, or 'not installed'."""
    import importlib
    from importlib import metadata

    dist = {"sklearn": "scikit-learn", "dask_ml": "dask-ml"}.get(module, module)
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        pass
    try:
        return getattr(importlib.import_module(module), "__version__", "unknown")
    except ImportError:
        return "not installed"


def machine_info(args):
    """Return a dict describing the machine and the benchmark settings."""
    modules = ("numpy", "sklearn", "dask", "distributed", "dask_ml", "torch", "dasknn")
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": shlex.join([os.path.basename(sys.executable), *sys.argv]),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": cpu_model(),
        "nproc": os.cpu_count(),
        "versions": {m: version(m) for m in modules},
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "n_samples": args.n_samples,
        "epochs": args.epochs,
        "blocks": args.blocks,
    }


def format_header(info):
    """Return the machine information as text lines."""
    versions = "  ".join(f"{k}={v}" for k, v in info["versions"].items())
    return [
        f"date: {info['date']}",
        f"command: {info['command']}",
        f"platform: {info['platform']}  python {info['python']}",
        f"cpu: {info['cpu']}  nproc: {info['nproc']}",
        f"versions: {versions}",
        f"load average at start: {info['loadavg']} (timings need an idle machine)",
        f"n_samples={info['n_samples']} (90% train, float32)  epochs={info['epochs']}  "
        f"blocks={info['blocks']}",
    ]


def fmt(value, spec):
    """Format ``value`` with ``spec``, or return '-' for None."""
    return "-" if value is None else format(value, spec)


def by_name(results):
    """Return the successful results keyed by contender name."""
    return {r["name"]: r for r in results if "error" not in r}


SETUPS = {
    "dasknn": "2 workers x 1 thread",
    "dasknn-1w": "1 worker x 1 thread",
    "dasknn-1w2t": "1 worker x 2 threads",
    "dasknn-3w": "3 workers x 1 thread",
    "dask-ml": "2 workers x 1 thread",
    "sklearn": "numpy, BLAS threads {blas_threads}",
    "torch": "CPU, {torch_threads} threads",
    "torch-glorot": "CPU, {torch_threads} threads, scikit-learn's initial weights",
}


def warm_seconds(r):
    """The median of a result's warm fits (None without any)."""
    warm = sorted(r.get("warm_fit_s") or [])
    return warm[len(warm) // 2] if warm else None


def format_table(results):
    """Return the results table as text lines: the first fit (on a fresh cluster for
    the Dask contenders) and, beside it, the median of the warm fits."""
    ok = by_name(results)
    ref = ok.get("dasknn", {}).get("samples_per_s")
    head = ("contender", "setup", "first fit s", "warm fit s", "samples/s", "test acc",
            "dasknn x")
    widths = (10, 28, 11, 10, 10, 8, 8)
    out = [" | ".join(f"{h:>{w}}" for h, w in zip(head, widths))]
    out.append("-" * len(out[0]))
    for r in results:
        if "error" in r:
            out.append(f"{r['name']:>10} | FAILED (see below)")
            continue
        ratio = ref / r["samples_per_s"] if ref else None
        cells = (r["name"], SETUPS[r["name"]].format(**r), fmt(r["fit_s"], ".2f"),
                 fmt(warm_seconds(r), ".2f"), fmt(r["samples_per_s"], ".0f"),
                 fmt(r["accuracy"], ".4f"), fmt(ratio, ".2f"))
        out.append(" | ".join(f"{c:>{w}}" for c, w in zip(cells, widths)))
    return out


def format_notes(results):
    """Return the scaling, sync-share and error lines."""
    ok = by_name(results)
    out = ["dasknn x = dasknn (2 workers) samples/s / contender samples/s, first fits "
           "(> 1 means dasknn is faster); samples/s from the first fit"]
    two, one = ok.get("dasknn"), ok.get("dasknn-1w")
    if two and one:
        scale = two["samples_per_s"] / one["samples_per_s"]
        out.append(f"dasknn scaling 1 -> 2 workers: {scale:.2f}x "
                   f"(parallel efficiency {scale / 2:.0%})")
    if one and "dasknn-1w2t" in ok:
        out.append(f"dasknn 1 worker x 2 threads vs x 1 thread: "
                   f"{ok['dasknn-1w2t']['samples_per_s'] / one['samples_per_s']:.2f}x")
    for r in (two, one):
        if r:
            out.append(f"{r['name']}: mean sync share {fmt(r['sync_share'], '.1%')}, "
                       f"{r['rounds']} rounds/epoch, X blocks per worker "
                       f"{r['blocks_per_worker']}, worker BLAS threads {r['blas_threads']}")
    if "dask-ml" in ok:
        passes = ", ".join(f"{s:.2f}" for s in ok["dask-ml"]["pass_s"])
        out.append(f"dask-ml seconds per pass: {passes} "
                   f"(samples seen = {ok['dask-ml']['passes_seen']:g} x train rows)")
    for r in results:
        if "error" in r:
            out.append(f"--- {r['name']} failed:\n{r['error'].rstrip()}")
    return out


def write_json(path, info, results):
    """Write the machine info and all results to ``path``."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump({"machine": info, "results": results}, f, indent=2)


def contender_list(text):
    """Parse the ``--only`` comma list."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    bad = sorted(set(names) - set(CONTENDERS))
    if bad:
        raise argparse.ArgumentTypeError(f"unknown contender(s) {bad}; pick from {CONTENDERS}")
    return names


def positive(text):
    """Parse a positive integer option."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def parse_args(argv=None):
    """Parse the command line."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--n-samples", type=positive, default=200_000)
    p.add_argument("--epochs", type=positive, default=3, help="epochs / passes (default 3)")
    p.add_argument("--blocks", type=positive, default=20, help="row blocks of the Dask array")
    p.add_argument("--repeat", type=int, default=2,
                   help="warm fits after each contender's first, reported beside it "
                        "(default 2)")
    p.add_argument("--only", type=contender_list, default=list(CONTENDERS),
                   help="comma list of: " + ",".join(CONTENDERS))
    p.add_argument("--json", metavar="PATH", help="write results as JSON to PATH")
    return p.parse_args(argv)


def main(argv=None):
    """Entry point: run as a subprocess group or as the benchmark driver."""
    args = parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.only, args)))
        return
    info = machine_info(args)
    print("\n".join(format_header(info)), flush=True)
    results = run_all(args)
    info["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    print("\n".join(format_table(results) + format_notes(results)))
    print(f"load average at end: {info['loadavg_end']}")
    if args.json:
        write_json(args.json, info, results)


if __name__ == "__main__":
    main()
