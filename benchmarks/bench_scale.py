"""Scale-out: dasknn's accuracy and round cost from 1 to 64 shards, against scikit-learn.

Accuracy. W shards are trained with :func:`dasknn.distributed.runner.simulated_slots`:
the engine's own code (the same shards, rounds, tree of averages, seeds and
learning-rate rules as a cluster of W worker threads), run one task after another in
this process with one BLAS thread. A model never depends on where its shards run, so
this is the model a W-slot cluster gives (``tests/distributed/test_scale.py`` checks
that against a real LocalCluster). Three settings:

``same``   the same epochs as scikit-learn (``--epochs``, ``tol=0``);
``conv``   scikit-learn's defaults (``max_iter=200``, ``tol=1e-4``,
           ``n_iter_no_change=10``): trained until the stopping rule ends the fit;
``early``  the same with ``early_stopping=True``.

Round cost. On a real ``LocalCluster`` of 2 worker processes x W/2 threads (one shard
per thread, as the engine plans), a fit of ``sync_steps=1`` on 8 minibatches a shard:
(wall time of the epochs - time computing) / rounds, from ``history_``.

The data and model: the benchmark data of ``--rows`` rows in float32 and the
benchmark MLP (``common.make_data``, ``common.MODEL``), the training rows in 64 Dask
blocks.

    python benchmarks/bench_scale.py --rows 200000 --epochs 5 --json RESULTS.json
    python benchmarks/bench_scale.py --rows 2000000 --epochs 3 --shards 16,64
    python benchmarks/bench_scale.py --round-cost --shards 1,2,4,8,16,32,64
    python benchmarks/bench_scale.py --plot docs/_static/scale.png RESULTS.json ...

Quick check of the mechanics::

    python benchmarks/bench_scale.py --rows 5000 --epochs 1 --shards 1,4
"""

import argparse
import json
import warnings

import numpy as np

import common
from common import MODEL

SETTINGS = {
    "same": lambda epochs: dict(max_iter=epochs, tol=0.0),
    "conv": lambda epochs: dict(),
    "early": lambda epochs: dict(early_stopping=True),
}


def run_sklearn(data, params):
    from sklearn.neural_network import MLPClassifier

    from threadpoolctl import threadpool_limits

    X, Xt, y, yt = data
    with threadpool_limits(limits=1, user_api="blas"):  # as each shard has
        clf, seconds = common.timed(lambda: MLPClassifier(**MODEL, **params).fit(X, y))
    return dict(accuracy=clf.score(Xt, yt), epochs=clf.n_iter_, seconds=seconds)


LAYOUTS = ("even", "remainder", "parquet")


def chunks(n, layout):
    """Row blocks of ``n`` rows: ``even``, 64 near-equal blocks; ``remainder``, blocks of
    ``n // 64`` rows and the remainder in a small last block (``from_array`` with
    ``len(X) // 64``); ``parquet``, 64 blocks of random sizes (0.1x to 2x the mean)."""
    if layout == "even":
        return (-(-n // 64),)
    if layout == "remainder":
        return (n // 64,)
    weights = np.random.RandomState(0).uniform(0.1, 2.0, 64)
    sizes = np.floor(weights / weights.sum() * n).astype(int)
    sizes[-1] += n - sizes.sum()
    return (tuple(int(r) for r in sizes),)


DATASETS = {
    "bench": lambda rows: common.make_data(rows),
    "standardised": lambda rows: _standardised(common.make_data(rows)),
    "other": lambda rows: _other(rows),
}


def _standardised(data):
    from sklearn.preprocessing import StandardScaler

    X, Xt, y, yt = data
    scaler = StandardScaler().fit(X)
    return (scaler.transform(X).astype(np.float32), scaler.transform(Xt).astype(np.float32),
            y, yt)


def _other(rows):
    """A harder task than the benchmark's: fewer informative features, overlapping
    classes, 2% of labels flipped."""
    from sklearn.datasets import make_classification
    from sklearn.model_selection import train_test_split

    X, y = make_classification(n_samples=rows, n_features=100, n_informative=20,
                               n_redundant=20, n_classes=10, class_sep=0.8, flip_y=0.02,
                               random_state=1)
    return train_test_split(X.astype(np.float32), y, test_size=0.1, random_state=0)


def run_dasknn(data, params, shards, layout="even"):
    import dask.array as da

    from dasknn import MLPClassifier
    from dasknn.distributed.runner import simulated_slots

    X, Xt, y, yt = data
    rows = chunks(X.shape[0], layout)
    dX, dy = da.from_array(X, chunks=rows + (X.shape[1],)), da.from_array(y, chunks=rows)
    clf = MLPClassifier(**MODEL, **params)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with simulated_slots(shards):
            _, seconds = common.timed(lambda: clf.fit(dX, dy))
    notes = sorted({str(w.message)[:90] for w in caught
                    if common.CONVERGENCE not in str(w.message)})
    return dict(accuracy=clf.score(Xt, yt), epochs=clf.n_iter_, seconds=seconds,
                rounds=sum(r["rounds"] for r in clf.history_), warnings=notes)


def accuracy_sweep(args):
    results = []
    for dataset in args.datasets:
        data = DATASETS[dataset](args.rows)
        for setting in args.settings:
            results += _sweep_setting(args, data, dataset, setting)
    return results


def _sweep_setting(args, data, dataset, setting):
    params = SETTINGS[setting](args.epochs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = run_sklearn(data, params)
    print(f"{dataset:12} {setting:5} scikit-learn              accuracy {ref['accuracy']:.4f}  "
          f"epochs {ref['epochs']:3d}  {ref['seconds']:7.1f} s", flush=True)
    results = [dict(dataset=dataset, setting=setting, shards=0, **ref)]
    for layout in args.layouts:
        for w in args.shards:
            got = run_dasknn(data, params, w, layout)
            gap = 100 * (got["accuracy"] - ref["accuracy"])
            print(f"{dataset:12} {setting:5} {layout:9} {w:3d} shards  accuracy "
                  f"{got['accuracy']:.4f}  epochs {got['epochs']:3d}  {got['seconds']:7.1f} s"
                  f"  {gap:+5.1f} points  rounds {got['rounds']}  "
                  f"{'; '.join(got['warnings'])}", flush=True)
            results.append(dict(dataset=dataset, setting=setting, layout=layout, shards=w,
                                gap_points=gap, **got))
    return results


def round_cost(shards):
    """Seconds of synchronisation and scheduler tasks per round on 2 worker processes
    x shards/2 threads (the epochs after the first, which pays the workers' warm-up)."""
    from distributed import Client, LocalCluster, get_task_stream

    from dasknn import MLPClassifier

    rows = shards * 8 * 256  # 8 minibatches a shard: 8 rounds an epoch at sync_steps=1
    X, _, y, _ = common.make_data(rows + rows // 9 + 10)
    X, y = X[:rows], y[:rows]
    threads = max(1, shards // 2)
    with LocalCluster(n_workers=2 if shards > 1 else 1, threads_per_worker=threads,
                      processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        dX, dy = common.to_dask(X, y, max(64, shards), client)
        clf = MLPClassifier(**MODEL, max_iter=3, tol=0.0, sync_steps=1)
        with warnings.catch_warnings(), get_task_stream(client) as stream:
            warnings.simplefilter("ignore")
            clf.fit(dX, dy)
        records = clf.history_[1:]
        rounds = sum(r["rounds"] for r in records)
        sync = sum(r["seconds"] * r["sync_share"] for r in records)
        later = [t for t in stream.data if _epoch_of(str(t["key"])) not in (None, 0)]
        return sync / rounds, len(later) / rounds


def _epoch_of(key):
    """The epoch of a round's task (``dasknn-round-E-...``, ``dasknn-average-E-...``)."""
    for prefix in ("dasknn-round-", "dasknn-average-"):
        if prefix in key:
            return int(key.split(prefix)[1].split("-")[0])
    return None


def fit_round_model(costs):
    """``a + b W + c log2 W`` by non-negative least squares on the measured rounds."""
    from scipy.optimize import nnls

    ws = np.array(sorted(costs), dtype=float)
    A = np.stack([np.ones_like(ws), ws, np.log2(ws)], axis=1)
    coef, _ = nnls(A, np.array([costs[w] for w in sorted(costs)]))
    return coef


def round_cost_sweep(args):
    costs, tasks = {}, {}
    for w in args.shards:
        costs[w], tasks[w] = round_cost(w)
        print(f"round cost, {w:3d} shards: {1000 * costs[w]:7.1f} ms, "
              f"{tasks[w]:.1f} scheduler tasks a round", flush=True)
    a, b, c = fit_round_model(costs)
    print(f"model: a = {1000 * a:.2f} ms, b = {1000 * b:.3f} ms per shard, "
          f"c = {1000 * c:.2f} ms per doubling")
    for w in sorted(costs):
        model = a + b * w + c * np.log2(w)
        print(f"  {w:3d} shards: measured {1000 * costs[w]:6.1f} ms, model "
              f"{1000 * model:6.1f} ms ({100 * (model / costs[w] - 1):+.0f}%)")
    return dict(costs={str(k): v for k, v in costs.items()},
                tasks={str(k): v for k, v in tasks.items()}, a=a, b=b, c=c)


def plot(path, files):
    """Accuracy against shards, one line per saved run and setting, scikit-learn dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for name in files:
        with open(name) as f:
            saved = json.load(f)
        rows = saved["info"].get("settings", {}).get("rows") or (
            saved["info"]["command"].split("--rows ")[1].split()[0]
            if "--rows " in saved["info"]["command"] else 200_000)
        for setting in dict.fromkeys(r["setting"] for r in saved["results"]):
            layout = next((r["layout"] for r in saved["results"] if "layout" in r), None)
            runs = [r for r in saved["results"] if r["setting"] == setting
                    and r.get("layout", layout) == layout]  # the first layout measured
            ours = [r for r in runs if r["shards"]]
            label = f"{int(rows) * 9 // 10:,} rows, {setting}"
            line, = ax.plot([r["shards"] for r in ours], [r["accuracy"] for r in ours],
                            marker="o", label=f"dasknn, {label}")
            ref = [r["accuracy"] for r in runs if not r["shards"]][0]
            ax.axhline(ref, color=line.get_color(), linestyle="--", linewidth=1,
                       label=f"scikit-learn, {label}")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("shards (worker threads)")
    ax.set_ylabel("test accuracy")
    ax.set_title("dasknn's default averaging vs scikit-learn")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000,
                        help="rows generated (a tenth held out for testing)")
    parser.add_argument("--epochs", type=int, default=5, help="epochs of the 'same' setting")
    parser.add_argument("--shards", default="1,2,4,8,16,32,64",
                        help="comma-separated shard counts")
    parser.add_argument("--settings", default="same",
                        help="comma-separated among same, conv, early")
    parser.add_argument("--layouts", default="even",
                        help=f"comma-separated block layouts among {', '.join(LAYOUTS)}")
    parser.add_argument("--datasets", default="bench",
                        help=f"comma-separated among {', '.join(DATASETS)}")
    parser.add_argument("--round-cost", action="store_true",
                        help="measure the round cost on a LocalCluster instead")
    parser.add_argument("--json", default=None, help="also write the results here")
    parser.add_argument("--plot", nargs="+", metavar=("PNG", "JSON"), default=None,
                        help="draw accuracy vs shards from saved runs, measuring nothing")
    args = parser.parse_args(argv)
    args.shards = [int(w) for w in args.shards.split(",")]
    args.settings = args.settings.split(",")
    args.layouts = args.layouts.split(",")
    args.datasets = args.datasets.split(",")
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.plot:
        return plot(args.plot[0], args.plot[1:])
    info = common.print_header(("numpy", "sklearn", "dask", "distributed", "dasknn"),
                                rows=args.rows, epochs=args.epochs, shards=args.shards,
                                accuracy_settings=args.settings, layouts=args.layouts,
                                datasets=args.datasets,
                                round_cost=args.round_cost)
    out = round_cost_sweep(args) if args.round_cost else accuracy_sweep(args)
    if args.json:
        common.write_json(args.json, dict(info=info, results=out))


if __name__ == "__main__":
    main()
