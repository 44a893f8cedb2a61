"""A saved model comes back as it was, and loading trusts only what it should.

Every solver's model, fitted in memory or on Dask data (no Client: dask's local
scheduler), goes through pickle and through skops (:func:`dasknn.save` and
:func:`dasknn.load`) and predicts, and trains on, as before. The skops loader trusts
dasknn's own types, and other types only when the caller names them.
"""

import importlib
import pickle

import dask.array as da
import numpy as np
import pytest
import skops.io
from sklearn.datasets import make_classification

from dasknn import MLPClassifier, MLPRegressor, load, save
from dasknn.persist import TRUSTED_TYPES

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _data():
    return make_classification(n_samples=120, n_features=5, random_state=0)


def _fitted(Estimator, solver, on_dask):
    X, y = _data()
    model = Estimator(hidden_layer_sizes=(4,), solver=solver, max_iter=5, random_state=0)
    if on_dask:
        return model.fit(da.from_array(X, chunks=40), da.from_array(y, chunks=40))
    return model.fit(X, y)


def _round_trip(model, how, tmp_path):
    if how == "pickle":
        return pickle.loads(pickle.dumps(model))
    path = tmp_path / "model.skops"
    save(model, path)
    return load(path)


@pytest.mark.parametrize("how", ["pickle", "skops"])
@pytest.mark.parametrize("solver, on_dask", [("adam", False), ("sgd", False),
                                             ("lbfgs", False), ("adam", True)])
@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
def test_a_saved_model_comes_back_as_it_was(Estimator, solver, on_dask, how, tmp_path):
    model = _fitted(Estimator, solver, on_dask)
    again = _round_trip(model, how, tmp_path)
    X, y = _data()
    assert type(again) is Estimator and again.get_params() == model.get_params()
    np.testing.assert_array_equal(again.predict(X), model.predict(X))
    assert getattr(again, "history_", None) == getattr(model, "history_", None)
    if solver != "lbfgs":  # the optimizer's state came back: training goes on alike
        again.partial_fit(X, y)
        model.partial_fit(X, y)
        np.testing.assert_array_equal(again.coefs_[0], model.coefs_[0])


@pytest.mark.parametrize("name", TRUSTED_TYPES)
def test_every_trusted_type_is_a_dasknn_class_at_that_path(name):
    module, _, qualname = name.rpartition(".")
    assert module.split(".")[0] == "dasknn"
    cls = getattr(importlib.import_module(module), qualname)
    assert f"{cls.__module__}.{cls.__qualname__}" == name


class NotOurs:
    """A type no dasknn model holds."""


def test_other_types_load_only_when_the_caller_names_them(tmp_path):
    X, y = _data()
    model = MLPClassifier(hidden_layer_sizes=(3,), max_iter=2, random_state=0).fit(X, y)
    model.extra_ = NotOurs()
    path = tmp_path / "model.skops"
    skops.io.dump(model, path)
    name = f"{NotOurs.__module__}.NotOurs"
    with pytest.raises(ValueError, match=f"types dasknn does not trust: \\['{name}'\\]"):
        load(path)
    again = load(path, trusted=[name])
    assert type(again.extra_).__name__ == "NotOurs"
    np.testing.assert_array_equal(again.predict(X), model.predict(X))
