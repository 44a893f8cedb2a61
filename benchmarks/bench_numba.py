"""Would numba pay for itself? The fusable part of a training step, measured.

A step of the benchmark MLP (100-256-128-10, batch 256, float32) is GEMMs plus
elementwise work; BLAS already runs the GEMMs, so what a fused numba kernel could
save is the elementwise part, the biggest piece of which is Adam's update of the
60,042 parameters. This script times that update as dasknn's kernel runs it on a
worker (``Kernel._adam_blas``: BLAS scal/axpy and numpy ufuncs) against one fused
numba loop, and what numba costs a worker once: compiling the loop in a fresh process,
or loading it from numba's cache. Then the end-to-end balance for the benchmark fit:
steps a worker takes x time saved a step - the one-off cost.

Usage (numba is not a dependency: ``pip install numba`` first)::

    python benchmarks/bench_numba.py
"""

import subprocess
import sys
import tempfile
import textwrap
import time

import numpy as np

N_PARAMS = 60_042  # 100*256 + 256 + 256*128 + 128 + 128*10 + 10
STEPS_PER_WORKER = 3 * 180_000 // 256 // 2  # bench_all's fit: 3 epochs, 2 workers

FUSED = textwrap.dedent('''
    import numba, numpy as np

    @numba.njit(cache=True, fastmath=True)  # its best case: vectorised, reassociated
    def adam(params, g, m, v, b1, b2, lr, eps):
        for i in range(params.size):
            m[i] = b1 * m[i] + (1 - b1) * g[i]
            v[i] = b2 * v[i] + (1 - b2) * g[i] * g[i]
            params[i] -= lr * m[i] / (np.sqrt(v[i]) + eps)
''')


def one_off(cache_dir):
    """Seconds a fresh process spends importing numba and defining the fused update,
    then compiling (or loading) it on its first call, measured in that process."""
    code = "import time\nstart = time.perf_counter()\n" + FUSED + textwrap.dedent('''
        defined = time.perf_counter()
        a = [np.zeros(8, np.float32) for _ in range(4)]
        adam(*a, np.float32(0.9), np.float32(0.999), np.float32(1e-3), np.float32(1e-8))
        print(defined - start, time.perf_counter() - defined)
    ''')
    path = f"{cache_dir}/fused.py"
    with open(path, "w") as f:
        f.write(code)
    out = subprocess.run([sys.executable, path], capture_output=True, text=True, check=True)
    imported, first_call = (float(x) for x in out.stdout.split()[-2:])
    return imported, first_call


def per_step(fn, repeat=2000):
    fn()
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat


def main():
    from dasknn.maths.network import Layout, Network
    from dasknn.maths.optimizers import Hyper, init
    from dasknn.maths.kernel import Kernel
    from array_api_compat import numpy as xp

    rng = np.random.default_rng(0)
    net = Network(Layout((100, 256, 128, 10)), "relu", "softmax", "log_loss", 1e-4)
    hyper = Hyper("adam", 1e-3)
    kernel = Kernel(net, hyper, 256, 10, np.float32, exact=False)
    params = rng.standard_normal(N_PARAMS).astype(np.float32)
    state = init(params, hyper, xp)
    grad = rng.standard_normal(N_PARAMS).astype(np.float32)

    def ours():
        kernel.grad[:] = grad
        kernel._adam_blas(params, state._replace(t=10))

    namespace = {}
    exec(FUSED.replace("cache=True", "cache=False"), namespace)  # noqa: S102 - ours, above
    m, v = np.zeros_like(params), np.zeros_like(params)
    b1, b2, lr, eps = (np.float32(x) for x in (0.9, 0.999, 1e-3, 1e-8))

    def fused():
        kernel.grad[:] = grad  # the same copy, so both sides do the same extra work
        namespace["adam"](params, kernel.grad, m, v, b1, b2, lr, eps)

    t_ours, t_fused = per_step(ours), per_step(fused)
    with tempfile.TemporaryDirectory() as cache_dir:
        import_cold, compile_s = one_off(cache_dir)
        import_warm, load_s = one_off(cache_dir)  # numba's cache now holds it
    saved = STEPS_PER_WORKER * (t_ours - t_fused)
    cold, cached = import_cold + compile_s, import_warm + load_s
    print(f"Adam update of {N_PARAMS:,} float32 parameters, a step: dasknn kernel "
          f"{t_ours * 1e6:.1f} us, fused numba {t_fused * 1e6:.1f} us")
    print(f"one-off in a fresh worker process: import numba {import_cold:.2f} s + compile "
          f"{compile_s:.2f} s; with numba's cache: import {import_warm:.2f} s + load "
          f"{load_s:.3f} s")
    print(f"benchmark fit ({STEPS_PER_WORKER:,} steps a worker): the fused update saves "
          f"{saved:.3f} s a worker; net {saved - cold:+.3f} s on a fresh machine, "
          f"{saved - cached:+.3f} s with the cache")


if __name__ == "__main__":
    main()
