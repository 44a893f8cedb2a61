"""A single class in y is fitted as scikit-learn fits it: one output unit trained
towards 0, predicting that class, with probabilities of two columns."""

import warnings

import dask.array as da
import numpy as np
import pytest
from sklearn.neural_network import MLPClassifier as SkMLPClassifier

from dasknn import MLPClassifier

X = np.random.RandomState(0).rand(120, 4)


@pytest.mark.parametrize("labels", [np.full(120, "only"), np.full(120, 3)],
                         ids=["text", "int"])
@pytest.mark.parametrize("params", [dict(solver="adam"), dict(solver="sgd"),
                                    dict(solver="lbfgs"), dict(early_stopping=True)],
                         ids=["adam", "sgd", "lbfgs", "early_stopping"])
def test_single_class_fits_as_scikit_learn(labels, params):
    kw = dict(hidden_layer_sizes=(5,), max_iter=15, random_state=0, **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, theirs = MLPClassifier(**kw).fit(X, labels), SkMLPClassifier(**kw).fit(X, labels)
    assert ours.classes_.tolist() == theirs.classes_.tolist() == [labels[0]]
    assert ours.n_outputs_ == theirs.n_outputs_ == 1
    assert ours.out_activation_ == theirs.out_activation_ == "logistic"
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))
    np.testing.assert_array_equal(ours.predict_proba(X), theirs.predict_proba(X))
    assert ours.score(X, labels) == theirs.score(X, labels) == 1.0


@pytest.mark.parametrize("persist", [True, False], ids=["held", "streamed"])
def test_single_class_on_dask(client, persist):
    dX = da.from_array(X, chunks=(30, -1))
    dy = da.from_array(np.full(120, "only"), chunks=30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = MLPClassifier(hidden_layer_sizes=(5,), max_iter=6, persist=persist,
                            random_state=0).fit(dX, dy)
    assert clf.classes_.tolist() == ["only"] and clf.n_iter_ == 6
    assert clf.predict(dX).compute().tolist() == ["only"] * 120
    proba = clf.predict_proba(dX).compute()
    assert proba.shape == (120, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert clf.score(dX, dy) == 1.0
