"""Finite-difference checks of the analytic gradient, for every activation x loss.

Run on numpy and on array_api_strict arrays on a non-default device, so any hidden
conversion to numpy inside the maths fails.
"""

import numpy as np
import pytest
from array_api_compat import numpy as np_xp

from dasknn.maths.network import Layout, Network, flat_loss_and_grad

array_api_strict = pytest.importorskip("array_api_strict")

OUTPUTS = [("softmax", 3), ("logistic", 1), ("logistic", 3), ("identity", 2), ("exp", 2)]
LOSS_OF = {"softmax": "log_loss", "logistic": "binary_log_loss",
           "identity": "squared_error", "exp": "poisson"}


def _problem(out_activation, n_outputs, rng, n=12, n_features=4):
    X = rng.normal(size=(n, n_features))
    if out_activation == "softmax":
        Y = np.eye(n_outputs)[rng.integers(0, n_outputs, n)]
    elif out_activation == "logistic":
        Y = (rng.random((n, n_outputs)) > 0.5).astype(float)
    elif out_activation == "exp":
        Y = rng.poisson(2.0, size=(n, n_outputs)).astype(float)
    else:
        Y = rng.normal(size=(n, n_outputs))
    return X, Y


def _strict(a):
    if a is None:
        return None
    return array_api_strict.asarray(a, device=array_api_strict.Device("device1"))


NAMESPACES = {
    "numpy": (np_xp, lambda a: a, np.asarray),
    "array_api_strict": (array_api_strict, _strict,
                         lambda a: np.asarray(a.to_device(array_api_strict.Device("CPU_DEVICE")))),
}


@pytest.mark.parametrize("namespace", NAMESPACES)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("out_activation,n_outputs", OUTPUTS)
@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
def test_gradient_matches_finite_differences(activation, out_activation, n_outputs,
                                             weighted, namespace):
    xp, put, back = NAMESPACES[namespace]
    rng = np.random.default_rng(0)
    X, Y = _problem(out_activation, n_outputs, rng)
    sw = rng.uniform(0.5, 2.0, X.shape[0]) if weighted else None
    net = Network(Layout((X.shape[1], 5, 3, n_outputs)), activation, out_activation,
                  LOSS_OF[out_activation], alpha=0.01)
    flat = rng.uniform(-0.5, 0.5, net.layout.n_params)

    def loss(p, net=net):
        return float(flat_loss_and_grad(put(p), put(X), put(Y), put(sw), net, xp)[0])

    def objective(p):
        # scikit-learn reports the squared error averaged over outputs but steps
        # along the gradient of its sum over outputs; we reproduce both.
        extra = n_outputs - 1 if out_activation == "identity" else 0
        return loss(p) + extra * loss(p, net._replace(alpha=0.0))

    _, grad = flat_loss_and_grad(put(flat), put(X), put(Y), put(sw), net, xp)
    eps = 1e-6
    numeric = np.array([
        (objective(flat + eps * e) - objective(flat - eps * e)) / (2 * eps)
        for e in np.eye(flat.size)
    ])
    np.testing.assert_allclose(back(grad), numeric, rtol=1e-5, atol=1e-8)


def test_strict_gradient_stays_on_device():
    rng = np.random.default_rng(1)
    X, Y = _problem("softmax", 3, rng)
    net = Network(Layout((4, 5, 3)), "relu", "softmax", "log_loss", alpha=0.0)
    flat = _strict(rng.uniform(-0.5, 0.5, net.layout.n_params))
    loss, grad = flat_loss_and_grad(flat, _strict(X), _strict(Y), None, net, array_api_strict)
    assert grad.device == array_api_strict.Device("device1")
    assert loss.device == array_api_strict.Device("device1")
