"""Training on Dask collections on a real multi-process LocalCluster."""

import dask
import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from distributed import get_task_stream, wait
from sklearn.datasets import make_classification, make_multilabel_classification, make_regression
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from sklearn.neural_network import MLPRegressor as SkMLPRegressor

from dasknn import MLPClassifier, MLPRegressor
from dasknn.compat import patch_dask_ml

from cluster_utils import scheduler_task_count, wait_for_task_count

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

PARAMS = dict(hidden_layer_sizes=(32,), max_iter=8, random_state=0)


@pytest.fixture(scope="module")
def clf_data():
    X, y = make_classification(n_samples=12000, n_features=20, n_informative=12,
                               n_classes=3, random_state=0)
    return X[:10000], y[:10000], X[10000:], y[10000:]


@pytest.fixture(scope="module")
def reg_data():
    X, y = make_regression(n_samples=12000, n_features=10, n_informative=8, noise=5.0,
                           random_state=0)
    y = y / y.std()
    return X[:10000], y[:10000], X[10000:], y[10000:]


def _dask(X, y, blocks=10):
    rows = X.shape[0] // blocks
    return da.from_array(X, chunks=(rows, -1)), da.from_array(y, chunks=rows)


def test_classifier_reaches_sklearn_accuracy_on_every_worker(client, clf_data):
    X, y, X_test, y_test = clf_data
    dX, dy = _dask(X, y)
    with get_task_stream(client) as ts:
        ours = MLPClassifier(**PARAMS).fit(dX, dy)
    theirs = SkMLPClassifier(**PARAMS).fit(X, y)
    assert ours.score(X_test, y_test) >= theirs.score(X_test, y_test) - 0.01
    round_workers = {t["worker"] for t in ts.data if str(t["key"]).startswith("('dasknn-round")
                     or "dasknn-round" in str(t["key"])}
    assert round_workers == set(client.scheduler_info()["workers"])
    assert ours.n_iter_ == len(ours.loss_curve_) == len(ours.history_)
    assert ours.coefs_[0].dtype == np.float64


def test_regressor_reaches_sklearn_r2(client, reg_data):
    X, y, X_test, y_test = reg_data
    ours = MLPRegressor(**PARAMS).fit(*_dask(X, y))
    theirs = SkMLPRegressor(**PARAMS).fit(X, y)
    assert ours.score(X_test, y_test) >= theirs.score(X_test, y_test) - 0.01


def test_same_random_state_same_model(client, clf_data):
    X, y, *_ = clf_data
    a = MLPClassifier(**PARAMS).fit(*_dask(X, y))
    b = MLPClassifier(**PARAMS).fit(*_dask(X, y))
    for ca, cb in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        np.testing.assert_array_equal(ca, cb)
    assert a.loss_curve_ == b.loss_curve_


def test_persisted_data_gives_the_model_of_lazy_data(client, clf_data):
    # persisted blocks take the path that places parts without waiting for them
    X, y, *_ = clf_data
    params = dict(PARAMS, max_iter=3, early_stopping=True)
    lazy = MLPClassifier(**params).fit(*_dask(X, y))
    dX, dy = client.persist(list(_dask(X, y)))
    wait([dX, dy])
    held = MLPClassifier(**params).fit(dX, dy)
    for a, b in zip(lazy.coefs_ + lazy.intercepts_, held.coefs_ + held.intercepts_):
        np.testing.assert_array_equal(a, b)
    assert lazy.validation_scores_ == held.validation_scores_


def _part_waiting_for(block, event_name):
    from distributed import Event

    return Event(event_name).wait(timeout=30), block.shape[0]


def test_parts_of_persisted_blocks_are_placed_without_waiting(client, clf_data):
    from distributed import Event

    from dasknn.distributed.runner import ClusterRunner

    X, y, *_ = clf_data
    dX = client.persist(_dask(X, y)[0])
    wait(dX)
    keys = [row[0] for row in dX.__dask_keys__()]
    go = Event("dasknn-test-go", client=client)
    parts = [dask.delayed(_part_waiting_for)(b, go.name) for b in dX.to_delayed().ravel()]
    futures, where = ClusterRunner(client).parts(parts, dX, keys)
    # returned while every part still waits for the event: placed from the blocks
    assert not any(f.done() for f in futures)
    who_has = client.who_has(dX)
    assert where == [set(who_has[k]) for k in keys]
    go.set()
    assert [r for r in client.gather(futures)] == [(True, 1000)] * 10


@pytest.mark.parametrize("params", [
    dict(solver="adam"),
    dict(solver="sgd", learning_rate="invscaling", learning_rate_init=0.1),
    dict(solver="sgd", learning_rate="adaptive", tol=0.5, n_iter_no_change=2),
    dict(solver="adam", early_stopping=True),
    dict(solver="adam", early_stopping=True, tol=0.5, n_iter_no_change=2),
], ids=["adam", "sgd-invscaling", "sgd-adaptive-plateaus", "early-stopping",
        "early-stopping-stops"])
def test_epochs_submitted_ahead_give_the_same_model(client, clf_data, monkeypatch, params):
    """The next epoch goes to the cluster before the client has this one's results,
    unless this one could stop the fit or change the rate; the model is the same as
    when every epoch waits for the previous one."""
    from dasknn.distributed import held

    X, y, *_ = clf_data
    decisions = []
    may = held.may_run_ahead
    monkeypatch.setattr(held, "may_run_ahead",
                        lambda *a: decisions.append(may(*a)) or decisions[-1])
    ahead = MLPClassifier(**{**PARAMS, **params}).fit(*_dask(X, y))
    monkeypatch.setattr(held, "may_run_ahead", lambda *a: False)
    waiting = MLPClassifier(**{**PARAMS, **params}).fit(*_dask(X, y))
    assert any(decisions)
    if "tol" in params:
        assert not all(decisions)  # near a plateau the next epoch waits
    for a, b in zip(ahead.coefs_ + ahead.intercepts_, waiting.coefs_ + waiting.intercepts_):
        np.testing.assert_array_equal(a, b)
    assert ahead.loss_curve_ == waiting.loss_curve_
    assert ahead.n_iter_ == waiting.n_iter_
    assert ahead.validation_scores_ == waiting.validation_scores_
    if params.get("early_stopping") and "tol" in params:
        assert ahead.n_iter_ < PARAMS["max_iter"]  # the stopping rule fired


def test_no_leaked_tasks_or_futures(client, clf_data):
    X, y, *_ = clf_data
    dX, dy = _dask(X, y)
    dX, dy = client.persist([dX, dy])
    wait([dX, dy])
    before = scheduler_task_count(client)
    assert before >= 20  # the persisted blocks
    MLPClassifier(**PARAMS, early_stopping=True).fit(dX, dy)
    assert wait_for_task_count(client, before), (before, scheduler_task_count(client))
    del dX, dy


def test_float32_stays_float32(client, clf_data):
    X, y, X_test, _ = clf_data
    clf = MLPClassifier(**PARAMS).fit(*_dask(X.astype(np.float32), y))
    assert clf.coefs_[0].dtype == np.float32
    proba = clf.predict_proba(da.from_array(X_test.astype(np.float32), chunks=500))
    assert proba.dtype == np.float32 and proba.compute().dtype == np.float32


def test_early_stopping(client, clf_data):
    X, y, X_test, y_test = clf_data
    clf = MLPClassifier(hidden_layer_sizes=(32,), max_iter=200, random_state=0,
                        early_stopping=True, n_iter_no_change=3).fit(*_dask(X, y))
    assert clf.n_iter_ < 200
    assert len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.best_loss_ is None
    assert clf.score(X_test, y_test) > 0.8


def test_partial_fit_is_one_epoch(client, clf_data):
    X, y, X_test, y_test = clf_data
    dX, dy = _dask(X, y)
    clf = MLPClassifier(hidden_layer_sizes=(32,), random_state=0)
    clf.partial_fit(dX, dy, classes=np.unique(y))
    assert clf.n_iter_ == 1 and clf.t_ == X.shape[0]
    first = clf.score(X_test, y_test)
    for _ in range(4):
        clf.partial_fit(dX, dy)
    assert clf.t_ == 5 * X.shape[0] and len(clf.loss_curve_) == 5
    assert clf.score(X_test, y_test) > first


def test_lazy_predict_has_right_chunks_and_meta(client, clf_data):
    X, y, X_test, _ = clf_data
    clf = MLPClassifier(**PARAMS).fit(*_dask(X, y))
    dX_test = da.from_array(X_test, chunks=(500, 5))  # chunked along columns too
    pred = clf.predict(dX_test)
    assert isinstance(pred, da.Array) and pred.chunks == ((500,) * 4,)
    assert pred.dtype == clf.classes_.dtype and isinstance(pred._meta, np.ndarray)
    assert all(str(k[0] if isinstance(k, tuple) else k).startswith("dasknn-predict")
               for k in pred.__dask_layers__())
    np.testing.assert_array_equal(pred.compute(), clf.predict(X_test))
    proba = clf.predict_proba(dX_test)
    assert proba.chunks == ((500,) * 4, (3,))
    np.testing.assert_allclose(proba.compute(), clf.predict_proba(X_test))
    np.testing.assert_allclose(clf.predict_log_proba(dX_test).compute(),
                               clf.predict_log_proba(X_test))


def test_score_on_cluster_matches_in_memory(client, clf_data, reg_data):
    X, y, X_test, y_test = clf_data
    clf = MLPClassifier(**PARAMS).fit(*_dask(X, y))
    w = np.random.RandomState(0).uniform(0.5, 2, y_test.shape[0])
    dX, dy = _dask(X_test, y_test, blocks=4)
    assert clf.score(dX, dy, da.from_array(w, chunks=dy.chunks)) == pytest.approx(
        clf.score(X_test, y_test, w))
    X, y, X_test, y_test = reg_data
    reg = MLPRegressor(**PARAMS).fit(*_dask(X, y))
    assert reg.score(*_dask(X_test, y_test, blocks=4)) == pytest.approx(reg.score(X_test, y_test))


def test_dask_dataframe_input(client, clf_data):
    X, y, X_test, _ = clf_data
    cols = [f"f{i}" for i in range(X.shape[1])]
    ddf = dd.from_pandas(pd.DataFrame(X, columns=cols), npartitions=8)
    dy = dd.from_pandas(pd.Series(np.array(["a", "b", "c"])[y]), npartitions=8)
    clf = MLPClassifier(**PARAMS).fit(ddf, dy)
    assert list(clf.feature_names_in_) == cols and clf.n_features_in_ == X.shape[1]
    assert list(clf.classes_) == ["a", "b", "c"]
    test = dd.from_pandas(pd.DataFrame(X_test, columns=cols), npartitions=4)
    pred = clf.predict(test)
    assert isinstance(pred, dd.Series)
    np.testing.assert_array_equal(pred.compute().to_numpy(), clf.predict(pd.DataFrame(X_test, columns=cols)))
    with pytest.raises(ValueError, match="feature names should match"):
        clf.predict(test.rename(columns={"f0": "other"}))
    # names on one side only: scikit-learn's warnings, as in memory
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        clf.predict(test.to_dask_array(lengths=True))
    plain = MLPClassifier(**PARAMS).fit(ddf.to_dask_array(lengths=True), dy.to_dask_array(lengths=True))
    with pytest.warns(UserWarning, match="fitted without feature names"):
        plain.predict(test)


def test_unknown_chunks_and_misaligned_y(client, clf_data):
    X, y, X_test, y_test = clf_data
    dX = da.from_array(X, chunks=(1000, -1))
    dX = dX[dX[:, 0] > -np.inf]  # unknown chunk sizes
    dy = da.from_array(y, chunks=1700)  # not aligned with X's rows
    assert np.isnan(dX.chunks[0][0])
    clf = MLPClassifier(**PARAMS).fit(dX, dy)
    assert clf.score(X_test, y_test) > 0.8


def test_sample_weight_dask(client, clf_data):
    X, y, *_ = clf_data
    dX, dy = _dask(X, y)
    w = np.where(y == 0, 5.0, 1.0)
    heavy = MLPClassifier(**PARAMS).fit(dX, dy, sample_weight=da.from_array(w, chunks=dy.chunks))
    plain = MLPClassifier(**PARAMS).fit(dX, dy)
    # up-weighting class 0 makes the model predict it more often
    assert (heavy.predict(X) == 0).mean() > (plain.predict(X) == 0).mean()


def test_lbfgs_on_dask_matches_in_memory_lbfgs(client, clf_data):
    X, y, X_test, y_test = clf_data
    params = dict(hidden_layer_sizes=(16,), solver="lbfgs", max_iter=50, random_state=0)
    ours = MLPClassifier(**params).fit(*_dask(X, y))
    theirs = SkMLPClassifier(**params).fit(X, y)
    assert ours.n_iter_ == 50
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-2)
    assert abs(ours.score(X_test, y_test) - theirs.score(X_test, y_test)) <= 0.01


def test_sync_gradient_equals_large_batch_sgd(client, clf_data):
    X, y, X_test, y_test = clf_data
    # two workers x 100 rows a step: the same updates as one process with 200
    params = dict(hidden_layer_sizes=(16,), max_iter=5, random_state=0,
                  learning_rate_init=0.01)
    ours = MLPClassifier(**params, batch_size=100, sync="gradient").fit(*_dask(X, y))
    theirs = SkMLPClassifier(**params, batch_size=200).fit(X, y)
    assert ours.n_iter_ == 5
    assert len(ours.history_) == 5 and ours.history_[-1]["rounds"] == 50
    assert abs(ours.score(X_test, y_test) - theirs.score(X_test, y_test)) <= 0.02


def test_fit_inside_a_task_uses_worker_client(client, clf_data):
    X, y, *_ = clf_data

    def fit_in_task(X, y):
        dX, dy = da.from_array(X, chunks=(2000, -1)), da.from_array(y, chunks=2000)
        return MLPClassifier(hidden_layer_sizes=(8,), max_iter=2, random_state=0).fit(dX, dy)

    model = client.submit(fit_in_task, X, y).result(timeout=120)
    assert model.n_iter_ == 2


def test_grid_search_with_joblib_dask_backend(client, clf_data):
    import joblib
    from sklearn.model_selection import GridSearchCV

    X, y, *_ = clf_data
    grid = GridSearchCV(MLPClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0),
                        {"alpha": [1e-4, 1e-1]}, cv=2)
    with joblib.parallel_config(backend="dask"):
        grid.fit(X[:2000], y[:2000])
    reference = GridSearchCV(SkMLPClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0),
                             {"alpha": [1e-4, 1e-1]}, cv=2).fit(X[:2000], y[:2000])
    np.testing.assert_allclose(grid.cv_results_["mean_test_score"],
                               reference.cv_results_["mean_test_score"])


def test_numpy_input_keeps_exact_local_path_with_a_client(client, clf_data):
    X, y, *_ = clf_data
    ours = MLPClassifier(**PARAMS).fit(X[:2000], y[:2000])
    theirs = SkMLPClassifier(**PARAMS).fit(X[:2000], y[:2000])
    np.testing.assert_array_equal(ours.coefs_[0], theirs.coefs_[0])
    assert not hasattr(ours, "history_")


def test_dask_ml_incremental_and_hyperband(client, clf_data):
    pytest.importorskip("dask_ml", reason="dask-ml is an optional test dependency")
    from dask_ml.model_selection import HyperbandSearchCV
    from dask_ml.wrappers import Incremental

    X, y, X_test, y_test = clf_data
    dX, dy = _dask(X, y)
    params = dict(hidden_layer_sizes=(16,), learning_rate_init=0.01, random_state=0)
    ours = Incremental(MLPClassifier(**params), shuffle_blocks=False).fit(
        dX, dy, classes=np.unique(y))
    theirs = Incremental(SkMLPClassifier(**params), shuffle_blocks=False).fit(
        dX, dy, classes=np.unique(y))
    # Incremental feeds numpy blocks to partial_fit one at a time: sklearn's numbers
    assert ours.estimator_.t_ == X.shape[0]
    np.testing.assert_allclose(ours.estimator_.coefs_[0], theirs.estimator_.coefs_[0])
    assert ours.score(*_dask(X_test, y_test, 4)) > 0.6
    assert patch_dask_ml()  # dask-ml 2025.1.0 calls dask.persist from the client's loop
    search = HyperbandSearchCV(MLPClassifier(**params), {"alpha": [1e-4, 1e-2, 1.0]},
                               max_iter=3, random_state=0)
    search.fit(dX, dy, classes=np.unique(y))
    assert isinstance(search.best_estimator_, MLPClassifier)
    assert search.best_score_ > 0.6


def test_patch_dask_ml_fixes_hyperband_for_any_estimator(client, clf_data):
    pytest.importorskip("dask_ml", reason="dask-ml is an optional test dependency")
    import dask.base
    from dask_ml.model_selection import HyperbandSearchCV
    from dask_ml.model_selection import _incremental
    from sklearn.linear_model import SGDClassifier

    X, y, *_ = clf_data
    dX, dy = _dask(X, y)
    if hasattr(dask.base, "_ensure_not_async") and not hasattr(_incremental.dask,
                                                                "dasknn_patched"):
        with pytest.raises(RuntimeError, match="asynchronous Client in a synchronous"):
            HyperbandSearchCV(SGDClassifier(), {"alpha": [1e-4, 1e-2]}, max_iter=2,
                              random_state=0).fit(dX, dy, classes=[0, 1, 2])
    assert patch_dask_ml() and patch_dask_ml()  # idempotent
    search = HyperbandSearchCV(SGDClassifier(random_state=0), {"alpha": [1e-4, 1e-2]},
                               max_iter=2, random_state=0).fit(dX, dy, classes=[0, 1, 2])
    assert search.best_score_ > 0.5


def test_patch_dask_ml_is_a_no_op_where_dask_needs_none(monkeypatch, caplog):
    pytest.importorskip("dask_ml", reason="dask-ml is an optional test dependency")
    import logging

    from dasknn import compat

    monkeypatch.setattr(compat, "_dask_refuses_loop_clients", lambda: False)
    monkeypatch.setattr("dask_ml.model_selection._incremental.dask", __import__("dask"))
    with caplog.at_level(logging.INFO, logger="dasknn.compat"):
        assert patch_dask_ml() is False
    assert "needs no patch" in caplog.text


def test_empty_blocks_are_skipped(client, clf_data):
    X, y, *_ = clf_data
    dX, dy = _dask(X, y)
    keep = da.from_array(np.arange(X.shape[0]) >= 1000, chunks=dy.chunks)  # block 0 empty
    clf = MLPClassifier(**PARAMS).fit(dX[keep], dy[keep])
    assert clf.n_iter_ == PARAMS["max_iter"]


def test_score_accepts_column_y(client, clf_data):
    X, y, X_test, y_test = clf_data
    clf = MLPClassifier(**PARAMS).fit(*_dask(X, y))
    dy = da.from_array(y_test.reshape(-1, 1), chunks=(500, 1))
    assert clf.score(da.from_array(X_test, chunks=(500, -1)), dy) == pytest.approx(
        clf.score(X_test, y_test))


def test_sample_weights_differing_between_shards_matter(client):
    rng = np.random.RandomState(0)
    X = rng.normal(size=(400, 4))
    y = (X[:, 0] + 0.5 * rng.normal(size=400) > 0).astype(int)
    w = np.r_[np.full(200, 10.0), np.ones(200)]  # one shard weighs ten times the other
    dX, dy = da.from_array(X, chunks=(200, -1)), da.from_array(y, chunks=200)
    dw = da.from_array(w, chunks=200)
    for sync in ("gradient", "model"):
        params = dict(hidden_layer_sizes=(4,), max_iter=3, random_state=0, alpha=0.0,
                      batch_size=50, sync=sync)
        weighted = MLPClassifier(**params).fit(dX, dy, sample_weight=dw)
        plain = MLPClassifier(**params).fit(dX, dy)
        assert not np.allclose(weighted.coefs_[0], plain.coefs_[0]), sync


def test_dask_input_errors_name_the_problem(client, clf_data):
    X, y, *_ = clf_data
    dX, dy = _dask(X, y)
    with pytest.raises(ValueError, match="X has 10000 rows but y has 9999"):
        MLPClassifier().fit(dX, y[:-1])
    with pytest.raises(ValueError, match="validation set is too small"):
        MLPClassifier(early_stopping=True, validation_fraction=0.0).fit(dX, dy)
    w = np.ones(X.shape[0])
    w[5] = np.nan
    with pytest.raises(ValueError, match="sample_weight contains NaN"):
        MLPClassifier(max_iter=1).fit(dX, dy, sample_weight=da.from_array(w, chunks=dy.chunks))


def test_partial_fit_scales_the_sgd_rate_like_fit(client, clf_data):
    X, y, *_ = clf_data
    dX, dy = _dask(X, y)
    params = dict(hidden_layer_sizes=(8,), solver="sgd", learning_rate_init=0.01, max_iter=1)
    fitted = MLPClassifier(**params).fit(dX, dy)
    partial = MLPClassifier(**params).partial_fit(dX, dy, classes=np.unique(y))
    assert fitted.history_[0]["learning_rate"] == partial.history_[0]["learning_rate"] == 0.02


def test_streamed_fit_matches_the_persisted_one(client, clf_data):
    X, y, X_test, y_test = clf_data
    dX, dy = _dask(X, y)
    held = MLPClassifier(**PARAMS, persist=True).fit(dX, dy)
    streamed = MLPClassifier(**PARAMS, persist=False).fit(dX, dy)
    assert streamed.history_[-1]["rounds"] == 5  # one block per shard per round
    assert abs(streamed.score(X_test, y_test) - held.score(X_test, y_test)) <= 0.02
    with pytest.raises(ValueError, match="early_stopping=True needs the validation rows"):
        MLPClassifier(persist=False, early_stopping=True).fit(dX, dy)


@pytest.mark.parametrize("persist", [True, False])
def test_partial_fit_carries_the_optimizer_state(client, clf_data, persist):
    # Adam's step count and moments go on from one partial_fit to the next, whether
    # the blocks are held or streamed
    X, y, *_ = clf_data
    dX, dy = _dask(X, y)
    clf = MLPClassifier(**PARAMS, persist=persist)
    clf.partial_fit(dX, dy, classes=np.unique(y))
    first = clf._optimizer_state
    assert first.t > 0 and np.any(first.m != 0)
    clf.partial_fit(dX, dy)
    assert clf._optimizer_state.t == 2 * first.t


def test_targets_split_by_columns_pair_with_their_rows(client):
    # a 2-D y chunked along its columns is rechunked to one block per row block of X
    X, Y = make_multilabel_classification(n_samples=400, n_features=6, n_classes=4,
                                          random_state=0)
    dX = da.from_array(X, chunks=(200, -1))
    dY = da.from_array(Y, chunks=(200, 1))
    ours = MLPClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0).fit(dX, dY)
    ref = MLPClassifier(hidden_layer_sizes=(8,), max_iter=3, random_state=0).fit(
        dX, da.from_array(Y, chunks=(200, -1)))
    for a, b in zip(ours.coefs_, ref.coefs_):
        np.testing.assert_array_equal(a, b)


def test_lazy_predictions_keep_the_model_they_were_built_with(client, clf_data):
    # a partial_fit between building and computing a prediction does not change it
    X, y, X_test, _ = clf_data
    dX, dy = _dask(X, y)
    clf = MLPClassifier(**dict(PARAMS, max_iter=2)).fit(dX, dy)
    lazy = clf.predict_proba(da.from_array(X_test, chunks=500))
    before = clf.predict_proba(X_test)
    clf.partial_fit(dX, dy)
    np.testing.assert_allclose(lazy.compute(), before, rtol=1e-9, atol=1e-12)
    assert not np.allclose(clf.predict_proba(X_test), before, rtol=1e-9, atol=1e-12)


def test_regressor_score_refuses_targets_of_another_width(client, reg_data):
    X, y, *_ = reg_data
    dX = da.from_array(X, chunks=(1000, -1))
    two = MLPRegressor(hidden_layer_sizes=(8,), max_iter=1).fit(
        dX, da.from_array(np.c_[y, -y], chunks=(1000, -1)))
    with pytest.raises(ValueError, match="y has 1 output"):
        two.score(dX, da.from_array(y, chunks=1000))
    one = MLPRegressor(hidden_layer_sizes=(8,), max_iter=1).fit(dX, da.from_array(y, chunks=1000))
    with pytest.raises(ValueError, match="y has 2 output"):
        one.score(dX, da.from_array(np.c_[y, -y], chunks=(1000, -1)))


def test_gradient_sync_step_counts_the_penalty_once():
    # two shards' batches make one step of the merged batch: data terms by rows, the
    # L2 penalty once (it was added once per shard)
    from types import SimpleNamespace

    from array_api_compat import numpy as xp

    from dasknn.distributed import tasks as _shard
    from dasknn.maths.network import Layout, Network, flat_loss_and_grad
    from dasknn.maths.optimizers import Hyper, init

    rng = np.random.RandomState(0)
    net = Network(Layout((4, 5, 3)), "relu", "softmax", "log_loss", 0.5)
    params = rng.uniform(-0.5, 0.5, net.layout.n_params)
    X, Y = rng.normal(size=(20, 4)), np.eye(3)[rng.randint(0, 3, 20)]
    shards = [_shard.Part(X[s], Y[s], None, X[:0], Y[:0], None)
              for s in (slice(0, 12), slice(12, 20))]
    plan = _shard.Plan(0, 0, 1, 12, False, None)
    grads = [_shard.step_grad(params, s, plan, net._replace(alpha=0.0)) for s in shards]
    hyper = Hyper("sgd", 0.1, momentum=0.0)
    cfg = SimpleNamespace(net=net, hyper=hyper)
    start = _shard.RoundResult(params, init(params, hyper, xp), 0.0, 1, 0.0, 1.0)
    loss, grad = flat_loss_and_grad(params, X, Y, None, net, xp)
    stepped = _shard.apply_step(start, cfg, plan, *grads)
    np.testing.assert_allclose(stepped.params, params - 0.1 * grad, rtol=1e-10, atol=1e-14)
    loss_sum, n, *_ = _shard.step_summary(start, cfg, *grads)
    assert n == 20 and loss_sum / n == pytest.approx(float(loss), rel=1e-12)


@pytest.mark.parametrize("persist", [True, False])
def test_partial_fit_carries_the_sgd_schedule_in_user_units(client, reg_data, persist):
    # invscaling decays the rate between calls as scikit-learn's does; the rate kept
    # is the user's, not the shards' scaled one (lr_scaling='linear' doubles it)
    X, y, *_ = reg_data
    dX, dy = da.from_array(X, chunks=(1000, -1)), da.from_array(y, chunks=1000)
    reg = MLPRegressor(hidden_layer_sizes=(8,), solver="sgd", learning_rate="invscaling",
                       learning_rate_init=0.01, persist=persist)
    for k in (1, 2, 3):
        reg.partial_fit(dX, dy)
        assert reg.t_ == k * X.shape[0]
        assert reg._optimizer_state.learning_rate == pytest.approx(
            0.01 / (k * X.shape[0] + 1) ** 0.5)


def test_lazy_predict_on_a_dataframe_reads_nothing_until_computed(client, clf_data, tmp_path):
    X, y, *_ = clf_data
    frame = pd.DataFrame(X[:400], columns=[f"f{i}" for i in range(X.shape[1])])
    clf = MLPClassifier(hidden_layer_sizes=(8,), max_iter=2, random_state=0).fit(frame, y[:400])
    log = tmp_path / "reads"

    def load(i, log=str(log), frame=frame):
        with open(log, "a") as f:
            f.write(f"{i}\n")
        return frame.iloc[i * 100:(i + 1) * 100]

    ddf = dd.from_map(load, range(4), meta=frame.iloc[:0])
    labels, proba = clf.predict(ddf), clf.predict_proba(ddf)
    assert not log.exists()  # building the predictions read no partition
    np.testing.assert_array_equal(labels.compute().to_numpy(), clf.predict(frame))
    np.testing.assert_allclose(proba.compute(), clf.predict_proba(frame), rtol=1e-12)


def test_nullable_pandas_dtypes_are_read_as_floats(client):
    # Int64 labels and Float64 columns, as scikit-learn reads them in memory
    X, y = make_classification(n_samples=400, n_features=4, random_state=0)
    frame = pd.DataFrame(X, columns=list("abcd")).astype({"a": "Float64"})
    labels = pd.Series(y).astype("Int64")
    clf = MLPClassifier(hidden_layer_sizes=(3,), max_iter=2, random_state=0).fit(
        dd.from_pandas(frame, npartitions=2), dd.from_pandas(labels, npartitions=2))
    assert clf.classes_.tolist() == [0.0, 1.0]
    reg = MLPRegressor(hidden_layer_sizes=(3,), max_iter=2).fit(
        dd.from_pandas(frame, npartitions=2),
        dd.from_pandas(pd.Series(X[:, 1]).astype("Float64"), npartitions=2))
    assert reg.n_iter_ == 2
    labels[3] = pd.NA
    with pytest.raises(ValueError, match="contains NaN"):
        MLPClassifier(max_iter=1).fit(dd.from_pandas(frame, npartitions=2),
                                      dd.from_pandas(labels, npartitions=2))


def test_history_gives_the_rate_each_epoch_trained_at(client, clf_data):
    X, y, *_ = clf_data
    dX, dy = _dask(X, y)
    clf = MLPClassifier(hidden_layer_sizes=(8,), solver="sgd", learning_rate="invscaling",
                        learning_rate_init=0.01, power_t=0.5, lr_scaling=None, max_iter=2,
                        random_state=0).fit(dX, dy)
    rates = [record["learning_rate"] for record in clf.history_]
    # scikit-learn's invscaling: the first epoch at the initial rate, the next at
    # init / (t + 1)**power_t, t the samples seen by the end of the first epoch
    assert rates[0] == 0.01
    assert rates[1] == pytest.approx(0.01 / (clf.t_ / 2 + 1) ** 0.5)  # t_: 2 epochs


def test_a_2d_dask_y_is_typed_from_all_its_rows(client):
    # 0/1 in its first 100 rows, a 2 further down: multiclass-multioutput, which
    # scikit-learn's classifier refuses, not a multilabel indicator matrix
    X = np.random.RandomState(0).rand(300, 4)
    Y = (X[:, :2] > 0.5).astype(int)
    Y[250, 1] = 2
    with pytest.raises(ValueError) as theirs:
        SkMLPClassifier(max_iter=1).fit(X, Y)
    with pytest.raises(ValueError) as ours:
        MLPClassifier(max_iter=1).fit(da.from_array(X, chunks=(100, -1)),
                                      da.from_array(Y, chunks=(100, -1)))
    assert str(ours.value) == str(theirs.value)
