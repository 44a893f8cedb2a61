"""The scikit-learn contract: estimator checks, Pipeline, GridSearchCV, clone, pickle."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from dasknn import MLPClassifier, MLPRegressor

# scikit-learn runs its sample-weight equivalence check on its own MLPs with these
# settings: weights equal to repeating rows only hold for full-batch training
# (lbfgs), or for a regressor whose sgd run stops early on a loose tol. Minibatch
# adam with weights is not the same algorithm as adam on repeated rows.
SAMPLE_WEIGHT_CHECK_PARAMS = {
    MLPClassifier: dict(solver="lbfgs"),
    MLPRegressor: dict(solver="sgd", tol=1e-2, random_state=42),
}


@parametrize_with_checks([
    MLPClassifier(max_iter=100),
    MLPRegressor(max_iter=100),
    MLPClassifier(solver="lbfgs", max_iter=100),
    MLPRegressor(solver="sgd", max_iter=100),
])
def test_estimator_checks(estimator, check):
    if check.func.__name__ == "check_sample_weight_equivalence_on_dense_data":
        estimator = clone(estimator).set_params(**SAMPLE_WEIGHT_CHECK_PARAMS[type(estimator)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


@pytest.fixture(scope="module")
def blobs():
    return make_classification(n_samples=200, n_features=6, n_informative=4,
                               n_classes=3, random_state=0)


def _search(Estimator, X, y):
    pipe = make_pipeline(StandardScaler(), Estimator(max_iter=50, random_state=0))
    grid = {"mlpclassifier__hidden_layer_sizes": [(5,), (10,)],
            "mlpclassifier__alpha": [1e-4, 1e-1]}
    return GridSearchCV(pipe, grid, cv=3, n_jobs=2).fit(X, y)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_pipeline_grid_search_parallel_matches_sklearn(blobs):
    from sklearn.neural_network import MLPClassifier as SkMLPClassifier

    X, y = blobs
    ours, theirs = _search(MLPClassifier, X, y), _search(SkMLPClassifier, X, y)
    assert len(ours.cv_results_["params"]) == 4
    np.testing.assert_allclose(ours.cv_results_["mean_test_score"],
                               theirs.cv_results_["mean_test_score"], rtol=1e-12)
    assert ours.best_params_ == theirs.best_params_
    best = ours.best_estimator_[-1]
    assert isinstance(best, MLPClassifier)
    np.testing.assert_allclose(best.coefs_[0], theirs.best_estimator_[-1].coefs_[0])


@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
def test_clone_keeps_params_not_fit(Estimator, blobs):
    X, y = blobs
    est = Estimator(hidden_layer_sizes=(4,), max_iter=5, random_state=0, alpha=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X, y)
    copy = clone(est)
    assert copy.get_params() == est.get_params()
    assert not hasattr(copy, "coefs_")


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
def test_pickle_round_trip_predicts_the_same(Estimator, blobs):
    X, y = blobs
    est = Estimator(hidden_layer_sizes=(4,), max_iter=5, random_state=0).fit(X, y)
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.predict(X), est.predict(X))
    # a restored model keeps training where the original left off
    est.partial_fit(X, y)
    again.partial_fit(X, y)
    np.testing.assert_array_equal(again.coefs_[0], est.coefs_[0])


def _fitted(Estimator, **params):
    if Estimator is MLPClassifier:
        X, y = make_classification(n_samples=120, n_features=5, n_classes=3,
                                   n_informative=3, random_state=0)
    else:
        X, y = make_regression(n_samples=120, n_features=5, n_targets=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return Estimator(hidden_layer_sizes=(6,), max_iter=20, random_state=0,
                         **params).fit(X, y), X, y


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
def test_to_sklearn_predicts_identically(Estimator, solver):
    est, X, y = _fitted(Estimator, solver=solver)
    sk = est.to_sklearn()
    assert type(sk) is Estimator._sklearn_class()
    np.testing.assert_array_equal(sk.predict(X), est.predict(X))
    if Estimator is MLPClassifier:
        np.testing.assert_array_equal(sk.predict_proba(X), est.predict_proba(X))
        np.testing.assert_array_equal(sk.classes_, est.classes_)
    assert sk.score(X, y) == est.score(X, y)
    sk.coefs_[0][0, 0] += 1.0  # an independent copy
    assert est.coefs_[0][0, 0] != sk.coefs_[0][0, 0]
    if solver == "adam":  # its loss curve too: training ours further leaves it alone
        curve = list(sk.loss_curve_)
        est.partial_fit(X, y)
        assert sk.loss_curve_ == curve


def test_to_sklearn_before_fit_raises():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        MLPClassifier().to_sklearn()


@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
def test_lbfgs_has_no_partial_fit(Estimator):
    est = Estimator(solver="lbfgs")
    assert not hasattr(est, "partial_fit")
    with pytest.raises(AttributeError, match="partial_fit"):
        est.partial_fit
