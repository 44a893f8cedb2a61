"""What the benchmark scripts share: the data, the model, the contenders that more than
one script runs, the machine header, timing and JSON output.

The scripts run as ``python benchmarks/bench_x.py`` and import this module from their
own folder. Importing it puts the checkout's root first on ``sys.path``, so a script
benchmarks the dasknn beside it, installed or not.
"""

import argparse
import datetime
import json
import os
import pathlib
import platform
import shlex
import subprocess
import sys
import time
import warnings

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

UNITS = (100, 256, 128, 10)  # the benchmark MLP: features, hidden layers, classes
BATCH = 256
MODEL = dict(hidden_layer_sizes=UNITS[1:-1], solver="adam", batch_size=BATCH,
             random_state=0)
ALPHA, LEARNING_RATE = 1e-4, 1e-3  # scikit-learn's defaults, given to PyTorch too
CONVERGENCE = "Stochastic Optimizer: Maximum iterations"  # fits stop at max_iter on purpose


# ------------------------------------------------------------------ data and model
def make_data(n_samples, dtype="float32"):
    """``X_train, X_test, y_train, y_test`` of the benchmark data:
    ``make_classification(n_samples, n_features=100, n_informative=60, n_classes=10,
    random_state=0)`` with X in ``dtype``, split 90/10 with ``random_state=0``."""
    from sklearn.datasets import make_classification
    from sklearn.model_selection import train_test_split

    X, y = make_classification(n_samples=n_samples, n_features=UNITS[0], n_informative=60,
                               n_classes=UNITS[-1], random_state=0)
    return train_test_split(X.astype(dtype), y, test_size=0.1, random_state=0)


def mlp_params(epochs, **changes):
    """The estimator parameters of the benchmark MLP for ``epochs`` epochs, every one
    of them run (``tol=0`` and ``n_iter_no_change`` beyond the last), with
    ``changes`` applied (e.g. ``hidden_layer_sizes``, ``batch_size``)."""
    return {**MODEL, "max_iter": epochs, "tol": 0.0, "n_iter_no_change": epochs + 10,
            **changes}


def quiet():
    """Silence scikit-learn's warning that a fit stopped at ``max_iter``, by its message
    (imports nothing: also sent to Dask workers with ``client.run``)."""
    warnings.filterwarnings("ignore", message=CONVERGENCE)


def quiet_workers(client):
    """``quiet`` on every worker of ``client``'s cluster, importing nothing there."""
    client.run(warnings.filterwarnings, "ignore", message=CONVERGENCE)


def to_dask(X, y, blocks, client=None):
    """``X, y`` as Dask arrays of ``blocks`` row blocks; persisted on ``client``'s
    cluster, and waited for, when one is given."""
    import dask.array as da

    rows = -(-X.shape[0] // blocks)
    dX, dy = da.from_array(X, chunks=(rows, X.shape[1])), da.from_array(y, chunks=rows)
    if client is None:
        return dX, dy
    from distributed import wait

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*[Ll]arge graph.*")
        dX, dy = client.persist([dX, dy])
        wait([dX, dy])
    return dX, dy


# ------------------------------------------------------- contenders of several scripts
def daskml_passes(estimator, dX, dy, epochs, after_pass=None, **fit_params):
    """dask-ml's ``Incremental(estimator, shuffle_blocks=False)``: ``fit`` once, then
    ``partial_fit`` for each further epoch (each a pass calling the estimator's
    ``partial_fit`` block after block); ``after_pass(wrapper)``, if given, after each
    pass, untimed. Returns the wrapper and each pass's seconds."""
    from dask_ml.wrappers import Incremental

    inc = Incremental(estimator, shuffle_blocks=False)
    passes = []
    for epoch in range(epochs):
        train = inc.fit if epoch == 0 else inc.partial_fit
        passes.append(timed(lambda train=train: train(dX, dy, **fit_params))[1])
        if after_pass is not None:
            after_pass(inc)
    return inc, passes


def torch_mlp(torch, units=UNITS, glorot=False):
    """The benchmark MLP in PyTorch (ReLU between linear layers), seeded with
    ``torch.manual_seed(0)``. ``glorot``: start from scikit-learn's initial model
    (Glorot-uniform weights and biases drawn with ``RandomState(0)``) instead of
    PyTorch's default initialisation."""
    torch.manual_seed(0)
    linear = [torch.nn.Linear(i, o) for i, o in zip(units, units[1:])]
    if glorot:
        rng = np.random.RandomState(0)
        with torch.no_grad():
            for layer in linear:
                bound = np.sqrt(6.0 / (layer.in_features + layer.out_features))
                w = rng.uniform(-bound, bound, (layer.in_features, layer.out_features))
                b = rng.uniform(-bound, bound, layer.out_features)
                layer.weight.copy_(torch.from_numpy(w.T.astype(np.float32)))
                layer.bias.copy_(torch.from_numpy(b.astype(np.float32)))
    layers = [m for layer in linear for m in (layer, torch.nn.ReLU())]
    return torch.nn.Sequential(*layers[:-1])


def torch_trainer(torch, model, batch=BATCH, alpha=ALPHA):
    """A function ``train(X, y, epochs, after_epoch=None)`` that trains ``model`` in
    place with one Adam (scikit-learn's rate and moments) and cross-entropy plus
    scikit-learn's L2 term (``alpha / 2`` times the squared weights, biases excluded,
    over the batch rows), on batches reshuffled every epoch, calling ``after_epoch()``
    (if given) at each epoch's end; X and y are tensors on the model's device."""
    opt = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE, betas=(0.9, 0.999),
                           eps=1e-8)
    weights = [m.weight for m in model if isinstance(m, torch.nn.Linear)]
    cross_entropy = torch.nn.functional.cross_entropy

    def train(X, y, epochs, after_epoch=None):
        gen = torch.Generator(device=X.device).manual_seed(0)
        for _ in range(epochs):
            order = torch.randperm(X.shape[0], generator=gen, device=X.device)
            for i in range(0, X.shape[0], batch):
                idx = order[i:i + batch]
                penalty = sum((w * w).sum() for w in weights) * (0.5 * alpha / idx.shape[0])
                loss = cross_entropy(model(X[idx]), y[idx]) + penalty
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            if after_epoch is not None:
                after_epoch()

    return train


# -------------------------------------------------------------------------- timing
def timed(call):
    """``(call(), seconds it took)``."""
    start = time.perf_counter()
    out = call()
    return out, time.perf_counter() - start


def best_time(call, repeat=3):
    """The best wall time of ``repeat`` calls of ``call``, after one untimed call."""
    call()
    return min(timed(call)[1] for _ in range(repeat))


def warm_blas():
    """One 1024x1024 GEMM in float64 and in float32: OpenBLAS in a fresh process runs
    MLP-sized float32 GEMMs at another speed until a large GEMM has run."""
    rng = np.random.default_rng(0)
    for dtype in ("float64", "float32"):
        a = rng.standard_normal((1024, 1024)).astype(dtype)
        a @ a


def blas_threads():
    """The thread count of each BLAS loaded in this process, or None."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    return [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]


def emit(result):
    """Print ``result`` as the JSON line that ``run_json`` reads back."""
    print("RESULT " + json.dumps(result), flush=True)


def run_json(argv, env=None):
    """Run ``python argv`` in a fresh process and return the result it ``emit``-ted
    last; RuntimeError with the tail of its output if it failed or emitted nothing."""
    proc = subprocess.run([sys.executable, *argv], capture_output=True, text=True, env=env)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode or not lines:
        raise RuntimeError(f"{' '.join(argv)} failed (rc={proc.returncode}):\n"
                           f"{(proc.stdout + proc.stderr)[-3000:]}")
    return json.loads(lines[-1][len("RESULT "):])


# ---------------------------------------------------------------- machine and output
def version(module):
    """The installed version of ``module``, or 'not installed'."""
    import importlib
    from importlib import metadata

    name = {"sklearn": "scikit-learn", "dask_ml": "dask-ml"}.get(module, module)
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        pass
    try:
        return getattr(importlib.import_module(module), "__version__", "unknown")
    except ImportError:
        return "not installed"


def cpu_model():
    """The CPU's model name from /proc/cpuinfo, if there is one."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def blas_info():
    """Name, version, threads and architecture of each BLAS numpy and scipy load."""
    try:
        import scipy.linalg  # noqa: F401  (loads scipy's BLAS too)
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    return [f"{os.path.basename(p['filepath'])} {p.get('version')} "
            f"({p['num_threads']} threads, {p.get('architecture')})"
            for p in threadpool_info() if p["user_api"] == "blas"]


def load_average():
    """The 1, 5 and 15 minute load averages, or None."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


MODULES = ("numpy", "sklearn", "dask", "distributed", "dask_ml", "dasknn")


def machine_info(modules=MODULES, **settings):
    """What a run's figures depend on: date, exact command, platform, CPU, cores, the
    versions of ``modules``, the BLAS, the load average, and the run's ``settings``."""
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": shlex.join(["python", os.path.relpath(sys.argv[0], ROOT),
                               *sys.argv[1:]]),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": cpu_model(),
        "nproc": os.cpu_count(),
        "versions": {m: version(m) for m in modules},
        "blas": blas_info(),
        "loadavg": load_average(),
        "settings": settings,
    }


def format_header(info):
    """``machine_info``'s dict as the lines every script prints above its figures."""
    return [
        f"date: {info['date']}",
        f"command: {info['command']}",
        f"machine: {info['platform']}, python {info['python']}, {info['cpu']}, "
        f"{info['nproc']} cores",
        "versions: " + "  ".join(f"{k}={v}" for k, v in info["versions"].items()),
        *(f"blas: {b}" for b in info["blas"]),
        f"load average at start: {info['loadavg']} (timings need an idle machine)",
        "settings: " + "  ".join(f"{k}={v}" for k, v in info["settings"].items()),
    ]


def print_header(modules=MODULES, **settings):
    """Print the header of a run (``machine_info``'s) and return its dict."""
    info = machine_info(modules, **settings)
    print("\n".join(format_header(info)), flush=True)
    return info


def write_json(path, data):
    """Write ``data`` as JSON to ``path``, making its folder."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(data, f, indent=2, default=float)


def positive(text):
    """An argparse type: an integer of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def fmt(value, spec):
    """``value`` formatted with ``spec``, or '-' for None."""
    return "-" if value is None else format(value, spec)
