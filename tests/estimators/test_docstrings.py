"""What is written twice stays in sync: each estimator's docstring documents exactly
its constructor's parameters and its fitted attributes, both estimators describe their
shared parameters and attributes in the same words, and the regressor's signature is
the classifier's with ``loss`` in front. The public methods say what they do with Dask
input."""

import inspect
import re
import warnings

import numpy as np
import pytest

from dasknn import MLPClassifier, MLPRegressor

ESTIMATORS = [MLPClassifier, MLPRegressor]


def _section(doc, title):
    """``{name: text}`` of the entries of a numpydoc section; an entry such as
    ``beta_1, beta_2 : float`` gives one key per name, with the same text."""
    doc = inspect.cleandoc(doc)
    match = re.search(rf"^{title}\n-+\n(.*?)(?=^\S[^\n]*\n-+\n|\Z)", doc, re.M | re.S)
    assert match, f"no {title} section"
    entries = re.split(r"^(?=\S)", match.group(1), flags=re.M)
    found = {}
    for entry in filter(str.strip, entries):
        names = entry.split(" : ")[0]
        for name in names.split(", "):
            found[name.strip()] = entry.split(" : ", 1)[1]
    return found


def _constructor_params(Estimator):
    return list(inspect.signature(Estimator).parameters)


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_every_parameter_is_documented_and_nothing_else(Estimator):
    documented = list(_section(Estimator.__doc__, "Parameters"))
    assert documented == _constructor_params(Estimator)


def test_the_shared_parameters_and_attributes_read_the_same():
    for title, only_one in (("Parameters", {"loss"}), ("Attributes", {"classes_"})):
        clf = _section(MLPClassifier.__doc__, title)
        reg = _section(MLPRegressor.__doc__, title)
        shared = (clf.keys() | reg.keys()) - only_one
        assert {k: clf[k] for k in shared} == {k: reg[k] for k in shared}, title
        assert set(clf) ^ set(reg) == only_one, title


def test_the_regressor_signature_is_the_classifiers_with_loss_first():
    clf = inspect.signature(MLPClassifier).parameters
    reg = inspect.signature(MLPRegressor).parameters
    assert list(reg)[0] == "loss"
    assert [(p.name, p.kind, p.default) for p in list(reg.values())[1:]] == \
        [(p.name, p.kind, p.default) for p in clf.values()]


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_the_fitted_attributes_are_documented(Estimator):
    X = np.random.RandomState(0).rand(40, 3)
    y = np.arange(40) % 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = Estimator(hidden_layer_sizes=(3,), max_iter=2, random_state=0).fit(X, y)
    fitted = {k for k in vars(model) if k.endswith("_") and not k.startswith("_")}
    assert fitted <= set(_section(Estimator.__doc__, "Attributes"))


@pytest.mark.parametrize("Estimator", ESTIMATORS)
def test_the_public_methods_say_what_dask_input_does(Estimator):
    methods = ["fit", "partial_fit", "predict", "score"]
    if Estimator is MLPClassifier:
        methods += ["predict_proba", "predict_log_proba"]
    assert "Dask" in Estimator.__doc__
    for name in methods:
        doc = getattr(Estimator, name).__doc__
        assert "dask" in _section(doc, "Parameters")["X"], name
        assert "Dask" in doc, name
