"""`dasknn train` on a table as it comes: text and categorical columns declared with
--categorical (one-hot, rebuilt by `dasknn predict`), columns left out with --drop, rows
with missing values dropped with --dropna; without them, one line that says which."""

import numpy as np
import pandas as pd
import pytest

from dasknn import load
from dasknn.cli import main

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _flights(n=600, seed=0):
    """A small table shaped like the flights data: text, a category, numbers, gaps."""
    rng = np.random.RandomState(seed)
    carrier = rng.choice(["AA", "B6", "UA"], n)
    dep_delay = rng.exponential(20, n) - 5
    frame = pd.DataFrame({
        "carrier": carrier,
        "origin": pd.Categorical(rng.choice(["EWR", "JFK", "LGA"], n)),
        "tailnum": [f"N{i % 40}" for i in range(n)],
        "distance": rng.uniform(100, 2500, n),
        "dep_delay": dep_delay,
        "arr_delay": dep_delay * 0.9 + (carrier == "UA") * 10 + rng.normal(0, 5, n),
    })
    frame.loc[::50, "dep_delay"] = np.nan  # cancelled flights: no delays
    frame.loc[::50, "arr_delay"] = np.nan
    return frame


def _error(capsys, *argv):
    assert main(list(argv)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err and err[-1].startswith("dasknn: error: ") and "Traceback" not in "".join(err)
    return err[-1]


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "flights.parquet"
    _flights().to_parquet(path)
    return path


def test_categorical_columns_train_and_predict_encodes_new_rows_alike(table, tmp_path,
                                                                      capsys):
    model_path = tmp_path / "delay.skops"
    assert main(["train", str(table), "--target", "arr_delay", "--regressor",
                 "--categorical", "carrier,origin", "--drop", "tailnum", "--dropna",
                 "--hidden-layer-sizes", "8", "--max-iter", "3", "--random-state", "0",
                 "--n-workers", "1", "--out", str(model_path)]) == 0
    assert "saved to" in capsys.readouterr().out
    model = load(model_path)
    assert list(model.feature_names_in_) == [
        "distance", "dep_delay", "carrier=AA", "carrier=B6", "carrier=UA",
        "origin=EWR", "origin=JFK", "origin=LGA"]
    # new rows: a carrier never seen (all its one-hot columns 0), other column order
    new = _flights(40, seed=1).dropna()
    new.loc[new.index[:5], "carrier"] = "ZZ"
    new = new[["tailnum", "origin", "dep_delay", "carrier", "distance", "arr_delay"]]
    new.to_parquet(tmp_path / "new.parquet")
    out = tmp_path / "pred.csv"
    assert main(["predict", str(model_path), str(tmp_path / "new.parquet"), "--out",
                 str(out), "--n-workers", "1"]) == 0
    said = capsys.readouterr().out
    assert "ignored the columns the model does not use: tailnum, arr_delay\n" in said
    expected = model.predict(pd.DataFrame({
        "distance": new["distance"], "dep_delay": new["dep_delay"],
        **{f"carrier={c}": (new["carrier"] == c).astype(float) for c in ("AA", "B6", "UA")},
        **{f"origin={o}": (new["origin"] == o).astype(float) for o in ("EWR", "JFK", "LGA")},
    }))
    np.testing.assert_allclose(pd.read_csv(out)["prediction"], expected, rtol=1e-6)


def test_undeclared_text_columns_are_named_with_both_ways_out(table, capsys):
    err = _error(capsys, "train", str(table), "--target", "arr_delay", "--regressor",
                 "--categorical", "origin")
    assert "columns 'carrier', 'tailnum'" in err and "hold no numbers" in err
    assert "--categorical carrier,tailnum" in err and "--drop carrier,tailnum" in err


def test_missing_values_name_the_column_and_dropna(table, capsys):
    err = _error(capsys, "train", str(table), "--target", "arr_delay", "--regressor",
                 "--categorical", "carrier,origin", "--drop", "tailnum", "--max-iter", "1",
                 "--n-workers", "1")
    assert "contains NaN in column 'dep_delay'" in err and "--dropna" in err


def test_unknown_columns_and_arrays_are_refused(table, tmp_path, capsys):
    err = _error(capsys, "train", str(table), "--target", "arr_delay", "--categorical",
                 "airline")
    assert "--categorical names 'airline'" in err and "carrier" in err
    assert "no column 'nope'" in _error(capsys, "train", str(table), "--target",
                                        "arr_delay", "--drop", "nope")
    np.save(tmp_path / "X.npy", np.zeros((10, 2)))
    np.save(tmp_path / "y.npy", np.zeros(10))
    assert "needs a table" in _error(capsys, "train", str(tmp_path / "X.npy"), "--target",
                                    str(tmp_path / "y.npy"), "--categorical", "0")
