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

Round cost (``--round-cost``). On a real ``LocalCluster`` of 2 worker processes x W/2
threads (one shard per thread, as the engine plans), a fit of ``sync_steps=1`` on 8
minibatches a shard: (wall time of the epochs - time computing) / rounds, from
``history_``; the scheduler tasks of those epochs a round; the bytes a worker sends a
round. ``--scheduler-rounds`` measures the same with the averages going through the
scheduler (``dasknn.exchange: False``) instead of worker to worker.

Exchange (``--exchange``). The all-reduce's latency and bandwidth on 2 to 8 worker
processes of this machine, a round on 2 workers, and the scaling model fitted from them:
predicted epoch times at 1 to 256 workers on a 10 Gbit/s network.

The data and model: the benchmark data of ``--rows`` rows in float32 and the
benchmark MLP (``common.make_data``, ``common.MODEL``), the training rows in 64 Dask
blocks.

    python benchmarks/bench_scale.py --rows 200000 --epochs 5 --json RESULTS.json
    python benchmarks/bench_scale.py --rows 2000000 --epochs 3 --shards 16,64
    python benchmarks/bench_scale.py --round-cost --shards 1,2,4,8,16,32,64
    python benchmarks/bench_scale.py --exchange --processes 2,4,8
    python benchmarks/bench_scale.py --plot docs/_static/scale.png RESULTS.json ...

Quick check of the mechanics::

    python benchmarks/bench_scale.py --rows 5000 --epochs 1 --shards 1,4
"""

import argparse
import json
import warnings

import dask
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
    x shards/2 threads (the epochs after the first, which pays the workers' warm-up),
    compute seconds a sample, and the bytes a worker sends a round (an all-reduce of
    the model's size on the same workers)."""
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
        compute = sum(r["seconds"] * (1 - r["sync_share"]) for r in records)
        later = [t for t in stream.data if _epoch_of(str(t["key"])) not in (None, 0)]
        sent = _bytes_a_round(client) if dask.config.get("dasknn.exchange", True) else None
        return sync / rounds, len(later) / rounds, compute / (rows * len(records)), sent


def _model_size():
    """Float64 elements of the benchmark MLP's weights and biases."""
    from dasknn.maths.network import Layout

    return sum(i * o for i, o in Layout(common.UNITS).shapes) + sum(common.UNITS[1:])


def _bytes_a_round(client):
    """Bytes the busiest worker sends in one all-reduce of the model (0 on one worker)."""
    from dasknn.distributed import exchange

    workers = tuple(sorted(client.scheduler_info()["workers"]))
    if len(workers) < 2:
        return 0
    exchange.install(client)
    futures = [client.submit(_sent_by, rank, workers, _model_size(), workers=[w], pure=False)
               for rank, w in enumerate(workers)]
    return max(client.gather(futures))


def _sent_by(rank, workers, size):
    from dasknn.distributed import exchange

    link = exchange._Link(exchange.Group("bench-bytes", rank, workers, 60.0))
    exchange.allreduce(link, np.ones(size), {rank: (1.0,) * 5}, 0)
    return link.sent


def _epoch_of(key):
    """The epoch of a task of the rounds (``dasknn-round-E-...``, ``dasknn-average-E-...``,
    the exchange's ``dasknn-rounds-E-...``, ``dasknn-params-E-...``, ``dasknn-summaries-E-...``)."""
    for prefix in ("dasknn-round-", "dasknn-average-", "dasknn-rounds-", "dasknn-params-",
                   "dasknn-summaries-"):
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


EXCHANGE_SIZES = (1, 60_042, 2**20)  # float64 elements: latency, the benchmark MLP, 8 MiB
# (60,042 is _model_size())


def exchange_cost(processes, repeat=20):
    """Seconds one all-reduce of each of :data:`EXCHANGE_SIZES` takes on a LocalCluster of
    ``processes`` worker processes of one thread (the exchange's own code, over TCP on
    this machine), the median over ``repeat``, and the bytes a rank sends for it."""
    from distributed import Client, LocalCluster

    from dasknn.distributed import exchange

    with LocalCluster(n_workers=processes, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        exchange.install(client)
        workers = tuple(sorted(client.scheduler_info()["workers"]))
        futures = [client.submit(_time_allreduce, rank, workers, repeat, workers=[w],
                                 pure=False) for rank, w in enumerate(workers)]
        ranks = client.gather(futures)
    # a collective ends when its slowest rank ends
    return {size: (max(r[size][0] for r in ranks), max(r[size][1] for r in ranks))
            for size in EXCHANGE_SIZES}


def _time_allreduce(rank, workers, repeat):
    import time

    from dasknn.distributed import exchange

    out = {}
    for size in EXCHANGE_SIZES:
        vector, times = np.ones(size), []
        for i in range(repeat + 1):
            link = exchange._Link(exchange.Group(f"bench-{size}-{i}", rank, workers, 60.0))
            tic = time.perf_counter()
            exchange.allreduce(link, vector, {rank: (1.0,) * 5}, 0)
            times.append(time.perf_counter() - tic)
        out[size] = (float(np.median(times[1:])), link.sent)
    return out


def exchange_sweep(args):
    """Latency and bandwidth of the exchange for 2 to 8 processes, then the scaling
    model from them and from a round on 2 workers of one thread."""
    results = {}
    for p in args.processes:
        cost = exchange_cost(p)
        small, model, large = (cost[s] for s in EXCHANGE_SIZES)
        bandwidth = large[1] / max(large[0] - small[0], 1e-9)
        print(f"exchange, {p} processes: all-reduce of 8 B {1000 * small[0]:6.2f} ms, of the "
              f"benchmark MLP ({8 * EXCHANGE_SIZES[1] / 1e3:.0f} kB) {1000 * model[0]:6.2f} ms, "
              f"of 8 MiB {1000 * large[0]:7.1f} ms; a rank sends {model[1] / 1e3:.0f} kB "
              f"for the MLP; {bandwidth / 1e6:.0f} MB/s a rank", flush=True)
        results[str(p)] = {str(size): dict(seconds=t, bytes_sent=b)
                           for size, (t, b) in cost.items()}
    two = results[str(min(args.processes))]
    small, model, large = (two[str(s)] for s in EXCHANGE_SIZES)
    round_s, tasks, c, _ = round_cost(2)
    print(f"round on 2 workers of one thread: {1000 * round_s:.2f} ms, "
          f"{tasks:.2f} scheduler tasks; compute {1e6 * c:.2f} us a sample", flush=True)
    inputs = dict(c=c, r0=max(0.0, round_s - model["seconds"]), alpha=small["seconds"],
                  bandwidth=large["bytes_sent"] / (large["seconds"] - small["seconds"]))
    return dict(exchange=results, model_inputs=inputs, model=print_scaling_model(inputs))


NETWORK = 1.25e9  # bytes/s of a 10 Gbit/s network


def scaling_model(inputs, rows, workers):
    """Predicted seconds of an epoch on ``workers`` workers of one core:
    ``N c / W + R(W) r(W)``, ``R(W)`` the defaults' rounds an epoch and ``r(W) = r0 +
    h(W) (alpha + S / beta)`` a round's cost (``h(W)``: the exchange's steps, log2 W for
    recursive doubling; ``S``: the bytes a step sends; ``beta``: the measured bandwidth,
    at most a 10 Gbit/s network's)."""
    from dasknn.distributed.planning import Distribution, sync_steps
    from dasknn.maths.network import Layout

    layout = Layout(common.UNITS)
    model_bytes = 8 * _model_size()
    beta = min(inputs["bandwidth"], NETWORK)
    batches = -(-rows // workers // common.BATCH)
    steps = sync_steps(Distribution("model", "auto", "linear", "auto", "auto", "auto"),
                       layout, common.BATCH, "float32", workers, batches)
    n_rounds = -(-batches // steps)
    hops = 0 if workers == 1 else (workers - 1).bit_length() + (workers & (workers - 1) != 0)
    round_s = inputs["r0"] + hops * (inputs["alpha"] + model_bytes / beta)
    compute = rows * inputs["c"] / workers
    return dict(steps=steps, rounds=n_rounds, round_ms=1000 * round_s,
                seconds=compute + n_rounds * round_s,
                sync_share=n_rounds * round_s / (compute + n_rounds * round_s))


def print_scaling_model(inputs):
    print(f"scaling model inputs: c = {1e6 * inputs['c']:.2f} us a sample, r0 = "
          f"{1000 * inputs['r0']:.2f} ms, alpha = {1000 * inputs['alpha']:.2f} ms a step, "
          f"bandwidth {inputs['bandwidth'] / 1e6:.0f} MB/s measured, "
          f"{min(inputs['bandwidth'], NETWORK) / 1e6:.0f} MB/s used")
    table = []
    for rows in (180_000, 1_800_000):
        one = scaling_model(inputs, rows, 1)["seconds"]
        for w in (1, 16, 64, 256):
            m = scaling_model(inputs, rows, w)
            print(f"  {rows:9,d} rows, {w:3d} workers: {m['steps']:3d} steps a round, "
                  f"{m['rounds']:3d} rounds, {m['round_ms']:5.1f} ms a round, epoch "
                  f"{m['seconds']:6.3f} s, {100 * m['sync_share']:3.0f}% synchronising, "
                  f"{one / m['seconds']:5.1f}x one worker", flush=True)
            table.append(dict(rows=rows, workers=w, speedup=one / m["seconds"], **m))
    return table


def round_cost_sweep(args):
    costs, tasks, sent = {}, {}, {}
    for w in args.shards:
        costs[w], tasks[w], _, sent[w] = round_cost(w)
        print(f"round cost, {w:3d} shards: {1000 * costs[w]:7.1f} ms, "
              f"{tasks[w]:.1f} scheduler tasks" + ("" if sent[w] is None else
                                                 f", {sent[w] / 1e3:.0f} kB sent by a worker"),
              flush=True)
    a, b, c = fit_round_model(costs)
    print(f"model: a = {1000 * a:.2f} ms, b = {1000 * b:.3f} ms per shard, "
          f"c = {1000 * c:.2f} ms per doubling")
    for w in sorted(costs):
        model = a + b * w + c * np.log2(w)
        print(f"  {w:3d} shards: measured {1000 * costs[w]:6.1f} ms, model "
              f"{1000 * model:6.1f} ms ({100 * (model / costs[w] - 1):+.0f}%)")
    return dict(costs={str(k): v for k, v in costs.items()},
                tasks={str(k): v for k, v in tasks.items()},
                bytes_sent={str(k): v for k, v in sent.items()}, a=a, b=b, c=c)


def plot(path, files):
    """Accuracy against shards, one line per saved run, dataset and setting (the first
    block layout measured), scikit-learn dashed."""
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
        layout = next((r["layout"] for r in saved["results"] if "layout" in r), None)
        for dataset, setting in dict.fromkeys((r.get("dataset", "bench"), r["setting"])
                                              for r in saved["results"]):
            runs = [r for r in saved["results"] if r["setting"] == setting
                    and r.get("dataset", "bench") == dataset
                    and r.get("layout", layout) == layout]  # the first layout measured
            ours = [r for r in runs if r["shards"]]
            label = f"{dataset}, {int(rows) * 9 // 10:,} rows, {setting}"
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
    parser.add_argument("--scheduler-rounds", action="store_true",
                        help="--round-cost with the averages through the scheduler (the "
                             "path of in-process runs), not worker to worker")
    parser.add_argument("--exchange", action="store_true",
                        help="measure the exchange's latency and bandwidth instead")
    parser.add_argument("--processes", default="2,4,8",
                        help="comma-separated worker process counts (--exchange)")
    parser.add_argument("--json", default=None, help="also write the results here")
    parser.add_argument("--plot", nargs="+", metavar=("PNG", "JSON"), default=None,
                        help="draw accuracy vs shards from saved runs, measuring nothing")
    args = parser.parse_args(argv)
    args.shards = [int(w) for w in args.shards.split(",")]
    args.processes = [int(p) for p in args.processes.split(",")]
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
                                round_cost=args.round_cost,
                                scheduler_rounds=args.scheduler_rounds)
    with dask.config.set({"dasknn.exchange": not args.scheduler_rounds}):
        out = (exchange_sweep(args) if args.exchange else
               round_cost_sweep(args) if args.round_cost else accuracy_sweep(args))
    if args.json:
        common.write_json(args.json, dict(info=info, results=out))


if __name__ == "__main__":
    main()
