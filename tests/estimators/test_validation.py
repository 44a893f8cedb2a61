"""Parameter and input errors name the problem and the fix."""

import numpy as np
import pytest
from sklearn.datasets import make_classification

from dasknn import MLPClassifier, MLPRegressor
from dasknn.estimators.validation import InvalidParameterError

X, y = make_classification(n_samples=40, n_features=4, random_state=0)

BAD_PARAMS = [
    ("hidden_layer_sizes", 0, r"an int in the range \[1, inf\) or a sequence"),
    ("hidden_layer_sizes", (3, 0), r"sequence of such ints. Got \(3, 0\)"),
    ("activation", "softmax", r"a str among \{'identity', 'logistic', 'tanh', 'relu'\}"),
    ("solver", "newton", r"a str among \{'lbfgs', 'sgd', 'adam'\}"),
    ("alpha", -1, r"a float in the range \[0, inf\). Got -1 instead"),
    ("batch_size", 0, r"a str among \{'auto'\} or an int in the range \[1, inf\)"),
    ("learning_rate", "fast", r"'constant', 'invscaling', 'adaptive'"),
    ("learning_rate_init", 0.0, r"a float in the range \(0, inf\)"),
    ("power_t", -0.5, r"a float in the range \[0, inf\)"),
    ("max_iter", 0, r"an int in the range \[1, inf\)"),
    ("max_iter", 2.5, r"an int in the range \[1, inf\). Got 2.5"),
    ("shuffle", "yes", "a bool"),
    ("random_state", -1, r"an int in the range \[0, 4294967295\]"),
    ("tol", -1e-3, r"a float in the range \[0, inf\)"),
    ("verbose", -1, "a bool or an int"),
    ("warm_start", None, "a bool"),
    ("momentum", 1.5, r"a float in the range \[0, 1\]"),
    ("nesterovs_momentum", 1, "a bool"),
    ("early_stopping", "no", "a bool"),
    ("validation_fraction", 1.0, r"a float in the range \[0, 1\)"),
    ("beta_1", 1.0, r"a float in the range \[0, 1\)"),
    ("beta_2", -0.1, r"a float in the range \[0, 1\)"),
    ("epsilon", 0.0, r"a float in the range \(0, inf\)"),
    ("n_iter_no_change", 0, r"an int in the range \[1, inf\) or a float among \{inf\}"),
    ("max_fun", 0, r"an int in the range \[1, inf\)"),
]


@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize("name,value,expected", BAD_PARAMS)
def test_invalid_parameter_message(Estimator, name, value, expected):
    est = Estimator(**{name: value})
    prefix = rf"The '{name}' parameter of {Estimator.__name__} must be "
    with pytest.raises(InvalidParameterError, match=prefix + ".*" + expected):
        est.fit(X, y)


def test_invalid_regressor_loss():
    with pytest.raises(ValueError, match=r"'loss' parameter of MLPRegressor must be a str "
                                         r"among \{'squared_error', 'poisson'\}"):
        MLPRegressor(loss="absolute_error").fit(X, y)


def test_errors_are_value_and_type_errors():
    with pytest.raises(ValueError):
        MLPClassifier(alpha="big").fit(X, y)
    with pytest.raises(TypeError):
        MLPClassifier(alpha="big").fit(X, y)


def test_n_iter_no_change_accepts_inf():
    MLPClassifier(n_iter_no_change=np.inf, max_iter=2, hidden_layer_sizes=(3,)).fit(X, y)


def test_partial_fit_checks_params_and_early_stopping():
    with pytest.raises(InvalidParameterError, match="'alpha' parameter"):
        MLPRegressor(alpha=-1).partial_fit(X, y)
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping"):
        MLPClassifier(early_stopping=True).partial_fit(X, y, classes=[0, 1])


def test_partial_fit_needs_classes_first():
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        MLPClassifier().partial_fit(X, y)


def test_partial_fit_unseen_class():
    clf = MLPClassifier(hidden_layer_sizes=(3,)).partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="classes not in `self.classes_`"):
        clf.partial_fit(X, y + 1)


def test_warm_start_with_new_layers_is_refused():
    clf = MLPClassifier(hidden_layer_sizes=(3,), max_iter=2, warm_start=True).fit(X, y)
    clf.set_params(hidden_layer_sizes=(4,))
    with pytest.raises(ValueError, match="Keep hidden_layer_sizes unchanged"):
        clf.fit(X, y)


def test_validation_split_too_small():
    with pytest.raises(ValueError, match="Increase 'validation_fraction'"):
        MLPClassifier(early_stopping=True, validation_fraction=0.01).fit(X, y)


@pytest.mark.parametrize("weights,match", [
    (np.ones(3), r"sample_weight has shape \(3,\) but X has 40 samples"),
    (np.zeros(40), "at least one non-zero"),
    (np.full(40, np.nan), "NaN"),
])
def test_bad_sample_weight(weights, match):
    with pytest.raises(ValueError, match=match):
        MLPClassifier().fit(X, y, sample_weight=weights)


def test_poisson_refuses_negative_targets():
    with pytest.raises(ValueError, match="non-negative targets"):
        MLPRegressor(loss="poisson").fit(X, y - 1.0)


def test_divergence_is_reported():
    big = X * 1e200
    with pytest.raises(ValueError, match="non-finite parameter weights"):
        with np.errstate(all="ignore"):
            MLPRegressor(solver="sgd", learning_rate_init=10.0, max_iter=3).fit(big, y * 1e200)
