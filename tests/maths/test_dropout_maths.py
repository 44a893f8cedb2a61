"""Dropout in the maths: masks, gradients through dropped units, and nothing dropped
at prediction."""

import numpy as np
import pytest
from array_api_compat import numpy as xp

from dasknn.maths.network import (
    Layout,
    Network,
    dropout_masks,
    flat_loss_and_grad,
    forward,
    unpack,
)
from dasknn.training.batches import dropout_noise


def _net(activation, rates, out=("softmax", "log_loss", 3)):
    return Network(Layout((4, 6, 5, out[2])), activation, out[0], out[1], 0.01, rates)


@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
@pytest.mark.parametrize("rates", [(0.5, 0.0), (0.3, 0.6)])
def test_gradient_with_dropout_matches_finite_differences(activation, rates):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(10, 4))
    Y = np.eye(3)[rng.integers(0, 3, 10)]
    net = _net(activation, rates)
    flat = rng.uniform(-0.5, 0.5, net.layout.n_params)

    def loss(p):  # the same masks at every evaluation: a fixed stream
        return float(flat_loss_and_grad(p, X, Y, None, net, xp, np.random.default_rng(7))[0])

    _, grad = flat_loss_and_grad(flat, X, Y, None, net, xp, np.random.default_rng(7))
    eps = 1e-6
    numeric = np.array([(loss(flat + eps * e) - loss(flat - eps * e)) / (2 * eps)
                        for e in np.eye(flat.size)])
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-7)
    # and the masks do change the gradient
    _, plain = flat_loss_and_grad(flat, X, Y, None, net._replace(dropout=()), xp)
    assert not np.allclose(grad, plain)


def test_masks_drop_at_the_rate_and_keep_the_expected_output():
    net = _net("relu", (0.25, 0.0))
    masks = dropout_masks(net, 4000, np.random.default_rng(0), xp, like=np.zeros(1))
    dropped = float(np.mean(masks[0] == 0))
    assert abs(dropped - 0.25) < 0.01
    assert set(np.unique(masks[0]).tolist()) == {0.0, 1 / 0.75}
    assert abs(float(masks[0].mean()) - 1.0) < 0.02  # inverted: expected output unchanged
    assert masks[1] is None
    assert masks[0].dtype == np.float64
    assert dropout_masks(net, 3, np.random.default_rng(0), xp,
                         like=np.zeros(1, np.float32))[0].dtype == np.float32


def test_prediction_drops_nothing():
    net = _net("tanh", (0.9, 0.9))
    rng = np.random.default_rng(0)
    flat, X = rng.normal(size=net.layout.n_params), rng.normal(size=(5, 4))
    coefs, intercepts = unpack(flat, net.layout, xp)
    assert np.array_equal(forward(coefs, intercepts, X, net, xp)[-1],
                          forward(coefs, intercepts, X, net._replace(dropout=()), xp)[-1])


def test_no_stream_is_made_without_dropout():
    assert dropout_noise(_net("relu", ()), 3) is None
    assert dropout_noise(_net("relu", (0.0, 0.0)), 3) is None
    assert dropout_noise(_net("relu", (0.0, 0.1)), 3) is not None
