"""Dropout on a real 2-worker cluster: every training path draws its masks from the
fit's random state and narrows the gap between training and test scores."""

import warnings

import dask.array as da
import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

from dasknn import MLPClassifier


@pytest.fixture(scope="module")
def noisy():
    X, y = make_classification(300, 40, n_informative=5, flip_y=0.2, random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    dX, dy = da.from_array(X_train, chunks=57), da.from_array(y_train, chunks=57)
    return dX, dy, X_train, X_test, y_train, y_test


def _fit(data, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # small shards, max_iter reached
        return MLPClassifier((128,), alpha=0.0, random_state=0, **params).fit(*data[:2])


def _gap(model, data):
    _, _, X_train, X_test, y_train, y_test = data
    return model.score(X_train, y_train) - model.score(X_test, y_test)


@pytest.mark.parametrize("path", [dict(persist=True), dict(sync="gradient")])
def test_dropout_narrows_the_gap_on_a_cluster(client, noisy, path):
    plain, dropped = (_fit(noisy, max_iter=200, dropout=d, **path) for d in (0.0, 0.5))
    assert _gap(plain, noisy) > 0.2
    assert _gap(dropped, noisy) < _gap(plain, noisy) - 0.05
    assert dropped.score(noisy[3], noisy[5]) >= plain.score(noisy[3], noisy[5])


@pytest.mark.parametrize("path", [dict(persist=True), dict(persist=False),
                                  dict(sync="gradient")])
def test_dropout_masks_follow_random_state_on_every_path(client, noisy, path):
    a, b = (_fit(noisy, max_iter=3, dropout=0.5, **path) for _ in range(2))
    plain = _fit(noisy, max_iter=3, **path)
    assert np.array_equal(a.coefs_[0], b.coefs_[0])
    assert not np.array_equal(a.coefs_[0], plain.coefs_[0])
    assert np.isfinite(a.loss_)
