"""The `dasknn` command and skops model files."""

import os
import re
import subprocess
import sys
import urllib.request

import numpy as np
import pandas as pd
import pytest
import skops.io
from skops.io.exceptions import UntrustedTypesFoundException
from sklearn.datasets import make_classification

from dasknn import MLPClassifier, MLPRegressor, load, save

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def _run(*args, timeout=300):
    out = subprocess.run([sys.executable, "-m", "dasknn.cli", *args], capture_output=True,
                         text=True, timeout=timeout)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def test_train_then_predict_round_trip_on_parquet(tmp_path):
    X, y = make_classification(n_samples=3000, n_features=8, n_informative=5, random_state=0)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(8)])
    frame["label"] = np.array(["cat", "dog"])[y]
    data = tmp_path / "train.parquet"
    frame.to_parquet(data)
    model_path = tmp_path / "model.skops"
    out = _run("train", str(data), "--target", "label", "--out", str(model_path),
               "--hidden-layer-sizes", "16", "--max-iter", "10", "--random-state", "0",
               "--n-workers", "1")
    assert "saved to" in out and model_path.exists() and "on standardised features" in out
    assert "the most frequent class alone scores 0.50" in out
    pred_path = tmp_path / "pred.parquet"
    _run("predict", str(model_path), str(data), "--target", "label", "--out", str(pred_path),
         "--n-workers", "1")
    predicted = pd.read_parquet(pred_path)["prediction"].to_numpy()
    model = load(model_path)
    expected = model.predict(frame.drop(columns=["label"]))
    np.testing.assert_array_equal(predicted, expected)
    assert (predicted == frame["label"].to_numpy()).mean() > 0.8
    scaler = model.named_steps["scale"]  # standardised by default, saved in front
    np.testing.assert_allclose(scaler.mean_, X.mean(axis=0))
    np.testing.assert_allclose(scaler.scale_, X.std(axis=0))
    _run("train", str(data), "--target", "label", "--out", str(model_path), "--no-scale",
         "--max-iter", "1", "--n-workers", "1")
    assert isinstance(load(model_path), MLPClassifier)  # --no-scale: the bare estimator


@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
def test_skops_round_trip(tmp_path, Estimator):
    X, y = make_classification(n_samples=200, n_features=5, random_state=0)
    model = Estimator(hidden_layer_sizes=(4,), max_iter=5, random_state=0).fit(X, y)
    path = tmp_path / "m.skops"
    save(model, path)
    again = load(path)
    np.testing.assert_array_equal(again.predict(X), model.predict(X))
    again.partial_fit(X, y)  # optimizer state came back too
    model.partial_fit(X, y)
    np.testing.assert_array_equal(again.coefs_[0], model.coefs_[0])


class NotOurs:
    """A type no dasknn model holds."""


def test_untrusted_type_is_refused(tmp_path):
    X, y = make_classification(n_samples=100, n_features=5, random_state=0)
    model = MLPClassifier(hidden_layer_sizes=(3,), max_iter=2).fit(X, y)
    model.extra_ = NotOurs()
    path = tmp_path / "m.skops"
    skops.io.dump(model, path)
    with pytest.raises(ValueError, match="types dasknn does not trust.*NotOurs"):
        load(path)
    assert os.path.getsize(path) > 0
    with pytest.raises(UntrustedTypesFoundException):
        skops.io.load(path)  # skops itself refuses without an explicit trust list


def test_demo_runs_small(tmp_path):
    png = tmp_path / "loss.png"
    out = _run("demo", "--n-samples", "20000", "--max-iter", "3", "--n-workers", "1",
               "--png", str(png))
    assert "Dask dashboard: http" in out and "test accuracy" in out
    assert "on average over the fit" in out and "best validation score" in out
    assert "run with --keep-open" in out  # the option is named where it is not used
    assert png.exists() and png.stat().st_size > 1000


def test_demo_stops_by_early_stopping_without_a_warning_and_says_what_it_prints(tmp_path):
    done = subprocess.run([sys.executable, "-m", "dasknn.cli", "demo", "--n-samples", "40000",
                           "--n-workers", "1", "--png", str(tmp_path / "d.png")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Warning" not in done.stdout + done.stderr  # it converges: no ConvergenceWarning
    assert "generated 40,000 rows" in done.stdout and "on 36,000 of them" in done.stdout
    assert "testing on the other 4,000" in done.stdout
    assert "share of it spent synchronising (averaging the workers' models" in done.stdout
    assert "Validation score did not improve" in done.stdout  # early stopping ended it


def test_demo_keeps_the_cluster_and_its_dashboard_open_until_enter(tmp_path):
    demo = subprocess.Popen(
        [sys.executable, "-u", "-m", "dasknn.cli", "demo", "--n-samples", "20000",
         "--max-iter", "3", "--n-workers", "1", "--png", str(tmp_path / "d.png"),
         "--keep-open"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True)
    try:
        lines = []
        while not lines or "press Enter" not in lines[-1]:
            lines.append(demo.stdout.readline())
            assert lines[-1], "".join(lines)  # the demo ended before it asked
        link = re.search(r"stay open at (\S+):", lines[-1]).group(1)
        assert f"Dask dashboard: {link}" in "".join(lines)
        page = re.search(r"dasknn's page: (\S+)\)", "".join(lines)).group(1)
        with urllib.request.urlopen(page, timeout=30) as response:  # still served
            assert response.status == 200
        assert demo.poll() is None  # waiting for Enter
        out, _ = demo.communicate("\n", timeout=120)
    finally:
        if demo.poll() is None:
            demo.kill()
    assert demo.returncode == 0
    assert "run with --keep-open" not in "".join(lines) + out


# ------------------------------------------------------------------ misuse of the CLI
def _fails(capsys, *argv):
    """Run the command in this process; return its error line (it must exit with 2
    and print one line, no traceback)."""
    from dasknn.cli import main

    assert main(list(argv)) == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert err.startswith("dasknn: error: ")
    return err


@pytest.fixture
def table(tmp_path):
    X, y = make_classification(n_samples=200, n_features=4, random_state=0)
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"])
    frame["label"] = y
    frame.to_csv(tmp_path / "data.csv", index=False)
    model = tmp_path / "model.skops"
    save(MLPClassifier(hidden_layer_sizes=(3,), max_iter=5).fit(X, y), model)
    return tmp_path


def test_cli_mistakes_are_one_line_each(table, capsys):
    t = table
    assert "missing.csv does not exist" in _fails(capsys, "train", str(t / "missing.csv"),
                                                  "--target", "label")
    (t / "data.txt").write_text("1,2\n")
    assert "reads .csv, .parquet" in _fails(capsys, "train", str(t / "data.txt"),
                                            "--target", "label")
    assert "no column 'y' in" in (err := _fails(capsys, "train", str(t / "data.csv"),
                                                "--target", "y"))
    assert "columns are a, b, c, d, label" in err
    assert "model file" in _fails(capsys, "predict", str(t / "none.skops"),
                                  str(t / "data.csv"), "--out", str(t / "p.csv"))
    (t / "junk.skops").write_text("not a model")
    assert "not a model saved by dasknn" in _fails(capsys, "predict", str(t / "junk.skops"),
                                                   str(t / "data.csv"), "--out",
                                                   str(t / "p.csv"))
    err = _fails(capsys, "predict", str(t / "model.skops"), str(t / "data.csv"), "--out",
                 str(t / "p.csv"))
    assert "has 5 columns but the model was trained on 4" in err and "--target" in err
    assert "name the output .csv, .parquet or .npy" in _fails(
        capsys, "predict", str(t / "model.skops"), str(t / "data.csv"), "--out",
        str(t / "preds.json"))
    assert not (t / "preds.json").exists() and not (t / "p.csv").exists()


def test_cli_errors_exit_2_without_a_traceback_unless_debug(tmp_path):
    args = [sys.executable, "-m", "dasknn.cli"]
    missing = ["train", str(tmp_path / "missing.csv"), "--target", "y"]
    quiet = subprocess.run([*args, *missing], capture_output=True, text=True)
    assert quiet.returncode == 2 and "Traceback" not in quiet.stderr
    loud = subprocess.run([*args, "--debug", *missing], capture_output=True, text=True)
    assert loud.returncode != 0 and "Traceback" in loud.stderr


def test_cli_help_is_plain_text_with_every_option_explained():
    from dasknn.cli import _parser

    parser = _parser()
    assert "``" not in parser.format_help()
    subparsers = next(a for a in parser._actions if a.dest == "command").choices
    for name, sub in subparsers.items():
        assert "``" not in sub.format_help()
        for action in sub._actions:
            assert action.help, f"dasknn {name} {action.option_strings or action.dest}"


def test_a_nan_in_a_csv_is_one_line_without_the_workers_logs(tmp_path):
    X, y = make_classification(n_samples=400, n_features=4, random_state=0)
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"]).assign(label=y)
    frame.loc[7, "c"] = np.nan
    frame.to_csv(tmp_path / "t.csv", index=False)
    done = subprocess.run([sys.executable, "-m", "dasknn.cli", "train", str(tmp_path / "t.csv"),
                           "--target", "label", "--n-workers", "1", "--max-iter", "2"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr[-3000:]
    assert "contains NaN in column 'c'" in lines[0] and "--dropna" in lines[0]
    assert "Compute Failed" not in done.stderr + done.stdout


def test_version_and_defaults_in_the_help():
    import dasknn

    assert _run("--version").strip() == f"dasknn {dasknn.__version__}"
    assert "(default model.skops)" in _run("train", "--help")
    assert "(default dasknn-demo-loss.png)" in _run("demo", "--help")


def test_train_scores_above_the_majority_class_on_unscaled_wine(tmp_path):
    from sklearn.datasets import load_wine

    wine = load_wine(as_frame=True).frame  # features from 0.1 to 1,680: unscaled
    wine.to_csv(tmp_path / "wine.csv", index=False)
    for _ in range(2):  # no seed: a new model each run
        out = _run("train", str(tmp_path / "wine.csv"), "--target", "target", "--n-workers",
                   "1", "--out", str(tmp_path / "m.skops"))
        score = float(out.split("training score ")[1].split()[0])
        assert "the most frequent class alone scores 0.3989" in out
        assert score > 0.9
