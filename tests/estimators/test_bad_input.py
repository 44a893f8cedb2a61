"""Bad input gets a clear error naming the problem, on numpy and on Dask input,
on a multi-process cluster (the `client` fixture)."""

import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

from dasknn import MLPClassifier, MLPRegressor

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
RNG = np.random.RandomState(0)
X = RNG.normal(size=(200, 4))
Y = (X[:, 0] > 0).astype(int)


def _with(a, row, col, value):
    a = a.astype(float).copy()
    a[row, col] = value
    return a


def _dask(a):
    return None if a is None else da.from_array(a, chunks=(50,) + a.shape[1:])


FIT_CASES = {
    # name: (Estimator, X, y, extra fit kwargs, error, regex)
    "nan in X": (MLPClassifier, _with(X, 3, 1, np.nan), Y, {}, ValueError, "NaN"),
    "inf in X": (MLPClassifier, _with(X, 3, 1, np.inf), Y, {}, ValueError, "infinity"),
    "nan in y": (MLPClassifier, X, _with(Y[:, None], 5, 0, np.nan)[:, 0], {}, ValueError,
                 "NaN"),
    "nan in regression y": (MLPRegressor, X, _with(Y[:, None], 5, 0, np.nan)[:, 0], {},
                            ValueError, "NaN"),
    "1-D X": (MLPClassifier, X[:, 0], Y, {}, ValueError, "2D array|2-D"),
    "length mismatch": (MLPClassifier, X, Y[:-1], {}, ValueError,
                        "inconsistent numbers of samples|rows but y has"),
    "text X": (MLPClassifier, np.full(X.shape, "abc"), Y, {}, ValueError,
               "convert string to float|real numbers"),
    "complex X": (MLPClassifier, X + 1j, Y, {}, ValueError, "[Cc]omplex|real numbers"),
    "continuous y for a classifier": (MLPClassifier, X, X[:, 0], {}, ValueError,
                                      "Unknown label type"),
    "text y for a regressor": (MLPRegressor, X, np.array(["a", "b"])[Y], {}, ValueError,
                               "numeric"),
    "empty data": (MLPClassifier, X[:0], Y[:0], {}, ValueError, "0 sample|at least one"),
    "sample_weight length": (MLPClassifier, X, Y, {"sample_weight": np.ones(7)}, ValueError,
                             "sample_weight"),
    "validation split too small": (MLPClassifier, X[:20], Y[:20],
                                   {"early_stopping": True, "validation_fraction": 0.05},
                                   ValueError, "validation set is too small"),
    "all-zero sample_weight": (MLPClassifier, X, Y, {"sample_weight": np.zeros(200)},
                               ValueError, "at least one non-zero"),
    "negative y with loss='poisson'": (MLPRegressor, X, X[:, 0], {"loss": "poisson"},
                                       ValueError, "non-negative targets"),
}


@pytest.mark.parametrize("kind", ["numpy", "dask"])
@pytest.mark.parametrize("case", FIT_CASES)
def test_fit_refuses_bad_input(client, case, kind):
    Estimator, Xc, yc, extra, error, match = FIT_CASES[case]
    extra = dict(extra)
    params = {k: extra.pop(k) for k in ("early_stopping", "validation_fraction", "loss")
              if k in extra}
    if kind == "dask":
        if Xc.shape[0] == 0:
            Xc, yc = da.zeros((0, 4), chunks=1), da.zeros((0,), chunks=1)
        else:
            Xc, yc = _dask(Xc), _dask(yc)
        extra = {k: _dask(v) for k, v in extra.items()}
        if case == "1-D X":
            Xc = da.from_array(X[:, 0], chunks=50)
    with pytest.raises(error, match=match):
        Estimator(hidden_layer_sizes=(3,), max_iter=2, **params).fit(Xc, yc, **extra)


def test_text_column_in_a_dask_dataframe(client):
    frame = pd.DataFrame(X, columns=list("abcd")).assign(city="x")
    with pytest.raises(ValueError, match=r"non-numeric columns \['city'\]"):
        MLPClassifier().fit(dd.from_pandas(frame, npartitions=2), _dask(Y))


@pytest.mark.parametrize("kind", ["numpy", "dask"])
def test_predict_errors(client, kind):
    prep = _dask if kind == "dask" else (lambda a: a)
    with pytest.raises(NotFittedError):
        MLPClassifier().predict(prep(X))
    clf = MLPClassifier(hidden_layer_sizes=(3,), max_iter=2).fit(prep(X), prep(Y))
    with pytest.raises(ValueError, match="4 features"):
        clf.predict(prep(X[:, :3]))


@pytest.mark.parametrize("kind", ["numpy", "dask"])
def test_partial_fit_class_errors(client, kind):
    prep = _dask if kind == "dask" else (lambda a: a)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        MLPClassifier().partial_fit(prep(X), prep(Y))
    clf = MLPClassifier(hidden_layer_sizes=(3,)).partial_fit(prep(X), prep(Y), classes=[0, 1])
    with pytest.raises(ValueError, match="classes not in `self.classes_`"):
        clf.partial_fit(prep(X), prep(Y + 1))


@pytest.mark.parametrize("kind", ["numpy", "dask"])
def test_unknown_device_and_bad_parameter(client, kind):
    prep = _dask if kind == "dask" else (lambda a: a)
    with pytest.raises(ValueError, match="'device' parameter of MLPClassifier must be"):
        MLPClassifier(device="tpu").fit(prep(X), prep(Y))
    with pytest.raises(ValueError, match="'alpha' parameter of MLPRegressor must be"):
        MLPRegressor(alpha=-1.0).fit(prep(X), prep(Y))


def test_divergence_on_dask_input_is_reported_and_leaves_no_tasks(client):
    from cluster_utils import scheduler_task_count, wait_for_task_count

    big = _dask(X * 1e200)
    before = scheduler_task_count(client)
    with pytest.raises(ValueError, match="non-finite parameter weights"):
        with np.errstate(all="ignore"):
            MLPRegressor(solver="sgd", learning_rate_init=10.0, max_iter=2).fit(
                big, _dask(Y * 1e200))
    assert wait_for_task_count(client, before)


@pytest.mark.parametrize("case", ["nan in X", "inf in X", "nan in regression y"])
def test_bad_blocks_of_persisted_data_are_reported_and_leave_no_tasks(client, case):
    # blocks already in the cluster's memory: the fit submits parts, shards and the
    # first epoch without waiting, so the part's error surfaces from the epoch
    from cluster_utils import scheduler_task_count, wait_for_task_count
    from distributed import wait

    Estimator, Xc, yc, _, error, match = FIT_CASES[case]
    dX, dy = client.persist([_dask(Xc), _dask(yc)])
    wait([dX, dy])
    before = scheduler_task_count(client)
    with pytest.raises(error, match=match):
        Estimator(hidden_layer_sizes=(3,), max_iter=2).fit(dX, dy)
    assert wait_for_task_count(client, before)


@pytest.mark.parametrize("how", ["lazy", "persisted", "streamed"])
@pytest.mark.parametrize("wrong", ["X", "y"])
def test_wrong_chunk_sizes_are_reported(client, how, wrong):
    import dask
    from cluster_utils import scheduler_task_count, wait_for_task_count
    from distributed import wait

    # the metadata says 60 rows in the second block; it holds 50
    liar = lambda a: da.from_delayed(dask.delayed(a[50:100]), shape=(60,) + a.shape[1:],  # noqa: E731
                                     dtype=a.dtype)
    yy = np.resize(Y, 110)
    dX = da.concatenate([da.from_array(X[:50], chunks=(50, 4)),
                         liar(X) if wrong == "X" else da.from_array(np.resize(X, (60, 4)))])
    dy = da.concatenate([da.from_array(yy[:50]),
                         liar(yy) if wrong == "y" else da.from_array(yy[50:])])
    if how == "persisted":
        dX, dy = client.persist([dX, dy])
        wait([dX, dy])
    before = scheduler_task_count(client)
    with pytest.raises(ValueError, match="compute_chunk_sizes") as info:
        MLPClassifier(hidden_layer_sizes=(3,), max_iter=2,
                      persist=how != "streamed").fit(dX, dy)
    assert f"a block of {wrong} holds 50 rows" in str(info.value)
    assert wait_for_task_count(client, before)


def test_dask_fit_without_y_names_y(client):
    with pytest.raises(ValueError, match="requires y"):
        MLPClassifier(hidden_layer_sizes=(3,), max_iter=1).fit(_dask(X), None)


def test_scalar_sample_weight_on_dask_weighs_every_row(client):
    params = dict(hidden_layer_sizes=(3,), max_iter=2, random_state=0)
    weighted = MLPClassifier(**params).fit(_dask(X), _dask(Y), sample_weight=2.0)
    plain = MLPClassifier(**params).fit(_dask(X), _dask(Y))
    for a, b in zip(weighted.coefs_, plain.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)


def test_numpy_strings_are_valid_options():
    # a param_grid built with numpy holds np.str_ values; scikit-learn takes them
    clf = MLPClassifier(hidden_layer_sizes=(3,), solver=np.str_("sgd"), max_iter=2,
                        n_iter_no_change=np.float64(np.inf)).fit(X, Y)
    assert clf.n_iter_ == 2
