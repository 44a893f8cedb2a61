"""Numerical equivalence of dasknn's MLPs with scikit-learn's.

scikit-learn is the oracle: every test fits a ``sklearn.neural_network``
estimator and its ``dasknn`` counterpart with identical parameters and data
(in-memory numpy / pandas / scipy.sparse, int ``random_state``) and checks
that the fitted attributes and predictions agree.
"""

import inspect
import re
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import sklearn.neural_network as sknn
from numpy.testing import assert_allclose, assert_array_equal
from sklearn.datasets import (
    make_classification,
    make_multilabel_classification,
    make_regression,
)

import dasknn

pytestmark = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning"
)

CLF, REG = "MLPClassifier", "MLPRegressor"

# Attributes that must agree whenever sklearn's fitted model has them.
COUNTS = ["n_iter_", "t_"]
FLOAT_ATTRS = [
    "coefs_",
    "intercepts_",
    "loss_curve_",
    "validation_scores_",
    "best_loss_",
    "best_validation_score_",
    "loss_",
]
EXACT_ATTRS = ["n_features_in_", "n_layers_", "n_outputs_", "out_activation_"]


# ---------------------------------------------------------------- data


def clf_data(n_classes=3, n_samples=120, n_features=8, dtype=np.float64, seed=0):
    X, y = make_classification(
        n_samples=n_samples,
        n_features=n_features,
        n_informative=5,
        n_classes=n_classes,
        random_state=seed,
    )
    return X.astype(dtype), y


def multilabel_data(dtype=np.float64):
    X, Y = make_multilabel_classification(
        n_samples=120, n_features=8, n_classes=4, random_state=0
    )
    return X.astype(dtype), Y


def reg_data(n_targets=1, dtype=np.float64):
    X, y = make_regression(
        n_samples=120, n_features=8, n_informative=5, n_targets=n_targets,
        noise=0.5, random_state=0,
    )
    return X.astype(dtype), (y / y.std(axis=0)).astype(dtype)


def poisson_data(dtype=np.float64):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(120, 6))
    y = rng.poisson(np.exp(X @ rng.uniform(-0.4, 0.4, size=6))).astype(float)
    return X.astype(dtype), y.astype(dtype)


def weights(n, seed=0):
    return np.random.RandomState(seed).uniform(0.2, 3.0, size=n)


# ---------------------------------------------------------------- helpers


def x_dtype(X):
    return X.dtypes.iloc[0] if isinstance(X, pd.DataFrame) else X.dtype


def tolerances(dtype):
    if np.dtype(dtype) == np.float32:
        return dict(rtol=1e-3, atol=1e-5)
    return dict(rtol=1e-6, atol=1e-10)


def make_pair(kind, **params):
    params.setdefault("random_state", 0)
    return getattr(sknn, kind)(**params), getattr(dasknn, kind)(**params)


def run_both(kind, calls, **params):
    """Apply the same ``(method, args, kwargs)`` calls to both estimators."""
    sk, dk = make_pair(kind, **params)
    for method, args, kwargs in calls:
        assert getattr(sk, method)(*args, **kwargs) is sk
        assert getattr(dk, method)(*args, **kwargs) is dk
    return sk, dk


def assert_close_value(a, b, name, tol):
    if a is None:
        assert b is None, name
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), name
        for i, (ai, bi) in enumerate(zip(a, b)):
            assert np.shape(ai) == np.shape(bi), f"{name}[{i}]"
            assert_allclose(bi, ai, err_msg=f"{name}[{i}]", **tol)
    else:
        assert b is not None, name
        assert_allclose(b, a, err_msg=name, **tol)


def assert_fitted_equal(sk, dk, dtype):
    tol = tolerances(dtype)
    for name in COUNTS + FLOAT_ATTRS + EXACT_ATTRS + ["feature_names_in_"]:
        if not hasattr(sk, name):
            assert not hasattr(dk, name), f"dasknn has {name}, sklearn has not"
            continue
        assert hasattr(dk, name), f"dasknn lacks {name}"
        a, b = getattr(sk, name), getattr(dk, name)
        if name in FLOAT_ATTRS:
            assert_close_value(a, b, name, tol)
        else:
            assert_array_equal(b, a, err_msg=name)
    for c in dk.coefs_ + dk.intercepts_:
        assert c.dtype == dtype
    if sk.solver != "lbfgs":
        # sklearn's lbfgs upcasts float32 weights to float64; dasknn doesn't.
        for c in sk.coefs_ + sk.intercepts_:
            assert c.dtype == dtype


def assert_predictions_equal(sk, dk, X):
    tol = tolerances(x_dtype(X))
    if hasattr(sk, "classes_"):
        assert_array_equal(dk.classes_, sk.classes_)
        assert_array_equal(dk.predict(X), sk.predict(X))
        p_sk, p_dk = sk.predict_proba(X), dk.predict_proba(X)
        assert p_dk.shape == p_sk.shape
        assert_allclose(p_dk, p_sk, **tol)
    else:
        p_sk, p_dk = sk.predict(X), dk.predict(X)
        assert p_dk.shape == p_sk.shape
        assert_allclose(p_dk, p_sk, **tol)


def assert_equivalent(sk, dk, X):
    assert_fitted_equal(sk, dk, x_dtype(X))
    assert_predictions_equal(sk, dk, X)


def fit_compare(kind, X, y, sample_weight=None, **params):
    kwargs = {} if sample_weight is None else {"sample_weight": sample_weight}
    sk, dk = run_both(kind, [("fit", (X, y), kwargs)], **params)
    assert_equivalent(sk, dk, X)
    return sk, dk


SMALL = dict(hidden_layer_sizes=(7,), max_iter=15)
DEEP = dict(hidden_layer_sizes=(8, 5), max_iter=15)


# ---------------------------------------------------------------- API


# Our own parameters (distributed training), keyword-only and after scikit-learn's.
EXTRA_PARAMS = ["dropout", "sync", "sync_steps", "lr_scaling", "warmup", "device", "progress",
                "persist"]


@pytest.mark.parametrize("kind", [CLF, REG])
def test_default_params_match(kind):
    sk, dk = getattr(sknn, kind)(), getattr(dasknn, kind)()
    ours = dk.get_params()
    assert {k: ours[k] for k in sk.get_params()} == sk.get_params()
    assert sorted(set(ours) - set(sk.get_params())) == sorted(EXTRA_PARAMS)


@pytest.mark.parametrize("kind", [CLF, REG])
def test_signature_order_matches(kind):
    sk_sig = inspect.signature(getattr(sknn, kind))
    dk_sig = inspect.signature(getattr(dasknn, kind))
    names = list(dk_sig.parameters)
    assert names[: len(sk_sig.parameters)] == list(sk_sig.parameters)
    assert names[len(sk_sig.parameters):] == EXTRA_PARAMS
    for name in EXTRA_PARAMS:
        assert dk_sig.parameters[name].kind is inspect.Parameter.KEYWORD_ONLY


# ---------------------------------------------------------------- solvers

SOLVERS = {
    "adam": dict(solver="adam"),
    "sgd-momentum0": dict(solver="sgd", momentum=0.0),
    "sgd-nesterov": dict(solver="sgd", momentum=0.9, nesterovs_momentum=True),
    "sgd-momentum": dict(solver="sgd", momentum=0.9, nesterovs_momentum=False),
    "sgd-constant": dict(
        solver="sgd", learning_rate="constant", learning_rate_init=0.05, momentum=0.5
    ),
    "sgd-invscaling": dict(
        solver="sgd", learning_rate="invscaling", learning_rate_init=0.2
    ),
    "lbfgs": dict(solver="lbfgs"),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("solver", list(SOLVERS))
def test_solvers_classifier(solver, dtype):
    X, y = clf_data(dtype=dtype)
    fit_compare(CLF, X, y, batch_size=32, **DEEP, **SOLVERS[solver])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("solver", list(SOLVERS))
def test_solvers_regressor(solver, dtype):
    X, y = reg_data(dtype=dtype)
    fit_compare(REG, X, y, batch_size=32, **SMALL, **SOLVERS[solver])


@pytest.mark.parametrize("kind", [CLF, REG])
def test_sgd_adaptive_learning_rate_drops(kind):
    X, y = clf_data() if kind == CLF else reg_data()
    sk, _ = fit_compare(
        kind, X, y, solver="sgd", learning_rate="adaptive", n_iter_no_change=2,
        tol=0.5, max_iter=30, batch_size=40, hidden_layer_sizes=(7,),
    )
    assert sk._optimizer.learning_rate < sk.learning_rate_init  # drop happened
    assert sk.n_iter_ < 30  # and training stopped when lr got too small


@pytest.mark.parametrize("kind", [CLF, REG])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_lbfgs_max_fun_stops_early(kind, dtype):
    X, y = clf_data(dtype=dtype) if kind == CLF else reg_data(dtype=dtype)
    sk, _ = fit_compare(
        kind, X, y, solver="lbfgs", max_fun=6, max_iter=50, hidden_layer_sizes=(7,)
    )
    assert sk.n_iter_ < 50


@pytest.mark.parametrize("kind", [CLF, REG])
def test_stochastic_no_change_stops_before_max_iter(kind):
    X, y = clf_data() if kind == CLF else reg_data()
    sk, _ = fit_compare(
        kind, X, y, n_iter_no_change=1, tol=0.05, max_iter=40,
        hidden_layer_sizes=(7,),
    )
    assert sk.n_iter_ < 40


# ---------------------------------------------------------------- early stopping

EARLY = dict(
    early_stopping=True, n_iter_no_change=2, max_iter=60, tol=1e-3,
    learning_rate_init=0.05, hidden_layer_sizes=(7,),
)


@pytest.mark.parametrize(
    "kind, data",
    [
        (CLF, lambda: clf_data(n_classes=2)),  # stratified split
        (CLF, lambda: clf_data(n_classes=4)),  # n_outputs_ > 1: not stratified
        (CLF, multilabel_data),  # not stratified
        (REG, reg_data),
        (REG, lambda: reg_data(n_targets=2)),
    ],
    ids=["binary", "multiclass", "multilabel", "regression", "regression-2out"],
)
@pytest.mark.parametrize("solver", ["adam", "sgd"])
@pytest.mark.parametrize("weighted", [False, True])
def test_early_stopping(kind, data, solver, weighted):
    X, y = data()
    sw = weights(len(X)) if weighted else None
    sk, _ = fit_compare(
        kind, X, y, sample_weight=sw, solver=solver, batch_size=30, **EARLY
    )
    assert sk.n_iter_ < EARLY["max_iter"]  # stopping did trigger
    assert len(sk.validation_scores_) == sk.n_iter_


# ---------------------------------------------------------------- shuffle


@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("kind", [CLF, REG])
@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_shuffle(shuffle, kind, solver):
    X, y = clf_data() if kind == CLF else reg_data()
    fit_compare(kind, X, y, solver=solver, shuffle=shuffle, batch_size=25, **SMALL)


# ---------------------------------------------------------------- targets


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
@pytest.mark.parametrize(
    "data",
    [
        lambda: clf_data(n_classes=2),
        lambda: clf_data(n_classes=4),
        multilabel_data,
    ],
    ids=["binary", "multiclass", "multilabel"],
)
def test_classification_targets(data, solver):
    X, y = data()
    fit_compare(CLF, X, y, solver=solver, **DEEP)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_string_labels(n_classes):
    X, y = clf_data(n_classes=n_classes)
    labels = np.array(["cat", "ant", "bee"])[y]
    sk, dk = fit_compare(CLF, X, labels, **SMALL)
    assert dk.predict(X).dtype == sk.predict(X).dtype


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
@pytest.mark.parametrize("n_targets", [1, 3])
def test_regression_targets(n_targets, solver):
    X, y = reg_data(n_targets=n_targets)
    fit_compare(REG, X, y, solver=solver, batch_size=50, **DEEP)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_poisson_loss(solver, dtype):
    X, y = poisson_data(dtype=dtype)
    sk, _ = fit_compare(
        REG, X, y, loss="poisson", solver=solver, learning_rate_init=0.01,
        batch_size=40, **SMALL,
    )
    assert sk.out_activation_ == "exp"


# ---------------------------------------------------------------- sample_weight


@pytest.mark.parametrize(
    "solver, early_stopping",
    [("adam", False), ("sgd", False), ("lbfgs", False), ("adam", True),
     ("sgd", True)],
)
@pytest.mark.parametrize("kind", [CLF, REG])
def test_sample_weight(kind, solver, early_stopping):
    X, y = clf_data() if kind == CLF else reg_data()
    params = SMALL | dict(solver=solver, batch_size=30)
    if early_stopping:
        params.update(EARLY)
    sk, _ = fit_compare(kind, X, y, sample_weight=weights(len(y)), **params)
    if early_stopping:
        assert sk.n_iter_ < 60


@pytest.mark.parametrize("kind", [CLF, REG])
def test_sample_weight_matters(kind):
    # guards the test above: weights must change sklearn's fit
    X, y = clf_data() if kind == CLF else reg_data()
    sk, dk = run_both(
        kind, [("fit", (X, y), {"sample_weight": weights(len(y))})], **SMALL
    )
    sk0 = getattr(sknn, kind)(random_state=0, **SMALL).fit(X, y)
    assert not np.allclose(sk0.coefs_[0], sk.coefs_[0])
    assert_equivalent(sk, dk, X)


# ---------------------------------------------------------------- warm start


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
@pytest.mark.parametrize("kind", [CLF, REG])
def test_warm_start(kind, solver):
    X, y = clf_data() if kind == CLF else reg_data()
    fit = ("fit", (X, y), {})
    sk, dk = run_both(kind, [fit, fit], warm_start=True, solver=solver, **SMALL)
    assert_equivalent(sk, dk, X)
    assert sk.solver == "lbfgs" or sk.t_ == 2 * sk.n_iter_ * len(y)


@pytest.mark.parametrize("kind", [CLF, REG])
def test_refit_without_warm_start(kind):
    X, y = clf_data() if kind == CLF else reg_data()
    fit = ("fit", (X, y), {})
    sk, dk = run_both(kind, [fit, ("fit", (X[:80], y[:80]), {})], **SMALL)
    assert_equivalent(sk, dk, X)


# ---------------------------------------------------------------- partial_fit


def slices(X, y):
    return [(X[:40], y[:40]), (X[40:90], y[40:90]), (X[90:], y[90:])]


@pytest.mark.parametrize("solver", ["adam", "sgd"])
@pytest.mark.parametrize("n_classes", [2, 3])
def test_partial_fit_classifier(n_classes, solver):
    X, y = clf_data(n_classes=n_classes)
    parts = slices(X, y)
    calls = [("partial_fit", parts[0], {"classes": np.unique(y)})]
    calls += [("partial_fit", p, {}) for p in parts[1:]]
    sk, dk = run_both(CLF, calls, solver=solver, **SMALL)
    assert sk.n_iter_ == 1 and sk.t_ == len(y)  # n_iter_ counts per call
    assert_equivalent(sk, dk, X)


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_partial_fit_regressor(solver):
    X, y = reg_data()
    calls = [("partial_fit", p, {}) for p in slices(X, y)]
    sk, dk = run_both(REG, calls, solver=solver, **SMALL)
    assert sk.n_iter_ == 1 and sk.t_ == len(y)  # n_iter_ counts per call
    assert_equivalent(sk, dk, X)


@pytest.mark.parametrize("kind", [CLF, REG])
def test_partial_fit_sample_weight(kind):
    X, y = clf_data() if kind == CLF else reg_data()
    sw = weights(len(y))
    first = {"classes": np.unique(y)} if kind == CLF else {}
    calls = [
        ("partial_fit", (X[:60], y[:60]), {"sample_weight": sw[:60], **first}),
        ("partial_fit", (X[60:], y[60:]), {"sample_weight": sw[60:]}),
    ]
    sk, dk = run_both(kind, calls, **SMALL)
    assert_equivalent(sk, dk, X)


@pytest.mark.parametrize("solver", ["adam", "sgd"])
@pytest.mark.parametrize("kind", [CLF, REG])
def test_fit_then_partial_fit(kind, solver):
    X, y = clf_data() if kind == CLF else reg_data()
    calls = [("fit", (X[:80], y[:80]), {})]
    calls += [("partial_fit", (X[80:], y[80:]), {}), ("partial_fit", (X, y), {})]
    sk, dk = run_both(kind, calls, solver=solver, **SMALL)
    assert_equivalent(sk, dk, X)


@pytest.mark.parametrize("kind", [CLF, REG])
def test_partial_fit_rejects_early_stopping(kind):
    X, y = clf_data() if kind == CLF else reg_data()
    kwargs = {"classes": np.unique(y)} if kind == CLF else {}
    sk, dk = make_pair(kind, early_stopping=True)
    with pytest.raises(ValueError, match="early_stopping") as e_sk:
        sk.partial_fit(X, y, **kwargs)
    # code matching sklearn's message must keep working (dasknn may add advice)
    with pytest.raises(ValueError, match=re.escape(str(e_sk.value))):
        dk.partial_fit(X, y, **kwargs)


# ---------------------------------------------------------------- activations


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
@pytest.mark.parametrize("kind", [CLF, REG])
def test_activations(kind, activation, solver):
    X, y = clf_data() if kind == CLF else reg_data()
    fit_compare(
        kind, X, y, activation=activation, solver=solver, batch_size=40, **DEEP
    )


# ---------------------------------------------------------------- input types


def as_input(X, kind):
    if kind == "pandas":
        return pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    if kind in ("csr", "csc"):
        X = X.copy()
        X[np.abs(X) < 0.5] = 0.0  # make it genuinely sparse
        return sp.csr_matrix(X) if kind == "csr" else sp.csc_matrix(X)
    return X


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
@pytest.mark.parametrize("input_type", ["numpy", "pandas", "csr", "csc"])
@pytest.mark.parametrize("kind", [CLF, REG])
def test_input_types(kind, input_type, solver):
    X, y = clf_data() if kind == CLF else reg_data()
    Xin = as_input(X, input_type)
    sk, dk = fit_compare(kind, Xin, y, solver=solver, batch_size=30, **SMALL)
    if input_type == "pandas":
        assert_array_equal(dk.feature_names_in_, sk.feature_names_in_)
    else:
        assert not hasattr(dk, "feature_names_in_")


@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
@pytest.mark.parametrize("kind", [CLF, REG])
def test_pandas_targets(kind, solver):
    X, y = clf_data() if kind == CLF else reg_data(n_targets=2)
    Xdf = as_input(X, "pandas")
    if kind == CLF:
        y = pd.Series(np.array(["no", "yes", "maybe"])[y], name="label")
    else:
        y = pd.DataFrame(y, columns=["t0", "t1"])
    fit_compare(kind, Xdf, y, solver=solver, **SMALL)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("input_type", ["pandas", "csr"])
def test_input_types_early_stopping(input_type, dtype):
    X, y = clf_data(n_classes=3, dtype=dtype)
    fit_compare(CLF, as_input(X, input_type), y, batch_size=30, **EARLY)


# ---------------------------------------------------------------- dtypes


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
@pytest.mark.parametrize("kind", [CLF, REG])
def test_float32_stays_float32(kind, solver):
    X, y = clf_data(dtype=np.float32) if kind == CLF else reg_data(dtype=np.float32)
    sk, dk = fit_compare(kind, X, y, solver=solver, **SMALL)
    assert all(c.dtype == np.float32 for c in dk.coefs_ + dk.intercepts_)
    out = dk.predict_proba(X) if kind == CLF else dk.predict(X)
    assert out.dtype == np.float32
    if solver != "lbfgs":
        ref = sk.predict_proba(X) if kind == CLF else sk.predict(X)
        assert ref.dtype == np.float32


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_mixed_dtype_predict(solver, dtype):
    # fit in one precision, predict in the other
    X, y = clf_data(dtype=dtype)
    sk, dk = run_both(CLF, [("fit", (X, y), {})], solver=solver, **SMALL)
    other = X.astype(np.float64 if dtype == np.float32 else np.float32)
    tol = tolerances(np.float32)
    assert_allclose(dk.predict_proba(other), sk.predict_proba(other), **tol)


# ---------------------------------------------------------------- batch_size


def fit_recording(est, X, y):
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        est.fit(X, y)
    return [
        (w.category, str(w.message)) for w in record
        if "batch_size" in str(w.message)
    ]


@pytest.mark.parametrize("batch_size", [17, 500])
@pytest.mark.parametrize("kind", [CLF, REG])
def test_batch_size(kind, batch_size):
    X, y = clf_data() if kind == CLF else reg_data()
    sk, dk = make_pair(kind, batch_size=batch_size, **SMALL)
    w_sk, w_dk = fit_recording(sk, X, y), fit_recording(dk, X, y)
    assert len(w_sk) == (1 if batch_size > len(y) else 0)
    assert w_dk == w_sk
    assert_equivalent(sk, dk, X)


# ---------------------------------------------------------------- verbose


@pytest.mark.parametrize(
    "params",
    [
        dict(solver="adam"),
        dict(solver="sgd", learning_rate="adaptive", n_iter_no_change=1, tol=0.5),
        dict(solver="adam", early_stopping=True, n_iter_no_change=2, max_iter=60),
        dict(solver="sgd", n_iter_no_change=1, tol=0.5),
    ],
    ids=["adam", "sgd-adaptive", "early-stopping", "no-change"],
)
@pytest.mark.parametrize("kind", [CLF, REG])
def test_verbose_output(capsys, kind, params):
    X, y = clf_data() if kind == CLF else reg_data()
    sk, dk = make_pair(
        kind, verbose=True, **({"hidden_layer_sizes": (7,), "max_iter": 15} | params)
    )
    capsys.readouterr()
    sk.fit(X, y)
    out_sk = capsys.readouterr().out.splitlines()
    dk.fit(X, y)
    out_dk = capsys.readouterr().out.splitlines()
    assert out_sk[0].startswith("Iteration 1, loss = ")
    assert out_dk[0] == out_sk[0]
    assert out_dk == out_sk


@pytest.mark.parametrize("solver", ["adam", "sgd"])
@pytest.mark.parametrize("weights", [None, np.float64, np.float32])
def test_float32_regression_keeps_the_targets_and_weights_dtype(solver, weights):
    # scikit-learn keeps float64 targets and float64 sample weights beside float32 X:
    # the errors and gradients are then float64, and so must ours be
    X, y = make_regression(n_samples=300, n_features=5, random_state=0)
    X, y = X.astype(np.float32), y / y.std()
    sw = None if weights is None else np.random.RandomState(0).uniform(0.5, 2, 300).astype(weights)
    params = dict(hidden_layer_sizes=(7,), max_iter=15, random_state=0, solver=solver)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = dasknn.MLPRegressor(**params).fit(X, y, sample_weight=sw)
        theirs = sknn.MLPRegressor(**params).fit(X, y, sample_weight=sw)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        assert a.dtype == b.dtype == np.float32
        assert_array_equal(a, b)
    # the reported loss is summed in float32 in another order (last bits only)
    assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-6)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_float32_classifier_takes_sample_weights_to_float32(n_classes):
    # our documented choice: a float32 classifier computes in float32, float64 weights
    # included; it is scikit-learn's fit with float32 weights, to the bit, and differs
    # from scikit-learn's mixed float32/float64 arithmetic in the last bits only
    X, y = make_classification(n_samples=300, n_features=10, n_informative=5,
                               n_classes=n_classes, random_state=0)
    X = X.astype(np.float32)
    sw = np.random.RandomState(0).uniform(0.5, 2, 300)
    params = dict(hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = dasknn.MLPClassifier(**params).fit(X, y, sample_weight=sw)
        as32 = sknn.MLPClassifier(**params).fit(X, y, sample_weight=sw.astype(np.float32))
        mixed = sknn.MLPClassifier(**params).fit(X, y, sample_weight=sw)
    for a, b, c in zip(ours.coefs_ + ours.intercepts_, as32.coefs_ + as32.intercepts_,
                       mixed.coefs_ + mixed.intercepts_):
        assert a.dtype == np.float32
        assert_array_equal(a, b)
        assert_allclose(a, c, rtol=1e-5, atol=1e-6)
