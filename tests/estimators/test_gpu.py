"""On a real GPU with CuPy: in-memory CuPy data, CuPy chunks on a cluster,
device='cuda' with numpy chunks. Skipped (with the reason) without CuPy or a GPU."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import make_classification

from dasknn import MLPClassifier, MLPRegressor


def _cupy_or_skip():
    try:
        import cupy
    except ImportError:
        pytest.skip("CuPy is not installed (pip install 'dasknn[gpu]' on a GPU machine)",
                    allow_module_level=True)
    try:
        if cupy.cuda.runtime.getDeviceCount() < 1:
            pytest.skip("CuPy finds no GPU", allow_module_level=True)
    except Exception as exc:  # CUDA driver errors have no common base class
        pytest.skip(f"CuPy cannot reach a GPU: {exc}", allow_module_level=True)
    return cupy


cp = _cupy_or_skip()
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
PARAMS = dict(hidden_layer_sizes=(32,), max_iter=5, random_state=0)


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(n_samples=6000, n_features=20, n_informative=12, n_classes=3,
                               random_state=0)
    return X, y


@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-6), (np.float32, 2e-3)])
def test_cupy_in_memory_matches_cpu(data, dtype, rtol):
    X, y = data
    X = X.astype(dtype)
    gpu = MLPClassifier(**PARAMS).fit(cp.asarray(X), cp.asarray(y))
    cpu = MLPClassifier(**PARAMS).fit(X, y)
    for a, b in zip(gpu.coefs_, cpu.coefs_):
        assert isinstance(a, np.ndarray) and a.dtype == dtype
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol)
    proba = gpu.predict_proba(cp.asarray(X))
    assert isinstance(proba, cp.ndarray) and proba.dtype == dtype
    np.testing.assert_allclose(proba.get(), cpu.predict_proba(X), rtol=rtol, atol=rtol)
    pred = gpu.predict(cp.asarray(X))
    assert isinstance(pred, cp.ndarray)
    assert (pred.get() == cpu.predict(X)).mean() > 0.999


def test_cupy_regressor_and_early_stopping(data):
    X, y = data
    reg = MLPRegressor(**PARAMS).fit(cp.asarray(X), cp.asarray(y.astype(float)))
    ref = MLPRegressor(**PARAMS).fit(X, y.astype(float))
    np.testing.assert_allclose(reg.predict(cp.asarray(X)).get(), ref.predict(X), rtol=1e-5,
                               atol=1e-6)
    clf = MLPClassifier(**PARAMS, early_stopping=True).fit(cp.asarray(X), cp.asarray(y))
    ref = MLPClassifier(**PARAMS, early_stopping=True).fit(X, y)
    np.testing.assert_allclose(clf.validation_scores_, ref.validation_scores_, atol=1e-3)


def test_device_cuda_trains_numpy_input_on_the_gpu(data):
    X, y = data
    gpu = MLPClassifier(**PARAMS, device="cuda").fit(X, y)
    cpu = MLPClassifier(**PARAMS).fit(X, y)
    for a, b in zip(gpu.coefs_, cpu.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    assert isinstance(gpu.predict(X), np.ndarray)  # prediction follows the input


@pytest.fixture(scope="module")
def gpu_client():
    distributed = pytest.importorskip("distributed")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1,
                                           dashboard_address=":0")
    with distributed.Client(cluster) as client:
        yield client
    cluster.close()


def test_cupy_chunks_on_a_cluster(gpu_client, data):
    import dask.array as da

    X, y = data
    dX = da.from_array(X, chunks=(600, -1)).map_blocks(cp.asarray)
    dy = da.from_array(y, chunks=600)
    assert isinstance(dX._meta, cp.ndarray)
    gpu = MLPClassifier(**PARAMS).fit(dX, dy)
    cpu = MLPClassifier(**PARAMS).fit(da.from_array(X, chunks=(600, -1)), dy)
    for a, b in zip(gpu.coefs_, cpu.coefs_):
        assert isinstance(a, np.ndarray)
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    pred = gpu.predict(dX)
    assert isinstance(pred._meta, cp.ndarray)
    computed = pred.compute()
    assert isinstance(computed, cp.ndarray)
    np.testing.assert_array_equal(computed.get(), cpu.predict(X))
    assert gpu.score(dX, dy) == pytest.approx(cpu.score(X, y), abs=1e-3)  # on the cluster


@pytest.mark.parametrize("how", ["early_stopping", "persisted", "streamed"])
def test_cupy_chunks_take_every_cluster_path(gpu_client, data, how):
    # early stopping submits validation with its epoch; persisted blocks have their
    # parts placed from who_has; persist=False streams the blocks through the workers
    import dask.array as da
    from distributed import wait

    X, y = data
    params = dict(PARAMS, max_iter=3)
    if how == "early_stopping":
        params["early_stopping"] = True
    if how == "streamed":
        params["persist"] = False
    dX = da.from_array(X, chunks=(600, -1)).map_blocks(cp.asarray)
    dy = da.from_array(y, chunks=600)
    if how == "persisted":
        dX, dy = gpu_client.persist([dX, dy])
        wait([dX, dy])
    gpu = MLPClassifier(**params).fit(dX, dy)
    cpu = MLPClassifier(**params).fit(da.from_array(X, chunks=(600, -1)), dy)
    assert gpu.n_iter_ == cpu.n_iter_
    for a, b in zip(gpu.coefs_ + gpu.intercepts_, cpu.coefs_ + cpu.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(gpu.loss_curve_, cpu.loss_curve_, rtol=1e-6)
    if how == "early_stopping":
        np.testing.assert_allclose(gpu.validation_scores_, cpu.validation_scores_, atol=1e-3)


def test_device_cuda_with_numpy_chunks(gpu_client, data):
    import dask.array as da

    X, y = data
    dX, dy = da.from_array(X, chunks=(600, -1)), da.from_array(y, chunks=600)
    gpu = MLPClassifier(**PARAMS, device="cuda").fit(dX, dy)
    cpu = MLPClassifier(**PARAMS).fit(dX, dy)
    for a, b in zip(gpu.coefs_, cpu.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_local_cuda_cluster(data):
    dask_cuda = pytest.importorskip("dask_cuda", reason="dask-cuda is not installed")
    import dask.array as da
    from distributed import Client

    X, y = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = dask_cuda.LocalCUDACluster(dashboard_address=":0")
    with cluster, Client(cluster) as client:
        n_gpus = len(client.scheduler_info()["workers"])
        dX = da.from_array(X, chunks=(600, -1)).map_blocks(cp.asarray)
        clf = MLPClassifier(**PARAMS).fit(dX, da.from_array(y, chunks=600))
        assert clf.history_[-1]["workers"] == n_gpus
        assert clf.score(X, y) > 0.8


def test_cupy_dropout_draws_the_masks_of_the_cpu_fit(data):
    # the masks are drawn on the host from the fit's random state, so a float64 GPU
    # fit with dropout follows the CPU fit's masks
    X, y = data
    params = dict(PARAMS, dropout=0.3)
    gpu = MLPClassifier(**params).fit(cp.asarray(X), cp.asarray(y))
    cpu = MLPClassifier(**params).fit(X, y)
    for a, b in zip(gpu.coefs_, cpu.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
