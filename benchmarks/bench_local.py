"""In-process fit time of ``dasknn.MLPClassifier`` against scikit-learn's, on numpy.

Both libraries fit the benchmark MLP (``common.MODEL``, 3 epochs, every epoch run) on
the benchmark data (``common.make_data``), float32 and float64, each fit in its own
fresh subprocess: a fresh process is what a user gets, and OpenBLAS in a fresh process
runs MLP-sized float32 GEMMs at another speed until a large GEMM has run. With
``--warm`` each fit is timed again after one 1024x1024 GEMM ("warm" rows). Only
``fit`` is timed. The table gives each library's fit time, the ratio (scikit-learn's
time over dasknn's: above 1, dasknn is faster), the test accuracies, whether the fitted
weights are identical (SHA-256 of the weights) and each library's ``predict`` of the
training rows (best of 3), with whether the probabilities are identical.

Usage, from the repository root on an otherwise idle machine::

    python benchmarks/bench_local.py --warm --repeat 2

Quick check of the mechanics::

    python benchmarks/bench_local.py --n-samples 20000 --epochs 1
"""

import argparse
import hashlib
import os
import sys

import numpy as np

import common

LIBS = ("sklearn", "dasknn")
DTYPES = ("float32", "float64")
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


# ---------------------------------------------------------------- worker side
def digest(arrays):
    """SHA-256 of ``arrays``' bytes: equal digests, identical arrays."""
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def worker(lib, dtype, epochs, n_samples, warm):
    """Fit one model in this process; return its result."""
    if lib == "sklearn":
        from sklearn.neural_network import MLPClassifier
    else:
        from dasknn import MLPClassifier

    common.quiet()
    X_train, X_test, y_train, y_test = common.make_data(n_samples, dtype)
    model = MLPClassifier(**common.mlp_params(epochs))
    if warm:
        common.warm_blas()
    _, fit_s = common.timed(lambda: model.fit(X_train, y_train))
    return {
        "lib": lib, "dtype": dtype, "mode": "warm" if warm else "fresh", "fit_s": fit_s,
        "accuracy": float(model.score(X_test, y_test)),
        "coef_sha": digest(model.coefs_ + model.intercepts_),
        "predict_s": common.best_time(lambda: model.predict(X_train)),
        "proba_sha": digest([model.predict_proba(X_train)]),
        "predict_rows": int(X_train.shape[0]), "blas_threads": common.blas_threads(),
    }


# ---------------------------------------------------------------- parent side
def run_worker(lib, dtype, mode, args):
    """Run one worker in a fresh subprocess; return its result."""
    argv = [os.path.abspath(__file__), "--worker", lib, dtype, "--epochs", str(args.epochs),
            "--n-samples", str(args.n_samples)] + (["--warm"] if mode == "warm" else [])
    env = dict(os.environ)
    if args.threads is not None:
        env.update({var: str(args.threads) for var in THREAD_VARS})
    try:
        return common.run_json(argv, env)
    except RuntimeError as err:
        raise SystemExit(str(err)) from None


def run_all(args):
    """Every (library, dtype, mode) worker ``args.repeat`` times."""
    runs = []
    for _ in range(args.repeat):
        for dtype in args.dtypes:
            for mode in ("fresh", "warm") if args.warm else ("fresh",):
                for lib in args.libs:
                    runs.append(run_worker(lib, dtype, mode, args))
                    print(".", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return runs


def best_run(runs, lib, dtype, mode, key="fit_s"):
    """The matching run with the least ``key``, or None."""
    match = [r for r in runs if (r["lib"], r["dtype"], r["mode"]) == (lib, dtype, mode)]
    return min(match, key=lambda r: r[key]) if match else None


def same(runs, dtype, key):
    """'yes' if every run of ``dtype`` has the same ``key`` digest, else 'NO'."""
    return "yes" if len({r[key] for r in runs if r["dtype"] == dtype}) == 1 else "NO"


def format_table(runs, args):
    """One line per (dtype, mode): best fit times, ratio, accuracies, predict times."""
    head = ("dtype", "mode", "sklearn s", "dasknn s", "ratio", "sklearn acc", "dasknn acc",
            "same weights", "predict s sk / dk", "same proba")
    out = [" | ".join(head), "-" * 118]
    for dtype in args.dtypes:
        for mode in ("fresh", "warm"):
            sk, dk = (best_run(runs, lib, dtype, mode) for lib in ("sklearn", "dasknn"))
            if sk is None and dk is None:
                continue
            sk, dk = sk or {}, dk or {}
            ratio = sk["fit_s"] / dk["fit_s"] if sk and dk else None
            cells = (dtype, mode, common.fmt(sk.get("fit_s"), ".2f"),
                     common.fmt(dk.get("fit_s"), ".2f"), common.fmt(ratio, ".2f"),
                     common.fmt(sk.get("accuracy"), ".4f"),
                     common.fmt(dk.get("accuracy"), ".4f"), same(runs, dtype, "coef_sha"),
                     f"{common.fmt(sk.get('predict_s'), '.3f')} / "
                     f"{common.fmt(dk.get('predict_s'), '.3f')}",
                     same(runs, dtype, "proba_sha"))
            out.append(" | ".join(f"{c:>{len(h)}}" for c, h in zip(cells, head)))
    return out + ["ratio = sklearn s / dasknn s (> 1 means dasknn is faster); predict: "
                  "the training rows, best of 3"]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--worker", nargs=2, metavar=("LIB", "DTYPE"), help=argparse.SUPPRESS)
    p.add_argument("--warm", action="store_true",
                   help="also time every fit after a large GEMM in its process")
    p.add_argument("--repeat", type=common.positive, default=1,
                   help="fresh processes per cell; the fastest is kept")
    p.add_argument("--dtypes", nargs="+", choices=DTYPES, default=list(DTYPES))
    p.add_argument("--libs", nargs="+", choices=LIBS, default=list(LIBS))
    p.add_argument("--epochs", type=common.positive, default=3, help="max_iter (default 3)")
    p.add_argument("--n-samples", type=common.positive, default=200_000)
    p.add_argument("--threads", type=int, default=None,
                   help="set OMP/OPENBLAS/MKL_NUM_THREADS in the workers (default: as set)")
    p.add_argument("--json", metavar="PATH", help="also write the results to PATH")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        common.emit(worker(*args.worker, args.epochs, args.n_samples, args.warm))
        return
    info = common.print_header(
        modules=("numpy", "sklearn", "dasknn"), n_samples=args.n_samples,
        epochs=args.epochs, repeat=args.repeat, threads=args.threads,
        threads_env={v: os.environ.get(v) for v in THREAD_VARS})
    runs = run_all(args)
    print("\n".join(format_table(runs, args)))
    print(f"BLAS threads in the workers: {sorted({tuple(r['blas_threads'] or ()) for r in runs})}")
    if args.json:
        common.write_json(args.json, {"machine": info, "runs": runs})


if __name__ == "__main__":
    main()
