"""The dasknn command: demo, train and predict.

``dasknn demo`` starts a local Dask cluster, trains on a generated dataset big enough
to be worth distributing and reports accuracy, time and a loss-curve PNG.
``dasknn train DATA --target COL`` trains on a CSV, Parquet, Zarr or .npy file read
with Dask and saves a skops model; ``dasknn predict MODEL DATA --out FILE`` writes its
predictions.
"""

import argparse
import contextlib
import os
import pathlib
import sys
import time
import warnings

import numpy as np

READABLE = ".csv, .parquet (file or folder), .zarr or .npy"
WRITABLE = (".csv", ".parquet", ".pq", ".npy")


class UsageError(Exception):
    """A mistake in the command's use: printed as one message, exit status 2."""


def _parser():
    parser = argparse.ArgumentParser(prog="dasknn", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback of an error")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="train on a built-in dataset on a local Dask cluster")
    demo.add_argument("--max-iter", type=int, default=15, help="epochs (default 15)")
    demo.add_argument("--n-samples", type=int, default=400_000, help="rows (default 400000)")
    demo.add_argument("--png", default="dasknn-demo-loss.png", help="loss-curve image")
    _cluster_args(demo)
    train = sub.add_parser("train", help="train on a data file and save the model")
    train.add_argument("data", help=f"the training data: {READABLE}")
    train.add_argument("--target", required=True,
                       help="target column (tables) or the path of a target array")
    train.add_argument("--out", default="model.skops", help="model file (skops)")
    train.add_argument("--regressor", action="store_true", help="fit MLPRegressor")
    train.add_argument("--hidden-layer-sizes", default="100",
                       help="comma-separated widths (default 100)")
    train.add_argument("--max-iter", type=int, default=200, help="epochs at most (default 200)")
    train.add_argument("--learning-rate-init", type=float, default=1e-3,
                       help="initial learning rate (default 0.001)")
    train.add_argument("--batch-size", default="auto",
                       help="rows per minibatch, or auto: min(200, rows) (default auto)")
    train.add_argument("--early-stopping", action="store_true",
                       help="hold out 10%% of the rows and stop when their score stalls")
    train.add_argument("--random-state", type=int, default=None,
                       help="seed, for the same model from the same data and cluster")
    _cluster_args(train)
    predict = sub.add_parser("predict", help="predict with a saved model")
    predict.add_argument("model", help="a model file written by `dasknn train`")
    predict.add_argument("data", help=f"the rows to predict: {READABLE}")
    predict.add_argument("--out", required=True,
                         help="output file, in the format its extension names: .csv, "
                              ".parquet or .npy")
    predict.add_argument("--target", default=None, help="column to drop before predicting")
    _cluster_args(predict)
    return parser


def _cluster_args(parser):
    parser.add_argument("--scheduler", default=None,
                        help="address of a running Dask scheduler (default: a local cluster)")
    parser.add_argument("--n-workers", type=int, default=None,
                        help="local cluster workers (default: one per core)")


@contextlib.contextmanager
def _client(args):
    from distributed import Client, LocalCluster

    if args.scheduler:
        with Client(args.scheduler) as client:
            yield client
        return
    n_workers = args.n_workers or os.cpu_count() or 1
    with LocalCluster(n_workers=n_workers, threads_per_worker=1) as cluster, \
            Client(cluster) as client:
        yield client


def _read(path, target=None):
    """``(X, y)`` from a data file read lazily with Dask (y is None without target)."""
    import dask.array as da
    import dask.dataframe as dd

    if not os.path.exists(path):
        raise UsageError(f"{path} does not exist.")
    suffix = pathlib.Path(path).suffix.lower()
    if suffix in (".npy", ".zarr"):
        if suffix == ".zarr":
            try:
                import zarr  # noqa: F401
            except ImportError:
                raise UsageError("reading Zarr needs the zarr package: pip install zarr")
        load = _read_npy if suffix == ".npy" else da.from_zarr
        if target is not None and not os.path.exists(target):
            raise UsageError(f"the target array {target} does not exist (for arrays, "
                             "--target is the path of the target array).")
        return load(path), (load(target) if target else None)
    if suffix == ".csv":
        frame = dd.read_csv(path)
    elif suffix in (".parquet", ".pq") or os.path.isdir(path):
        frame = dd.read_parquet(path)
    else:
        raise UsageError(f"cannot read {path}: dasknn reads {READABLE}.")
    if target is None:
        return frame, None
    if target not in frame.columns:
        raise UsageError(f"no column {target!r} in {path}; its columns are "
                         f"{', '.join(map(str, frame.columns))}.")
    return frame.drop(columns=[target]), frame[target]


def _read_npy(path, rows_per_block=100_000):
    """A .npy file as a Dask array whose tasks each read their own rows."""
    import dask
    import dask.array as da

    header = np.load(path, mmap_mode="r")
    shape, dtype = header.shape, header.dtype
    read = dask.delayed(_npy_rows, pure=True)
    blocks = [da.from_delayed(read(path, start, min(start + rows_per_block, shape[0])),
                              (min(rows_per_block, shape[0] - start), *shape[1:]), dtype)
              for start in range(0, shape[0], rows_per_block)]
    return da.concatenate(blocks)


def _npy_rows(path, start, stop):
    return np.array(np.load(path, mmap_mode="r")[start:stop])


def demo(args):
    import dask.array as da
    from sklearn.datasets import make_classification

    from . import MLPClassifier

    X, y = make_classification(n_samples=args.n_samples, n_features=40, n_informative=30,
                               n_classes=10, class_sep=1.5, random_state=0)
    X = X.astype(np.float32)
    n_test = args.n_samples // 10
    with _client(args) as client:
        print(f"Dask dashboard: {client.dashboard_link}")
        workers = len(client.nthreads())
        chunks = max(1000, (args.n_samples - n_test) // (4 * workers))
        dX = da.from_array(X[n_test:], chunks=(chunks, -1))
        dy = da.from_array(y[n_test:], chunks=chunks)
        dX, dy = client.persist([dX, dy])
        print(f"training an MLP (128, 64) on {args.n_samples - n_test:,} rows x 40 features, "
              f"10 classes, on {workers} worker(s)")
        clf = MLPClassifier(hidden_layer_sizes=(128, 64), max_iter=args.max_iter,
                            random_state=0, verbose=True)
        start = time.perf_counter()
        clf.fit(dX, dy)
        seconds = time.perf_counter() - start
        train_acc = clf.score(dX, dy)
    test_acc = clf.score(X[:n_test], y[:n_test])
    print(f"fit: {seconds:.1f} s for {clf.n_iter_} epochs "
          f"({clf.history_[-1]['samples_per_second']:,.0f} samples/s in the last)")
    print(f"train accuracy {train_acc:.4f}, test accuracy {test_acc:.4f}")
    _plot(clf, args.png)
    print(f"loss curve written to {args.png}")
    return 0


def _plot(clf, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(range(1, len(clf.loss_curve_) + 1), clf.loss_curve_, marker="o")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training loss")
    ax.set_title("dasknn MLPClassifier on a Dask cluster")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def train(args):
    from . import MLPClassifier, MLPRegressor, save

    Estimator = MLPRegressor if args.regressor else MLPClassifier
    batch = args.batch_size if args.batch_size == "auto" else int(args.batch_size)
    model = Estimator(
        hidden_layer_sizes=tuple(int(h) for h in args.hidden_layer_sizes.split(",") if h),
        max_iter=args.max_iter, learning_rate_init=args.learning_rate_init, batch_size=batch,
        early_stopping=args.early_stopping, random_state=args.random_state)
    X, y = _read(args.data, args.target)
    with _client(args):
        start = time.perf_counter()
        model.fit(X, y)
        seconds = time.perf_counter() - start
        score = model.score(X, y)
    save(model, args.out)
    print(f"trained {type(model).__name__} for {model.n_iter_} epochs in {seconds:.1f} s; "
          f"training score {score:.4f}; saved to {args.out}")
    return 0


def predict(args):
    from . import load

    out = pathlib.Path(args.out)
    if out.suffix.lower() not in WRITABLE:
        raise UsageError(f"cannot write {args.out}: name the output .csv, .parquet or .npy.")
    if not os.path.exists(args.model):
        raise UsageError(f"the model file {args.model} does not exist.")
    try:
        model = load(args.model)
    except Exception as exc:  # noqa: BLE001 - whatever skops raises for a foreign file
        raise UsageError(f"{args.model} is not a model saved by dasknn ({exc}).") from exc
    X, _ = _read(args.data, args.target)
    _check_width(model, X, args)
    with _client(args):
        pred = model.predict(X).compute()  # one column: it fits in memory
    _write(np.asarray(pred), out)
    print(f"predictions written to {args.out}")
    return 0


def _check_width(model, X, args):
    """Refuse data whose column count is not the model's, saying why when the target
    column is still there."""
    expected, found = getattr(model, "n_features_in_", None), X.shape[1]
    if expected is None or found == expected:
        return
    hint = (" Is the target column still in it? Name it with --target to drop it."
            if found == expected + 1 and args.target is None else "")
    raise UsageError(f"{args.data} has {found} columns but the model was trained on "
                     f"{expected}.{hint}")


def _write(pred, out):
    """Write predictions in the format ``out``'s extension names."""
    import pandas as pd

    if out.suffix.lower() == ".npy":
        np.save(out, pred)
        return
    columns = ({"prediction": pred} if pred.ndim == 1 else
               {f"prediction_{i}": pred[:, i] for i in range(pred.shape[1])})
    if out.suffix.lower() == ".csv":
        pd.DataFrame(columns).to_csv(out, index=False)
    else:
        pd.DataFrame(columns).to_parquet(out, index=False)


def main(argv=None):
    """Entry point of the ``dasknn`` console script: 0 on success, 2 for a mistake in
    its use or its data (one message, no traceback unless --debug)."""
    args = _parser().parse_args(argv)
    formatting = warnings.formatwarning
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=UserWarning, module="distributed")
        warnings.formatwarning = _one_line
        try:
            return {"demo": demo, "train": train, "predict": predict}[args.command](args)
        except (UsageError, ValueError, OSError) as exc:
            if args.debug:
                raise
            print(f"dasknn: error: {exc}", file=sys.stderr)
            return 2
        finally:
            warnings.formatwarning = formatting


def _one_line(message, category, filename, lineno, line=None):
    """Warnings as one line (a convergence warning, say), without the source line."""
    return f"dasknn: {category.__name__}: {message}\n"


if __name__ == "__main__":
    sys.exit(main())
