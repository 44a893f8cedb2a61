"""Scale-out: many shards keep scikit-learn's accuracy, a diverging fit is caught, and
the in-process simulation of W training slots gives the model a real cluster gives."""

import warnings

import dask.array as da
import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SkMLPClassifier
from threadpoolctl import threadpool_limits

from dasknn import MLPClassifier
from dasknn.distributed import averaging, tasks
from dasknn.distributed.runner import simulated_slots


def _blocks(X, y, n=64):
    dX = da.from_array(X, chunks=(-(-X.shape[0] // n), -1))
    return dX, da.from_array(y, chunks=dX.chunks[0])


def test_simulated_slots_give_the_model_of_a_real_cluster(client):
    # the session cluster has 2 worker processes of 1 thread: 2 training slots
    X, y = make_classification(n_samples=4000, n_features=10, n_classes=3, n_informative=6,
                               random_state=0)
    params = dict(hidden_layer_sizes=(8,), max_iter=4, random_state=0, sync_steps=3)
    on_cluster = MLPClassifier(**params).fit(*_blocks(X, y, 8))
    with simulated_slots(2):
        simulated = MLPClassifier(**params).fit(*_blocks(X, y, 8))
    assert on_cluster.history_[-1]["workers"] == simulated.history_[-1]["workers"] == 2
    for a, b in zip(on_cluster.coefs_ + on_cluster.intercepts_,
                    simulated.coefs_ + simulated.intercepts_):
        np.testing.assert_array_equal(a, b)


def test_sixteen_shards_keep_scikit_learns_accuracy():
    # the scale benchmark's task, 11,000 rows a shard, the same 5 epochs
    X, y = make_classification(n_samples=200_000, n_features=100, n_informative=60,
                               n_classes=10, random_state=0)
    X, Xt, y, yt = train_test_split(X.astype(np.float32), y, test_size=0.1, random_state=0)
    params = dict(hidden_layer_sizes=(256, 128), batch_size=256, max_iter=5, tol=0.0,
                  random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with threadpool_limits(limits=1, user_api="blas"):
            reference = SkMLPClassifier(**params).fit(X, y).score(Xt, yt)
        with simulated_slots(16):
            ours = MLPClassifier(**params).fit(*_blocks(X, y))
    assert ours.history_[-1]["workers"] == 16
    assert ours.score(Xt, yt) >= reference - 0.01


def test_a_diverging_fit_starts_again_at_a_smaller_rate():
    X, y = make_classification(n_samples=8000, n_features=20, n_informative=10, n_classes=4,
                               random_state=0)
    dX, dy = _blocks(X, y, 16)
    # Adam at 64x 0.05: the averaged model blows up, then sits at chance
    params = dict(hidden_layer_sizes=(32,), max_iter=6, tol=0.0, random_state=0,
                  learning_rate_init=0.05, lr_scaling="linear", warmup=0)
    with simulated_slots(16), pytest.warns(UserWarning, match="diverged .* starting again"):
        clf = MLPClassifier(**params).fit(dX, dy)
    assert clf.n_iter_ == 6 and len(clf.loss_curve_) == 6  # the restart kept no epoch
    assert clf.score(X, y) > 0.5  # 4 classes: chance is 0.25


def test_shards_with_few_minibatches_are_warned_about():
    X, y = make_classification(n_samples=4000, n_features=10, random_state=0)
    with simulated_slots(8), pytest.warns(UserWarning, match="the 8 shards hold 500 to 500 "):
        MLPClassifier(hidden_layer_sizes=(4,), max_iter=1).fit(*_blocks(X, y, 8))


@pytest.mark.parametrize("n", [1, 7, 8, 9, 64, 65])
def test_the_tree_of_averages_is_the_weighted_mean(n):
    rng = np.random.RandomState(n)
    results = [tasks.RoundResult(rng.rand(5).astype(np.float32), None, float(i), 10 + i,
                                 0.1 * i, float(10 + i)) for i in range(n)]
    run = lambda fn, *args, key: fn(*args)  # noqa: E731 - submit in this process
    params, summary = averaging.submit(run, results, np.zeros(5, np.float32), "k")
    weights = np.array([r.weight for r in results])
    expected = sum(w * r.params.astype(np.float64) for w, r in zip(weights, results)) / weights.sum()
    np.testing.assert_allclose(params, expected, rtol=1e-6)
    assert params.dtype == np.float32
    assert summary[1] == sum(r.n_rows for r in results)
    assert summary[2] == pytest.approx(0.1 * (n - 1))
    assert averaging.depth(n) == (1 if n <= 8 else 2 if n <= 64 else 3)


def test_a_streamed_fit_that_diverges_starts_again_then_is_refused(client):
    # streamed on the 2-worker cluster: the scaled rate blows the model up, the fit
    # starts again unscaled, and that model, still not finite, is refused as in memory
    X, y = make_classification(n_samples=2000, n_features=10, random_state=0)
    dX, dy = _blocks(X * 1e200, y, 8)
    with pytest.warns(UserWarning, match="diverged .* starting again at 1x"), \
            pytest.raises(ValueError, match="non-finite parameter weights"), \
            np.errstate(all="ignore"):
        MLPClassifier(hidden_layer_sizes=(4,), solver="sgd", learning_rate_init=10.0,
                      max_iter=2, persist=False).fit(dX, dy)


UNEVEN = {
    "tiny trailing block": (2000,) * 5 + (40,),
    "one giant block": (100,) * 10 + (8440,) + (60,) * 10,
    "parquet-like": tuple(np.random.RandomState(0).multinomial(10_040, np.full(23, 1 / 23))),
    "empty blocks": (5000, 0, 0, 5040, 0),
    "fewer blocks than shards": (6000, 4040),
}


@pytest.mark.parametrize("layout", UNEVEN, ids=list(UNEVEN))
def test_uneven_blocks_train_balanced_shards_as_good_as_even_ones(layout):
    X, y = make_classification(n_samples=12_000, n_features=20, n_informative=10,
                               n_classes=3, random_state=0)
    X, Xt, y, yt = X[:10_040], X[10_040:], y[:10_040], y[10_040:]
    params = dict(hidden_layer_sizes=(32,), max_iter=8, tol=0.0, random_state=0)
    rows = UNEVEN[layout]
    fits = {}
    with warnings.catch_warnings(), simulated_slots(8):
        warnings.simplefilter("ignore")
        for name, chunks in (("even", -(-10_040 // 8)), (layout, rows)):
            dX = da.from_array(X, chunks=(chunks, -1))
            fits[name] = MLPClassifier(**params).fit(dX, da.from_array(y, chunks=dX.chunks[0]))
    assert fits[layout].history_[-1]["workers"] == 8  # a shard per slot, whatever the blocks
    assert fits[layout].score(Xt, yt) >= fits["even"].score(Xt, yt) - 0.02


def _slow_start_task():
    """3 classes, 16 hidden units, 10 epochs of 2 shards: the loss stays above a
    constant prediction's for the first epochs while it falls."""
    X, y = make_classification(n_samples=5000, n_features=20, n_informative=10, n_classes=3,
                               random_state=0)
    dX, dy = da.from_array(X[:4000], chunks=(1000, -1)), da.from_array(y[:4000], chunks=1000)
    return dX, dy, X[4000:], y[4000:], dict(hidden_layer_sizes=(16,), max_iter=10,
                                             random_state=0)


def test_a_slow_start_is_not_taken_for_divergence():
    dX, dy, Xt, yt, params = _slow_start_task()
    with warnings.catch_warnings(record=True) as caught, simulated_slots(2):
        warnings.simplefilter("always")
        clf = MLPClassifier(**params).fit(dX, dy)
    assert not [w for w in caught if "diverged" in str(w.message)]
    assert clf.history_[0]["learning_rate"] == 0.002  # kept its 2x rate
    assert clf.loss_curve_[2] > clf.loss_curve_[-1]


def test_gradient_sync_scales_the_rate_as_model_sync_does():
    dX, dy, Xt, yt, params = _slow_start_task()
    scores, rates = {}, {}
    with warnings.catch_warnings(), simulated_slots(2):
        warnings.simplefilter("ignore")
        for sync, scaling in (("model", "linear"), ("gradient", "linear"),
                              ("gradient", None)):
            clf = MLPClassifier(**params, sync=sync, lr_scaling=scaling).fit(dX, dy)
            scores[sync, scaling] = clf.score(Xt, yt)
            rates[sync, scaling] = clf.history_[0]["learning_rate"]
    assert rates["gradient", "linear"] == 0.002 and rates["gradient", None] == 0.001
    assert scores["gradient", "linear"] >= scores["model", "linear"] - 0.01
    assert scores["gradient", "linear"] > scores["gradient", None] + 0.05
