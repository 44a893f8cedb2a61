"""Every performance goal in one run: ratios against scikit-learn, PyTorch, dask-ml
and the machine's GEMM ceiling, plus the scaling model's check and predictions.

Usage
-----
From the repository root, on an otherwise idle machine::

    python benchmarks/bench_all.py --json benchmarks/results/all.json

The report of a saved run again, measuring nothing (after a change to the report or
the scaling model's fit)::

    python benchmarks/bench_all.py --report benchmarks/results/all.json

Quick check of the mechanics (small data, one epoch; the goals are not judged)::

    python benchmarks/bench_all.py --n-samples 20000 --epochs 1

What runs, each part in fresh subprocesses, one after the other
----------------------------------------------------------------
GEMM ceiling
    The best float32 GEMM throughput of one thread, warmed (1024 and 2048 square),
    and the throughput of the benchmark MLP's own GEMM shapes at batch 256.
In-process fit on numpy
    ``bench_local.py``'s workers: scikit-learn and dasknn on the same numpy data,
    float32 and float64, BLAS warmed, each fit in a fresh process; the weights'
    SHA-256 digests must be equal (identical results).
Dask
    ``bench_distributed.py``'s groups: dasknn on 1, 2 and 3 workers (one thread
    each) and on 1 worker of 2 threads, dask-ml ``Incremental`` on the 2-worker
    cluster, scikit-learn and PyTorch with 2 threads in-process; prediction of the 180,000 training rows by
    dasknn on the 2-worker cluster and by scikit-learn in-process. Every Dask-side
    contender gets a cluster started for it, nothing imported or warmed on its
    workers: its first fit is the headline (what a user feels), and ``--repeat``
    warm fits on the same cluster follow, reported beside it (their median).
Cold start
    In fresh processes: ``import dasknn``, ``from dasknn import MLPClassifier``,
    what a worker imports for its first task, and ``dasknn --help``.

Every ratio is printed with its goal. The GEMM efficiency is the GEMM work of the
epochs (forward and backward products of every minibatch) over the measured time,
as a share of 2 cores x the 1-thread ceiling: once over the mean epoch wall time
(``history_``, synchronisation included) and once over the whole ``fit`` (label
discovery and shard building included).

The scaling model is described in docs/benchmarks.md; its inputs are measured
here and it is checked against the 1-, 2- and 3-worker runs.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import time
from types import SimpleNamespace

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import bench_distributed as dist  # noqa: E402
import bench_local as local  # noqa: E402

UNITS = (100, 256, 128, 10)
BATCH = 256
GOALS = {  # name: (goal, higher is better)
    "in-process float32 vs sklearn": 1.3,
    "in-process float64 vs sklearn": 1.3,
    "2 workers vs sklearn (2 threads)": 1.5,
    "2 workers vs PyTorch (2 threads)": 1.2,
    "2 workers, warm fit / first fit": 1 / 1.3,
    "2 workers vs dask-ml Incremental": 6.0,
    "GEMM ceiling share, epoch wall time": 0.60,
    "dask predict vs sklearn predict": 1.5,
}


# ------------------------------------------------------------------ GEMM ceiling
def gemm_worker():
    """One-thread float32 GEMM throughput (FLOP/s): square and MLP shapes."""
    import numpy as np
    from threadpoolctl import threadpool_limits

    def rate(a, b, flops, seconds=0.5):
        for _ in range(3):
            a @ b
        n, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            a @ b
            n += 1
        return flops * n / (time.perf_counter() - start)

    rng = np.random.default_rng(0)
    out = {}
    with threadpool_limits(1):
        square = []
        for n in (1024, 2048):
            a = rng.standard_normal((n, n), dtype=np.float32)
            square.append(max(rate(a, a, 2 * n**3) for _ in range(3)))
        out["peak"] = max(square)
        seconds = 0.0
        for i, o in zip(UNITS[:-1], UNITS[1:]):
            x = rng.standard_normal((BATCH, i), dtype=np.float32)
            w = rng.standard_normal((i, o), dtype=np.float32)
            d = rng.standard_normal((BATCH, o), dtype=np.float32)
            f = 2 * BATCH * i * o
            seconds += f / rate(x, w, f) + f / rate(x.T, d, f)  # forward, dW
            if i != UNITS[0]:
                seconds += f / rate(d, w.T, f)  # error to the layer below
        out["mlp_shapes"] = step_flops() / seconds
    return out


def step_flops(batch=BATCH, units=UNITS):
    """GEMM flops of one training step: forward, weight gradients, errors below."""
    pairs = list(zip(units[:-1], units[1:]))
    return 2 * batch * (2 * sum(i * o for i, o in pairs) + sum(i * o for i, o in pairs[1:]))


# ------------------------------------------------------------------- orchestration
def run_json(argv, prefix):
    """Run a subprocess and return the last stdout line starting with ``prefix``."""
    proc = subprocess.run([sys.executable, *argv], capture_output=True, text=True)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(prefix)]
    if proc.returncode or not lines:
        raise SystemExit(f"{argv} failed (rc={proc.returncode}):\n"
                         f"{(proc.stdout + proc.stderr)[-3000:]}")
    return json.loads(lines[-1][len(prefix):])


def run_local(args):
    """In-process fits (best of ``--repeat`` fresh processes per cell, BLAS warmed)."""
    largs = SimpleNamespace(epochs=args.epochs, n_samples=args.n_samples, threads=None)
    runs = []
    for _ in range(args.repeat):
        for dtype in ("float32", "float64"):
            for lib in ("sklearn", "dasknn"):
                runs.append(local.run_worker(lib, dtype, "warm", largs))
                print(".", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return runs


def run_dask(args):
    """The Dask-side contenders, each group in its own process."""
    dargs = dist.parse_args(["--epochs", str(args.epochs), "--n-samples",
                             str(args.n_samples), "--blocks", str(args.blocks),
                             "--repeat", str(args.repeat)])
    return dist.run_all(dargs)


IMPORTS = {  # what a fresh process pays before its first line of work
    "client: import dasknn": "import dasknn",
    "client: from dasknn import MLPClassifier": "from dasknn import MLPClassifier",
    "worker: its first task's imports": "import dasknn.distributed.tasks",
}


def cold_start():
    """Seconds of each import in ``IMPORTS`` (a fresh process each, timed inside it)
    and the wall time of ``dasknn --help``."""
    out = {}
    for name, statement in IMPORTS.items():
        code = (f"import time; t = time.perf_counter(); {statement}; "
                "print('IMPORT', time.perf_counter() - t)")
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              check=True)
        out[name] = float(proc.stdout.split()[-1])
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "dasknn.cli", "--help"], capture_output=True,
                   check=True)
    out["dasknn --help (process wall time)"] = time.perf_counter() - start
    return out


def report_cold_start(cold):
    return ["cold start: " + "; ".join(f"{k} {v:.2f} s" for k, v in cold.items())]


# --------------------------------------------------------------------------- ratios
def local_ratios(runs):
    out = {}
    for dtype in ("float32", "float64"):
        sk = local.best_run(runs, "sklearn", dtype, "warm")
        dk = local.best_run(runs, "dasknn", dtype, "warm")
        same = all(r["coef_sha"] == sk["coef_sha"] for r in runs if r["dtype"] == dtype)
        out[f"in-process {dtype} vs sklearn"] = (
            sk["fit_s"] / dk["fit_s"],
            f"sklearn {sk['fit_s']:.2f} s, dasknn {dk['fit_s']:.2f} s; identical weights: "
            f"{'yes' if same else 'NO'}")
    f32 = [r for r in runs if r["dtype"] == "float32" and "predict_s" in r]
    if f32:
        sk, dk = (min((r for r in f32 if r["lib"] == lib), key=lambda r: r["predict_s"])
                  for lib in ("sklearn", "dasknn"))
        same = all(r["proba_sha"] == sk["proba_sha"] for r in f32)
        out["in-process predict float32 vs sklearn"] = (
            sk["predict_s"] / dk["predict_s"],
            f"{sk['predict_rows']:,} rows: sklearn {sk['predict_s']:.3f} s, dasknn "
            f"{dk['predict_s']:.3f} s; identical probabilities: {'yes' if same else 'NO'}")
    return out


def epoch_seconds(r):
    """Mean epoch wall time from ``history_``."""
    return sum(h["seconds"] for h in r["history"]) / len(r["history"])


def dask_ratios(results, gemm, n_train):
    """Ratios of first fits (dasknn's on a freshly started cluster), warm fits beside."""
    ok = dist.by_name(results)
    d, out = ok["dasknn"], {}
    for key, name in (("sklearn", "sklearn (2 threads)"), ("torch", "PyTorch (2 threads)"),
                      ("torch-glorot", "PyTorch from scikit-learn's initial weights"),
                      ("dask-ml", "dask-ml Incremental")):
        if key in ok:
            r = ok[key]
            out[f"2 workers vs {name}"] = (
                d["samples_per_s"] / r["samples_per_s"],
                f"first fits {d['fit_s']:.2f} vs {r['fit_s']:.2f} s; accuracy "
                f"{d['accuracy']:.4f} vs {r['accuracy']:.4f}")
            if dist.warm_seconds(d) and dist.warm_seconds(r):
                out[f"2 workers vs {name}, warm fits"] = (
                    dist.warm_seconds(r) / dist.warm_seconds(d),
                    f"medians {dist.warm_seconds(d):.2f} vs {dist.warm_seconds(r):.2f} s")
    if dist.warm_seconds(d):
        out["2 workers, warm fit / first fit"] = (
            dist.warm_seconds(d) / d["fit_s"],
            f"first fit {d['fit_s']:.2f} s on a fresh cluster, warm fits "
            f"{', '.join(f'{w:.2f}' for w in d['warm_fit_s'])} s; before the first round "
            f"{d['fit_s'] - sum(h['seconds'] for h in d['history']):.2f} s (labels, "
            "shards, first imports)")
    if "dasknn-1w" in ok and "dasknn-1w2t" in ok:
        one, two = ok["dasknn-1w"], ok["dasknn-1w2t"]
        out["1 worker x 2 threads vs x 1 thread"] = (
            one["s_per_epoch"] / two["s_per_epoch"],
            f"{two['s_per_epoch']:.2f} vs {one['s_per_epoch']:.2f} s/epoch; accuracy "
            f"{two['accuracy']:.4f} vs {one['accuracy']:.4f}")
    flops = step_flops() * n_train / BATCH  # one epoch's GEMM work
    ceiling = 2 * gemm["peak"]
    wall = epoch_seconds(d)
    out["GEMM ceiling share, epoch wall time"] = (
        flops / wall / ceiling,
        f"{flops / 1e9:.1f} GFLOP an epoch in {wall:.3f} s = {flops / wall / 1e9:.1f} GFLOP/s "
        f"of 2 x {gemm['peak'] / 1e9:.1f}")
    out["GEMM ceiling share, whole fit"] = (
        flops / d["s_per_epoch"] / ceiling, f"fit / epochs = {d['s_per_epoch']:.3f} s")
    if "sklearn" in ok and "predict_s" in d:
        sk = ok["sklearn"]
        out["dask predict vs sklearn predict"] = (
            sk["predict_s"] / d["predict_s"],
            f"{d['predict_rows']:,} rows: dasknn {d['predict_s']:.3f} s (2 workers), "
            f"sklearn {sk['predict_s']:.3f} s (2 threads)")
    return out


# --------------------------------------------------------------------- scaling model
def scaling(results, n_train, params_bytes, cores=2):
    """Fit and check the model ``T(W) = N c / min(W, cores) + R(W) (a + b W)``.

    ``c`` (seconds per sample on one core) is the 1-worker run's compute time over
    its rows; ``a`` (fixed cost of a round: the client's round trip, scheduling) and
    ``b`` (cost per worker and round: its tasks, moving its parameters twice) are the
    non-negative least-squares fit of the measured synchronisation time
    (``history_``'s sync share) of the runs with at most one worker per core (1 and
    2 workers here); the 3-worker run only checks the model. ``R(W)`` is the rounds per epoch that
    ``sync_steps='auto'`` gives.
    """
    from dasknn.distributed.planning import auto_sync_steps
    from dasknn.maths.network import Layout

    steps = auto_sync_steps(Layout(UNITS), BATCH, "float32")
    runs = {}  # workers: (epoch wall time, synchronisation time)
    for name, w in (("dasknn-1w", 1), ("dasknn", 2), ("dasknn-3w", 3)):
        r = dist.by_name(results).get(name)
        if r:
            wall = epoch_seconds(r)
            runs[w] = (wall, wall * r["sync_share"])
    if 1 not in runs or len([w for w in runs if w <= cores]) < 2:
        return None  # a and b need two runs with a core per worker

    def rounds(n, w):
        return math.ceil(math.ceil(n / w / BATCH) / steps)

    c = (runs[1][0] - runs[1][1]) / n_train
    # fitted where each worker has a core of its own; more workers than cores are a check
    a, b = _fit_sync([(rounds(n_train, w), w, runs[w][1]) for w in sorted(runs)
                      if w <= cores])

    def model(w, n=n_train, cores_=cores, bandwidth=None):
        transfer = 0.0 if bandwidth is None else 2 * w * params_bytes / bandwidth
        return n * c / min(w, cores_) + rounds(n, w) * (a + b * w + transfer)

    check = {w: (runs[w][0], model(w)) for w in sorted(runs)}
    predictions = {}
    for n in (n_train, 100 * n_train):
        for w in (16, 64):
            t = model(w, n=n, cores_=w, bandwidth=1.25e9)
            predictions[(n, w)] = (t, model(1, n=n, cores_=w) / t)
    return {"c": c, "a": a, "b": b, "steps": steps, "cores": cores, "check": check,
            "predictions": predictions}


def _fit_sync(rows):
    """Non-negative least squares of ``sync = R a + R W b`` over ``(R, W, sync)``: a
    round cannot cost less than nothing, nor a worker make it cheaper."""
    import numpy as np
    from scipy.optimize import nnls

    (a, b), _ = nnls(np.array([[r, r * w] for r, w, _ in rows], dtype=float),
                     np.array([y for _, _, y in rows], dtype=float))
    return float(a), float(b)


# ---------------------------------------------------------------------------- output
def report(ratios, judge):
    lines = [f"{'goal':<40} {'measured':>9} {'goal':>6}  verdict  detail", "-" * 100]
    for name, (value, detail) in ratios.items():
        goal = GOALS.get(name)
        verdict = "-" if goal is None or not judge else ("met" if value >= goal else "NOT MET")
        shown = f"{value:.0%}" if "share" in name else f"{value:.2f}x"
        goal_s = "" if goal is None else (f"{goal:.0%}" if "share" in name else f"{goal:.2f}x")
        lines.append(f"{name:<40} {shown:>9} {goal_s:>6}  {verdict:<7}  {detail}")
    return lines


def report_scaling(model):
    if model is None:
        return ["scaling model: needs the 1-worker run"]
    lines = [f"scaling model: T(W) = N c / min(W, cores) + R(W) (a + b W + 2 W P / bandwidth); "
             f"c = {model['c'] * 1e6:.2f} us/sample, a = {model['a'] * 1e3:.1f} ms, "
             f"b = {model['b'] * 1e3:.1f} ms, R(W) = ceil(steps per worker / "
             f"{model['steps']})"]
    for w, (measured, predicted) in model["check"].items():
        lines.append(f"  {w} worker(s) on {model.get('cores', 2)} cores: measured "
                     f"{measured:.3f} s/epoch, "
                     f"model {predicted:.3f} s ({predicted / measured - 1:+.0%})")
    for (n, w), (t, speedup) in model["predictions"].items():
        lines.append(f"  prediction, {n:,} rows, {w} workers on {w} cores, 10 Gbit/s: "
                     f"{t:.3f} s/epoch, {speedup:.1f}x one worker")
    return lines


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n-samples", type=dist.positive, default=200_000)
    p.add_argument("--epochs", type=dist.positive, default=3)
    p.add_argument("--blocks", type=dist.positive, default=20)
    p.add_argument("--repeat", type=int, default=2,
                   help="warm fits after each Dask-side contender's first (reported "
                        "beside it); in-process cells: fresh processes, the best kept")
    p.add_argument("--json", metavar="PATH")
    p.add_argument("--report", metavar="PATH",
                   help="print the report of a run saved with --json, measuring nothing")
    p.add_argument("--gemm-worker", action="store_true", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def measure(args):
    """Run every part; return (machine info, GEMM ceiling, in-process runs, Dask runs)."""
    info = dist.machine_info(args)
    print("\n".join(dist.format_header(info)), flush=True)
    print("running: GEMM ceiling", file=sys.stderr, flush=True)
    gemm = run_json([os.path.abspath(__file__), "--gemm-worker"], "GEMM ")
    print("running: cold start", file=sys.stderr, flush=True)
    info["cold_start"] = cold_start()
    print("running: in-process fits", file=sys.stderr, flush=True)
    return info, gemm, run_local(args), run_dask(args)


def main(argv=None):
    args = parse_args(argv)
    if args.gemm_worker:
        print("GEMM " + json.dumps(gemm_worker()))
        return
    if args.report:
        with open(args.report) as f:
            saved = json.load(f)
        info, gemm, runs, results = (saved[k] for k in ("machine", "gemm", "local", "dask"))
        args.n_samples, args.epochs = info["n_samples"], info["epochs"]
        print("\n".join(dist.format_header(info)), flush=True)
    else:
        info, gemm, runs, results = measure(args)
    n_train = int(round(args.n_samples * 0.9))  # train_test_split(test_size=0.1)
    ratios = {**local_ratios(runs), **dask_ratios(results, gemm, n_train)}
    model = scaling(results, n_train, 4 * sum(i * o + o for i, o in zip(UNITS, UNITS[1:])),
                    cores=info.get("nproc") or 2)
    print(f"GEMM, 1 thread, float32: {gemm['peak'] / 1e9:.1f} GFLOP/s (square, warmed); "
          f"{gemm['mlp_shapes'] / 1e9:.1f} GFLOP/s on the MLP's batch-256 shapes")
    print("\n".join(dist.format_table(results) + dist.format_notes(results)))
    if "cold_start" in info:
        print("\n".join(report_cold_start(info["cold_start"])))
    print("\n".join(report(ratios, judge=args.n_samples == 200_000 and args.epochs == 3)))
    print("\n".join(report_scaling(model)))
    if args.json and not args.report:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump({"machine": info, "gemm": gemm, "local": runs, "dask": results,
                       "ratios": ratios,
                       "scaling": None if model is None else {
                           k: (v if k not in ("check", "predictions") else
                               {str(kk): vv for kk, vv in v.items()})
                           for k, v in model.items()}}, f, indent=2)


if __name__ == "__main__":
    main()
