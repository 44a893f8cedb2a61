"""The dasknn command: demo, train and predict.

``dasknn demo`` starts a local Dask cluster, trains on a generated dataset big enough
to be worth distributing and reports accuracy, time, throughput and a PNG of the loss,
validation score and samples/s per epoch (``--keep-open`` keeps the cluster and its
dashboard open afterwards, until Enter).
``dasknn train DATA --target COL`` trains on a CSV, Parquet, Zarr or .npy file read
with Dask and saves a skops model; ``dasknn predict MODEL DATA --out FILE`` writes its
predictions.
"""

import argparse
import contextlib
import logging
import os
import pathlib
import sys
import time
import warnings

import numpy as np

from . import __version__, scaling

READABLE = ".csv, .parquet (file or folder), .zarr or .npy"
WRITABLE = (".csv", ".parquet", ".pq", ".npy")


class UsageError(Exception):
    """A mistake in the command's use: printed as one message, exit status 2."""


def _parser():
    parser = argparse.ArgumentParser(prog="dasknn", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true",
                        help="show the full traceback of an error")
    parser.add_argument("--version", action="version", version=f"dasknn {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="train on a built-in dataset on a local Dask cluster")
    demo.add_argument("--max-iter", type=int, default=60,
                      help="most epochs; early stopping usually ends the fit first (default 60)")
    demo.add_argument("--n-samples", type=int, default=400_000,
                      help="rows generated; a tenth is kept apart to test on (default 400000)")
    demo.add_argument("--png", default="dasknn-demo-loss.png",
                      help="image of the loss, validation score and samples/s per epoch "
                           "(default dasknn-demo-loss.png)")
    demo.add_argument("--keep-open", action="store_true",
                      help="after the fit, keep the cluster and its dashboard open until "
                           "Enter or Ctrl-C")
    _cluster_args(demo)
    train = sub.add_parser("train", help="train on a data file and save the model")
    train.add_argument("data", help=f"the training data: {READABLE}")
    train.add_argument("--target", required=True,
                       help="target column (tables) or the path of a target array")
    train.add_argument("--out", default="model.skops",
                       help="model file, skops format (default model.skops)")
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
                       help="seed, for the same model from the same data and cluster "
                            "(default: a new seed each run)")
    train.add_argument("--categorical", default="",
                       help="comma-separated columns to one-hot encode (text or codes: "
                            "one 0/1 column per value seen, named column=value; predict "
                            "encodes new data the same way)")
    train.add_argument("--drop", default="", help="comma-separated columns to leave out")
    train.add_argument("--no-scale", action="store_true",
                       help="train on the features as they are (by default each is "
                            "standardised: mean 0, variance 1, saved with the model)")
    train.add_argument("--dropna", action="store_true",
                       help="drop the rows with a missing value in the target or in a "
                            "column used")
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
    # the command reports a failed task in one line: its workers' logs of it (a
    # "Compute Failed" block with a traceback) would reach the terminal first
    quiet = logging.CRITICAL if not args.debug else logging.WARNING
    with LocalCluster(n_workers=n_workers, threads_per_worker=1, silence_logs=quiet,
                      scheduler_kwargs={"preload": _preloads()}) as cluster, \
            Client(cluster) as client:
        yield client


def _preloads():
    """The scheduler preloads of Dask's config and :mod:`dasknn.dashboard` (the page)."""
    import dask.config

    preloads = dask.config.get("distributed.scheduler.preload", default=None) or []
    preloads = [preloads] if isinstance(preloads, str) else list(preloads)
    return preloads if "dasknn.dashboard" in preloads else [*preloads, "dasknn.dashboard"]


def _read(path, target=None, drop=(), dropna=False):
    """``(X, y)`` from a data file read lazily with Dask (y is None without target);
    for tables, without the columns ``drop`` names and, with ``dropna``, without the
    rows missing a value in the columns kept."""
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
        if drop or dropna:
            raise UsageError("--drop and --dropna need a table (.csv or .parquet); "
                             f"{path} is an array.")
        return load(path), (load(target) if target else None)
    if suffix == ".csv":
        frame = dd.read_csv(path)
    elif suffix in (".parquet", ".pq") or os.path.isdir(path):
        frame = dd.read_parquet(path)
    else:
        raise UsageError(f"cannot read {path}: dasknn reads {READABLE}.")
    for column in [*drop, *([target] if target is not None else [])]:
        if column not in frame.columns:
            raise UsageError(f"no column {column!r} in {path}; its columns are "
                             f"{', '.join(map(str, frame.columns))}.")
    frame = frame.drop(columns=list(drop)) if drop else frame
    frame = frame.dropna() if dropna else frame
    if target is None:
        return frame, None
    return frame.drop(columns=[target]), frame[target]


def _columns_option(text):
    return [c.strip() for c in text.split(",") if c.strip()]


def _encode_table(X, categorical, path):
    """One-hot encode the ``categorical`` columns of the table ``X`` (one pass finds
    their values); refuse, from the metadata, other columns that hold no numbers."""
    for column in categorical:
        if column not in X.columns:
            raise UsageError(f"--categorical names {column!r}, which is not a feature "
                             f"column of {path}; they are {', '.join(map(str, X.columns))}.")
    text = [c for c, t in X.dtypes.items()
            if c not in categorical and not _numeric_dtype(t)]
    if text:
        names = ",".join(map(str, text))
        raise UsageError(
            f"column{'s' if len(text) > 1 else ''} {', '.join(map(repr, text))} of {path} "
            f"hold{'' if len(text) > 1 else 's'} no numbers "
            f"({', '.join(str(X.dtypes[c]) for c in text)}): one-hot encode with "
            f"--categorical {names}, or leave out with --drop {names}.")
    if not categorical:
        return X
    found = X[categorical].categorize()  # their values, in one pass (a tree of tasks)
    return _one_hot(X, {c: sorted({str(v) for v in found[c].cat.categories})
                        for c in categorical})


def _numeric_dtype(t):
    import pandas as pd

    return pd.api.types.is_numeric_dtype(t) or (
        isinstance(t, pd.CategoricalDtype) and t.categories.dtype.kind in "biuf")


def _one_hot(X, categories):
    """``X`` (a Dask DataFrame) with each column of ``categories`` (column -> values,
    as text) replaced by one float64 column per value, named ``column=value``: 1 where
    the column holds the value, else 0 (a value not listed, or a missing one, gives 0s).

    Examples
    --------
    >>> import pandas as pd, dask.dataframe as dd
    >>> frame = dd.from_pandas(pd.DataFrame({"x": [1.0, 2.0, 3.0],
    ...                                      "origin": ["EWR", "JFK", None]}), npartitions=1)
    >>> _one_hot(frame, {"origin": ["EWR", "JFK", "LGA"]}).compute()
         x  origin=EWR  origin=JFK  origin=LGA
    0  1.0         1.0         0.0         0.0
    1  2.0         0.0         1.0         0.0
    2  3.0         0.0         0.0         0.0
    """
    import dask.dataframe as dd
    import pandas as pd

    typed = {c: X[c].astype(str).astype(pd.CategoricalDtype([str(v) for v in values]))
             for c, values in categories.items()}
    return dd.get_dummies(X.assign(**typed), columns=list(categories), prefix_sep="=",
                          dtype="float64")


def _model_features(model, X):
    """The columns of the table ``X`` that ``model`` was trained on, in its order, with
    the one-hot columns (``column=value``) that ``dasknn train --categorical`` made
    rebuilt from ``X``, and the columns of ``X`` it does not use (ids, the target);
    arrays and models without column names pass unchanged."""
    names = getattr(model, "feature_names_in_", None)
    if names is None or not hasattr(X, "columns"):
        return X, []
    categories = {}
    for name in names:
        column, sep, value = name.partition("=")
        if name not in X.columns and sep and column in X.columns:
            categories.setdefault(column, []).append(value)
    missing = [n for n in names if n not in X.columns and n.partition("=")[0] not in categories]
    if missing:
        raise UsageError(f"the model was trained on columns the data lacks: "
                         f"{_listed(missing)}.")
    ignored = [c for c in X.columns if c not in set(names) and c not in categories]
    return (_one_hot(X, categories) if categories else X)[list(names)], ignored


def _listed(names, most=10):
    """``names`` joined, the first ``most`` of them and how many more.

    Examples
    --------
    >>> _listed(["a", "b", "c"], most=2)
    'a, b and 1 more'
    """
    shown = ", ".join(map(str, names[:most]))
    return shown if len(names) <= most else f"{shown} and {len(names) - most} more"


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
    from .demo import run

    with _client(args) as client:
        return run(args, client)


def train(args):
    from . import MLPClassifier, MLPRegressor, save

    Estimator = MLPRegressor if args.regressor else MLPClassifier
    batch = args.batch_size if args.batch_size == "auto" else int(args.batch_size)
    model = Estimator(
        hidden_layer_sizes=tuple(int(h) for h in args.hidden_layer_sizes.split(",") if h),
        max_iter=args.max_iter, learning_rate_init=args.learning_rate_init, batch_size=batch,
        early_stopping=args.early_stopping, random_state=args.random_state)
    categorical = _columns_option(args.categorical)
    X, y = _read(args.data, args.target, _columns_option(args.drop), args.dropna)
    if categorical and not hasattr(X, "columns"):
        raise UsageError(f"--categorical needs a table (.csv or .parquet); {args.data} "
                         "is an array.")
    with _client(args):
        X = _encode_table(X, categorical, args.data) if hasattr(X, "columns") else X
        start = time.perf_counter()
        try:
            scaler = None if args.no_scale else scaling.fit(X)
            X = X if scaler is None else scaling.apply(scaler, X)
            model.fit(X, y)
        except ValueError as exc:
            if "contains NaN" not in str(exc):
                raise
            raise UsageError(f"{exc} With this command: --dropna drops the rows with "
                             "a missing value.") from exc
        seconds = time.perf_counter() - start
        score, baseline = model.score(X, y), _baseline(model, y)
    save(model if scaler is None else _pipeline(scaler, model), args.out)
    print(f"trained {type(model).__name__} for {model.n_iter_} epochs in {seconds:.1f} s "
          f"on {'standardised' if scaler is not None else 'unscaled'} features; training "
          f"score {score:.4f} ({baseline}); saved to {args.out}")
    return 0


def _pipeline(scaler, model):
    """The saved model: the scaler in front of the network, a scikit-learn Pipeline."""
    from sklearn.pipeline import Pipeline

    return Pipeline([("scale", scaler), ("mlp", model)])


def _baseline(model, y):
    """What the training score compares with: the share of the most frequent class (a
    classifier), or 0, the R^2 of predicting the mean (a regressor)."""
    import dask.array as da

    if not hasattr(model, "classes_"):
        return "predicting the mean scores 0"
    if hasattr(y, "value_counts"):
        counts = y.value_counts().compute().to_numpy()
    else:
        counts = da.unique(y, return_counts=True)[1].compute()
    return f"the most frequent class alone scores {counts.max() / counts.sum():.4f}"


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
    scaler, model = (model[0], model[-1]) if hasattr(model, "steps") else (None, model)
    X, ignored = _model_features(model, X)
    if ignored:
        print(f"ignored the column{'s' if len(ignored) > 1 else ''} the model does not use: "
              f"{_listed(ignored)}")
    _check_width(model, X, args)
    with _client(args):
        X = X if scaler is None else scaling.apply(scaler, X)
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
