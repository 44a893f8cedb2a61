"""GPU benchmark: dasknn on CuPy arrays against PyTorch on the same GPU.

The benchmark MLP and data of ``common`` (float32, 3 epochs) for N = 200,000 and
2,000,000 rows (90% train). Both libraries train from data already on the GPU; each
is warmed up with a short fit first, and timed with the device synchronised. PyTorch
runs the loop of ``common.torch_trainer`` (Adam, scikit-learn's L2 term) from its own
initialisation. ``--hidden`` and ``--batch-size`` change the model and the minibatch;
``--cpu`` adds dasknn on the same data in numpy on the machine's CPU cores. Needs an
NVIDIA GPU, CuPy and PyTorch::

    python benchmarks/bench_gpu.py
    python benchmarks/bench_gpu.py --n-samples 200000 --epochs 2 --hidden 1024 1024 \\
        --batch-size 1024 --cpu

Quick check of the mechanics::

    python benchmarks/bench_gpu.py --n-samples 20000 --epochs 1
"""

import argparse

import numpy as np

import common

WARM_UP_ROWS = 5000


def run_dasknn(data, args, gpu=True):
    """Seconds of dasknn's fit on the GPU (or on numpy) and its test accuracy."""
    import cupy as cp

    from dasknn import MLPClassifier

    X, X_test, y, y_test = data
    params = dict(hidden_layer_sizes=tuple(args.hidden), batch_size=args.batch_size)
    put = cp.asarray if gpu else np.asarray
    gX, gy = put(X), put(y)
    MLPClassifier(**common.mlp_params(1, **params)).fit(gX[:WARM_UP_ROWS], gy[:WARM_UP_ROWS])
    clf, seconds = timed_on_device(
        cp.cuda.Device().synchronize,
        lambda: MLPClassifier(**common.mlp_params(args.epochs, **params)).fit(gX, gy))
    pred = clf.predict(put(X_test))
    return seconds, float(((pred.get() if gpu else pred) == y_test).mean())


def run_torch(data, args):
    """Seconds of the PyTorch loop on the GPU and its test accuracy."""
    import torch

    X, X_test, y, y_test = data
    dev = torch.device("cuda")
    model = common.torch_mlp(torch, (X.shape[1], *args.hidden, common.UNITS[-1])).to(dev)
    train = common.torch_trainer(torch, model, batch=args.batch_size)
    gX, gy = torch.as_tensor(X, device=dev), torch.as_tensor(y, device=dev)
    train(gX[:WARM_UP_ROWS], gy[:WARM_UP_ROWS], 1)
    _, seconds = timed_on_device(torch.cuda.synchronize, lambda: train(gX, gy, args.epochs))
    with torch.no_grad():
        pred = model(torch.as_tensor(X_test, device=dev)).argmax(1).cpu().numpy()
    return seconds, float((pred == y_test).mean())


def timed_on_device(synchronize, call):
    """``(call(), seconds)``, timed from an idle device until it has finished."""
    def run():
        out = call()
        synchronize()
        return out

    synchronize()
    return common.timed(run)


def gpu_name():
    import cupy as cp

    return cp.cuda.runtime.getDeviceProperties(0)["name"].decode()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n-samples", type=common.positive, nargs="+",
                   default=[200_000, 2_000_000])
    p.add_argument("--epochs", type=common.positive, default=3)
    p.add_argument("--hidden", type=common.positive, nargs="+",
                   default=list(common.MODEL["hidden_layer_sizes"]))
    p.add_argument("--batch-size", type=common.positive, default=common.BATCH)
    p.add_argument("--cpu", action="store_true",
                   help="also time dasknn on numpy on this machine's CPU cores")
    args = p.parse_args(argv)
    common.quiet()
    common.print_header(("numpy", "sklearn", "cupy", "torch", "dasknn"), gpu=gpu_name(),
                        hidden=tuple(args.hidden), batch_size=args.batch_size,
                        epochs=args.epochs)
    print(f"{'rows':>10} | {'dasknn s/epoch':>14} | {'dasknn samples/s':>16} | "
          f"{'torch s/epoch':>13} | {'torch samples/s':>15} | {'ratio':>6} | acc dasknn / torch"
          + (" | dasknn CPU s/epoch | GPU speed-up" if args.cpu else ""))
    for n in args.n_samples:
        data = common.make_data(n)
        (ds, dacc), (ts, tacc) = run_dasknn(data, args), run_torch(data, args)
        rows = data[0].shape[0] * args.epochs
        line = (f"{n:>10} | {ds / args.epochs:>14.3f} | {rows / ds:>16,.0f} | "
                f"{ts / args.epochs:>13.3f} | {rows / ts:>15,.0f} | {ts / ds:>6.2f} | "
                f"{dacc:.4f} / {tacc:.4f}")
        if args.cpu:
            cs, _ = run_dasknn(data, args, gpu=False)
            line += f" | {cs / args.epochs:>18.3f} | {cs / ds:>11.1f}x"
        print(line, flush=True)
    print("ratio = dasknn samples/s / PyTorch samples/s on the same GPU"
          + ("; GPU speed-up = dasknn CPU time / dasknn GPU time" if args.cpu else ""))


if __name__ == "__main__":
    main()
