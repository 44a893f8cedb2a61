"""Worker processes load what their tasks need: numpy and the kernels, never
scikit-learn, the estimator facade, Bokeh, matplotlib or pandas for numpy chunks, and
no scipy for a fit on numpy chunks."""

import warnings

import dask.array as da
import numpy as np
import pytest
from cluster_utils import wait_for_task_count
from distributed import Client, LocalCluster

from dasknn import MLPClassifier, MLPRegressor

HEAVY = ("sklearn", "bokeh", "matplotlib", "pandas", "skops", "tqdm", "dasknn.estimators",
         "dasknn.dashboard", "dasknn.cli", "dasknn.demo")



def _modules(prefixes):
    """An expression listing a process's modules under ``prefixes``: evaluated on the
    worker, it ships no function of this module (which would import it, and dasknn's
    estimators with it, there)."""
    return f"sorted(m for m in __import__('sys').modules if m.startswith({prefixes!r}))"


def test_workers_import_no_estimator_dashboard_or_pandas_code():
    X = da.random.RandomState(0).random_sample((4000, 5), chunks=(500, 5))
    y = (X[:, 0] > 0.5).astype(int)
    small = dict(hidden_layer_sizes=(8,), max_iter=3, learning_rate_init=0.02, random_state=0)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as client, \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for extra in ({"persist": False}, {"solver": "lbfgs"}, {"early_stopping": True},
                      {"sync": "gradient"}, {}):
            clf = MLPClassifier(**small, **extra).fit(X, y)
        clf.predict(X).compute()
        clf.predict_proba(X).compute()
        assert clf.score(X, y) > 0.5  # the held fit, with the defaults
        MLPRegressor(**small).fit(X, X.sum(axis=1)).score(X, X.sum(axis=1))
        assert wait_for_task_count(client, 0)  # the warm-up tasks too are released
        (loaded,) = client.run(eval, _modules(HEAVY)).values()
        (ours,) = client.run(eval, _modules("dasknn")).values()
    assert "dasknn.distributed.tasks" in ours  # the worker did run our tasks
    assert loaded == []


def test_a_fit_on_numpy_chunks_loads_no_scipy_on_the_workers():
    """The label pass, the weights' check and the training call numpy and dasknn's maths
    only, so a fresh worker imports neither dask.array nor scipy (0.1-0.2 s of a first
    fit): binary and multiclass, weighted, early stopping, streamed, a regressor."""
    rng = np.random.RandomState(0)
    X = rng.standard_normal((4000, 5)).astype(np.float32)
    dX = da.from_array(X, chunks=(500, 5))
    binary = da.from_array((X[:, 0] > 0).astype(int), chunks=500)
    three = da.from_array(np.digitize(X[:, 1], [-0.5, 0.5]), chunks=500)
    weights = da.from_array(rng.uniform(0.5, 2, 4000), chunks=500)
    small = dict(hidden_layer_sizes=(8,), max_iter=3, learning_rate_init=0.02, random_state=0)
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as client, \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert MLPClassifier(**small).fit(dX, binary).n_iter_ == 3
        MLPClassifier(**small, early_stopping=True).fit(dX, three, sample_weight=weights)
        MLPClassifier(**small, persist=False).fit(dX, three)
        MLPRegressor(**small).fit(dX, da.from_array(X.sum(axis=1), chunks=500))
        (loaded,) = client.run(eval, _modules(HEAVY + ("scipy", "dask.array"))).values()
        (ours,) = client.run(eval, _modules("dasknn")).values()
    assert "dasknn.distributed.tasks" in ours
    assert loaded == []


def test_importing_dasknn_loads_neither_estimators_nor_dashboard():
    import subprocess
    import sys

    code = ("import sys, dasknn; print(sorted(m for m in sys.modules if m.startswith("
            f"{HEAVY!r}) or m in ('distributed', 'bokeh')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_the_dashboard_preload_loads_none_of_the_engine():
    # a scheduler preloads the page (``dask scheduler --preload dasknn.dashboard``): it
    # reads the events of the fits, and must not load what trains them
    import subprocess
    import sys

    code = ("import sys, distributed, dasknn.dashboard; print(sorted(m for m in sys.modules "
            "if m.startswith(('scipy', 'sklearn', 'dasknn.distributed', 'dasknn.maths', "
            "'dasknn.estimators'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("name", ["MLPClassifier", "MLPRegressor", "load", "save"])
def test_the_package_face_loads_its_names_on_use(name):
    import dasknn

    assert callable(getattr(dasknn, name))
    assert name in dir(dasknn)


def test_an_unknown_name_is_an_attribute_error():
    import dasknn

    with pytest.raises(AttributeError, match="no attribute 'MLPClasifier'"):
        dasknn.MLPClasifier  # noqa: B018
