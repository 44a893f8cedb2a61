"""Data dasknn cannot train on (text or categories, NaN, infinity) is refused naming the
column and the fix: in memory (scikit-learn's words first) and on Dask, where NaN is
found by the worker task reading the block and reaches the user as one line, without
the worker's traceback. Booleans and categories of numbers train as scikit-learn
reads them."""

import traceback

import dask.array as da
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.neural_network import MLPClassifier as SkMLPClassifier

from dasknn import MLPClassifier, MLPRegressor

pytestmark = [pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
              pytest.mark.filterwarnings("ignore:dasknn. each of the:UserWarning")]
RNG = np.random.RandomState(0)
FRAME = pd.DataFrame(RNG.normal(size=(200, 3)), columns=["dep_delay", "distance", "hour"])
Y = (FRAME["dep_delay"] > 0).astype(int).to_numpy()
PARAMS = dict(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
MISSING = "fill or drop them first"
ENCODE = "non-numeric columns"


def _set(frame, column, row, value):
    frame = frame.copy()
    frame[column] = frame[column].astype(float)
    frame.loc[row, column] = value
    return frame


IN_MEMORY = {
    # name: (X, message regex)
    "NaN in a DataFrame": (_set(FRAME, "distance", 7, np.nan),
                           (rf"^Input X contains NaN in column 'distance'\. .*{MISSING}.*"
                            r"SimpleImputer.*fillna")),
    "NA in a nullable column": (FRAME.assign(hour=pd.array([1, None] * 100, dtype="Int64")),
                                r"^Input X contains NaN in column 'hour'\."),
    "infinity in a DataFrame": (_set(FRAME, "hour", 3, -np.inf),
                                r"^Input X contains infinity in column 'hour'\. Replace"),
    "text column": (FRAME.assign(carrier="UA"),
                    (rf"^could not convert string to float: 'UA'\. X has {ENCODE} "
                     r"\['carrier'\].*OneHotEncoder.*or drop them")),
    "categorical column": (FRAME.assign(origin=pd.Categorical(["EWR", "JFK"] * 100)),
                           rf"{ENCODE} \['origin'\].*OneHotEncoder"),
    "two text columns": (FRAME.assign(carrier="UA", origin="EWR"),
                         rf"{ENCODE} \['carrier', 'origin'\]"),
    "NaN in an array": (_set(FRAME, "hour", 9, np.nan).to_numpy(),
                        r"^Input X contains NaN in column 2\."),
    "NaN in a sparse matrix": (sp.csr_matrix(_set(FRAME, "distance", 9, np.nan).to_numpy()),
                               r"^Input X contains NaN in column 1\."),
    "text in an object array": (FRAME.assign(carrier="UA").to_numpy(),
                                rf"{ENCODE} \[3\]"),
}


@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize("case", IN_MEMORY)
def test_in_memory_errors_name_the_column_and_the_fix(case, Estimator):
    X, match = IN_MEMORY[case]
    with pytest.raises(ValueError, match=match) as info:
        Estimator(**PARAMS).fit(X, Y)
    assert "\n" not in str(info.value)


def test_in_memory_errors_begin_as_scikit_learns():
    for case in ("NaN in a DataFrame", "infinity in a DataFrame", "text column"):
        X = IN_MEMORY[case][0]
        with pytest.raises(ValueError) as theirs:
            SkMLPClassifier(**PARAMS).fit(X, Y)
        with pytest.raises(ValueError) as ours:
            MLPClassifier(**PARAMS).fit(X, Y)
        first = str(theirs.value).split(".")[0].split(" or a value")[0]
        assert str(ours.value).startswith(first), (case, str(ours.value))


def test_predict_names_the_column_too():
    clf = MLPClassifier(**PARAMS).fit(FRAME, Y)
    with pytest.raises(ValueError, match="NaN in column 'hour'"):
        clf.predict(_set(FRAME, "hour", 0, np.nan))


@pytest.mark.parametrize("extra", [
    {"flag": np.arange(200) % 3 == 0},
    {"code": pd.Categorical([1, 5] * 100)},
], ids=["booleans", "categories of numbers"])
def test_columns_scikit_learn_reads_as_numbers_give_its_numbers(extra):
    X = FRAME.assign(**extra)
    ours = MLPClassifier(**PARAMS).fit(X, Y)
    theirs = SkMLPClassifier(**PARAMS).fit(X, Y)
    for a, b in zip(ours.coefs_, theirs.coefs_):
        np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------- on Dask
def _frame(X, parts=4):
    return dd.from_pandas(X, npartitions=parts)


def _dy(parts=4):
    return dd.from_pandas(pd.Series(Y), npartitions=parts)


def _worker_frames(info):
    return [f.filename for f in traceback.extract_tb(info.tb)
            if f.filename.endswith(("tasks.py", "checks.py", "client.py"))]


@pytest.mark.parametrize("persist", [True, False], ids=["held", "streamed"])
@pytest.mark.parametrize("case", ["NaN in a DataFrame", "infinity in a DataFrame"])
def test_dask_nan_names_the_column_in_one_line(client, case, persist):
    X, _ = IN_MEMORY[case]
    column = "distance" if "NaN" in case else "hour"
    with pytest.raises(ValueError, match=rf"^Input X contains \w+ in column '{column}'\. ") \
            as info:
        MLPClassifier(**PARAMS, persist=persist).fit(_frame(X), _dy())
    message = str(info.value)
    assert "\n" not in message
    if "NaN" in case:
        assert "on the cluster" in message and "dropna" in message
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert _worker_frames(info) == []  # raised again on the client, traceback dropped


def test_dask_nan_in_a_persisted_frame_and_an_array(client):
    from distributed import wait

    X = _set(FRAME, "dep_delay", 120, np.nan)
    dX, dy = client.persist([_frame(X), _dy()])
    wait([dX, dy])
    with pytest.raises(ValueError, match="NaN in column 'dep_delay'"):
        MLPClassifier(**PARAMS).fit(dX, dy)
    array = da.from_array(X.to_numpy(), chunks=(50, 3))
    with pytest.raises(ValueError, match=r"NaN in column 0\."):
        MLPClassifier(**PARAMS).fit(array, da.from_array(Y, chunks=50))


@pytest.mark.filterwarnings("ignore:X does not have valid feature names")  # arrays, on purpose
@pytest.mark.parametrize("method", ["predict", "predict_proba"])
def test_lazy_predictions_refuse_nan_naming_the_column(client, method):
    # NaN in a block would predict class 0 (or NaN) in silence
    clf = MLPClassifier(**PARAMS).fit(FRAME, Y)
    X = _set(FRAME, "distance", 130, np.nan)
    with pytest.raises(ValueError, match=rf"^Input X contains NaN in column 'distance'\. "
                       rf".*{MISSING}"):
        getattr(clf, method)(_frame(X)).compute()
    with pytest.raises(ValueError, match=r"^Input X contains infinity in column 2\."):
        getattr(clf, method)(da.from_array(_set(FRAME, "hour", 5, np.inf).to_numpy(),
                                           chunks=(50, 3))).compute()
    with pytest.raises(ValueError, match=r"NaN in column 1\."):  # scored on the cluster
        clf.score(da.from_array(X.to_numpy(), chunks=(50, 3)), da.from_array(Y, chunks=50))
    clean = getattr(clf, method)(_frame(FRAME)).compute()
    np.testing.assert_array_equal(np.asarray(clean), getattr(clf, method)(FRAME))


def test_dask_nan_in_targets_says_y(client):
    y = pd.Series(FRAME["hour"].where(FRAME["hour"] > -1.5))
    with pytest.raises(ValueError, match=r"^Input y contains NaN\. .*fill or drop"):
        MLPRegressor(**PARAMS).fit(_frame(FRAME), dd.from_pandas(y, npartitions=4))


@pytest.mark.parametrize("extra, names", [
    ({"carrier": "UA"}, "'carrier'"),
    ({"origin": pd.Categorical(["EWR", "JFK"] * 100)}, "'origin'"),
    ({"when": pd.Timestamp("2013-01-01"), "tailnum": "N1"}, "'when', 'tailnum'"),
], ids=["text", "categorical", "date and text"])
def test_dask_non_numeric_columns_are_named_from_the_metadata(client, extra, names):
    with pytest.raises(ValueError, match=rf"{ENCODE} \[{names}\].*categorize.*get_dummies"):
        MLPClassifier(**PARAMS).fit(_frame(FRAME.assign(**extra)), _dy())


def test_dask_object_array_names_the_column_by_index(client):
    X = da.from_array(FRAME.assign(carrier="UA").to_numpy(), chunks=(50, 4))
    with pytest.raises(ValueError, match=rf"{ENCODE} \[3\]"):
        MLPClassifier(**PARAMS).fit(X, da.from_array(Y, chunks=50))


def test_dask_one_hot_columns_train_as_numbers(client):
    # dd.get_dummies gives booleans: the same model as the same columns in float64
    frame = _frame(FRAME.assign(origin=pd.Categorical(["EWR", "JFK", "LGA", "EWR"] * 50)))
    dummies = dd.get_dummies(frame, columns=["origin"])
    assert (dummies.dtypes == bool).sum() == 3
    as_bool = MLPClassifier(**PARAMS).fit(dummies, _dy())
    as_float = MLPClassifier(**PARAMS).fit(dummies.astype("float64"), _dy())
    assert list(as_bool.feature_names_in_) == list(dummies.columns)
    for a, b in zip(as_bool.coefs_, as_float.coefs_):
        np.testing.assert_array_equal(a, b)
    assert as_bool.predict(dummies).compute().shape == (200,)


def test_column_major_tables_reach_the_loop_row_major():
    # a DataFrame's values are column-major; gathering minibatch rows from them made
    # fits 6-20x slower on the flights table (in memory and in each worker's shard)
    from dasknn.distributed.tasks import Encoding, make_part
    from dasknn.estimators import inputs
    from dasknn.maths.targets import Targets

    values = FRAME.to_numpy()
    assert values.flags.f_contiguous and not values.flags.c_contiguous  # the premise
    for X in (FRAME, values):
        ready = inputs.in_memory(MLPClassifier(), X, Y, None, False, True)[0]
        assert ready.flags.c_contiguous
        np.testing.assert_array_equal(ready, values)
    part = make_part(values, Y, None, Encoding(Targets("binary", np.array([0, 1]), 1), np.float64),
                     0, 0)
    assert part.X.flags.c_contiguous
    np.testing.assert_array_equal(part.X, values)
