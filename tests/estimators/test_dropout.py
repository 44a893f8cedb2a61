"""The ``dropout`` parameter in memory: 0 is scikit-learn to the bit, a rate above 0
narrows the gap between training and test scores, and bad values are refused."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SkMLPClassifier

from dasknn import MLPClassifier, MLPRegressor


@pytest.fixture(scope="module")
def noisy():
    """Few rows, many features, 20% flipped labels: a wide network overfits it."""
    X, y = make_classification(300, 40, n_informative=5, flip_y=0.2, random_state=0)
    return train_test_split(X, y, random_state=0)


@pytest.mark.parametrize("dropout", [0.0, 0, [0.0, 0.0]])
def test_no_dropout_is_scikit_learn_to_the_bit(noisy, dropout):
    X_train, _, y_train, _ = noisy
    params = dict(hidden_layer_sizes=(16, 8), max_iter=20, random_state=0)
    ours = MLPClassifier(dropout=dropout, **params).fit(X_train, y_train)
    theirs = SkMLPClassifier(**params).fit(X_train, y_train)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        assert np.array_equal(a, b)
    assert ours.loss_curve_ == theirs.loss_curve_


def _gap(model, X_train, X_test, y_train, y_test):
    return model.score(X_train, y_train) - model.score(X_test, y_test)


def test_dropout_narrows_the_overfitting_gap(noisy):
    params = dict(hidden_layer_sizes=(128,), alpha=0.0, max_iter=200, random_state=0)
    plain = MLPClassifier(**params).fit(noisy[0], noisy[2])
    dropped = MLPClassifier(dropout=0.5, **params).fit(noisy[0], noisy[2])
    plain_gap, dropped_gap = _gap(plain, *noisy), _gap(dropped, *noisy)
    assert plain_gap > 0.2  # the problem does overfit
    assert dropped_gap < plain_gap - 0.05
    assert dropped.score(noisy[1], noisy[3]) >= plain.score(noisy[1], noisy[3])


def test_dropout_follows_random_state(noisy):
    X, y = noisy[0], noisy[2]
    fit = lambda seed: MLPClassifier((16,), dropout=0.3, max_iter=5,  # noqa: E731
                                     random_state=seed).fit(X, y)
    with pytest.warns(Warning):
        a, b, c = fit(0), fit(0), fit(1)
    assert np.array_equal(a.coefs_[0], b.coefs_[0])
    assert not np.array_equal(a.coefs_[0], c.coefs_[0])
    # the masks differ from a plain fit's training: the weights do too
    with pytest.warns(Warning):
        plain = MLPClassifier((16,), max_iter=5, random_state=0).fit(X, y)
    assert not np.array_equal(a.coefs_[0], plain.coefs_[0])


def test_one_rate_per_layer_and_the_estimator_tools(noisy):
    X, y = noisy[0], noisy[2]
    model = MLPRegressor(hidden_layer_sizes=(8, 8), dropout=(0.2, 0.0), max_iter=3, random_state=0)
    with pytest.warns(Warning):
        model.fit(X, y.astype(float))
    assert clone(model).get_params()["dropout"] == (0.2, 0.0)
    again = pickle.loads(pickle.dumps(model))
    assert np.array_equal(again.predict(X), model.predict(X))
    # prediction keeps every unit: deterministic
    assert np.array_equal(model.predict(X), model.predict(X))


@pytest.mark.parametrize("params,match", [
    (dict(dropout=1.0), "'dropout' parameter of MLPClassifier must be a float in the "
                        r"range \[0, 1\)"),
    (dict(dropout=-0.1), "'dropout' parameter"),
    (dict(dropout="half"), "'dropout' parameter"),
    (dict(dropout=[0.5, 0.5]), r"gives 2 rate\(s\) for 1 hidden layer"),
    (dict(dropout=0.5, solver="lbfgs"), "dropout needs a stochastic solver"),
])
def test_bad_dropout_is_refused_naming_it(noisy, params, match):
    with pytest.raises(ValueError, match=match):
        MLPClassifier((8,), **params).fit(noisy[0], noisy[2])


def test_lbfgs_without_dropout_is_fine(noisy):
    MLPClassifier((8,), solver="lbfgs", dropout=0.0, max_iter=5).fit(noisy[0], noisy[2])
