"""Time the in-process fit of ``dasknn.MLPClassifier`` against scikit-learn.

Both libraries fit the same ``MLPClassifier`` configuration on the same numpy
data, in the same process layout, and the script prints a table of fit
times, the speed ratio and the test accuracy of each model.

Usage
-----
From the repository root::

    python benchmarks/bench_local.py --warm

Quick smoke test (sklearn only, small data, one epoch)::

    python benchmarks/bench_local.py --libs sklearn --n-samples 20000 --epochs 1

Options
-------
--warm
    Also time every fit after one 1024x1024 float64 and float32 GEMM has
    run in the worker ("warm" rows, next to the default "fresh" rows).
--repeat N
    Run each (library, dtype, mode) worker N times; report the fastest fit.
--dtypes D [D ...]
    Any of ``float32 float64`` (default: both).
--libs L [L ...]
    Any of ``sklearn dasknn`` (default: both).
--epochs N
    Number of epochs, i.e. ``max_iter`` (default: 3).
--n-samples N
    ``n_samples`` given to ``make_classification`` (default: 200000).
--threads N
    Set ``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS`` and
    ``MKL_NUM_THREADS`` to N in the worker environment.  By default the
    thread settings are left as the user has them.
--json PATH
    Also write the machine information and all results to PATH.

Notes
-----
The data is ``make_classification(n_samples=200_000, n_features=100,
n_informative=60, n_classes=10, random_state=0)``, split with
``train_test_split(test_size=0.1, random_state=0)``.  The model is
``MLPClassifier(hidden_layer_sizes=(256, 128), solver="adam",
batch_size=256, max_iter=3, random_state=0, tol=0.0,
n_iter_no_change=<larger than max_iter>)`` so every epoch runs;
``ConvergenceWarning`` is silenced.

Every fit runs in its own fresh Python subprocess (the script re-invokes
itself with ``--worker LIB DTYPE`` and reads one JSON line back), because
OpenBLAS in a fresh process runs MLP-sized float32 GEMMs markedly slower
until one large GEMM has run in that process.  A fresh process is what a
user gets, so the "fresh" rows are the headline; the "warm" rows (``--warm``)
show the ratio once both libraries get an already warmed BLAS.  Data
generation and scoring happen in the worker but are not timed; only
``.fit()`` is timed, with ``time.perf_counter``.

The ratio is ``sklearn time / dasknn time``: above 1 means dasknn is faster.
"""

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
import warnings

import numpy as np

from _machine import cpu_model  # noqa: E402  (benchmarks/ is on sys.path)

LIBS = ("sklearn", "dasknn")
DTYPES = ("float32", "float64")
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Benchmark the checkout this script lives in, also when dasknn is not installed.
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)


# ---------------------------------------------------------------- worker side


def make_data(n_samples, dtype):
    """Return ``X_train, X_test, y_train, y_test`` in ``dtype``."""
    from sklearn.datasets import make_classification
    from sklearn.model_selection import train_test_split

    X, y = make_classification(
        n_samples=n_samples,
        n_features=100,
        n_informative=60,
        n_classes=10,
        random_state=0,
    )
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.1, random_state=0
    )
    return X_train.astype(dtype), X_test.astype(dtype), y_train, y_test


def warm_blas():
    """Run one 1024x1024 GEMM in float64 and in float32."""
    rng = np.random.default_rng(0)
    for dtype in ("float64", "float32"):
        a = rng.standard_normal((1024, 1024)).astype(dtype)
        a @ a


def make_model(lib, epochs):
    """Return an unfitted ``MLPClassifier`` from ``lib``."""
    if lib == "sklearn":
        from sklearn.neural_network import MLPClassifier
    else:
        from dasknn import MLPClassifier
    return MLPClassifier(
        hidden_layer_sizes=(256, 128),
        solver="adam",
        batch_size=256,
        max_iter=epochs,
        random_state=0,
        tol=0.0,
        n_iter_no_change=epochs + 10,
    )


def timed_fit(model, X, y):
    """Fit ``model`` with ConvergenceWarning silenced.

    Returns the wall-clock seconds and the process CPU seconds of the fit.
    """
    from sklearn.exceptions import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        cpu, start = time.process_time(), time.perf_counter()
        model.fit(X, y)
        return time.perf_counter() - start, time.process_time() - cpu


def timed_predict(model, X, repeat=3):
    """Best of ``repeat`` timings of ``model.predict(X)``, and the SHA-256 of
    ``predict_proba(X)`` (equal digests, identical probabilities)."""
    import hashlib

    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        model.predict(X)
        best = min(best, time.perf_counter() - start)
    proba = np.ascontiguousarray(model.predict_proba(X))
    return best, hashlib.sha256(proba.tobytes()).hexdigest()


def blas_threads():
    """Return the thread count of each loaded BLAS, or None."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]


def coef_digest(model):
    """SHA-256 of the fitted weights and biases: equal digests, identical models."""
    import hashlib

    digest = hashlib.sha256()
    for a in model.coefs_ + model.intercepts_:
        digest.update(np.ascontiguousarray(a).tobytes())
    return digest.hexdigest()


def worker(lib, dtype, epochs, n_samples, warm):
    """Fit one model in this process; return a result dict."""
    X_train, X_test, y_train, y_test = make_data(n_samples, dtype)
    model = make_model(lib, epochs)
    if warm:
        warm_blas()
    fit_s, fit_cpu_s = timed_fit(model, X_train, y_train)
    predict_s, proba_sha = timed_predict(model, X_train)
    return {
        "lib": lib,
        "dtype": dtype,
        "mode": "warm" if warm else "fresh",
        "fit_s": fit_s,
        "fit_cpu_s": fit_cpu_s,
        "accuracy": float(model.score(X_test, y_test)),
        "n_iter": int(getattr(model, "n_iter_", -1)),
        "coef_dtype": str(model.coefs_[0].dtype),
        "coef_sha": coef_digest(model),
        "predict_s": predict_s,
        "predict_rows": int(X_train.shape[0]),
        "proba_sha": proba_sha,
        "blas_threads": blas_threads(),
    }


# ---------------------------------------------------------------- parent side


def worker_command(lib, dtype, mode, args):
    """Return the argv that runs one worker subprocess."""
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", lib, dtype]
    cmd += ["--epochs", str(args.epochs), "--n-samples", str(args.n_samples)]
    return cmd + (["--warm"] if mode == "warm" else [])


def worker_env(threads):
    """Return the environment for a worker, with thread variables if asked."""
    env = dict(os.environ)
    if threads is not None:
        env.update({var: str(threads) for var in THREAD_VARS})
    return env


def run_worker(lib, dtype, mode, args):
    """Run one worker in a fresh subprocess; return its result dict."""
    proc = subprocess.run(
        worker_command(lib, dtype, mode, args),
        env=worker_env(args.threads),
        capture_output=True,
        text=True,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"worker {lib} {dtype} {mode} failed (rc={proc.returncode})")
    return json.loads(lines[-1])


def blas_info():
    """Return a short description of each loaded BLAS / OpenMP runtime."""
    try:
        import scipy.linalg  # noqa: F401  (loads scipy's BLAS too)
        import sklearn.neural_network  # noqa: F401
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    keys = ("internal_api", "version", "num_threads", "architecture", "threading_layer")
    return [{"lib": os.path.basename(p["filepath"]), **{k: p.get(k) for k in keys}}
            for p in threadpool_info()]


def dasknn_version():
    """Return dasknn's version, or why it cannot be imported."""
    try:
        from dasknn import MLPClassifier  # noqa: F401
    except Exception as exc:  # pragma: no cover - informational only
        return f"not importable ({type(exc).__name__})"
    return getattr(sys.modules["dasknn"], "__version__", "unknown")


def load_average():
    """Return the 1, 5 and 15 minute load averages, or None."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def machine_info(args):
    """Return a dict describing the machine and the benchmark settings."""
    import sklearn

    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": cpu_model(),
        "nproc": os.cpu_count(),
        "numpy": np.__version__,
        "sklearn": sklearn.__version__,
        "dasknn": dasknn_version(),
        "blas": blas_info(),
        "loadavg": load_average(),
        "threads_env": {v: os.environ.get(v) for v in THREAD_VARS},
        "threads_arg": args.threads,
        "n_samples": args.n_samples,
        "epochs": args.epochs,
        "repeat": args.repeat,
    }


def run_all(args):
    """Run every worker ``args.repeat`` times; return the list of results."""
    modes = ["fresh", "warm"] if args.warm else ["fresh"]
    runs = []
    for _ in range(args.repeat):
        for dtype in args.dtypes:
            for mode in modes:
                for lib in args.libs:
                    runs.append(run_worker(lib, dtype, mode, args))
                    print(".", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return runs


def best_run(runs, lib, dtype, mode):
    """Return the fastest of the matching runs, or None."""
    match = [r for r in runs if (r["lib"], r["dtype"], r["mode"]) == (lib, dtype, mode)]
    return min(match, key=lambda r: r["fit_s"]) if match else None


def summarize(runs, args):
    """Return one row per (dtype, mode) with best times and the ratio."""
    rows = []
    for dtype in args.dtypes:
        for mode in ("fresh", "warm"):
            sk = best_run(runs, "sklearn", dtype, mode)
            dk = best_run(runs, "dasknn", dtype, mode)
            if sk is None and dk is None:
                continue
            ratio = sk["fit_s"] / dk["fit_s"] if sk and dk else None
            rows.append({"dtype": dtype, "mode": mode, "sklearn": sk, "dasknn": dk,
                         "ratio": ratio})
    return rows


def fmt(value, spec):
    """Format ``value`` with ``spec``, or return '-' for None."""
    return "-" if value is None else format(value, spec)


def format_header(info):
    """Return the machine information as text lines."""
    lines = [f"{k}: {info[k]}" for k in
             ("date", "platform", "python", "cpu", "nproc", "numpy", "sklearn", "dasknn")]
    lines += [f"blas: {b}" for b in info["blas"]]
    lines.append(f"load average at start: {info['loadavg']} (timings need an idle machine)")
    lines.append(f"thread env: {info['threads_env']}  --threads: {info['threads_arg']}")
    lines.append(f"n_samples={info['n_samples']} (90% train)  epochs={info['epochs']}  "
                 f"repeat={info['repeat']} (best of)")
    return lines


def format_table(rows):
    """Return the results table as text lines."""
    head = ("dtype", "mode", "sklearn s", "dasknn s", "ratio", "sklearn acc", "dasknn acc")
    out = [" | ".join(f"{h:>11}" for h in head)]
    out.append("-" * len(out[0]))
    for r in rows:
        sk, dk = r["sklearn"] or {}, r["dasknn"] or {}
        cells = (r["dtype"], r["mode"], fmt(sk.get("fit_s"), ".2f"),
                 fmt(dk.get("fit_s"), ".2f"), fmt(r["ratio"], ".2f"),
                 fmt(sk.get("accuracy"), ".4f"), fmt(dk.get("accuracy"), ".4f"))
        out.append(" | ".join(f"{c:>11}" for c in cells))
    return out


def worker_threads(runs):
    """Return the distinct BLAS thread counts the workers reported."""
    return sorted({tuple(r["blas_threads"] or ()) for r in runs})


def write_json(path, info, rows, runs):
    """Write the machine info, summary rows and all runs to ``path``."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump({"machine": info, "summary": rows, "runs": runs}, f, indent=2)


def parse_args(argv=None):
    """Parse the command line."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--worker", nargs=2, metavar=("LIB", "DTYPE"), help=argparse.SUPPRESS)
    p.add_argument("--warm", action="store_true", help="also time with a warmed BLAS")
    p.add_argument("--repeat", type=int, default=1, help="runs per worker; best is kept")
    p.add_argument("--dtypes", nargs="+", choices=DTYPES, default=list(DTYPES))
    p.add_argument("--libs", nargs="+", choices=LIBS, default=list(LIBS))
    p.add_argument("--epochs", type=int, default=3, help="max_iter (default 3)")
    p.add_argument("--n-samples", type=int, default=200_000)
    p.add_argument("--threads", type=int, default=None,
                   help="set OMP/OPENBLAS/MKL_NUM_THREADS in the workers")
    p.add_argument("--json", metavar="PATH", help="write results as JSON to PATH")
    return p.parse_args(argv)


def main(argv=None):
    """Entry point: run as a worker or as the benchmark driver."""
    args = parse_args(argv)
    if args.worker:
        lib, dtype = args.worker
        print(json.dumps(worker(lib, dtype, args.epochs, args.n_samples, args.warm)))
        return
    info = machine_info(args)
    print("\n".join(format_header(info)), flush=True)
    runs = run_all(args)
    rows = summarize(runs, args)
    print("\n".join(format_table(rows)))
    print("ratio = sklearn s / dasknn s (> 1 means dasknn is faster)")
    print(f"BLAS threads seen in the workers: {worker_threads(runs)}")
    if args.json:
        write_json(args.json, info, rows, runs)


if __name__ == "__main__":
    main()
