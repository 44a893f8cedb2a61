"""Models saved by dasknn 0.1.0.dev0, before its modules moved into subpackages
(files in tests/edges/data, written by that version), still load and predict."""

import pathlib
import pickle
import warnings

import numpy as np
import pytest

from dasknn import MLPClassifier, MLPRegressor, load

DATA = pathlib.Path(__file__).resolve().parent / "data"


def _data():
    # the data and parameters the files were written with
    rng = np.random.RandomState(0)
    X = rng.rand(60, 4)
    return X, (X[:, 0] + X[:, 1] > 1).astype(int), X @ [1.0, -2.0, 0.5, 3.0]


def _refit(kind):
    X, y, yr = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if kind == "classifier":
            return MLPClassifier(hidden_layer_sizes=(5,), max_iter=20, random_state=0).fit(X, y)
        return MLPRegressor(hidden_layer_sizes=(5,), solver="sgd", max_iter=20,
                            random_state=0).fit(X, yr)


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("fmt", ["pkl", "skops"])
def test_model_saved_by_the_previous_layout_loads(kind, fmt):
    path = DATA / f"{kind}-0.1.0.dev0.{fmt}"
    if fmt == "pkl":
        with open(path, "rb") as f:
            old = pickle.load(f)
    else:
        old = load(path)
    new = _refit(kind)
    X, y, yr = _data()
    assert type(old) is type(new)
    np.testing.assert_array_equal(old.predict(X), new.predict(X))
    for a, b in zip(old.coefs_ + old.intercepts_, new.coefs_ + new.intercepts_):
        np.testing.assert_array_equal(a, b)
    assert type(old._optimizer_state) is type(new._optimizer_state)
    assert old.get_params()["warmup"] == "auto"  # a parameter added since: its default
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        old.partial_fit(X, y if kind == "classifier" else yr)  # its optimizer state carries on
        new.partial_fit(X, y if kind == "classifier" else yr)
    np.testing.assert_array_equal(old.predict(X), new.predict(X))
