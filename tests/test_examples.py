"""Every example script runs (with fast settings where it has them)."""

import importlib.util
import pathlib

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_quickstart(capsys):
    accuracy = _load("quickstart").main(max_iter=20)
    out = capsys.readouterr().out
    assert "same weights as scikit-learn: True" in out
    assert accuracy > 0.9


def test_ci_runs_the_readme_test_command():
    root = EXAMPLES.parent
    ci = (root / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert ci in (root / "README.md").read_text()


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_dask_cluster_example(capsys):
    accuracy = _load("dask_cluster").main(n_samples=8000, max_iter=3)
    out = capsys.readouterr().out
    assert "lazy predictions: dask.array" in out
    assert accuracy > 0.7
