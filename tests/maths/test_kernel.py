"""The in-place numpy kernel against the pure functions it must reproduce."""

import warnings

import numpy as np
import pytest
from array_api_compat import numpy as xp

from dasknn.maths import kernel as _kernel
from dasknn.maths.activations import OUTPUT_LOSS
from dasknn.maths.network import Layout, Network, flat_loss_and_grad, predict_raw, unpack
from dasknn.maths.optimizers import Hyper, init, update


def _pure_run(params, state, X, Y, sw, batches, net, hyper):
    """The reference: pure loss/gradient and optimizer update, one batch at a time."""
    loss_sum = 0.0
    for rows in batches:
        take = lambda a: None if a is None else a[rows]  # noqa: E731
        loss, grad = flat_loss_and_grad(params, take(X), take(Y), take(sw), net, xp)
        params, state = update(params, grad, state, hyper, xp)
        loss_sum += float(loss) * take(X).shape[0]
    return params, state, loss_sum


def _problem(dtype, activation, out, weighted, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.standard_normal((70, 6)).astype(dtype)
    n_out = 1 if out in ("logistic", "exp", "identity") else 3
    if out == "softmax":
        Y = np.eye(3, dtype=dtype)[rng.randint(0, 3, 70)]
    elif out == "logistic":
        Y = rng.randint(0, 2, (70, 1)).astype(dtype)
    else:
        Y = rng.poisson(2.0, (70, 1)).astype(dtype)
    sw = rng.uniform(0.5, 2.0, 70).astype(dtype) if weighted else None
    net = Network(Layout((6, 5, 4, n_out)), activation, out, OUTPUT_LOSS[out], 1e-3)
    params = rng.uniform(-0.5, 0.5, net.layout.n_params).astype(dtype)
    order = rng.permutation(70)
    batches = [order[i : i + 16] for i in range(0, 70, 16)]  # last batch is short
    return X, Y, sw, net, params, batches


SOLVERS = [Hyper("adam", 1e-2), Hyper("sgd", 1e-2, momentum=0.9, nesterov=True),
           Hyper("sgd", 1e-2, momentum=0.5, nesterov=False), Hyper("sgd", 1e-2, momentum=0.0)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity"])
@pytest.mark.parametrize("out", ["softmax", "logistic", "exp", "identity"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("hyper", SOLVERS, ids=["adam", "nesterov", "momentum", "plain"])
def test_exact_kernel_equals_pure_functions(dtype, activation, out, weighted, hyper):
    X, Y, sw, net, params, batches = _problem(dtype, activation, out, weighted)
    state = init(params, hyper, xp)
    ref_params, ref_state, ref_loss = _pure_run(params, state, X, Y, sw, batches, net, hyper)
    kernel = _kernel.Kernel(net, hyper, 16, Y.shape[1], dtype, exact=True)
    before = params.copy()
    got_params, got_state, got_loss = kernel.run(params, state, X, Y, sw, batches)
    np.testing.assert_array_equal(got_params, ref_params)
    for field in ("m", "v", "velocity"):
        if hasattr(ref_state, field):
            np.testing.assert_array_equal(getattr(got_state, field), getattr(ref_state, field))
    assert got_loss == ref_loss
    np.testing.assert_array_equal(params, before)  # inputs untouched


@pytest.mark.parametrize("hyper", SOLVERS[:2], ids=["adam", "nesterov"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("param_dtype", [np.float32, np.float64], ids=["f32", "f64-params"])
@pytest.mark.parametrize("out", ["softmax", "logistic", "identity"])
def test_fast_kernel_stays_close_to_exact(hyper, weighted, param_dtype, out):
    # float64 parameters on float32 data: the fast Adam keeps the state's dtype
    X, Y, sw, net, params, batches = _problem(np.float32, "relu", out, weighted)
    params = params.astype(param_dtype)
    state = init(params, hyper, xp)
    exact = _kernel.Kernel(net, hyper, 16, Y.shape[1], np.float32, exact=True).run(
        params, state, X, Y, sw, batches)
    fast = _kernel.Kernel(net, hyper, 16, Y.shape[1], np.float32, exact=False).run(
        params, state, X, Y, sw, batches)
    np.testing.assert_allclose(fast[0], exact[0], rtol=1e-4, atol=1e-6)
    assert not np.allclose(fast[0], params, rtol=0, atol=1e-4)  # it trained
    for field in ("m", "v", "velocity"):
        if hasattr(state, field):
            np.testing.assert_allclose(getattr(fast[1], field), getattr(exact[1], field),
                                       rtol=1e-3, atol=1e-7)
    if hasattr(state, "t"):
        assert fast[1].t == exact[1].t
    assert fast[2] == pytest.approx(exact[2], rel=1e-5)
    assert not np.array_equal(state[0], fast[1][0])  # moments moved on


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_numpy_logistic_matches_scipy_without_overflow_warnings(dtype):
    from scipy.special import expit

    z = np.array([-1e4, -800, -100, -30, -1, 0, 1e-3, 2, 40, 800, 1e4], dtype)
    got = z.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # exp(-z) overflows for z < -709: silently 0
        _kernel._expit_numpy(got)
    np.testing.assert_allclose(got, expit(z), rtol=4 * np.finfo(dtype).eps, atol=0)
    assert got[0] == 0.0 and got[-1] == 1.0


@pytest.mark.parametrize("classes", [3, 40])  # maxima column by column, or by rows
def test_narrow_softmax_equals_softmax(classes):
    from dasknn.maths.activations import ACTIVATIONS

    z = np.random.RandomState(0).standard_normal((7, classes)).astype(np.float32) * 60
    got = z.copy()
    _kernel._softmax_narrow(got, np.ones(classes, np.float32), np.empty(16, np.float32))
    np.testing.assert_allclose(got, ACTIVATIONS["softmax"](z.copy(), xp), rtol=1e-5,
                               atol=1e-30)
    assert np.isfinite(got).all()  # large logits: the row maxima were subtracted


def test_slices_and_index_batches_agree():
    X, Y, _, net, params, _ = _problem(np.float64, "relu", "softmax", False)
    hyper = Hyper("adam", 1e-2)
    kernel = _kernel.Kernel(net, hyper, 32, 3, np.float64)
    by_slice = kernel.run(params, init(params, hyper, xp), X, Y, None,
                          [slice(0, 32), slice(32, 64), slice(64, 70)])
    by_index = kernel.run(params, init(params, hyper, xp), X, Y, None,
                          [np.arange(0, 32), np.arange(32, 64), np.arange(64, 70)])
    np.testing.assert_array_equal(by_slice[0], by_index[0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity"])
@pytest.mark.parametrize("zeros_rows", [10**6, 8])  # ReLU's zeros as a block or one row
def test_predict_rows(dtype, activation, zeros_rows, monkeypatch):
    monkeypatch.setattr(_kernel, "_ZEROS_ROWS", zeros_rows)
    X, _, _, net, params, _ = _problem(dtype, activation, "softmax", False)
    coefs, intercepts = unpack(params, net.layout, xp)
    whole = _kernel.predict_rows(coefs, intercepts, X, net)
    np.testing.assert_array_equal(whole, predict_raw(coefs, intercepts, X, net, xp))
    chunked = _kernel.predict_rows(coefs, intercepts, X, net, chunk=16)
    np.testing.assert_allclose(chunked, whole, rtol=1e-5)
    assert _kernel.predict_rows(coefs, intercepts, X[:0], net).shape == (0, 3)


def test_supports_only_dense_numpy_of_one_dtype():
    import scipy.sparse as sp

    X = np.ones((4, 2), np.float32)
    assert _kernel.supports(X, X, xp)
    assert not _kernel.supports(X, X.astype(np.float64), xp)
    assert not _kernel.supports(sp.csr_matrix(X), X, xp)
    assert not _kernel.supports(X.astype(int), X.astype(int), xp)
