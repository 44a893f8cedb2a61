"""GPU benchmark: dasknn on CuPy arrays against PyTorch on the same GPU.

The benchmark MLP (100 -> 256 -> 128 -> 10, adam, batch 256, float32, 3 epochs) on
``make_classification(n_samples=N, n_features=100, n_informative=60, n_classes=10)``
for N = 200,000 and 2,000,000 (90% train). Both libraries train from data already on
the GPU; each is warmed up with a short fit first, and timed with the device
synchronised. ``--hidden`` and ``--batch-size`` change the model and the minibatch;
``--cpu`` adds dasknn on the same data in numpy on the machine's CPU cores. Run on a
machine with an NVIDIA GPU, CuPy and PyTorch::

    python benchmarks/bench_gpu.py [--n-samples 200000 2000000] [--epochs 3]
        [--hidden 256 128] [--batch-size 256] [--cpu]
"""

import argparse
import platform
import time
import warnings

import numpy as np
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

ALPHA, LR = 1e-4, 1e-3
HIDDEN, BATCH = [256, 128], 256  # set from the command line


def data(n_samples):
    X, y = make_classification(n_samples=n_samples, n_features=100, n_informative=60,
                               n_classes=10, random_state=0)
    return train_test_split(X.astype(np.float32), y, test_size=0.1, random_state=0)


def run_dasknn(X, y, X_test, y_test, epochs, gpu=True):
    import cupy as cp

    from dasknn import MLPClassifier

    params = dict(hidden_layer_sizes=tuple(HIDDEN), batch_size=BATCH, random_state=0,
                  tol=0.0, n_iter_no_change=10**6, alpha=ALPHA, learning_rate_init=LR)
    put = cp.asarray if gpu else np.asarray
    gX, gy = put(X), put(y)
    MLPClassifier(**params, max_iter=1).fit(gX[:5000], gy[:5000])  # warm-up
    cp.cuda.Device().synchronize()
    start = time.perf_counter()
    clf = MLPClassifier(**params, max_iter=epochs).fit(gX, gy)
    cp.cuda.Device().synchronize()
    seconds = time.perf_counter() - start
    pred = clf.predict(put(X_test))
    accuracy = float(((pred.get() if gpu else pred) == y_test).mean())
    return seconds, accuracy


def run_torch(X, y, X_test, y_test, epochs):
    import torch

    torch.manual_seed(0)
    dev = torch.device("cuda")
    model = torch.nn.Sequential(
        *(layer for n_in, n_out in zip([100, *HIDDEN], HIDDEN)
          for layer in (torch.nn.Linear(n_in, n_out), torch.nn.ReLU())),
        torch.nn.Linear(HIDDEN[-1], 10)).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    gX, gy = torch.as_tensor(X, device=dev), torch.as_tensor(y, device=dev)
    weights = [m.weight for m in model if isinstance(m, torch.nn.Linear)]

    def epoch(n_rows):
        order = torch.randperm(n_rows, device=dev)
        for start in range(0, n_rows, BATCH):
            idx = order[start:start + BATCH]
            loss = torch.nn.functional.cross_entropy(model(gX[idx]), gy[idx])
            loss = loss + 0.5 * ALPHA * sum((w * w).sum() for w in weights) / idx.shape[0]
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    epoch(5000)  # warm-up
    torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(epochs):
        epoch(gX.shape[0])
    torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    with torch.no_grad():
        pred = model(torch.as_tensor(X_test, device=dev)).argmax(1).cpu().numpy()
    return seconds, float((pred == y_test).mean())


def header():
    import cupy as cp
    import sklearn
    import torch

    import dasknn

    props = cp.cuda.runtime.getDeviceProperties(0)
    print(f"date: {time.strftime('%Y-%m-%d %H:%M:%S')}  python {platform.python_version()}")
    print(f"gpu: {props['name'].decode()}  cupy {cp.__version__}  torch {torch.__version__}  "
          f"numpy {np.__version__}  sklearn {sklearn.__version__}  dasknn {dasknn.__version__}")


def main():
    global BATCH
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-samples", type=int, nargs="+", default=[200_000, 2_000_000])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--hidden", type=int, nargs="+", default=HIDDEN)
    parser.add_argument("--batch-size", type=int, default=BATCH)
    parser.add_argument("--cpu", action="store_true",
                        help="also time dasknn on numpy on this machine's CPU cores")
    args = parser.parse_args()
    HIDDEN[:], BATCH = args.hidden, args.batch_size
    warnings.simplefilter("ignore")
    header()
    print(f"hidden {tuple(HIDDEN)}, batch {BATCH}, {args.epochs} epochs")
    print(f"{'rows':>10} | {'dasknn s/epoch':>14} | {'dasknn samples/s':>16} | "
          f"{'torch s/epoch':>13} | {'torch samples/s':>15} | {'ratio':>6} | acc dasknn / torch"
          + (" | dasknn CPU s/epoch | GPU speed-up" if args.cpu else ""))
    for n in args.n_samples:
        X, X_test, y, y_test = data(n)
        ds, da_ = run_dasknn(X, y, X_test, y_test, args.epochs)
        ts, ta = run_torch(X, y, X_test, y_test, args.epochs)
        rows = X.shape[0] * args.epochs
        line = (f"{n:>10} | {ds / args.epochs:>14.3f} | {rows / ds:>16,.0f} | "
                f"{ts / args.epochs:>13.3f} | {rows / ts:>15,.0f} | {ts / ds:>6.2f} | "
                f"{da_:.4f} / {ta:.4f}")
        if args.cpu:
            cs, _ = run_dasknn(X, y, X_test, y_test, args.epochs, gpu=False)
            line += f" | {cs / args.epochs:>18.3f} | {cs / ds:>11.1f}x"
        print(line, flush=True)
    print("ratio = dasknn samples/s / PyTorch samples/s on the same GPU"
          + ("; GPU speed-up = dasknn CPU time / dasknn GPU time" if args.cpu else ""))


if __name__ == "__main__":
    main()
